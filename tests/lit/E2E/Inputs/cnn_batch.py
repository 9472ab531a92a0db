"""Writes cnn parameters and a batch of 64 images into the folder given."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "..", "reference"))
import safetensors  # noqa: E402

out = sys.argv[1]
rng = np.random.default_rng(0)
shapes = {"conv1.weight": (32, 1, 3, 3), "conv1.bias": (32,),
          "conv2.weight": (64, 32, 3, 3), "conv2.bias": (64,),
          "fc1.weight": (128, 3136), "fc1.bias": (128,),
          "fc2.weight": (10, 128), "fc2.bias": (10,)}
safetensors.save(os.path.join(out, "params.safetensors"),
                 {k: (rng.standard_normal(s) * 0.05).astype(np.float32)
                  for k, s in shapes.items()})
safetensors.save(os.path.join(out, "x.safetensors"),
                 {"x": rng.random((64, 1, 28, 28), dtype=np.float32)})
