"""What a training executable runs with: GOMP_SPINCOUNT=1000 unless the
user chose OpenMP's waiting (OMP_WAIT_POLICY or GOMP_SPINCOUNT).

  spin_env.py EXE    starts `EXE train` three ways and prints, for each,
                     the GOMP_SPINCOUNT in its /proc/PID/environ once it
                     has started training (same PID: it runs itself again)
"""
import os
import signal
import subprocess
import sys


def spin_count(exe, extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "KILN_OPENMP_SPIN")}
    env.update(extra)
    p = subprocess.Popen([exe, "train", "--data", "synthetic", "--epochs", "50"],
                         env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    try:
        p.stderr.readline()  # training has begun: the exec is behind it
        with open("/proc/%d/environ" % p.pid, "rb") as f:
            found = [v.split(b"=", 1)[1].decode() for v in f.read().split(b"\0")
                     if v.startswith(b"GOMP_SPINCOUNT=")]
        return found[0] if found else "unset"
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()


exe = sys.argv[1]
print("default:", spin_count(exe, {}))
print("OMP_WAIT_POLICY=passive:", spin_count(exe, {"OMP_WAIT_POLICY": "passive"}))
print("GOMP_SPINCOUNT=5:", spin_count(exe, {"GOMP_SPINCOUNT": "5"}))
print("KILN_OPENMP_SPIN=default:",
      spin_count(exe, {"KILN_OPENMP_SPIN": "default"}))
