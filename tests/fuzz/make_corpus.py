"""Writes the fuzz targets' seed corpora into tests/fuzz/corpus/<target>/:
small valid inputs of every kind each reader accepts, from which libFuzzer
mutates. Run with Debian's python3 (numpy); the files are checked in.
Usage: make_corpus.py KILNC"""
import gzip
import io
import json
import os
import re
import struct
import subprocess
import sys

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
kilnc = sys.argv[1]


def write(target, name, data):
    folder = os.path.join(here, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def safetensors(tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, array) in tensors.items():
        blob = array.tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


rng = np.random.default_rng(0)
write("safetensors", "f32", safetensors(
    {"fc.weight": ("F32", rng.standard_normal((3, 4)).astype(np.float32)),
     "fc.bias": ("F32", np.zeros(3, np.float32))}, {"format": "pt"}))
write("safetensors", "dtypes", safetensors(
    {"a": ("F64", np.arange(3, dtype=np.float64)),
     "b": ("I64", np.arange(2, dtype=np.int64)),
     "c": ("U8", np.arange(5, dtype=np.uint8)),
     "d": ("BF16", np.arange(2, dtype=np.uint16)),
     "e": ("BOOL", np.array([1, 0], np.uint8)),
     "s": ("F32", np.array(1.5, np.float32)),
     "z": ("F32", np.zeros((0, 2), np.float32))}))
write("safetensors", "empty", safetensors({}))

for version in ((1, 0), (2, 0), (3, 0)):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, rng.standard_normal((2, 3)).astype(np.float32),
                              version=version)
    write("npy", f"f32-v{version[0]}", buffer.getvalue())
for name, array in {"i64": np.arange(6, dtype=np.int64).reshape(3, 2),
                    "f64-fortran": np.asfortranarray(np.ones((2, 2))),
                    "u8": np.arange(4, dtype=np.uint8),
                    "scalar": np.array(2.0, np.float32)}.items():
    buffer = io.BytesIO()
    np.save(buffer, array)
    write("npy", name, buffer.getvalue())

images = struct.pack(">IIII", 0x803, 2, 3, 3) + bytes(range(18))
labels = struct.pack(">II", 0x801, 2) + bytes([3, 7])
write("idx", "images", images)
write("idx", "labels", labels)
write("idx", "images.gz", gzip.compress(images, mtime=0))
write("idx", "int32", struct.pack(">II", 0xC01, 2) + struct.pack(">ii", -1, 5))

write("text-dataset", "header", b"label,a,b,c,d\n0,1,2,3,4\n2,0.5,0.25,0,1\n")
write("text-dataset", "pixels", b"# 8-bit pixels\n1 0 255 128 7\n\n2\t3\t4\t5\t6\n")
write("text-dataset", "floats", b"0,-1.5e-3,2,3,4\r\n1,1,1,1,1\r\n")

state = {"w": ("F32", np.ones((2, 2), np.float32))}
write("checkpoint", "progress", safetensors(state, {
    "epoch": "1", "steps": "40", "loss_sum": "12.345678901234567",
    "loss_count": "20", "batch": "20", "seed": "7"}))
write("checkpoint", "old", safetensors(state, {"epoch": "2", "batch": "0"}))
write("checkpoint", "none", safetensors(state))

for model, batch in (("mlp", 4), ("cnn", 2), ("gpt", 2)):
    out = os.path.join(here, "corpus", f".{model}.so")
    subprocess.run([kilnc, f"--model={model}", f"--batch={batch}",
                    "--emit=so", "-o", out], check=True)
    data = open(out, "rb").read()
    os.remove(out)
    start = data.index(b'{"version": 1, "model": ')
    write("manifest", model, data[start:data.index(b"\0", start)])

# ONNX models: the frontend tests' good and broken ones (make_models.py
# needs Debian's python3-onnx), a few hundred bytes each.
import tempfile  # noqa: E402
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([sys.executable, os.path.join(
        here, "..", "lit", "Onnx", "Inputs", "make_models.py"), tmp],
        check=True)
    for name in sorted(os.listdir(tmp)):
        if name.endswith(".onnx"):
            write("onnx", name[:-5], open(os.path.join(tmp, name), "rb").read())

# Graph IR: every case of the graph and kernel dialects' lit tests (split at
# their `// -----` lines) and a small model's graph and kernel stages.
lit = os.path.join(here, "..", "lit")
for dialect in ("Graph", "Kernel"):
    for name in sorted(os.listdir(os.path.join(lit, dialect))):
        if not name.endswith(".mlir"):
            continue
        text = open(os.path.join(lit, dialect, name)).read()
        for i, part in enumerate(re.split(r"^// -----$", text, flags=re.M)):
            part = "\n".join(l for l in part.splitlines()
                             if not l.lstrip().startswith("//"))
            if part.strip() and len(part) <= 8192:
                write("graph-ir", f"{dialect.lower()}-{name[:-5]}-{i}",
                      part.encode())
for stage in ("graph", "graph-grad", "kernel"):
    ir = subprocess.run([kilnc, "--model=mlp", "--batch=2", f"--emit={stage}"],
                        check=True, capture_output=True).stdout
    if len(ir) <= 8192:
        write("graph-ir", f"mlp-{stage}", ir)
