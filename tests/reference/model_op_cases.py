"""The cases of test_ops.py for the model-level ops (attention, losses) and
for chains of ops (fusion), after op_cases.py's. Importing this module
after op_cases registers them in harness.CASES, in order (their inputs come
from harness.RNG, so the order fixes them)."""

import math

import numpy as np
import torch
import torch.nn.functional as F

from harness import (RNG, attrs, bools, case, choice, f64, ints, randn,
                     torch_recurrence, uniform)

# ---- attention and losses ------------------------------------------------------


def attention_ref(q, k, v, mask=None, scale=None, causal=False):
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ k.transpose(-1, -2) * scale
    allowed = torch.ones(scores.shape, dtype=torch.bool)
    if causal:
        tq, tk = scores.shape[-2:]
        allowed &= torch.ones(tq, tk).tril().bool()  # key j <= query i
    if mask is not None:
        allowed &= mask
    scores = scores.masked_fill(~allowed, float("-inf"))
    return torch.softmax(scores, -1) @ v


def padding_mask(lengths, tk, shape):
    """True for the first `length` keys of each batch entry."""
    m = np.arange(tk)[None, :] < np.asarray(lengths)[:, None]
    return m.reshape(shape)


def row_mask(shape):
    """A random mask with at least one allowed key per query row."""
    m = bools(shape, 0.6)
    first = RNG.integers(0, shape[-1], shape[:-1])
    np.put_along_axis(m, first[..., None], True, axis=-1)
    return m


ATTENTION = [  # name, q, k, v, mask, scale, causal
    ("2x3x5x8_k7", (2, 3, 5, 8), (2, 3, 7, 8), (2, 3, 7, 4), None, None, False),
    ("causal_2x2x6x8", (2, 2, 6, 8), (2, 2, 6, 8), (2, 2, 6, 8), None, None,
     True),
    ("causal_tq4_tk6", (1, 2, 4, 8), (1, 2, 6, 8), (1, 2, 6, 5), None, None,
     True),
    ("causal_tq6_tk4", (1, 2, 6, 8), (1, 2, 4, 8), (1, 2, 4, 5), None, None,
     True),
    ("padding_mask_scale0.5", (2, 4, 6, 8), (2, 4, 5, 8), (2, 4, 5, 3),
     padding_mask([5, 3], 5, (2, 1, 1, 5)), 0.5, False),
    ("causal_padding_mask", (2, 2, 5, 4), (2, 2, 5, 4), (2, 2, 5, 4),
     padding_mask([4, 2], 5, (2, 1, 1, 5)), None, True),
    ("full_mask", (2, 2, 4, 5), (2, 2, 5, 5), (2, 2, 5, 6),
     row_mask((2, 2, 4, 5)), None, False),
    ("rank3", (3, 6, 8), (3, 6, 8), (3, 6, 8), None, 0.25, False),
    ("rank2_mask1d", (5, 4), (7, 4), (7, 3), padding_mask([6], 7, (7,)), None,
     False),
    ("d64_t16_causal", (2, 2, 16, 64), (2, 2, 16, 64), (2, 2, 16, 64), None,
     None, True),
]
for (_name, _qs, _ks, _vs, _mask, _scale, _causal) in ATTENTION:
    inputs = {"q": randn(_qs), "k": randn(_ks), "v": randn(_vs)}
    operands = "%q, %k, %v"
    types = "$q, $k, $v"
    if _mask is not None:
        inputs["mask"] = np.asarray(_mask, dtype=bool)
        operands += ", %mask"
        types += ", $mask"
    case("model", "attention/" + _name, inputs,
         "%%y = graph.attention %s%s : %s" % (
             operands, attrs(scale=None if _scale is None else f64(_scale),
                             causal=_causal), types),
         lambda t, scale=_scale, causal=_causal: {"y": attention_ref(
             t["q"], t["k"], t["v"], t.get("mask"), scale, causal)},
         kind="long")

for _red in ("none", "sum", "mean"):
    case("model", "cross_entropy/%s_6x10" % _red,
         {"x": randn((6, 10), 2.0), "y": ints(0, 10, (6,))},
         "%%l = graph.cross_entropy %s %%x, %%y : $x, $y" % _red,
         lambda t, r=_red: {"l": F.cross_entropy(t["x"], t["y"], reduction=r)})
    case("model", "mse_loss/%s_6x10" % _red,
         {"x": randn((6, 10)), "y": randn((6, 10))},
         "%%l = graph.mse_loss %s %%x, %%y : $x, $y" % _red,
         lambda t, r=_red: {"l": F.mse_loss(t["x"], t["y"], reduction=r)})
    case("model", "bce_with_logits/%s_6x10" % _red,
         {"x": randn((6, 10), 3.0), "y": uniform(0, 1, (6, 10))},
         "%%l = graph.bce_with_logits %s %%x, %%y : $x, $y" % _red,
         lambda t, r=_red: {"l": F.binary_cross_entropy_with_logits(
             t["x"], t["y"], reduction=r)})
