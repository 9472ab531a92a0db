"""The cases of test_gradients.py for elementwise ops, contractions,
convolutions, pooling, reductions and softmax, each with its PyTorch
float64 loss; model_gradient_cases.py holds the rest. Importing this
module registers them in gradient_harness.CASES, in order."""

import math

import numpy as np
import torch
import torch.nn.functional as F

from gradient_harness import (bools, case, distinct, randn,
                              signed_away_from_zero, uniform)
from harness import (arr, attrs, binary_body, conv_operands, f64, i64, pair,
                     sn, torch_reduce)

# ---- elementwise: unary --------------------------------------------------------

UNARY = [  # op, reference, input generator, extreme range (None: no such case)
    ("neg", torch.neg, lambda s: uniform(-3, 3, s), None),
    ("abs", torch.abs, lambda s: signed_away_from_zero(0.05, 3, s), None),
    ("exp", torch.exp, lambda s: uniform(-3, 3, s), (-80, 80)),
    ("log", torch.log, lambda s: uniform(0.05, 5, s), (1e-30, 1e30)),
    ("sqrt", torch.sqrt, lambda s: uniform(0.05, 5, s), (1e-30, 1e30)),
    ("rsqrt", torch.rsqrt, lambda s: uniform(0.05, 5, s), None),
    ("sin", torch.sin, lambda s: uniform(-6.5, 6.5, s), None),
    ("cos", torch.cos, lambda s: uniform(-6.5, 6.5, s), None),
    ("tanh", torch.tanh, lambda s: uniform(-4, 4, s), (-100, 100)),
    ("erf", torch.erf, lambda s: uniform(-3, 3, s), (-10, 10)),
    ("floor", torch.floor, lambda s: uniform(-3, 3, s) + 0.01, None),
    ("sigmoid", torch.sigmoid, lambda s: uniform(-8, 8, s), (-100, 100)),
    ("relu", F.relu, lambda s: signed_away_from_zero(0.05, 3, s), None),
    ("gelu", lambda x: F.gelu(x, approximate="none"),
     lambda s: uniform(-5, 5, s), (-30, 30)),
    ("silu", F.silu, lambda s: uniform(-6, 6, s), (-100, 100)),
]
UNARY_SHAPES = [(), (1,), (3, 1, 5), (2, 3, 4, 5)]

for _i, (_op, _fn, _gen, _extreme) in enumerate(UNARY):
    for _shape in [(7, 13), UNARY_SHAPES[_i % 4], UNARY_SHAPES[(_i + 2) % 4]]:
        case("unary", "%s/%s" % (_op, sn(_shape)), {"x": _gen(_shape)},
             "%%y = graph.%s %%x : $x" % _op, lambda t, fn=_fn: fn(t["x"]))
    if _extreme:
        lo, hi = _extreme
        if _op in ("log", "sqrt"):  # log-uniform magnitudes
            x = np.exp(uniform(math.log(lo), math.log(hi), (5, 9)))
        else:
            x = uniform(lo, hi, (5, 9))
        case("unary", "%s/extreme" % _op, {"x": x},
             "%%y = graph.%s %%x : $x" % _op, lambda t, fn=_fn: fn(t["x"]))

for _alpha, _shape in [(0.2, (7, 13)), (0.01, (3, 1, 5)), (1.5, ())]:
    case("unary", "leaky_relu/alpha%s_%s" % (_alpha, sn(_shape)),
         {"x": signed_away_from_zero(0.05, 3, _shape)},
         "%%y = graph.leaky_relu %%x%s : $x" % attrs(alpha=f64(_alpha)),
         lambda t, a=_alpha: F.leaky_relu(t["x"], a))

for _lo, _hi, _shape in [(-0.5, 1.5, (7, 13)), (0.3, 0.3, (4, 5)),
                         (-1.0, 1.0, ()), (-1.0, 1.0, (2, 1, 3))]:
    case("unary", "clamp/%s_%s_%s" % (_lo, _hi, sn(_shape)),
         {"x": uniform(-3, 3, _shape)},
         "%%y = graph.clamp %%x%s : $x" % attrs(min=f64(_lo), max=f64(_hi)),
         lambda t, lo=_lo, hi=_hi: torch.clamp(t["x"], lo, hi))

# ---- elementwise: binary, select -------------------------------------------------

