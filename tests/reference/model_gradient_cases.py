"""The cases of test_gradients.py for losses, shapes, chains, ties and
kinks, normalization, gathers and attention, and the finite-difference
cases, after gradient_cases.py's. Importing this module after
gradient_cases registers them in gradient_harness.CASES and FD_CASES,
in order."""

import math

import numpy as np
import torch
import torch.nn.functional as F

from gradient_cases import max_pool_body
from gradient_harness import (bools, case, choice, distinct, fd_case, ints,
                              randn, signed_away_from_zero, uniform)
from harness import (arr, attrs, binary_body, pair, sn, torch_recurrence,
                     torch_reduce)

# ---- losses --------------------------------------------------------------------------

for _red in ("none", "sum", "mean"):
    case("loss", "cross_entropy/%s_6x10" % _red, {"x": randn((6, 10), 2.0)},
         "%%y = graph.cross_entropy %s %%x, %%lab : $x, $lab" % _red,
         lambda t, r=_red: F.cross_entropy(t["x"], t["lab"], reduction=r),
         inputs={"lab": ints(0, 10, (6,))})
    case("loss", "mse_loss/%s_6x10" % _red,
         {"x": randn((6, 10)), "t": randn((6, 10))},
         "%%y = graph.mse_loss %s %%x, %%t : $x, $t" % _red,
         lambda t, r=_red: F.mse_loss(t["x"], t["t"], reduction=r))
    case("loss", "bce_with_logits/%s_6x10" % _red,
         {"x": randn((6, 10), 3.0), "t": uniform(0, 1, (6, 10))},
         "%%y = graph.bce_with_logits %s %%x, %%t : $x, $t" % _red,
         lambda t, r=_red: F.binary_cross_entropy_with_logits(
             t["x"], t["t"], reduction=r))
case("loss", "cross_entropy/mean_i32_labels", {"x": randn((5, 7))},
     "%y = graph.cross_entropy mean %x, %lab : $x, $lab",
     lambda t: F.cross_entropy(t["x"], t["lab"].long()),
     inputs={"lab": ints(0, 7, (5,), np.int32)})
case("loss", "cross_entropy/none_large_logits", {"x": randn((4, 9), 20.0)},
     "%y = graph.cross_entropy none %x, %lab : $x, $lab",
     lambda t: F.cross_entropy(t["x"], t["lab"], reduction="none"),
     inputs={"lab": ints(0, 9, (4,))})
case("loss", "cross_entropy/sum_batch1", {"x": randn((1, 3))},
     "%y = graph.cross_entropy sum %x, %lab : $x, $lab",
     lambda t: F.cross_entropy(t["x"], t["lab"], reduction="sum"),
     inputs={"lab": np.array([2], dtype=np.int64)})
case("loss", "cross_entropy/mean_2_classes_batch7", {"x": randn((7, 2))},
     "%y = graph.cross_entropy mean %x, %lab : $x, $lab",
     lambda t: F.cross_entropy(t["x"], t["lab"]),
     inputs={"lab": ints(0, 2, (7,))})
case("loss", "mse_loss/mean_2x3x4", {"x": randn((2, 3, 4)), "t": randn((2, 3, 4))},
     "%y = graph.mse_loss mean %x, %t : $x, $t",
     lambda t: F.mse_loss(t["x"], t["t"]))
case("loss", "mse_loss/none_2x1x3", {"x": randn((2, 1, 3)), "t": randn((2, 1, 3))},
     "%y = graph.mse_loss none %x, %t : $x, $t",
     lambda t: F.mse_loss(t["x"], t["t"], reduction="none"))
case("loss", "mse_loss/mean_scalar", {"x": randn(()), "t": randn(())},
     "%y = graph.mse_loss mean %x, %t : $x, $t",
     lambda t: F.mse_loss(t["x"], t["t"]))
case("loss", "mse_loss/sum_target_input", {"x": randn((3, 4))},
     "%y = graph.mse_loss sum %x, %t : $x, $t",
     lambda t: F.mse_loss(t["x"], t["t"], reduction="sum"),
     inputs={"t": randn((3, 4))})
case("loss", "bce_with_logits/mean_large_logits",
     {"x": randn((4, 5), 30.0), "t": choice([0, 1], (4, 5))},
     "%y = graph.bce_with_logits mean %x, %t : $x, $t",
     lambda t: F.binary_cross_entropy_with_logits(t["x"], t["t"]))