# Class counts that are multiples of the vector width: the label match reads
# the column index, which a split of the row reduction must keep.
for _classes in (32, 96, 128):
    case("model", "cross_entropy/none_%dx%d" % (_classes, _classes),
         {"x": randn((_classes, _classes), 2.0),
          "y": ints(0, _classes, (_classes,))},
         "%l = graph.cross_entropy none %x, %y : $x, $y",
         lambda t: {"l": F.cross_entropy(t["x"], t["y"], reduction="none")})
case("model", "cross_entropy/mean_i32_labels",
     {"x": randn((5, 7)), "y": ints(0, 7, (5,), np.int32)},
     "%l = graph.cross_entropy mean %x, %y : $x, $y",
     lambda t: {"l": F.cross_entropy(t["x"], t["y"].long())})
case("model", "cross_entropy/none_large_logits",
     {"x": randn((4, 9), 40.0), "y": ints(0, 9, (4,))},
     "%l = graph.cross_entropy none %x, %y : $x, $y",
     lambda t: {"l": F.cross_entropy(t["x"], t["y"], reduction="none")})
case("model", "cross_entropy/sum_batch1",
     {"x": randn((1, 3)), "y": np.array([2], dtype=np.int64)},
     "%l = graph.cross_entropy sum %x, %y : $x, $y",
     lambda t: {"l": F.cross_entropy(t["x"], t["y"], reduction="sum")})
case("model", "mse_loss/mean_2x3x4", {"x": randn((2, 3, 4)), "y": randn((2, 3, 4))},
     "%l = graph.mse_loss mean %x, %y : $x, $y",
     lambda t: {"l": F.mse_loss(t["x"], t["y"])})
case("model", "mse_loss/mean_scalar", {"x": randn(()), "y": randn(())},
     "%l = graph.mse_loss mean %x, %y : $x, $y",
     lambda t: {"l": F.mse_loss(t["x"], t["y"])})
case("model", "bce_with_logits/mean_large_logits",
     {"x": randn((4, 5), 60.0), "y": choice([0, 1], (4, 5))},
     "%l = graph.bce_with_logits mean %x, %y : $x, $y",
     lambda t: {"l": F.binary_cross_entropy_with_logits(t["x"], t["y"])})
case("model", "bce_with_logits/none_2x1x3x3",
     {"x": randn((2, 1, 3, 3), 2.0), "y": uniform(0, 1, (2, 1, 3, 3))},
     "%l = graph.bce_with_logits none %x, %y : $x, $y",
     lambda t: {"l": F.binary_cross_entropy_with_logits(
         t["x"], t["y"], reduction="none")})

# ---- chains of ops (fusion) ---------------------------------------------------------

case("fusion", "chain/linear_relu",
     {"x": randn((8, 13)), "w": randn((16, 13)), "b": randn((16,))},
     "%h = graph.matmul %x, %w {transpose_rhs} : $x, $w\n"
     "%a = graph.add %h, %b : $h, $b\n"
     "%y = graph.relu %a : $a",
     lambda t: {"y": F.relu(F.linear(t["x"], t["w"], t["b"]))},
     inter={"h": ((8, 16), "T"), "a": ((8, 16), "T")})
case("fusion", "chain/conv_relu_pool",
     {"x": randn((2, 3, 8, 8)), "w": randn((4, 3, 3, 3)), "b": randn((4,))},
     "%c = graph.conv2d %x, %w, %b {padding = array<i64: 1, 1>} : $x, $w, $b\n"
     "%r = graph.relu %c : $c\n"
     "%y = graph.max_pool2d %r {kernel = array<i64: 2, 2>, "
     "strides = array<i64: 2, 2>} : $r",
     lambda t: {"y": F.max_pool2d(F.relu(F.conv2d(t["x"], t["w"], t["b"],
                                                  padding=1)), 2, 2)},
     inter={"c": ((2, 4, 8, 8), "T"), "r": ((2, 4, 8, 8), "T")})
case("fusion", "chain/elementwise_bcast",
     {"x": randn((4, 1, 5)), "z": randn((3, 1))},
     "%s = graph.sigmoid %x : $x\n"
     "%n = graph.neg %x : $x\n"
     "%e = graph.exp %n : $x\n"
     "%m = graph.mul %s, %e : $x, $x\n"
     "%th = graph.tanh %z : $z\n"
     "%y = graph.add %m, %th : $x, $z",
     lambda t: {"y": torch.sigmoid(t["x"]) * torch.exp(-t["x"])
                + torch.tanh(t["z"])})
