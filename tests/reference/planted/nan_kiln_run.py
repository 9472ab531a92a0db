#!/usr/bin/python3
"""kiln-run whose float outputs all come back NaN: the bug every checker
must catch. Runs the real kiln-run (KILN_RUN_REAL) with the same arguments,
then overwrites every floating-point tensor of --outputs with NaN (only the
results named in PLANT_NAN, comma-separated, when it is set)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import safetensors  # noqa: E402

import numpy as np  # noqa: E402


def main():
    real = os.environ["KILN_RUN_REAL"]
    status = subprocess.run([real] + sys.argv[1:]).returncode
    if status != 0:
        return status
    outputs = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--outputs=")]
    only = [n for n in os.environ.get("PLANT_NAN", "").split(",") if n]
    for path in outputs:
        tensors = safetensors.load(path)
        for name, value in tensors.items():
            if value.dtype.kind == "f" and (not only or name in only):
                tensors[name] = np.full_like(value, np.nan)
        safetensors.save(path, tensors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
