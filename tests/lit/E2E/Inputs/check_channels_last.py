"""Inputs for channels-last.mlir (`inputs OUT`), and the check of its
outputs against PyTorch in float64 on the same data in NCHW (`check IN
OUTPUTS...`): each result, transposed to NCHW, within 1e-5 of the
reference relative to the reference's largest magnitude. For
channels-last-pass.mlir: its inputs (`pass-inputs OUT`), and the check that
two runs' outputs agree within 1e-5 in the same sense (`same A B`)."""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "..", "reference"))
import safetensors  # noqa: E402

TOLERANCE = 1e-5


def nhwc(t):
    return t.permute(0, 2, 3, 1).contiguous()


def nchw(a):
    return torch.from_numpy(np.ascontiguousarray(a)).double().permute(0, 3, 1, 2)


def normal(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def make_inputs(path):
    rng = np.random.default_rng(0)
    safetensors.save(path, {
        "x": normal(rng, 2, 6, 6, 8), "w": normal(rng, 8, 8, 3, 3),
        "wt": normal(rng, 8, 4, 3, 3), "dy": normal(rng, 2, 6, 6, 8),
        "dp": normal(rng, 2, 3, 3, 8),
        "g": (rng.random(8) + 0.5).astype(np.float32), "b": normal(rng, 8)})


def make_pass_inputs(path):
    rng = np.random.default_rng(1)
    safetensors.save(path, {
        "x": normal(rng, 2, 8, 6, 6), "w": normal(rng, 8, 8, 3, 3),
        "w2": normal(rng, 4, 16, 1, 1), "gate": normal(rng, 2, 16, 1, 1),
        "g": (rng.random(8) + 0.5).astype(np.float32), "b": normal(rng, 8)})


def same(first, second):
    a, b = safetensors.load(first), safetensors.load(second)
    assert sorted(a) == sorted(b), (sorted(a), sorted(b))
    for name in a:
        want = a[name].astype(np.float64)
        error = np.abs(b[name] - want).max() / max(np.abs(want).max(), 1e-30)
        assert b[name].shape == want.shape, name
        assert error < TOLERANCE, "%s differs by %g" % (name, error)
    print("%d outputs agree within %g" % (len(a), TOLERANCE))


def reference(i):
    x, dy, dp = nchw(i["x"]), nchw(i["dy"]), nchw(i["dp"])
    w, wt = (torch.from_numpy(i[k]).double() for k in ("w", "wt"))
    g, b = (torch.from_numpy(i[k]).double() for k in ("g", "b"))
    conv = F.conv2d(x, w, b, padding=1)
    xw = x.clone().requires_grad_()
    ww = w.clone().requires_grad_()
    F.conv2d(xw, ww, padding=1).backward(dy)
    cb = conv.clone().requires_grad_()
    gb = g.clone().requires_grad_()
    F.batch_norm(cb, None, None, gb, None, training=True).backward(dy)
    xp = x.clone().requires_grad_()
    F.max_pool2d(xp, 3, 2, 1).backward(dp)
    cg = conv.clone().requires_grad_()
    gg = g.clone().requires_grad_()
    F.group_norm(cg, 2, gg, None).backward(dy)
    return {
        "conv": conv,
        "conv_transpose": F.conv_transpose2d(x, wt, stride=2, padding=1),
        "weight_grad": ww.grad,
        "batch_norm": F.batch_norm(conv, None, None, g, b, training=True),
        "batch_norm_grad": cb.grad,
        "batch_norm_weight_grad": gb.grad,
        # Running mean b and variance g (the op's operand order).
        "batch_norm_inference": F.batch_norm(x, b, g, g, b, training=False),
        "max_pool": F.max_pool2d(x, 3, 2, 1),
        "max_pool_grad": xp.grad,
        "avg_pool": F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
        "global_avg_pool": F.adaptive_avg_pool2d(x, 1),
        "group_norm": F.group_norm(conv, 2, g, b),
        "group_norm_grad": cg.grad,
        "group_norm_weight_grad": gg.grad,
    }


def check(inputs, outputs):
    want = reference(safetensors.load(inputs))
    for path in outputs:
        got = safetensors.load(path)
        label = os.path.basename(path).split(".")[0]
        for name, expected in want.items():
            value = torch.from_numpy(got[name]).double()
            if expected.dim() == 4 and name != "weight_grad":
                value = value.permute(0, 3, 1, 2)
            error = ((value - expected).abs().max() /
                     expected.abs().max()).item()
            assert error < TOLERANCE, "%s: %s differs by %g" % (label, name,
                                                                 error)
        print("%s: %d outputs within %g" % (label, len(want), TOLERANCE))


if __name__ == "__main__":
    if sys.argv[1] == "inputs":
        make_inputs(sys.argv[2])
    elif sys.argv[1] == "pass-inputs":
        make_pass_inputs(sys.argv[2])
    elif sys.argv[1] == "same":
        same(sys.argv[2], sys.argv[3])
    else:
        check(sys.argv[2], sys.argv[3:])