case("fusion", "chain/layer_norm_gelu_residual",
     {"x": randn((3, 5, 8)), "g": randn((8,)), "b": randn((8,))},
     "%n = graph.layer_norm %x, %g, %b : $x, $g, $b\n"
     "%a = graph.gelu %n : $x\n"
     "%y = graph.add %x, %a : $x, $x",
     lambda t: {"y": t["x"] + F.gelu(F.layer_norm(t["x"], (8,), t["g"],
                                                  t["b"]))})
case("fusion", "chain/scaled_masked_softmax",
     {"x": randn((2, 4, 6)), "m": bools((1, 6), 0.7) | np.eye(1, 6, 0, bool)},
     "%c = graph.constant dense<0.5> : tensor<$T>\n"
     "%s = graph.mul %x, %c : $x, $c\n"
     "%ninf = graph.constant dense<-1.0e+30> : tensor<$T>\n"
     "%z = graph.select %m, %s, %ninf : $m, $x, $c\n"
     "%y = graph.softmax %z : $x",
     lambda t: {"y": torch.softmax(torch.where(t["m"], t["x"] * 0.5,
                                               torch.tensor(-1e30)), -1)},
     inter={"c": ((), "T")})
case("fusion", "chain/reduce_after_elementwise",
     {"x": randn((5, 7)), "mu": randn((5, 1))},
     "%d = graph.sub %x, %mu : $x, $mu\n"
     "%e = graph.exp %d : $x\n"
     "%y = graph.reduce_sum %e {dims = array<i64: 1>, keep_dims} : $x\n"
     "%z = graph.div %e, %y : $x, $y",
     lambda t: {"y": torch.exp(t["x"] - t["mu"]).sum(1, keepdim=True),
                "z": torch.softmax(t["x"], 1)})
case("fusion", "chain/mlp_block",
     {"x": randn((6, 8)), "w1": randn((16, 8), 0.5), "b1": randn((16,)),
      "w2": randn((8, 16), 0.5), "b2": randn((8,))},
     "%h = graph.matmul %x, %w1 {transpose_rhs} : $x, $w1\n"
     "%hb = graph.add %h, %b1 : $h, $b1\n"
     "%a = graph.gelu %hb : $h\n"
     "%o = graph.matmul %a, %w2 {transpose_rhs} : $h, $w2\n"
     "%y = graph.add %o, %b2 : $x, $b2",
     lambda t: {"y": F.linear(F.gelu(F.linear(t["x"], t["w1"], t["b1"])),
                              t["w2"], t["b2"])},
     inter={"h": ((6, 16), "T")})

# ---- recurrences ---------------------------------------------------------------

GATES = {"tanh": 1, "lstm": 4, "gru": 3}
SAVED = {"tanh": 1, "lstm": 5, "gru": 4}
RECURRENCES = [  # cell, batch, steps, hidden, reverse, initial state
    ("tanh", 3, 4, 5, False, False),
    ("tanh", 2, 6, 3, True, True),
    ("lstm", 3, 5, 4, False, False),
    ("lstm", 2, 4, 6, True, True),
    ("gru", 3, 5, 4, False, True),
    ("gru", 2, 7, 5, True, False),
    ("lstm", 1, 1, 3, False, True),  # one step, as GRUCell uses it
]
for (_cell, _b, _t, _h, _rev, _state) in RECURRENCES:
    _g = GATES[_cell] * _h
    _inputs = {"g": randn((_b, _t, _g)), "w": randn((_g, _h), 0.5),
               "b": randn((_g,), 0.5)}
    _operands, _types = "%g, %w, %b", "$g, $w, $b"
    if _state:
        _inputs["s0"] = randn((_b, (2 if _cell == "lstm" else 1) * _h))
        _operands += ", %s0"
        _types += ", $s0"
    _body = "%%y, %%saved = graph.recurrence %s %s%s : %s" % (
        _cell, _operands, attrs(reverse=_rev), _types)
    if _cell == "lstm":
        # The cell states are the last H columns of `saved`.
        _body += ("\n%%c = graph.slice %%saved {starts = array<i64: 0, 0, %d>, "
                  "limits = array<i64: %d, %d, %d>, strides = array<i64: 1, 1, 1>} : tensor<%dx%dx%dx$T>"
                  % (4 * _h, _b, _t, 5 * _h, _b, _t, 5 * _h))

    def _ref(t, cell=_cell, rev=_rev):
        hs, cs = torch_recurrence(cell, t["g"], t["w"], t["b"], t.get("s0"),
                                  rev)
        return {"y": hs, "c": cs} if cell == "lstm" else {"y": hs}
    case("model", "recurrence/%s_%dx%dx%d%s%s" % (
        _cell, _b, _t, _h, "_reverse" if _rev else "",
        "_state" if _state else ""), _inputs, _body, _ref, kind="long")