BINARY = [  # op, reference, lhs generator, rhs generator
    ("add", torch.add, randn, randn),
    ("sub", torch.sub, randn, randn),
    ("mul", torch.mul, randn, randn),
    ("div", torch.div, randn, lambda s: signed_away_from_zero(0.5, 2, s)),
    ("pow", torch.pow, lambda s: uniform(0.1, 3, s),
     lambda s: uniform(-2, 2.5, s)),
    # Values a quarter apart: no ties between the operands.
    ("maximum", torch.maximum, lambda s: distinct(s, 0.25) + 0.125,
     lambda s: distinct(s, 0.25)),
    ("minimum", torch.minimum, lambda s: distinct(s, 0.25) + 0.125,
     lambda s: distinct(s, 0.25)),
]
BINARY_SHAPES = [((4, 1, 5), (3, 1)), ((3, 1), (4, 1, 5)), ((7, 13), (13,)),
                 ((), (2, 3)), ((5, 1), (1, 6)), ((3, 4), (3, 4)),
                 ((2, 3), ()), ((1,), (2, 1, 1)), ((), ())]


for _op, _fn, _gl, _gr in BINARY:
    for _sa, _sb in BINARY_SHAPES:
        case("binary", "%s/%s_%s" % (_op, sn(_sa), sn(_sb)),
             {"a": _gl(_sa), "b": _gr(_sb)}, binary_body(_op),
             lambda t, fn=_fn: fn(t["a"], t["b"]))
    # One operand a plain input: only the other one has a gradient.
    case("binary", "%s/param_and_input_4x1x5_3x1" % _op, {"a": _gl((4, 1, 5))},
         binary_body(_op), lambda t, fn=_fn: fn(t["a"], t["b"]),
         inputs={"b": _gr((3, 1))})

# pow with a negative base needs an integer exponent, and then the exponent
# has no gradient (log of a negative number): the exponent is an input.
case("binary", "pow/negative_base_integer_exponent",
     {"a": signed_away_from_zero(0.3, 2, (4, 6))}, binary_body("pow"),
     lambda t: torch.pow(t["a"], t["b"]),
     inputs={"b": np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])})

SELECT_BODY = "%y = graph.select %c, %a, %b : $c, $a, $b"
for _cs, _as, _bs in [((4, 1, 5), (3, 1), ()), ((7, 13), (7, 13), (7, 13)),
                      ((2, 3), (3,), (2, 1)), ((), (2, 2), (2, 2))]:
    case("binary", "select/%s_%s_%s" % (sn(_cs), sn(_as), sn(_bs)),
         {"a": randn(_as), "b": randn(_bs)}, SELECT_BODY,
         lambda t: torch.where(t["c"], t["a"], t["b"]),
         inputs={"c": bools(_cs)})
case("binary", "select/of_compare",
     {"a": distinct((6, 5), 0.25) + 0.125, "b": distinct((5,), 0.25)},
     "%m = graph.compare gt, %a, %b : $a, $b\n"
     "%y = graph.select %m, %a, %b : $m, $a, $b",
     lambda t: torch.where(t["a"] > t["b"], t["a"], t["b"]),
     inter={"m": ((6, 5), "i1")})

# ---- cast -----------------------------------------------------------------------

case("binary", "cast/f32_to_f64_3x7", {"x": randn((3, 7))},
     "%y = graph.cast %x : $x to f64", lambda t: t["x"] * 1.0,
     types={"x": "f32"}, y_type="f64")
case("binary", "cast/f64_to_f32_2x1x3", {"x": randn((2, 1, 3))},
     "%y = graph.cast %x : $x to f32", lambda t: t["x"] * 1.0,
     types={"x": "f64"}, y_type="f32")
case("binary", "cast/f32_to_f64_then_exp_scalar", {"x": randn(())},
     "%c = graph.cast %x : $x to f64\n%y = graph.exp %c : $c",
     lambda t: torch.exp(t["x"]), types={"x": "f32"}, y_type="f64",
     inter={"c": ((), "f64")})
# An integer path: argmax and a cast from i64 carry no gradient.
case("binary", "cast/from_argmax_no_gradient",
     {"a": distinct((4, 6)), "b": randn((4,))},
     "%i = graph.argmax %a {dim = 1 : i64} : $a\n"
     "%c = graph.cast %i : $i to $T\n"
     "%y = graph.mul %c, %b : $c, $b",
     lambda t: torch.argmax(t["a"], 1).double() * t["b"],
     inter={"i": ((4,), "i64"), "c": ((4,), "T")})

