"""Copies the safetensors file SRC to DST with element 0 of tensor NAME set
to NaN: usage with_nan.py SRC DST NAME."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "..", "reference"))
import safetensors  # noqa: E402

source, destination, name = sys.argv[1:4]
tensors = safetensors.load(source)
spoilt = np.array(tensors[name], copy=True)
spoilt.reshape(-1)[0] = np.nan
tensors[name] = spoilt
safetensors.save(destination, tensors)
