"""Crash consistency: kill -9 a training run at random moments, N times, and
resume each from its checkpoint to the end; every run must end with the
parameters of the uninterrupted run, byte for byte. Checkpoints are written
every step, so many kills land inside a write (which must leave the old
checkpoint whole; the next run removes the dead writer's temporary).
Usage: kill_resume.py EXECUTABLE FOLDER N SEED"""
import filecmp
import os
import random
import signal
import subprocess
import sys
import time

exe, work, runs, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
common = ["train", "--data", "synthetic", "--epochs", "2", "--steps-per-epoch", "20",
          "--seed", "7", "--checkpoint-every", "1"]
straight = os.path.join(work, "straight.safetensors")
start = time.monotonic()
subprocess.run([exe] + common + ["--save-params", straight], check=True,
               capture_output=True)
duration = time.monotonic() - start
rng = random.Random(seed)
identical = killed = 0
for i in range(runs):
    ckpt = os.path.join(work, f"ckpt{i}.safetensors")
    final = os.path.join(work, f"final{i}.safetensors")
    p = subprocess.Popen([exe] + common + ["--checkpoint", ckpt, "--save-params", final],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(0, duration))
    if p.poll() is None:
        p.send_signal(signal.SIGKILL)
        killed += 1
    p.wait()
    resume = ["--resume", ckpt] if os.path.exists(ckpt) else []
    done = subprocess.run([exe] + common + ["--checkpoint", ckpt, "--save-params", final]
                          + resume, capture_output=True, text=True)
    same = (done.returncode == 0 and os.path.exists(final)
            and filecmp.cmp(straight, final, shallow=False))
    leftovers = [f for f in os.listdir(work) if f.startswith(f"ckpt{i}.safetensors.tmp.")]
    identical += same and not leftovers
    if not same or leftovers:
        print(f"run {i}: exit {done.returncode}, identical {same}, leftovers {leftovers}\n"
              f"{done.stderr[-1500:]}")
print(f"{identical}/{runs} resumed runs identical to the uninterrupted one "
      f"({killed} killed mid-run)")
sys.exit(0 if identical == runs else 1)