# ---- matmul, batch_matmul ----------------------------------------------------


def matmul_case(op, m, k, n, tl, tr, batch=()):
    a_shape = batch + ((k, m) if tl else (m, k))
    b_shape = batch + ((n, k) if tr else (k, n))
    tag = "".join("%dx" % d for d in batch) + "%dx%dx%d_%s%s" % (
        m, k, n, "t" if tl else "n", "t" if tr else "n")
    case("matmul", "%s/%s" % (op, tag),
         {"a": randn(a_shape), "b": randn(b_shape)},
         "%%y = graph.%s %%a, %%b%s : $a, $b"
         % (op, attrs(transpose_lhs=tl, transpose_rhs=tr)),
         lambda t: (t["a"].transpose(-1, -2) if tl else t["a"])
         @ (t["b"].transpose(-1, -2) if tr else t["b"]),
         kind="long" if max(m, k, n) > 100 else "default")


for _tl in (False, True):
    for _tr in (False, True):
        matmul_case("matmul", 7, 13, 5, _tl, _tr)
        matmul_case("batch_matmul", 7, 6, 5, _tl, _tr, batch=(2,))
        matmul_case("batch_matmul", 4, 3, 5, _tl, _tr, batch=(2, 3))
matmul_case("matmul", 1, 17, 1, False, False)
matmul_case("matmul", 5, 1, 3, False, False)
matmul_case("matmul", 16, 32, 64, False, True)
matmul_case("matmul", 8, 200, 16, False, True)
matmul_case("matmul", 150, 4, 3, True, False)
matmul_case("batch_matmul", 1, 9, 1, False, False, batch=(1,))
matmul_case("batch_matmul", 5, 128, 3, True, True, batch=(3,))

# ---- conv2d (groups 1) ------------------------------------------------------------

CONV2D = [  # name, N, C, H, W, O, kernel, stride, padding, dilation, bias
    ("basic", 2, 3, 9, 9, 4, 3, 1, 0, 1, True),
    ("pad1_nobias", 2, 3, 8, 8, 5, 3, 1, 1, 1, False),
    ("stride2_odd", 1, 2, 13, 11, 3, 3, 2, 1, 1, True),
    # (10 - 3) / 2 leaves a row and a column that no window reads.
    ("stride2_unread_edge", 2, 2, 10, 10, 3, 3, 2, 0, 1, True),
    ("kernel3x2_stride2x1_pad1x0", 2, 3, 10, 7, 4, (3, 2), (2, 1), (1, 0), 1,
     True),
    ("dilation2", 1, 2, 11, 11, 3, 3, 1, 2, 2, True),
    ("dilation2_nopad_nobias", 2, 2, 9, 8, 3, 3, 1, 0, 2, False),
    ("stride2_dilation2_pad1", 1, 2, 12, 11, 2, 3, 2, 1, 2, True),
    ("stride2_dilation2x1_pad1x2", 1, 2, 12, 12, 2, 3, 2, (1, 2), (2, 1),
     False),
    ("pointwise", 2, 8, 5, 5, 4, 1, 1, 0, 1, True),
    ("full_kernel", 2, 3, 5, 5, 4, 5, 1, 0, 1, True),
    ("patch7_stride7", 2, 1, 28, 28, 8, 7, 7, 0, 1, True),
    ("stride_larger_than_kernel", 1, 2, 10, 10, 3, 2, 3, 0, 1, False),
    ("channels32", 1, 32, 6, 6, 8, 3, 1, 1, 1, True),
    ("size1_spatial_pad1", 3, 2, 1, 1, 2, 3, 1, 1, 1, True),
]


