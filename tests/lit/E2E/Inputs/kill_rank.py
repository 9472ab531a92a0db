#!/usr/bin/env python3
"""A data-parallel run whose rank 1 is killed (SIGKILL) after its first
checkpoint: the run must end within 30 seconds (no hang), with a non-zero
status, mpirun's message naming rank 1 and rank 0's naming its last
completed step, and the checkpoint must still resume.
Usage: kill_rank.py WORKDIR "MPIRUN..." EXECUTABLE"""
import os
import shlex
import signal
import subprocess
import sys
import time

work, mpirun, exe = sys.argv[1], shlex.split(sys.argv[2]), sys.argv[3]
ckpt = os.path.join(work, "killed.safetensors")
train = [exe, "train", "--epochs", "3", "--seed", "5", "--threads", "1",
         "--checkpoint", ckpt, "--checkpoint-every", "20"]
run = subprocess.Popen(mpirun + ["-np", "2"] + train, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)


def rank_pid(rank):
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            env = open("/proc/%s/environ" % pid, "rb").read().split(b"\0")
            cmd = open("/proc/%s/cmdline" % pid, "rb").read()
        except OSError:
            continue
        if exe.encode() in cmd and \
                ("OMPI_COMM_WORLD_RANK=%d" % rank).encode() in env:
            return int(pid)
    return None


deadline = time.time() + 120
while not os.path.exists(ckpt):
    assert run.poll() is None, "the run ended early:\n" + run.stdout.read()
    assert time.time() < deadline, "no checkpoint after 120 s"
    time.sleep(0.2)
victim = rank_pid(1)
assert victim, "rank 1 not found"
os.kill(victim, signal.SIGKILL)
killed = time.time()
try:
    out, _ = run.communicate(timeout=30)
except subprocess.TimeoutExpired:
    run.kill()
    sys.exit("the run did not end within 30 s of rank 1's death")
took = time.time() - killed
print(out)
assert run.returncode != 0, "the run exited 0 after a rank died"
assert "rank 1" in out, "no message names rank 1"
assert "rank 0: signalled after step" in out, "rank 0 names no last step"
print("ended %.1f s after rank 1 was killed, status %d" % (took, run.returncode))
# The checkpoint written before the death resumes.
resumed = subprocess.run(mpirun + ["-np", "2", exe, "train", "--epochs", "3",
                                   "--threads", "1", "--resume", ckpt,
                                   "--stop-after-steps", "3"],
                         capture_output=True, text=True, timeout=300)
assert resumed.returncode == 0, resumed.stderr
print("the checkpoint resumes")