case("loss", "bce_with_logits/none_2x1x3x3",
     {"x": randn((2, 1, 3, 3), 2.0), "t": uniform(0, 1, (2, 1, 3, 3))},
     "%y = graph.bce_with_logits none %x, %t : $x, $t",
     lambda t: F.binary_cross_entropy_with_logits(t["x"], t["t"],
                                                  reduction="none"))
case("loss", "bce_with_logits/sum_target_input", {"x": randn((3, 5), 2.0)},
     "%y = graph.bce_with_logits sum %x, %t : $x, $t",
     lambda t: F.binary_cross_entropy_with_logits(t["x"], t["t"],
                                                  reduction="sum"),
     inputs={"t": uniform(0, 1, (3, 5))})

# ---- shapes --------------------------------------------------------------------------

for _src, _dst in [((2, 3, 4), (4, 6)), ((6,), (1, 2, 3, 1)), ((1,), ()),
                   ((), (1, 1)), ((4, 8), (32,)), ((2, 1, 4), (8,))]:
    case("shape", "reshape/%s_to_%s" % (sn(_src), sn(_dst)), {"x": randn(_src)},
         "%%y = graph.reshape %%x {shape = %s} : $x" % arr(_dst),
         lambda t, dst=_dst: t["x"].reshape(dst))

for _shape, _perm in [((4, 8), (1, 0)), ((2, 3, 4), (2, 0, 1)),
                      ((2, 3, 4, 5), (0, 2, 1, 3)), ((2, 3, 4, 5), (3, 2, 1, 0)),
                      ((3, 1, 2), (1, 2, 0)), ((2, 3, 4), (1, 2, 0))]:
    case("shape", "transpose/%s_perm%s" % (sn(_shape), "".join(map(str, _perm))),
         {"x": randn(_shape)},
         "%%y = graph.transpose %%x {permutation = %s} : $x" % arr(_perm),
         lambda t, perm=_perm: t["x"].permute(perm))

for _src, _dst in [((4, 1), (3, 4, 5)), ((), (2, 3)), ((5,), (7, 5)),
                   ((1, 3, 1), (2, 3, 4)), ((1,), (1,)), ((2, 1), (2, 1))]:
    case("shape", "broadcast_to/%s_to_%s" % (sn(_src), sn(_dst)),
         {"x": randn(_src)},
         "%%y = graph.broadcast_to %%x {shape = %s} : $x" % arr(_dst),
         lambda t, dst=_dst: t["x"].broadcast_to(dst))

case("shape", "concat/axis1_4x8_4x2", {"a": randn((4, 8)), "b": randn((4, 2))},
     "%y = graph.concat %a, %b {axis = 1 : i64} : $a, $b",
     lambda t: torch.cat([t["a"], t["b"]], 1))
case("shape", "concat/axis0_three",
     {"a": randn((2, 3)), "b": randn((1, 3)), "c": randn((4, 3))},
     "%y = graph.concat %a, %b, %c {axis = 0 : i64} : $a, $b, $c",
     lambda t: torch.cat([t["a"], t["b"], t["c"]], 0))
case("shape", "concat/axis-1_rank3", {"a": randn((2, 3, 1)), "b": randn((2, 3, 4))},
     "%y = graph.concat %a, %b {axis = -1 : i64} : $a, $b",
     lambda t: torch.cat([t["a"], t["b"]], -1))
case("shape", "concat/channels_nchw",
     {"a": randn((2, 3, 4, 4)), "b": randn((2, 5, 4, 4))},
     "%y = graph.concat %a, %b {axis = 1 : i64} : $a, $b",
     lambda t: torch.cat([t["a"], t["b"]], 1))
case("shape", "concat/single_input", {"a": randn((3, 2))},
     "%y = graph.concat %a {axis = 0 : i64} : $a", lambda t: t["a"] * 1.0)
case("shape", "concat/same_value_twice", {"a": randn((2, 3))},
     "%y = graph.concat %a, %a {axis = 1 : i64} : $a, $a",
     lambda t: torch.cat([t["a"], t["a"]], 1))
case("shape", "concat/param_and_input", {"a": randn((2, 3))},
     "%y = graph.concat %b, %a {axis = 0 : i64} : $b, $a",
     lambda t: torch.cat([t["b"], t["a"]], 0), inputs={"b": randn((1, 3))})

