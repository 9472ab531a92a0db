"""Checks parallel-loops.mlir's outputs (argv[2]) against numpy in float64
for the input argv[1]: softmax over rows and tanh(x) * x, 1e-5 relative."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "..", "reference"))
import safetensors  # noqa: E402

x = np.load(sys.argv[1]).astype(np.float64)
got = safetensors.load(sys.argv[2])
e = np.exp(x - x.max(axis=1, keepdims=True))
expected = {"softmax": e / e.sum(axis=1, keepdims=True), "tanh": np.tanh(x) * x}
for name, want in expected.items():
    err = np.abs(got[name].astype(np.float64) - want).max() / np.abs(want).max()
    print(name, err)
    assert err < 1e-5, "%s differs from numpy by %g" % (name, err)
