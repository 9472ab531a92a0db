#!/usr/bin/env python3
"""Exports the zoo's cnn as PyTorch defines it (docs/models.md; the same
class the reference tests use), freshly initialized by PyTorch, to ONNX with
a symbolic batch dimension: the starting point of a user who has a model in
PyTorch and wants Kiln to train it.
Usage: export_cnn.py OUT.onnx [SEED]"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "reference"))
from test_models import Cnn  # noqa: E402

out = sys.argv[1]
torch.manual_seed(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
model = Cnn().eval()
torch.onnx.export(model, torch.zeros(1, 1, 28, 28), out,
                  input_names=["images"], output_names=["scores"],
                  opset_version=17, do_constant_folding=True,
                  dynamic_axes={"images": {0: "batch"},
                                "scores": {0: "batch"}})
print("wrote", out)