# ---- chains: accumulation over several uses, unused params ------------------------

case("chain", "chain/square_same_value", {"a": randn((4, 3))},
     "%y = graph.mul %a, %a : $a, $a", lambda t: t["a"] * t["a"])
case("chain", "chain/three_uses",
     {"a": randn((3, 4)), "b": randn((4,))},
     "%e = graph.exp %a : $a\n"
     "%m = graph.mul %a, %e : $a, $a\n"
     "%s = graph.sin %a : $a\n"
     "%q = graph.add %m, %s : $a, $a\n"
     "%y = graph.div %q, %b : $a, $b",
     lambda t: (t["a"] * torch.exp(t["a"]) + torch.sin(t["a"])) / t["b"])
case("chain", "chain/unused_param", {"a": randn((2, 3)), "b": randn((5,))},
     "%y = graph.tanh %a : $a", lambda t: torch.tanh(t["a"]) + 0 * t["b"].sum())
case("chain", "chain/mlp_cross_entropy",
     {"w1": randn((16, 8), 0.5), "b1": randn((16,)), "w2": randn((5, 16), 0.5),
      "b2": randn((5,))},
     "%h = graph.matmul %x, %w1 {transpose_rhs} : $x, $w1\n"
     "%hb = graph.add %h, %b1 : $h, $b1\n"
     "%a = graph.gelu %hb : $h\n"
     "%o = graph.matmul %a, %w2 {transpose_rhs} : $h, $w2\n"
     "%ob = graph.add %o, %b2 : $o, $b2\n"
     "%y = graph.cross_entropy mean %ob, %lab : $o, $lab",
     lambda t: F.cross_entropy(F.linear(F.gelu(F.linear(t["x"], t["w1"], t["b1"])),
                                        t["w2"], t["b2"]), t["lab"]),
     inputs={"x": randn((6, 8)), "lab": ints(0, 5, (6,))},
     inter={"h": ((6, 16), "T"), "o": ((6, 5), "T")})
case("chain", "chain/conv_relu_pool_linear",
     {"w": randn((4, 3, 3, 3), 0.5), "b": randn((4,)), "fw": randn((3, 16), 0.5)},
     "%c = graph.conv2d %x, %w, %b {padding = array<i64: 1, 1>} : $x, $w, $b\n"
     "%r = graph.relu %c : $c\n"
     "%p = graph.max_pool2d %r {kernel = array<i64: 2, 2>, "
     "strides = array<i64: 2, 2>} : $c\n"
     "%f = graph.reshape %p {shape = array<i64: 2, 16>} : $p\n"
     "%y = graph.matmul %f, %fw {transpose_rhs} : $f, $fw",
     lambda t: F.linear(F.max_pool2d(F.relu(F.conv2d(
         t["x"], t["w"], t["b"], padding=1)), 2, 2).reshape(2, 16), t["fw"]),
     inputs={"x": randn((2, 3, 4, 4))},
     inter={"c": ((2, 4, 4, 4), "T"), "p": ((2, 4, 2, 2), "T"),
            "f": ((2, 16), "T")})
# A classifier with fewer outputs than images (gan's discriminator): in
# float32, graph-channels-last flattens the NHWC activation and permutes
# the weight's columns instead, and its gradients come back through the
# same permutation.
case("chain", "chain/conv_leaky_relu_one_logit",
     {"w": randn((6, 3, 3, 3), 0.5), "b": randn((6,)), "fw": randn((1, 150), 0.3),
      "fb": randn((1,))},
     "%c = graph.conv2d %x, %w, %b {padding = array<i64: 1, 1>} : $x, $w, $b\n"
     "%a = graph.leaky_relu %c {alpha = 2.000000e-01 : f64} : $c\n"
     "%f = graph.reshape %a {shape = array<i64: 4, 150>} : $c\n"
     "%o = graph.matmul %f, %fw {transpose_rhs} : $f, $fw\n"
     "%y = graph.add %o, %fb : $o, $fb",
     lambda t: F.linear(F.leaky_relu(F.conv2d(t["x"], t["w"], t["b"], padding=1),
                                     0.2).reshape(4, 150), t["fw"], t["fb"]),
     inputs={"x": randn((4, 3, 5, 5))},
     inter={"c": ((4, 6, 5, 5), "T"), "f": ((4, 150), "T"), "o": ((4, 1), "T")})
