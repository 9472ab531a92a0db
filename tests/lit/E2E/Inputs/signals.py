"""Signals to a training executable: SIGTERM (as a scheduler sends it) is
Ctrl-C: the step finishes, the checkpoint is written, the run says it was
interrupted and exits non-zero, and resuming from the checkpoint works. A
second Ctrl-C quits at once, even while the first one's checkpoint is being
written (here into a FIFO nobody reads, where the write blocks). Usage:
signals.py EXECUTABLE FOLDER"""
import os
import signal
import subprocess
import sys
import time

exe, work = sys.argv[1], sys.argv[2]
ckpt = os.path.join(work, "term.safetensors")
args = [exe, "train", "--data", "synthetic", "--epochs", "1000",
        "--steps-per-epoch", "1000", "--seed", "3", "--checkpoint", ckpt]


def started(process):
    """Waits until training reports progress (its first quarter epoch)."""
    line = process.stderr.readline()
    return line


p = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
first = started(p)
p.send_signal(signal.SIGTERM)
_, rest = p.communicate(timeout=60)
print("SIGTERM: exit", p.returncode, "| first line:", first.strip().split(" step")[0])
print(next(l for l in rest.splitlines() if l.startswith("interrupted at")))
print("checkpoint written:", os.path.exists(ckpt))
resumed = subprocess.run(args + ["--resume", ckpt, "--stop-after-steps", "1"],
                         capture_output=True, text=True, timeout=120)
print("resume: exit", resumed.returncode)

fifo = os.path.join(work, "blocked.fifo")
os.mkfifo(fifo)
blocked = args[:-1] + [fifo]
p = subprocess.Popen(blocked, stderr=subprocess.PIPE, text=True)
started(p)
p.send_signal(signal.SIGINT)
time.sleep(1)  # the checkpoint's write now waits for a reader
still_running = p.poll() is None
start = time.monotonic()
p.send_signal(signal.SIGINT)
p.communicate(timeout=60)
print("first Ctrl-C, checkpoint blocked: still running", still_running)
print("two Ctrl-C: exit", p.returncode, "within 10 s:", time.monotonic() - start < 10)
