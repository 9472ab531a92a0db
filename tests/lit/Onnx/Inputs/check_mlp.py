#!/usr/bin/env python3
"""forward of make_models.py's mlp against numpy, from its initializers."""
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

out = sys.argv[1]
model = onnx.load(os.path.join(out, "mlp.onnx"))
w = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
x = np.load(os.path.join(out, "mlp_x.npy")).astype(np.float64)
h = np.maximum(x.reshape(2, 4) @ w["fc1.weight"] + w["fc1.bias"], 0)
want = h @ w["fc2.weight"].T + w["fc2.bias"]
got = np.load(os.path.join(out, "y.npy"))
err = np.abs(got - want).max()
assert err < 1e-5, "forward differs from numpy by %g" % err
print("forward matches numpy, max |error| %.3g" % err)