case("chain", "chain/layer_norm_from_primitives",
     {"x": randn((4, 6), 2.0) + 1.0, "g": randn((6,)), "b": randn((6,))},
     "%mu = graph.reduce_mean %x {dims = array<i64: 1>, keep_dims} : $x\n"
     "%d = graph.sub %x, %mu : $x, $mu\n"
     "%sq = graph.mul %d, %d : $x, $x\n"
     "%var = graph.reduce_mean %sq {dims = array<i64: 1>, keep_dims} : $x\n"
     "%eps = graph.constant dense<1.0e-05> : tensor<$T>\n"
     "%ve = graph.add %var, %eps : $mu, $eps\n"
     "%rs = graph.rsqrt %ve : $mu\n"
     "%n = graph.mul %d, %rs : $x, $mu\n"
     "%s = graph.mul %n, %g : $x, $g\n"
     "%y = graph.add %s, %b : $x, $b",
     lambda t: F.layer_norm(t["x"], (6,), t["g"], t["b"], 1e-5),
     inter={"mu": ((4, 1), "T"), "eps": ((), "T")})
case("chain", "chain/masked_softmax_attention",
     {"q": randn((2, 3, 4)), "k": randn((2, 5, 4)), "v": randn((2, 5, 3))},
     "%s = graph.batch_matmul %q, %k {transpose_rhs} : $q, $k\n"
     "%c = graph.constant dense<0.5> : tensor<$T>\n"
     "%sc = graph.mul %s, %c : $s, $c\n"
     "%ninf = graph.constant dense<-1.0e+30> : tensor<$T>\n"
     "%z = graph.select %m, %sc, %ninf : $m, $s, $c\n"
     "%p = graph.softmax %z : $s\n"
     "%y = graph.batch_matmul %p, %v : $s, $v",
     lambda t: torch.softmax(torch.where(t["m"], t["q"] @ t["k"].transpose(1, 2)
                                         * 0.5, torch.tensor(-1e30)), -1) @ t["v"],
     inputs={"m": bools((1, 5), 0.7) | np.eye(1, 5, 0, bool)},
     inter={"s": ((2, 3, 5), "T"), "c": ((), "T")})
case("chain", "chain/relu_via_select_of_compare", {"a": signed_away_from_zero(
    0.1, 2, (3, 5))},
     "%z = graph.constant dense<0.0> : tensor<$T>\n"
     "%m = graph.compare gt, %a, %z : $a, $z\n"
     "%y = graph.select %m, %a, %z : $m, $a, $z",
     lambda t: F.relu(t["a"]), inter={"z": ((), "T"), "m": ((3, 5), "i1")})
case("chain", "chain/broadcast_transpose_reduce",
     {"a": randn((3, 1)), "b": randn((4,))},
     "%bc = graph.broadcast_to %a {shape = array<i64: 2, 3, 4>} : $a\n"
     "%t = graph.transpose %bc {permutation = array<i64: 2, 0, 1>} : $bc\n"
     "%r = graph.reshape %b {shape = array<i64: 4, 1, 1>} : $b\n"
     "%m = graph.mul %t, %r : $t, $r\n"
     "%y = graph.reduce_max %m {dims = array<i64: 2>} : $t",
     lambda t: torch.amax(t["a"].broadcast_to(2, 3, 4).permute(2, 0, 1)
                          * t["b"].reshape(4, 1, 1), 2),
     inter={"bc": ((2, 3, 4), "T"), "t": ((4, 2, 3), "T"), "r": ((4, 1, 1), "T")})

# ---- ties and kinks: PyTorch's subgradient is the reference -----------------------

case("ties", "abs/zeros", {"x": choice([-1.5, 0.0, 2.0], (4, 5))},
     "%y = graph.abs %x : $x", lambda t: torch.abs(t["x"]))
case("ties", "relu/zeros", {"x": choice([-1.5, 0.0, 2.0], (4, 5))},
     "%y = graph.relu %x : $x", lambda t: F.relu(t["x"]))
case("ties", "leaky_relu/zeros", {"x": choice([-1.5, 0.0, 2.0], (4, 5))},
     "%y = graph.leaky_relu %x {alpha = 0.25 : f64} : $x",
     lambda t: F.leaky_relu(t["x"], 0.25))
