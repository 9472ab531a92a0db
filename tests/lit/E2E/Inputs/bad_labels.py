"""Writes mlp parameters and batches of 2 with good and bad labels into the
folder given: params.safetensors, ok, big (100), negative (-1), huge (2^62)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "..", "reference"))
import safetensors  # noqa: E402

out = sys.argv[1]
rng = np.random.default_rng(0)
shapes = {"fc1.weight": (256, 784), "fc1.bias": (256,), "fc2.weight": (256, 256),
          "fc2.bias": (256,), "fc3.weight": (10, 256), "fc3.bias": (10,)}
params = {k: (rng.standard_normal(s) * 0.01).astype(np.float32) for k, s in shapes.items()}
state = dict(params)
for k, v in params.items():
    state["adam.m." + k] = np.zeros_like(v)
    state["adam.v." + k] = np.zeros_like(v)
state["optimizer.step"] = np.zeros((), np.int64)
safetensors.save(os.path.join(out, "params.safetensors"), state)
x = rng.random((2, 1, 28, 28), dtype=np.float32)
for name, y in [("ok", [1, 2]), ("big", [1, 100]), ("negative", [-1, 0]),
                ("huge", [2 ** 62, 0])]:
    safetensors.save(os.path.join(out, name + ".safetensors"),
                     {"x": x, "y": np.array(y, np.int64)})
