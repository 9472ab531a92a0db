#!/usr/bin/env python3
"""Two safetensors files of parameters agree: the same names, and each
tensor within TOL of the other relative to its largest magnitude."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "..", "reference"))
import safetensors as st  # noqa: E402

a, b, tol = st.load(sys.argv[1]), st.load(sys.argv[2]), float(sys.argv[3])
assert sorted(a) == sorted(b), (sorted(a), sorted(b))
worst = 0.0
for name in a:
    x, y = np.asarray(a[name], np.float64), np.asarray(b[name], np.float64)
    scale = max(np.abs(x).max(), 1e-30)
    err = np.abs(x - y).max() / scale
    worst = max(worst, err)
    assert err <= tol, "%s differs by %.3g relative (tolerance %g)" % (name, err, tol)
print("%d tensors agree, worst relative difference %.3g" % (len(a), worst))