case("ties", "clamp/at_bounds", {"x": choice([-3.0, -0.5, 0.25, 1.5, 2.0],
                                             (4, 5))},
     "%y = graph.clamp %x {min = -0.5 : f64, max = 1.5 : f64} : $x",
     lambda t: torch.clamp(t["x"], -0.5, 1.5))
for _op, _fn in [("maximum", torch.maximum), ("minimum", torch.minimum)]:
    case("ties", "%s/ties_4x6" % _op, {"a": choice([-1, 0, 1], (4, 6)),
                                       "b": choice([-1, 0, 1], (4, 6))},
         binary_body(_op), lambda t, fn=_fn: fn(t["a"], t["b"]))
for _op in ("reduce_max", "reduce_min"):
    case("ties", "%s/ties_5x6_dims1" % _op, {"x": choice([0, 1, 2], (5, 6))},
         "%%y = graph.%s %%x {dims = array<i64: 1>} : $x" % _op,
         lambda t, op=_op: torch_reduce(op, t["x"], (1,), False))
for _name, _shape, k, s, p in [("k3_s1_p1", (2, 2, 6, 7), 3, 1, 1),
                               ("k2_s2", (1, 3, 6, 6), 2, 2, 0),
                               ("k3_s2_p1", (1, 2, 7, 7), 3, 2, 1)]:
    k, s, p = pair(k), pair(s), pair(p)
    case("ties", "max_pool2d/ties_" + _name, {"x": choice([0, 1, 2], _shape)},
         max_pool_body(k, s, p),
         lambda t, k=k, s=s, p=p: F.max_pool2d(t["x"], k, s, p))

# ---- finite differences (fd mode): tiny params, away from kinks --------------------

fd_case("mul_4x1x2_3x1", {"a": randn((2, 1, 2)), "b": randn((3, 1))},
        binary_body("mul"), lambda t: t["a"] * t["b"])
fd_case("div_2x3_3", {"a": randn((2, 3)), "b": signed_away_from_zero(0.5, 2, (3,))},
        binary_body("div"), lambda t: t["a"] / t["b"])
fd_case("pow_2x3_3", {"a": uniform(0.5, 2, (2, 3)), "b": uniform(-1, 2, (3,))},
        binary_body("pow"), lambda t: torch.pow(t["a"], t["b"]))
fd_case("unary_chain_5",
        {"x": uniform(0.3, 2, (5,))},
        "%a = graph.gelu %x : $x\n%b = graph.erf %a : $x\n"
        "%c = graph.silu %b : $x\n%d = graph.rsqrt %x : $x\n"
        "%e = graph.log %d : $x\n%f = graph.tanh %e : $x\n"
        "%g = graph.sqrt %x : $x\n%h = graph.sigmoid %g : $x\n"
        "%i = graph.add %c, %f : $x, $x\n%y = graph.mul %i, %h : $x, $x",
        lambda t: (F.silu(torch.erf(F.gelu(t["x"])))
                   + torch.tanh(torch.log(torch.rsqrt(t["x"]))))
        * torch.sigmoid(torch.sqrt(t["x"])))
fd_case("matmul_tn_3x2x2", {"a": randn((3, 2)), "b": randn((3, 2))},
        "%y = graph.matmul %a, %b {transpose_lhs} : $a, $b",
        lambda t: t["a"].T @ t["b"])
fd_case("batch_matmul_nt_2x2x3x2", {"a": randn((2, 2, 3)), "b": randn((2, 2, 3))},
        "%y = graph.batch_matmul %a, %b {transpose_rhs} : $a, $b",
        lambda t: t["a"] @ t["b"].transpose(1, 2))
fd_case("conv2d_stride2_pad1_dilation2",
        {"x": randn((1, 1, 6, 5)), "w": randn((2, 1, 2, 2)), "bias": randn((2,))},
        "%y = graph.conv2d %x, %w, %bias {strides = array<i64: 2, 2>, "
        "padding = array<i64: 1, 1>, dilation = array<i64: 2, 2>} : $x, $w, $bias",
        lambda t: F.conv2d(t["x"], t["w"], t["bias"], 2, 1, 2))
fd_case("max_pool2d_k3_s1_p1", {"x": distinct((1, 1, 4, 4), 0.125)},
        max_pool_body((3, 3), (1, 1), (1, 1)),
        lambda t: F.max_pool2d(t["x"], 3, 1, 1))
