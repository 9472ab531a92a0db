"""Step 4 of the tutorial: the trained weights in PyTorch.

  python3 to_pytorch.py batch BATCH.safetensors [FASHION_MNIST_DIR]
      writes the first 64 test images as x [64, 1, 28, 28] for `./net run`
  python3 to_pytorch.py compare PARAMS.safetensors BATCH.safetensors LOGITS.safetensors
      loads Kiln's trained parameters into the same network written with
      torch.nn (the state_dict keys are the same), runs it on the batch and
      compares its logits with those `./net run` computed
  python3 to_pytorch.py predictions LOGITS.safetensors CLASSIFY_ONE_OUTPUT
      checks that classify_one (step 6) predicted, image by image, the
      classes of the logits `./net run` computed

safetensors files are read and written here in a few lines (an 8-byte
header length, a JSON header, the raw data), so that nothing but PyTorch
and numpy is needed."""
import gzip
import json
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}


def load(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        array = np.frombuffer(data[start:end], DTYPES[info["dtype"]])
        tensors[name] = torch.from_numpy(array.reshape(info["shape"]).copy())
    return tensors


def save(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array, np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


class FashionNet(torch.nn.Module):
    """fashion_net.cpp's model in torch.nn: the same layers, names, shapes."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 16, 3, padding=1)
        self.fc = torch.nn.Linear(16 * 14 * 14, 10)

    def forward(self, x):
        return self.fc(torch.flatten(F.max_pool2d(F.relu(self.conv(x)), 2), 1))


if sys.argv[1] == "batch":
    folder = sys.argv[3] if len(sys.argv) > 3 else "/usr/share/datasets/fashion-mnist"
    with gzip.open(folder + "/t10k-images-idx3-ubyte.gz") as f:
        pixels = np.frombuffer(f.read(), np.uint8, offset=16)
    save(sys.argv[2], {"x": pixels[:64 * 784].reshape(64, 1, 28, 28) / 255.0})
elif sys.argv[1] == "compare":
    net = FashionNet()
    net.load_state_dict(load(sys.argv[2]))  # strict: every key must match
    x = load(sys.argv[3])["x"]
    kiln = load(sys.argv[4])["logits"]
    with torch.no_grad():
        mine = net(x)
    difference = (mine - kiln).abs().max().item()
    same = bool((mine.argmax(1) == kiln.argmax(1)).all())
    print(f"PyTorch and Kiln: max |logit difference| {difference:.2e}, "
          f"{'the same' if same else 'DIFFERENT'} predictions for "
          f"{len(x)} images")
    sys.exit(0 if difference < 1e-4 and same else 1)
elif sys.argv[1] == "predictions":
    kiln = load(sys.argv[2])["logits"].argmax(1).tolist()
    with open(sys.argv[3]) as f:
        mine = [int(line.split("class ")[1].split(",")[0])
                for line in f if line.startswith("image ")]
    same = mine == kiln[:len(mine)]
    print(f"the application's {len(mine)} predictions are "
          f"{'the run' + chr(39) + 's' if same else 'NOT the run' + chr(39) + 's'}")
    sys.exit(0 if same else 1)
