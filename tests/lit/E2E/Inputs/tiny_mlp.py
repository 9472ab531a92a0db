"""Inputs and the PyTorch float64 reference for the tiny_mlp example.

  tiny_mlp.py DIR write          params, inputs, bad inputs, expected output
  tiny_mlp.py DIR check OUT...   each OUT's 'y' matches the reference
  tiny_mlp.py DIR dataset        train.txt and test.txt: 16 values and a
                                 label (the group of four with the
                                 largest sum), for `tiny train --data text`
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "reference"))
import safetensors  # noqa: E402


def model():
    torch.manual_seed(7)
    return torch.nn.ModuleDict({
        "hidden": torch.nn.Linear(16, 32),
        "out": torch.nn.Linear(32, 4),
    })


def dataset(directory):
    rng = np.random.default_rng(11)
    for name, rows in (("train.txt", 512), ("test.txt", 128)):
        x = rng.standard_normal((rows, 16))
        label = x.reshape(rows, 4, 4).sum(2).argmax(1)
        with open(os.path.join(directory, name), "w") as f:
            for values, y in zip(x, label):
                f.write("%d %s\n" % (y, " ".join("%.4f" % v for v in values)))
    return 0


def main(directory, command, *outputs):
    if command == "dataset":
        return dataset(directory)
    m = model()
    params = {k: v.detach().numpy() for k, v in m.state_dict().items()}
    x = np.random.default_rng(3).standard_normal((8, 16)).astype(np.float32)
    if command == "write":
        safetensors.save(os.path.join(directory, "params.safetensors"), params)
        safetensors.save(os.path.join(directory, "inputs.safetensors"), {"x": x})
        np.save(os.path.join(directory, "x.npy"), x)
        missing = dict(params)
        del missing["out.bias"]
        safetensors.save(os.path.join(directory, "missing.safetensors"), missing)
        safetensors.save(os.path.join(directory, "wrong_shape.safetensors"), {"x": x[:4]})
        safetensors.save(os.path.join(directory, "float64.safetensors"), {"x": x.astype(np.float64)})
        blob = open(os.path.join(directory, "inputs.safetensors"), "rb").read()
        open(os.path.join(directory, "truncated.safetensors"), "wb").write(blob[:-100])
        return 0
    h = torch.nn.functional.gelu(
        torch.tensor(x, dtype=torch.float64) @ torch.tensor(params["hidden.weight"], dtype=torch.float64).T
        + torch.tensor(params["hidden.bias"], dtype=torch.float64))
    y = (h @ torch.tensor(params["out.weight"], dtype=torch.float64).T
         + torch.tensor(params["out.bias"], dtype=torch.float64)).numpy()
    for path in outputs:
        got = np.load(path) if path.endswith(".npy") else safetensors.load(path)["y"]
        err = np.abs(got.astype(np.float64) - y).max() / max(1e-3, np.abs(y).max())
        print(f"{os.path.basename(path)}: max relative error {err:.2e}")
        if not err <= 1e-5:
            print(f"FAIL: {path} differs from the float64 reference")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