fd_case("softmax_axis0_3x4", {"x": randn((3, 4))},
        "%y = graph.softmax %x {axis = 0 : i64} : $x",
        lambda t: torch.softmax(t["x"], 0))
fd_case("log_softmax_3x4", {"x": randn((3, 4))},
        "%y = graph.log_softmax %x : $x", lambda t: torch.log_softmax(t["x"], -1))
fd_case("reduce_max_min_3x4",
        {"x": distinct((3, 4), 0.25)},
        "%a = graph.reduce_max %x {dims = array<i64: 1>, keep_dims} : $x\n"
        "%b = graph.reduce_min %x {dims = array<i64: 0>} : $x\n"
        "%y = graph.add %a, %b : $a, $b",
        lambda t: torch.amax(t["x"], 1, keepdim=True) + torch.amin(t["x"], 0),
        inter={"a": ((3, 1), "T"), "b": ((4,), "T")})
fd_case("cross_entropy_mean_3x4", {"x": randn((3, 4), 2.0)},
        "%y = graph.cross_entropy mean %x, %lab : $x, $lab",
        lambda t: F.cross_entropy(t["x"], t["lab"]),
        inputs={"lab": np.array([3, 0, 1], dtype=np.int64)})
fd_case("bce_with_logits_mean_2x3",
        {"x": randn((2, 3), 2.0), "t": uniform(0, 1, (2, 3))},
        "%y = graph.bce_with_logits mean %x, %t : $x, $t",
        lambda t: F.binary_cross_entropy_with_logits(t["x"], t["t"]))
fd_case("layer_norm_from_primitives_2x4",
        {"x": randn((2, 4)), "g": randn((4,)), "b": randn((4,))},
        "%mu = graph.reduce_mean %x {dims = array<i64: 1>, keep_dims} : $x\n"
        "%d = graph.sub %x, %mu : $x, $mu\n"
        "%sq = graph.mul %d, %d : $x, $x\n"
        "%var = graph.reduce_mean %sq {dims = array<i64: 1>, keep_dims} : $x\n"
        "%ve = graph.add %var, %var : $mu, $mu\n"
        "%rs = graph.rsqrt %ve : $mu\n"
        "%m = graph.mul %d, %rs : $x, $mu\n"
        "%s = graph.mul %m, %g : $x, $g\n"
        "%y = graph.add %s, %b : $x, $b",
        lambda t: ((t["x"] - t["x"].mean(1, keepdim=True))
                   * torch.rsqrt(2 * ((t["x"] - t["x"].mean(1, keepdim=True)) ** 2)
                                 .mean(1, keepdim=True))) * t["g"] + t["b"],
        inter={"mu": ((2, 1), "T")})
fd_case("global_avg_pool_concat_transpose",
        {"a": randn((1, 2, 2, 3)), "b": randn((1, 1, 2, 3))},
        "%c = graph.concat %a, %b {axis = 1 : i64} : $a, $b\n"
        "%e = graph.exp %c : $c\n"
        "%t = graph.transpose %e {permutation = array<i64: 0, 1, 3, 2>} : $c\n"
        "%y = graph.global_avg_pool2d %t : $t",
        lambda t: F.adaptive_avg_pool2d(torch.exp(torch.cat([t["a"], t["b"]], 1))
                                        .permute(0, 1, 3, 2), 1),
        inter={"c": ((1, 3, 2, 3), "T"), "t": ((1, 3, 3, 2), "T")})



# ---- normalization, average pooling, gathers, attention --------------------

for _name, _shape, _k, _s, _p, _inc in [
        ("k2_s2", (2, 3, 8, 8), 2, 2, 0, True),
        ("k3_s1_p1_incl", (1, 2, 7, 7), 3, 1, 1, True),
        ("k3_s1_p1_excl", (1, 2, 7, 7), 3, 1, 1, False),
        ("k3_s2_p1_excl_odd", (2, 2, 9, 11), 3, 2, 1, False)]:
    k, s, p = pair(_k), pair(_s), pair(_p)
    case("avg_pool", "avg_pool2d/" + _name, {"x": randn(_shape)},
         "%y = graph.avg_pool2d %x" + attrs(
             kernel=arr(k), strides=arr(s),
             padding=arr(p) if p != (0, 0) else None,
             count_include_pad=None if _inc else "false") + " : $x",
         lambda t, k=k, s=s, p=p, inc=_inc: F.avg_pool2d(
             t["x"], k, s, p, count_include_pad=inc))