def conv_out(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


for (_name, n, c, h, w, o, k, s, p, d, has_bias) in CONV2D:
    k, s, p, d = pair(k), pair(s), pair(p), pair(d)
    params = {"x": randn((n, c, h, w)), "w": randn((o, c) + k, 0.5)}
    if has_bias:
        params["bias"] = randn((o,))
    operands = conv_operands(has_bias, s, p, d)
    oh, ow = (conv_out(h, k[0], s[0], p[0], d[0]),
              conv_out(w, k[1], s[1], p[1], d[1]))
    longest = max(c * k[0] * k[1], o * k[0] * k[1], n * oh * ow)
    case("conv", "conv2d/" + _name, params, "%y = graph.conv2d " + operands,
         lambda t, s=s, p=p, d=d: F.conv2d(t["x"], t["w"], t.get("bias"), s, p, d),
         kind="long" if longest > 100 else "default")
# Only the weight is a param (the input's gradient is not needed).
case("conv", "conv2d/weight_only_stride2_pad1",
     {"w": randn((3, 2, 3, 3), 0.5)},
     "%y = graph.conv2d %x, %w {strides = array<i64: 2, 2>, "
     "padding = array<i64: 1, 1>} : $x, $w",
     lambda t: F.conv2d(t["x"], t["w"], None, 2, 1),
     inputs={"x": randn((2, 2, 7, 7))})

# ---- grouped conv2d, conv_transpose2d ---------------------------------------------

CONV2D_GROUPED = [  # name, N, C, H, W, O, kernel, stride, padding, groups, bias
    ("groups2", 2, 4, 7, 7, 6, 3, 1, 1, 2, True),
    ("groups3_stride2_nobias", 1, 6, 9, 8, 3, 3, 2, 0, 3, False),
    ("depthwise_pad1", 2, 4, 6, 6, 4, 3, 1, 1, 4, True),
    ("depthwise_multiplier2_stride2", 1, 3, 9, 9, 6, 3, 2, 1, 3, False),
]

for (_name, n, c, h, w, o, k, s, p, g, has_bias) in CONV2D_GROUPED:
    params = {"x": randn((n, c, h, w)), "w": randn((o, c // g, k, k), 0.5)}
    if has_bias:
        params["bias"] = randn((o,))
    operands = conv_operands(has_bias, (s, s), (p, p), groups=g)
    case("conv", "conv2d_grouped/" + _name, params, "%y = graph.conv2d " + operands,
         lambda t, s=s, p=p, g=g: F.conv2d(t["x"], t["w"], t.get("bias"), s, p,
                                          1, g))

CONV_T = [  # name, N, C, H, W, O, kernel, stride, padding, output_padding,
            # dilation, bias[, groups]
    ("basic", 2, 4, 5, 5, 3, 3, 1, 0, 0, 1, True),
    ("k4_stride2_pad1", 2, 6, 4, 4, 3, 4, 2, 1, 0, 1, False),
    ("stride2_pad1_outpad1", 1, 3, 5, 5, 2, 3, 2, 1, 1, 1, True),
    ("dilation2_outpad1", 1, 2, 5, 5, 2, 3, 1, 0, 1, 2, True),
    ("kernel2x3_stride2x1_pad0x1_outpad1x0", 1, 3, 4, 6, 2, (2, 3), (2, 1),
     (0, 1), (1, 0), 1, True),
    ("odd_stride3", 1, 2, 3, 5, 3, 2, 3, 0, 2, 1, False),
    ("groups2_stride2", 2, 4, 5, 5, 6, 3, 2, 0, 0, 1, True, 2),
    ("depthwise_stride2_pad1", 1, 4, 5, 5, 4, 3, 2, 1, 1, 1, False, 4),
]

for (_name, n, c, h, w, o, k, s, p, op_, d, has_bias, *_g) in CONV_T:
    g = _g[0] if _g else 1
    k, s, p, op_, d = pair(k), pair(s), pair(p), pair(op_), pair(d)
    params = {"x": randn((n, c, h, w)), "w": randn((c, o // g) + k, 0.5)}
    if has_bias:
        params["bias"] = randn((o,))
    operands = conv_operands(has_bias, s, p, d, g, output_padding=op_)
    case("conv", "conv_transpose2d/" + _name, params,
         "%y = graph.conv_transpose2d " + operands,
         lambda t, s=s, p=p, op_=op_, d=d, g=g: F.conv_transpose2d(
             t["x"], t["w"], t.get("bias"), s, p, op_, g, d))

# ---- pooling -------------------------------------------------------------------

POOL = [  # name, input shape, kernel, stride, padding
    ("k2_s2", (2, 3, 8, 8), 2, 2, 0),
    ("k3_s1_p1", (2, 2, 7, 7), 3, 1, 1),
    ("k3_s2_p1_odd", (1, 2, 9, 11), 3, 2, 1),
    ("k2x3_s1x2_p1x1", (1, 3, 6, 7), (2, 3), (1, 2), (1, 1)),
    ("k2_s2_odd_floor", (1, 3, 7, 7), 2, 2, 0),
    ("k3_s3", (2, 2, 9, 6), 3, 3, 0),
    ("k3_s2_p1_size1", (2, 2, 1, 1), 3, 2, 1),
]


def max_pool_body(k, s, p):
    return "%y = graph.max_pool2d %x" + attrs(
        kernel=arr(k), strides=arr(s),
        padding=arr(p) if p != (0, 0) else None) + " : $x"


for (_name, _shape, k, s, p) in POOL:
    k, s, p = pair(k), pair(s), pair(p)
    case("pool", "max_pool2d/" + _name, {"x": distinct(_shape, 0.125)},
         max_pool_body(k, s, p),
         lambda t, k=k, s=s, p=p: F.max_pool2d(t["x"], k, s, p))
# Padding must count as -inf, not 0, when every input is negative.
case("pool", "max_pool2d/k3_s1_p1_all_negative",
     {"x": -2.0 - distinct((1, 2, 5, 5), 0.03125) ** 2},
     max_pool_body((3, 3), (1, 1), (1, 1)),
     lambda t: F.max_pool2d(t["x"], 3, 1, 1))
for _shape in [(2, 3, 7, 7), (1, 5, 1, 1), (2, 4, 3, 5)]:
    case("pool", "global_avg_pool2d/" + sn(_shape), {"x": randn(_shape)},
         "%y = graph.global_avg_pool2d %x : $x",
         lambda t: F.adaptive_avg_pool2d(t["x"], 1))

# ---- reductions, softmax -----------------------------------------------------------


REDUCE = [  # input shape, dims, keep_dims
    ((4, 8, 6), (1,), False),
    ((3, 5, 7), (0, 2), True),
    ((7, 13), (-1,), False),
    ((2, 3, 4), (0, 1, 2), False),
    ((2, 3, 4), (0, 1, 2), True),
    ((2, 3, 4, 5), (-3, -1), True),
    ((13,), (0,), False),
    ((2, 1, 3), (1,), False),
    ((5, 1), (0,), True),
]
for _op in ("reduce_sum", "reduce_mean", "reduce_max", "reduce_min"):
    for _shape, _dims, _keep in REDUCE:
        case("reduce", "%s/%s_dims%s%s" % (_op, sn(_shape),
                                           "_".join(map(str, _dims)),
                                           "_keep" if _keep else ""),
             {"x": distinct(_shape)},
             "%%y = graph.%s %%x%s : $x" % (_op, attrs(dims=arr(_dims),
                                                       keep_dims=_keep)),
             lambda t, op=_op, dims=_dims, keep=_keep: torch_reduce(
                 op, t["x"], dims, keep))
case("reduce", "reduce_sum/scalar_no_dims", {"x": randn(())},
     "%y = graph.reduce_sum %x {dims = array<i64>} : $x", lambda t: t["x"] * 1.0)

SOFTMAX = [  # name, shape, scale, axis (None: default -1)
    ("2x5x16_axis-1", (2, 5, 16), 1.0, -1),
    ("2x5x16_axis0", (2, 5, 16), 1.0, 0),
    ("2x5x16_axis1", (2, 5, 16), 1.0, 1),
    ("7x13_default_axis", (7, 13), 1.0, None),
    ("13", (13,), 1.0, 0),
    ("2x3x4x5_axis2", (2, 3, 4, 5), 1.0, 2),
    ("large_logits", (4, 9), 20.0, -1),
    ("size1_axis", (3, 1), 1.0, 1),
]
for _op, _fn in [("softmax", torch.softmax), ("log_softmax", torch.log_softmax)]:
    for _name, _shape, _scale, _axis in SOFTMAX:
        case("softmax", "%s/%s" % (_op, _name), {"x": randn(_shape, _scale)},
             "%%y = graph.%s %%x%s : $x" % (
                 _op, attrs(axis=None if _axis is None else i64(_axis))),
             lambda t, fn=_fn, axis=_axis: fn(t["x"], -1 if axis is None else axis))
