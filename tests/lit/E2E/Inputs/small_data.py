"""Writes text data sets too small to use into the folder given: tiny.csv
(10 examples, fewer than a batch of 32), header.csv (a header only) and
nul.csv (a NUL byte inside a value)."""
import os
import sys

out = sys.argv[1]
header = "label," + ",".join(f"pixel{i}" for i in range(784)) + "\n"
line = "3," + ",".join(["7"] * 784) + "\n"
with open(os.path.join(out, "tiny.csv"), "w") as f:
    f.write(header + line * 10)
with open(os.path.join(out, "header.csv"), "w") as f:
    f.write(header)
with open(os.path.join(out, "nul.csv"), "wb") as f:
    f.write((header + line).encode() + b"4,1\x002," + b",".join([b"0"] * 782) + b"\n")