for _shape, _wshape in [((2, 5, 16), (16,)), ((3, 4, 6), (4, 6)), ((7, 13), (13,))]:
    case("norm", "layer_norm/%s_w%s" % (sn(_shape), sn(_wshape)),
         {"x": randn(_shape), "w": 1 + randn(_wshape, 0.2), "b": randn(_wshape)},
         "%y = graph.layer_norm %x, %w, %b : $x, $w, $b",
         lambda t, ws=_wshape: F.layer_norm(t["x"], ws, t["w"], t["b"], 1e-5))

for _shape in [(4, 3, 5, 5), (8, 6), (3, 4, 7)]:
    _c = _shape[1]
    case("norm", "batch_norm_training/" + sn(_shape),
         {"x": randn(_shape), "w": 1 + randn((_c,), 0.2), "b": randn((_c,))},
         "%y, %rm, %rv = graph.batch_norm_training %x, %w, %b, %m, %v : "
         "$x, $w, $b, $m, $v",
         lambda t: F.batch_norm(t["x"], t["m"].clone(), t["v"].clone(), t["w"],
                                t["b"], training=True, momentum=0.1, eps=1e-5),
         inputs={"m": randn((_c,)), "v": uniform(0.5, 2.0, (_c,))}, kind="long")
    case("norm", "batch_norm_inference/" + sn(_shape),
         {"x": randn(_shape), "w": 1 + randn((_c,), 0.2), "b": randn((_c,))},
         "%y = graph.batch_norm_inference %x, %w, %b, %m, %v : $x, $w, $b, $m, $v",
         lambda t: F.batch_norm(t["x"], t["m"], t["v"], t["w"], t["b"],
                                training=False, eps=1e-5),
         inputs={"m": randn((_c,)), "v": uniform(0.5, 2.0, (_c,))})

for _shape, _g in [((2, 6, 5, 5), 3), ((2, 6, 5, 5), 1), ((1, 8, 3, 4), 8),
                   ((2, 4, 7), 2)]:
    case("norm", "group_norm/%s_g%d" % (sn(_shape), _g),
         {"x": randn(_shape), "w": 1 + randn((_shape[1],), 0.2),
          "b": randn((_shape[1],))},
         "%%y = graph.group_norm %%x, %%w, %%b {num_groups = %d : i64} : $x, $w, $b" % _g,
         lambda t, g=_g: F.group_norm(t["x"], g, t["w"], t["b"], 1e-5))

for _idx_shape in [(5,), (2, 3)]:
    case("gather", "embedding/" + sn(_idx_shape), {"w": randn((7, 4))},
         "%y = graph.embedding %w, %i : $w, $i",
         lambda t: F.embedding(t["i"], t["w"]),
         inputs={"i": ints(0, 7, _idx_shape)})

for _starts, _limits in [((0, 1), (3, 4)), ((1, 0), (2, 5)), ((0, 0), (3, 5))]:
    case("shape", "slice/3x5_%s_%s" % ("-".join(map(str, _starts)),
                                       "-".join(map(str, _limits))),
         {"x": randn((3, 5))},
         "%y = graph.slice %x" + attrs(starts=arr(_starts), limits=arr(_limits),
                                       strides=arr((1, 1))) + " : $x",
         lambda t, a=_starts, b=_limits: t["x"][a[0]:b[0], a[1]:b[1]] * 1.0)


# Strided slices: the last read is short of the limit, exactly at it, or the
# stride runs past the input's end; a stride on the size-1 and leading dims.
STRIDED_SLICES = [  # shape, starts, limits, strides
    ((3, 10), (0, 1), (3, 10), (1, 3)),
    ((3, 10), (1, 0), (3, 9), (2, 2)),
    ((4, 7), (0, 2), (4, 7), (3, 4)),
    ((2, 1, 9), (0, 0, 0), (2, 1, 9), (1, 1, 4)),
    ((6, 5), (1, 0), (6, 5), (5, 1)),
]
for _shape, _starts, _limits, _strides in STRIDED_SLICES:
    case("shape", "slice_strided/%s_%s_%s_%s" % (
        sn(_shape), "-".join(map(str, _starts)), "-".join(map(str, _limits)),
        "-".join(map(str, _strides))),
         {"x": randn(_shape)},
         "%y = graph.slice %x" + attrs(starts=arr(_starts), limits=arr(_limits),
                                       strides=arr(_strides)) + " : $x",
         lambda t, a=_starts, b=_limits, c=_strides: t["x"][
             tuple(slice(i, j, k) for i, j, k in zip(a, b, c))] * 1.0)

def torch_attention(q, k, v, mask=None, causal=False, scale=None):
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ k.transpose(-1, -2) * scale
    if causal:
        tq, tk = s.shape[-2], s.shape[-1]
        keep = torch.tril(torch.ones(tq, tk, dtype=torch.bool))
        s = s.masked_fill(~keep, float("-inf"))
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf"))
    return torch.softmax(s, -1) @ v


case("attention", "attention/plain_2x3x5x4",
     {"q": randn((2, 3, 5, 4)), "k": randn((2, 3, 6, 4)), "v": randn((2, 3, 6, 2))},
     "%y = graph.attention %q, %k, %v : $q, $k, $v",
     lambda t: torch_attention(t["q"], t["k"], t["v"]), kind="long")
case("attention", "attention/causal_scale",
     {"q": randn((2, 5, 4)), "k": randn((2, 5, 4)), "v": randn((2, 5, 3))},
     "%y = graph.attention %q, %k, %v {causal, scale = 0.5 : f64} : $q, $k, $v",
     lambda t: torch_attention(t["q"], t["k"], t["v"], causal=True, scale=0.5),
     kind="long")
_mask = bools((2, 1, 6))
_mask[:, :, 0] = True  # every row attends somewhere
case("attention", "attention/padding_mask",
     {"q": randn((2, 3, 4)), "k": randn((2, 6, 4)), "v": randn((2, 6, 2))},
     "%y = graph.attention %q, %k, %v, %m : $q, $k, $v, $m",
     lambda t: torch_attention(t["q"], t["k"], t["v"], mask=t["m"]),
     inputs={"m": _mask}, kind="long")


# ---- recurrences: backpropagation through time --------------------------------

GRAD_RECURRENCES = [  # cell, batch, steps, hidden, reverse, initial state
    ("tanh", 2, 5, 3, False, True),
    ("tanh", 3, 4, 4, True, False),
    ("lstm", 2, 4, 3, False, False),
    ("lstm", 3, 5, 4, True, True),
    ("gru", 2, 5, 4, False, True),
    ("gru", 3, 3, 3, True, True),
]
for (_cell, _b, _t, _h, _rev, _state) in GRAD_RECURRENCES:
    _g = {"tanh": 1, "lstm": 4, "gru": 3}[_cell] * _h
    _w = {"tanh": 1, "lstm": 5, "gru": 4}[_cell] * _h
    _params = {"g": randn((_b, _t, _g)), "w": randn((_g, _h), 0.5),
               "b": randn((_g,), 0.5)}
    _operands, _types = "%g, %w, %b", "$g, $w, $b"
    if _state:
        _params["s0"] = randn((_b, (2 if _cell == "lstm" else 1) * _h))
        _operands += ", %s0"
        _types += ", $s0"
    _body = "%%hid, %%saved = graph.recurrence %s %s%s : %s" % (
        _cell, _operands, attrs(reverse=_rev), _types)
    if _cell == "lstm":
        # The loss reads the cell states too: their gradient enters through
        # `saved`.
        _body += ("\n%%c = graph.slice %%saved {starts = array<i64: 0, 0, %d>, "
                  "limits = array<i64: %d, %d, %d>, strides = array<i64: 1, 1, 1>} : $saved"
                  "\n%%y = graph.add %%hid, %%c : $hid, $c"
                  % (4 * _h, _b, _t, 5 * _h))
    else:
        _body += "\n%y = graph.mul %hid, %hid : $hid, $hid"

    def _ref(t, cell=_cell, rev=_rev):
        hs, cs = torch_recurrence(cell, t["g"], t["w"], t["b"], t.get("s0"),
                                  rev)
        return hs + cs if cell == "lstm" else hs * hs
    case("recurrence", "recurrence/%s_%dx%dx%d%s%s" % (
        _cell, _b, _t, _h, "_reverse" if _rev else "",
        "_state" if _state else ""), _params, _body, _ref, kind="long",
         inter={"hid": ((_b, _t, _h), "T"), "saved": ((_b, _t, _w), "T"),
                "c": ((_b, _t, _h), "T")})
