"""The cases of test_ops.py: every `graph` op on many shapes, each with its
PyTorch float64 reference; model_op_cases.py holds those of attention, the
losses and chains of ops. Importing this module registers them in
harness.CASES, in order (their inputs come from harness.RNG, so the order
fixes them)."""

import math

import numpy as np
import torch
import torch.nn.functional as F

from harness import (arr, attrs, binary_body, bools, case, choice,
                     conv_operands, distinct, f64, i64, ints, pair, randn,
                     signed_away_from_zero, sn, torch_reduce, uniform)

# ---- elementwise: unary ------------------------------------------------------

UNARY = [  # op, reference, input range, extreme range (None: no such case)
    ("neg", torch.neg, (-3, 3), None),
    ("abs", torch.abs, (-3, 3), None),
    ("exp", torch.exp, (-3, 3), (-80, 80)),
    ("log", torch.log, (0.05, 5), (1e-30, 1e30)),
    ("sqrt", torch.sqrt, (0.0, 5), (0.0, 1e30)),
    ("rsqrt", torch.rsqrt, (0.05, 5), None),
    ("sin", torch.sin, (-6.5, 6.5), None),
    ("cos", torch.cos, (-6.5, 6.5), None),
    ("tanh", torch.tanh, (-4, 4), (-100, 100)),
    ("erf", torch.erf, (-3, 3), (-10, 10)),
    ("sigmoid", torch.sigmoid, (-8, 8), (-100, 100)),
    ("relu", F.relu, (-3, 3), None),
    ("gelu", lambda x: F.gelu(x, approximate="none"), (-5, 5), (-30, 30)),
    ("silu", F.silu, (-6, 6), (-100, 100)),
]
OTHER_SHAPES = [(), (1,), (3, 1, 5), (2, 3, 4, 5)]

for _i, (_op, _fn, _range, _extreme) in enumerate(UNARY):
    for _shape in [(7, 13), OTHER_SHAPES[_i % len(OTHER_SHAPES)]]:
        # A lone value sits at 80% of the range: in the tails, cancellation
        # (gelu near -3: 1 + erf) is legitimately above the f32 tolerance.
        x = uniform(_range[0], _range[1], _shape) if len(_shape) > 1 else \
            np.full(_shape, _range[0] + 0.8 * (_range[1] - _range[0]))
        case("unary", "%s/%s" % (_op, sn(_shape)), {"x": x},
             "%%y = graph.%s %%x : $x" % _op,
             lambda t, fn=_fn: {"y": fn(t["x"])})
    if _extreme:
        lo, hi = _extreme
        if _op in ("log", "sqrt"):  # log-uniform magnitudes
            x = np.exp(uniform(math.log(max(lo, 1e-30)), math.log(hi), (5, 9)))
        else:
            x = uniform(lo, hi, (5, 9))
        case("unary", "%s/extreme" % _op, {"x": x},
             "%%y = graph.%s %%x : $x" % _op,
             lambda t, fn=_fn: {"y": fn(t["x"])})

for _alpha, _shape in [(0.2, (7, 13)), (0.01, (3, 1, 5)), (1.5, ())]:
    case("unary", "leaky_relu/alpha%s_%s" % (_alpha, sn(_shape)),
         {"x": uniform(-3, 3, _shape)},
         "%%y = graph.leaky_relu %%x%s : $x" % attrs(alpha=f64(_alpha)),
         lambda t, a=_alpha: {"y": F.leaky_relu(t["x"], a)})

for _lo, _hi, _shape in [(-0.5, 1.5, (7, 13)), (0.3, 0.3, (4, 5)),
                         (-1.0, 1.0, ())]:
    case("unary", "clamp/%s_%s_%s" % (_lo, _hi, sn(_shape)),
         {"x": uniform(-3, 3, _shape)},
         "%%y = graph.clamp %%x%s : $x" % attrs(min=f64(_lo), max=f64(_hi)),
         lambda t, lo=_lo, hi=_hi: {"y": torch.clamp(t["x"], lo, hi)})

# exp on whole 16-lane registers (rows of 16k elements) takes the AVX-512
# path where the CPU has it (scaled by vscalefps): accuracy over the range,
# and NaN, infinities, zeros and the ends of the float32 range.
case("unary", "exp/16_lanes", {"x": uniform(-3, 3, (4, 64))},
     "%y = graph.exp %x : $x", lambda t: {"y": torch.exp(t["x"])},
     kind="relative")
case("unary", "exp/16_lanes_wide", {"x": uniform(-87, 88, (64, 1024))},
     "%y = graph.exp %x : $x", lambda t: {"y": torch.exp(t["x"])},
     kind="relative")
case("unary", "exp/16_lanes_special",
     {"x": np.array([[np.nan, -np.inf, np.inf, -0.0, 0.0, 88.7, 88.0, -87.0,
                      -104.0, -110.0, -200.0, 1e-8, -1e-8, 0.5, -0.5,
                      20.0]] * 2)},
     "%y = graph.exp %x : $x", lambda t: {"y": torch.exp(t["x"])})

# NaN propagates through relu and clamp as in PyTorch (the code generator
# turns a maximum or minimum against a constant into a compare and select);
# infinities and signed zeros pass through.
SPECIAL = np.array([[np.nan, -np.inf, np.inf, -0.0, 0.0, -1.5, 0.2, 2.5]])
case("unary", "relu/special", {"x": SPECIAL}, "%y = graph.relu %x : $x",
     lambda t: {"y": F.relu(t["x"])})
case("unary", "clamp/special", {"x": SPECIAL},
     "%%y = graph.clamp %%x%s : $x" % attrs(min=f64(-1.0), max=f64(1.0)),
     lambda t: {"y": torch.clamp(t["x"], -1.0, 1.0)})

# ---- elementwise: binary, compare, select ----------------------------------

BINARY = [  # op, reference, lhs generator, rhs generator
    ("add", torch.add, randn, randn),
    ("sub", torch.sub, randn, randn),
    ("mul", torch.mul, randn, randn),
    ("div", torch.div, randn, lambda s: signed_away_from_zero(0.5, 2, s)),
    ("pow", torch.pow, lambda s: uniform(0.1, 3, s),
     lambda s: uniform(-2, 2.5, s)),
    ("maximum", torch.maximum, randn, randn),
    ("minimum", torch.minimum, randn, randn),
]
BINARY_SHAPES = [((4, 1, 5), (3, 1)), ((7, 13), (13,)), ((), (2, 3)),
                 ((5, 1), (1, 6)), ((3, 4), (3, 4)), ((2, 3), ())]


for _op, _fn, _gl, _gr in BINARY:
    for _sa, _sb in BINARY_SHAPES:
        case("binary", "%s/%s_%s" % (_op, sn(_sa), sn(_sb)),
             {"a": _gl(_sa), "b": _gr(_sb)}, binary_body(_op),
             lambda t, fn=_fn: {"y": fn(t["a"], t["b"])})

case("binary", "pow/negative_base_integer_exponent",
     {"a": signed_away_from_zero(0.3, 2, (4, 6)),
      "b": np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])},
     binary_body("pow"), lambda t: {"y": torch.pow(t["a"], t["b"])})
case("binary", "maximum/ties", {"a": choice([-1, 0, 1], (4, 6)),
                                "b": choice([-1, 0, 1], (4, 6))},
     binary_body("maximum"), lambda t: {"y": torch.maximum(t["a"], t["b"])})

for _op, _fn in [("add", torch.add), ("sub", torch.sub), ("mul", torch.mul),
                 ("maximum", torch.maximum), ("minimum", torch.minimum)]:
    case("binary", "%s/i64_4x1x5_3x1" % _op,
         {"a": ints(-50, 50, (4, 1, 5)), "b": ints(-50, 50, (3, 1))},
         binary_body(_op), lambda t, fn=_fn: {"y": fn(t["a"], t["b"])})
    case("binary", "%s/i32_3x4" % _op,
         {"a": ints(-1000, 1000, (3, 4), np.int32),
          "b": ints(-1000, 1000, (3, 4), np.int32)},
         binary_body(_op), lambda t, fn=_fn: {"y": fn(t["a"], t["b"])})

COMPARE = {"eq": torch.eq, "ne": torch.ne, "lt": torch.lt, "le": torch.le,
           "gt": torch.gt, "ge": torch.ge}
for _pred, _fn in COMPARE.items():
    case("binary", "compare/%s_f_4x1x5_3x1" % _pred,
         {"a": choice([-1, 0, 0.5, 1], (4, 1, 5)),
          "b": choice([-1, 0, 0.5, 1], (3, 1))},
         "%%y = graph.compare %s, %%a, %%b : $a, $b" % _pred,
         lambda t, fn=_fn: {"y": fn(t["a"], t["b"])})
    case("binary", "compare/%s_i64_7_scalar" % _pred,
         {"a": ints(-3, 4, (7,)), "b": np.array(1, dtype=np.int64)},
         "%%y = graph.compare %s, %%a, %%b : $a, $b" % _pred,
         lambda t, fn=_fn: {"y": fn(t["a"], t["b"])})

# The i1 result feeds a cast, so no i1 tensor crosses the function boundary.
for _pred, _fn in COMPARE.items():
    case("binary", "compare/%s_cast_to_float" % _pred,
         {"a": choice([-1, 0, 0.5, 1], (4, 1, 5)),
          "b": choice([-1, 0, 0.5, 1], (3, 1))},
         "%%m = graph.compare %s, %%a, %%b : $a, $b\n"
         "%%y = graph.cast %%m : $m to $T" % _pred,
         lambda t, fn=_fn: {"y": fn(t["a"], t["b"]).double()},
         inter={"m": ((4, 3, 5), "i1")})

SELECT_BODY = "%y = graph.select %c, %a, %b : $c, $a, $b"
case("binary", "select/bcast_4x1x5_3x1_scalar",
     {"c": bools((4, 1, 5)), "a": randn((3, 1)), "b": randn(())},
     SELECT_BODY, lambda t: {"y": torch.where(t["c"], t["a"], t["b"])})
case("binary", "select/7x13",
     {"c": bools((7, 13)), "a": randn((7, 13)), "b": randn((7, 13))},
     SELECT_BODY, lambda t: {"y": torch.where(t["c"], t["a"], t["b"])})
case("binary", "select/i64",
     {"c": bools((2, 3)), "a": ints(-9, 9, (2, 3)), "b": ints(-9, 9, (3,))},
     SELECT_BODY, lambda t: {"y": torch.where(t["c"], t["a"], t["b"])})
case("binary", "select/i1_values",
     {"c": bools((5,)), "a": bools((5,)), "b": bools((1,))},
     SELECT_BODY, lambda t: {"y": torch.where(t["c"], t["a"], t["b"])})
case("binary", "select/of_compare",
     {"a": randn((6, 5)), "b": randn((5,))},
     "%m = graph.compare gt, %a, %b : $a, $b\n"
     "%y = graph.select %m, %a, %b : $m, $a, $b",
     lambda t: {"m": t["a"] > t["b"], "y": torch.maximum(t["a"], t["b"])})

# ---- constant and cast --------------------------------------------------------

case("binary", "constant/splat",
     {"x": randn((2, 3))},
     "%c = graph.constant dense<1.5> : tensor<2x3x$T>\n"
     "%y = graph.add %x, %c : $x, $c",
     lambda t: {"c": torch.full((2, 3), 1.5), "y": t["x"] + 1.5})
_DENSE = [[1.0, -2.5, 0.25], [4.0, 0.5, -8.0]]
case("binary", "constant/dense_2x3",
     {"x": randn((3,))},
     "%c = graph.constant dense<[[1.0, -2.5, 0.25], [4.0, 0.5, -8.0]]> "
     ": tensor<2x3x$T>\n"
     "%y = graph.mul %c, %x : $c, $x",
     lambda t: {"c": torch.tensor(_DENSE), "y": torch.tensor(_DENSE) * t["x"]})
case("binary", "constant/scalar",
     {"x": randn((4,))},
     "%c = graph.constant dense<-0.75> : tensor<$T>\n"
     "%y = graph.sub %x, %c : $x, $c",
     lambda t: {"c": torch.tensor(-0.75), "y": t["x"] + 0.75})
case("binary", "constant/i64",
     {"x": ints(-5, 5, (2, 3))},
     "%c = graph.constant dense<[1, -2, 3]> : tensor<3xi64>\n"
     "%y = graph.add %x, %c : $x, $c",
     lambda t: {"c": torch.tensor([1, -2, 3]),
                "y": t["x"] + torch.tensor([1, -2, 3])})
case("binary", "constant/i1",
     {"a": randn((2, 3)), "b": randn((2, 3))},
     "%c = graph.constant dense<[true, false, true]> : tensor<3xi1>\n"
     "%y = graph.select %c, %a, %b : $c, $a, $b",
     lambda t: {"c": torch.tensor([True, False, True]),
                "y": torch.where(torch.tensor([True, False, True]),
                                 t["a"], t["b"])})

_TRUNC = np.array([-2.75, -2.5, -1.0, -0.9, -0.25, 0.0, 0.25, 0.9, 1.0, 2.5,
                   2.75, 7.5, -7.5])
case("binary", "cast/float_to_i64", {"x": _TRUNC},
     "%y = graph.cast %x : $x to i64",
     lambda t: {"y": t["x"].to(torch.int64)})
case("binary", "cast/float_to_i32", {"x": uniform(-100, 100, (4, 5))},
     "%y = graph.cast %x : $x to i32",
     lambda t: {"y": t["x"].to(torch.int32)})
case("binary", "cast/float_to_i1", {"x": choice([-1.5, 0, 0, 2], (3, 4))},
     "%y = graph.cast %x : $x to i1",
     lambda t: {"y": t["x"] != 0})
case("binary", "cast/i64_to_float", {"x": ints(-1000, 1000, (3, 5))},
     "%y = graph.cast %x : $x to $T",
     lambda t: {"y": t["x"].to(torch.float64)})
case("binary", "cast/i32_to_float", {"x": ints(-1000, 1000, (6,), np.int32)},
     "%y = graph.cast %x : $x to $T",
     lambda t: {"y": t["x"].to(torch.float64)})
case("binary", "cast/i1_to_float", {"x": bools((2, 5))},
     "%y = graph.cast %x : $x to $T",
     lambda t: {"y": t["x"].to(torch.float64)})
case("binary", "cast/float_to_f32", {"x": randn((3, 7))},
     "%y = graph.cast %x : $x to f32",
     lambda t: {"y": t["x"].float().double()}, out_types={"y": "f32"})
case("binary", "cast/float_to_f64", {"x": randn((3, 7))},
     "%y = graph.cast %x : $x to f64",
     lambda t: {"y": t["x"]}, out_types={"y": "f64"})
case("binary", "cast/i64_to_i32", {"x": ints(-1000, 1000, (5,))},
     "%y = graph.cast %x : $x to i32",
     lambda t: {"y": t["x"].to(torch.int32)})
case("binary", "cast/i32_to_i64", {"x": ints(-1000, 1000, (5,), np.int32)},
     "%y = graph.cast %x : $x to i64",
     lambda t: {"y": t["x"].to(torch.int64)})
case("binary", "cast/i1_to_i64", {"x": bools((5,))},
     "%y = graph.cast %x : $x to i64",
     lambda t: {"y": t["x"].to(torch.int64)})
case("binary", "cast/scalar", {"x": np.array(-3.75)},
     "%y = graph.cast %x : $x to i64",
     lambda t: {"y": t["x"].to(torch.int64)})

# ---- matmul, batch_matmul ----------------------------------------------------


def matmul_case(group, op, m, k, n, tl, tr, batch=(), kind="default"):
    a_shape = batch + ((k, m) if tl else (m, k))
    b_shape = batch + ((n, k) if tr else (k, n))
    tag = "".join("%dx" % d for d in batch) + "%dx%dx%d_%s%s" % (
        m, k, n, "t" if tl else "n", "t" if tr else "n")
    case(group, "%s/%s" % (op, tag),
         {"a": randn(a_shape), "b": randn(b_shape)},
         "%%y = graph.%s %%a, %%b%s : $a, $b"
         % (op, attrs(transpose_lhs=tl, transpose_rhs=tr)),
         lambda t: {"y": (t["a"].transpose(-1, -2) if tl else t["a"])
                    @ (t["b"].transpose(-1, -2) if tr else t["b"])},
         kind=kind)


for _tl in (False, True):
    for _tr in (False, True):
        matmul_case("matmul", "matmul", 7, 13, 5, _tl, _tr)
        matmul_case("matmul", "batch_matmul", 7, 6, 5, _tl, _tr, batch=(2,))
matmul_case("matmul", "matmul", 1, 17, 1, False, False)
matmul_case("matmul", "matmul", 16, 32, 64, False, True)
matmul_case("matmul", "matmul", 8, 784, 16, False, True, kind="long")
matmul_case("matmul", "batch_matmul", 4, 6, 5, False, False, batch=(2, 3))
matmul_case("matmul", "batch_matmul", 4, 8, 4, False, True, batch=(2, 3))
matmul_case("matmul", "batch_matmul", 1, 9, 1, False, False, batch=(1,))
matmul_case("matmul", "batch_matmul", 5, 128, 3, True, True, batch=(3,),
            kind="long")

# ---- conv2d, conv_transpose2d ------------------------------------------------

CONV2D = [  # name, N, C, H, W, O, kernel, stride, padding, dilation, groups, bias
    ("basic", 2, 3, 9, 9, 4, 3, 1, 0, 1, 1, True),
    ("pad1_nobias", 2, 3, 8, 8, 5, 3, 1, 1, 1, 1, False),
    ("stride2_odd", 1, 2, 13, 11, 3, 3, 2, 1, 1, 1, True),
    ("kernel3x2_stride2x1_pad1x0", 2, 3, 10, 7, 4, (3, 2), (2, 1), (1, 0), 1,
     1, True),
    ("dilation2", 1, 2, 11, 11, 3, 3, 1, 2, 2, 1, True),
    ("stride2_dilation2x1_pad1x2", 1, 2, 12, 12, 2, 3, 2, (1, 2), (2, 1), 1,
     False),
    ("groups2", 2, 4, 7, 7, 6, 3, 1, 0, 1, 2, True),
    ("depthwise", 2, 6, 9, 9, 6, 3, 1, 1, 1, 6, True),
    ("depthwise_x2_stride2", 1, 3, 8, 8, 6, 3, 2, 1, 1, 3, False),
    ("pointwise", 2, 8, 5, 5, 4, 1, 1, 0, 1, 1, True),
    ("full_kernel", 2, 3, 5, 5, 4, 5, 1, 0, 1, 1, True),
    ("patch7_stride7", 2, 1, 28, 28, 8, 7, 7, 0, 1, 1, True),
    ("stride_larger_than_kernel", 1, 2, 10, 10, 3, 2, 3, 0, 1, 1, False),
    ("channels32", 1, 32, 6, 6, 8, 3, 1, 1, 1, 1, True),
    ("explicit_defaults", 1, 2, 5, 5, 3, 3, 1, 0, 1, 1, True),
]

for (_name, n, c, h, w, o, k, s, p, d, g, has_bias) in CONV2D:
    k, s, p, d = pair(k), pair(s), pair(p), pair(d)
    inputs = {"x": randn((n, c, h, w)), "w": randn((o, c // g) + k, 0.5)}
    if has_bias:
        inputs["bias"] = randn((o,))
    operands = conv_operands(has_bias, s, p, d, g,
                             explicit=_name == "explicit_defaults")
    case("conv", "conv2d/" + _name, inputs, "%y = graph.conv2d " + operands,
         lambda t, s=s, p=p, d=d, g=g: {"y": F.conv2d(
             t["x"], t["w"], t.get("bias"), s, p, d, g)},
         kind="long" if c // g * k[0] * k[1] > 100 else "default")

CONV_T = [  # name, N, C, H, W, O, kernel, stride, padding, output_padding,
            # dilation, groups, bias
    ("basic", 2, 4, 5, 5, 3, 3, 1, 0, 0, 1, 1, True),
    ("k4_stride2_pad1", 2, 8, 7, 7, 4, 4, 2, 1, 0, 1, 1, False),
    ("stride2_pad1_outpad1", 1, 3, 5, 5, 2, 3, 2, 1, 1, 1, 1, True),
    ("dilation2", 1, 2, 4, 4, 3, 3, 1, 1, 0, 2, 1, False),
    ("dilation2_outpad1", 1, 2, 5, 5, 2, 3, 1, 0, 1, 2, 1, True),
    ("groups2_stride2", 2, 4, 5, 5, 6, 3, 2, 0, 0, 1, 2, True),
    ("depthwise_stride2", 1, 4, 5, 5, 4, 3, 2, 1, 0, 1, 4, False),
    ("kernel2x3_stride2x1_pad0x1_outpad1x0", 1, 3, 4, 6, 2, (2, 3), (2, 1),
     (0, 1), (1, 0), 1, 1, True),
    ("odd_stride3", 1, 2, 3, 5, 3, 2, 3, 0, 2, 1, 1, True),
]

for (_name, n, c, h, w, o, k, s, p, op_, d, g, has_bias) in CONV_T:
    k, s, p, op_, d = pair(k), pair(s), pair(p), pair(op_), pair(d)
    inputs = {"x": randn((n, c, h, w)), "w": randn((c, o // g) + k, 0.5)}
    if has_bias:
        inputs["bias"] = randn((o,))
    operands = conv_operands(has_bias, s, p, d, g, output_padding=op_)
    case("conv", "conv_transpose2d/" + _name, inputs,
         "%y = graph.conv_transpose2d " + operands,
         lambda t, s=s, p=p, op_=op_, d=d, g=g: {"y": F.conv_transpose2d(
             t["x"], t["w"], t.get("bias"), s, p, op_, g, d)})

# ---- pooling -------------------------------------------------------------------

POOL = [  # name, input shape, kernel, stride, padding, input range
    ("k2_s2", (2, 3, 8, 8), 2, 2, 0),
    ("k3_s1_p1", (2, 2, 7, 7), 3, 1, 1),
    ("k3_s2_p1_odd", (1, 2, 9, 11), 3, 2, 1),
    ("k2x3_s1x2_p1x1", (1, 3, 6, 7), (2, 3), (1, 2), (1, 1)),
    ("k2_s2_odd_floor", (1, 3, 7, 7), 2, 2, 0),
    ("k3_s3", (2, 2, 9, 6), 3, 3, 0),
]
for (_name, _shape, k, s, p) in POOL:
    k, s, p = pair(k), pair(s), pair(p)
    body_attrs = attrs(kernel=arr(k), strides=arr(s),
                       padding=arr(p) if p != (0, 0) else None)
    case("pool", "max_pool2d/" + _name, {"x": randn(_shape)},
         "%y = graph.max_pool2d %x" + body_attrs + " : $x",
         lambda t, k=k, s=s, p=p: {"y": F.max_pool2d(t["x"], k, s, p)})
    for _cip in (True, False):
        if p == (0, 0) and not _cip:
            continue
        cip_attr = None if _cip else "false"
        body_attrs = attrs(kernel=arr(k), strides=arr(s),
                           padding=arr(p) if p != (0, 0) else None,
                           count_include_pad=cip_attr)
        case("pool", "avg_pool2d/%s%s" % (_name, "" if _cip else "_exclude_pad"),
             {"x": randn(_shape)},
             "%y = graph.avg_pool2d %x" + body_attrs + " : $x",
             lambda t, k=k, s=s, p=p, cip=_cip: {"y": F.avg_pool2d(
                 t["x"], k, s, p, count_include_pad=cip)})
# Padding must count as -inf, not 0, when every input is negative.
case("pool", "max_pool2d/k3_s1_p1_all_negative",
     {"x": -uniform(1, 2, (1, 2, 5, 5))},
     "%y = graph.max_pool2d %x" + attrs(kernel=arr((3, 3)), strides=arr((1, 1)),
                                        padding=arr((1, 1))) + " : $x",
     lambda t: {"y": F.max_pool2d(t["x"], 3, 1, 1)})
case("pool", "avg_pool2d/k3_s2_p1_explicit_include_pad",
     {"x": randn((1, 2, 7, 7))},
     "%y = graph.avg_pool2d %x" + attrs(kernel=arr((3, 3)), strides=arr((2, 2)),
                                        padding=arr((1, 1)),
                                        count_include_pad="true") + " : $x",
     lambda t: {"y": F.avg_pool2d(t["x"], 3, 2, 1, count_include_pad=True)})
for _shape in [(2, 3, 7, 7), (1, 5, 1, 1), (2, 4, 3, 5)]:
    case("pool", "global_avg_pool2d/" + sn(_shape), {"x": randn(_shape)},
         "%y = graph.global_avg_pool2d %x : $x",
         lambda t: {"y": F.adaptive_avg_pool2d(t["x"], 1)})

# ---- reductions, argmax, softmax -------------------------------------------------


REDUCE = [  # input shape, dims, keep_dims
    ((4, 8, 6), (1,), False),
    ((3, 5, 7), (0, 2), True),
    ((7, 13), (-1,), False),
    ((2, 3, 4), (0, 1, 2), False),
    ((2, 3, 4, 5), (-3, -1), True),
    ((13,), (0,), False),
    ((2, 1, 3), (1,), False),
]
for _op in ("reduce_sum", "reduce_mean", "reduce_max", "reduce_min"):
    for _shape, _dims, _keep in REDUCE:
        case("reduce", "%s/%s_dims%s%s" % (_op, sn(_shape),
                                           "_".join(map(str, _dims)),
                                           "_keep" if _keep else ""),
             {"x": randn(_shape)},
             "%%y = graph.%s %%x%s : $x" % (_op, attrs(dims=arr(_dims),
                                                       keep_dims=_keep)),
             lambda t, op=_op, dims=_dims, keep=_keep: {
                 "y": torch_reduce(op, t["x"], dims, keep)})
case("reduce", "reduce_sum/scalar_no_dims", {"x": randn(())},
     "%y = graph.reduce_sum %x {dims = array<i64>} : $x",
     lambda t: {"y": t["x"].clone()})
case("reduce", "reduce_sum/i64_dims1", {"x": ints(-100, 100, (4, 5, 3))},
     "%y = graph.reduce_sum %x {dims = array<i64: 1>} : $x",
     lambda t: {"y": torch.sum(t["x"], dim=1)})
case("reduce", "reduce_max/i64_dims0_keep", {"x": ints(-100, 100, (4, 5))},
     "%y = graph.reduce_max %x {dims = array<i64: 0>, keep_dims} : $x",
     lambda t: {"y": torch.amax(t["x"], dim=0, keepdim=True)})
case("reduce", "reduce_min/i32_dims-1", {"x": ints(-100, 100, (3, 6), np.int32)},
     "%y = graph.reduce_min %x {dims = array<i64: -1>} : $x",
     lambda t: {"y": torch.amin(t["x"], dim=-1)})


def np_argmax(x, dim, keep):
    out = np.argmax(x.numpy(), axis=dim)
    if keep:
        out = np.expand_dims(out, dim)
    return torch.from_numpy(np.asarray(out, dtype=np.int64))


for _shape, _dim, _keep in [((4, 8, 6), 1, False), ((7, 13), -1, True),
                            ((13,), 0, False), ((3, 4, 5), 0, True),
                            ((5, 96), 1, False), ((3, 128), -1, True)]:
    case("reduce", "argmax/%s_dim%d%s" % (sn(_shape), _dim,
                                          "_keep" if _keep else ""),
         {"x": distinct(_shape)},
         "%%y = graph.argmax %%x%s : $x" % attrs(dim=i64(_dim), keep_dims=_keep),
         lambda t, dim=_dim, keep=_keep: {"y": np_argmax(t["x"], dim, keep)})
case("reduce", "argmax/ties_first_index", {"x": choice([0, 1, 2], (6, 7))},
     "%y = graph.argmax %x {dim = 1 : i64} : $x",
     lambda t: {"y": np_argmax(t["x"], 1, False)})
case("reduce", "argmax/i64", {"x": ints(-5, 5, (5, 6))},
     "%y = graph.argmax %x {dim = 0 : i64} : $x",
     lambda t: {"y": np_argmax(t["x"], 0, False)})

SOFTMAX = [  # name, input, axis (None: default -1)
    ("2x5x16_axis-1", randn((2, 5, 16)), -1),
    ("2x5x16_axis0", randn((2, 5, 16)), 0),
    ("2x5x16_axis1", randn((2, 5, 16)), 1),
    ("7x13_default_axis", randn((7, 13)), None),
    ("13", randn((13,)), 0),
    ("2x3x4x5_axis2", randn((2, 3, 4, 5)), 2),
    ("large_logits", randn((4, 9), 50.0), -1),
    ("size1_axis", randn((3, 1)), 1),
]
# Rows of 1024 (the row loops and 16-lane vectors of the generated code):
# one with a NaN, one with +inf, one all -inf (each NaN throughout, as in
# PyTorch; the row maximum ignores NaN, the row's own exp does not), and an
# ordinary one.
_special = randn((4, 1024))
_special[0, 5] = np.nan
_special[1, 700] = np.inf
_special[2, :] = -np.inf
SOFTMAX.append(("special_rows", _special, -1))
for _op, _fn in [("softmax", torch.softmax), ("log_softmax", torch.log_softmax)]:
    for _name, _x, _axis in SOFTMAX:
        case("softmax", "%s/%s" % (_op, _name), {"x": _x},
             "%%y = graph.%s %%x%s : $x" % (
                 _op, attrs(axis=None if _axis is None else i64(_axis))),
             lambda t, fn=_fn, axis=_axis: {
                 "y": fn(t["x"], -1 if axis is None else axis)})

# ---- normalization ----------------------------------------------------------------

for _name, _xs, _ws, _eps in [("2x5x16_w16", (2, 5, 16), (16,), None),
                              ("3x4x6_w4x6", (3, 4, 6), (4, 6), None),
                              ("7x13_eps1e-3", (7, 13), (13,), 1e-3),
                              ("10_w10", (10,), (10,), None),
                              ("2x3x4x5_w4x5_offset", (2, 3, 4, 5), (4, 5),
                               1e-5)]:
    x = randn(_xs, 2.0) + (3.0 if "offset" in _name else 0.0)
    case("norm", "layer_norm/" + _name,
         {"x": x, "w": randn(_ws), "b": randn(_ws)},
         "%%y = graph.layer_norm %%x, %%w, %%b%s : $x, $w, $b"
         % attrs(epsilon=None if _eps is None else f64(_eps)),
         lambda t, eps=_eps: {"y": F.layer_norm(
             t["x"], t["w"].shape, t["w"], t["b"],
             1e-5 if eps is None else eps)})


def bn_train_ref(t, momentum, eps):
    rm, rv = t["rm"].clone(), t["rv"].clone()
    y = F.batch_norm(t["x"], rm, rv, t["w"], t["b"], training=True,
                     momentum=momentum, eps=eps)
    return {"y": y, "mean": rm, "var": rv}


for _name, _xs, _mom, _eps in [("4x3x5x5", (4, 3, 5, 5), None, None),
                               ("8x6_momentum0.2_eps1e-3", (8, 6), 0.2, 1e-3),
                               ("3x4x7", (3, 4, 7), 0.1, 1e-5),
                               ("2x5x1x1", (2, 5, 1, 1), None, None)]:
    c = _xs[1]
    case("norm", "batch_norm_training/" + _name,
         {"x": randn(_xs, 3.0) + 2.0, "w": randn((c,)), "b": randn((c,)),
          "rm": randn((c,)), "rv": uniform(0.5, 2, (c,))},
         "%%r:3 = graph.batch_norm_training %%x, %%w, %%b, %%rm, %%rv%s "
         ": $x, $w, $b, $rm, $rv"
         % attrs(epsilon=None if _eps is None else f64(_eps),
                 momentum=None if _mom is None else f64(_mom)),
         lambda t, m=_mom, e=_eps: bn_train_ref(
             t, 0.1 if m is None else m, 1e-5 if e is None else e),
         results={"y": "%r#0", "mean": "%r#1", "var": "%r#2"})

def bn_grad_ref(t, eps):
    """PyTorch's gradients of training-mode batch norm for the gradient g."""
    with torch.enable_grad():  # the harness computes references without
        x = t["x"].clone().requires_grad_(True)
        w = t["w"].clone().requires_grad_(True)
        b = torch.zeros_like(t["w"], requires_grad=True)
        y = F.batch_norm(x, None, None, w, b, training=True, eps=eps)
        dx, dw, db = torch.autograd.grad(y, (x, w, b), t["g"])
    return {"dx": dx, "dw": dw, "db": db}


for _name, _xs, _eps in [("4x3x5x5", (4, 3, 5, 5), None),
                         ("8x6_eps1e-3", (8, 6), 1e-3),
                         ("3x4x7", (3, 4, 7), None),
                         ("16x8x3x3", (16, 8, 3, 3), None)]:
    c = _xs[1]
    case("norm", "batch_norm_grad/" + _name,
         {"x": randn(_xs, 3.0) + 2.0, "g": randn(_xs), "w": randn((c,))},
         "%%r:3 = graph.batch_norm_grad %%x, %%g, %%w%s : $x, $g, $w"
         % attrs(epsilon=None if _eps is None else f64(_eps)),
         lambda t, e=_eps: bn_grad_ref(t, 1e-5 if e is None else e),
         results={"dx": "%r#0", "dw": "%r#1", "db": "%r#2"})

def gn_grad_ref(t, groups, eps):
    """PyTorch's gradients of group norm for the gradient g."""
    with torch.enable_grad():  # the harness computes references without
        x = t["x"].clone().requires_grad_(True)
        w = t["w"].clone().requires_grad_(True)
        b = torch.zeros_like(t["w"], requires_grad=True)
        y = F.group_norm(x, groups, w, b, eps)
        dx, dw, db = torch.autograd.grad(y, (x, w, b), t["g"])
    return {"dx": dx, "dw": dw, "db": db}


for _name, _xs, _groups, _eps in [("4x6x5x5_g3", (4, 6, 5, 5), 3, None),
                                  ("3x8_g2_eps1e-3", (3, 8), 2, 1e-3),
                                  ("2x4x7_g4", (2, 4, 7), 4, None),
                                  ("2x8x3x3_g1", (2, 8, 3, 3), 1, None)]:
    c = _xs[1]
    case("norm", "group_norm_grad/" + _name,
         {"x": randn(_xs, 3.0) + 2.0, "g": randn(_xs), "w": randn((c,))},
         "%%r:3 = graph.group_norm_grad %%x, %%g, %%w%s : $x, $g, $w"
         % attrs(num_groups=i64(_groups),
                 epsilon=None if _eps is None else f64(_eps)),
         lambda t, n=_groups, e=_eps: gn_grad_ref(
             t, n, 1e-5 if e is None else e),
         results={"dx": "%r#0", "dw": "%r#1", "db": "%r#2"})

for _name, _xs, _eps in [("4x3x5x5", (4, 3, 5, 5), None),
                         ("8x6_eps1e-3", (8, 6), 1e-3),
                         ("2x4x7", (2, 4, 7), None)]:
    c = _xs[1]
    case("norm", "batch_norm_inference/" + _name,
         {"x": randn(_xs, 3.0), "w": randn((c,)), "b": randn((c,)),
          "rm": randn((c,)), "rv": uniform(0.5, 2, (c,))},
         "%%y = graph.batch_norm_inference %%x, %%w, %%b, %%rm, %%rv%s "
         ": $x, $w, $b, $rm, $rv"
         % attrs(epsilon=None if _eps is None else f64(_eps)),
         lambda t, e=_eps: {"y": F.batch_norm(
             t["x"], t["rm"], t["rv"], t["w"], t["b"], training=False,
             eps=1e-5 if e is None else e)})

for _name, _xs, _g, _eps in [("2x6x5x5_g3", (2, 6, 5, 5), 3, None),
                             ("2x6x5x5_g1", (2, 6, 5, 5), 1, None),
                             ("2x6x5x5_g6", (2, 6, 5, 5), 6, None),
                             ("2x4x7_g2_eps1e-3", (2, 4, 7), 2, 1e-3),
                             ("1x8x3x4_g4", (1, 8, 3, 4), 4, None)]:
    c = _xs[1]
    case("norm", "group_norm/" + _name,
         {"x": randn(_xs, 2.0) + 1.0, "w": randn((c,)), "b": randn((c,))},
         "%%y = graph.group_norm %%x, %%w, %%b%s : $x, $w, $b"
         % attrs(num_groups=i64(_g),
                 epsilon=None if _eps is None else f64(_eps)),
         lambda t, g=_g, e=_eps: {"y": F.group_norm(
             t["x"], g, t["w"], t["b"], 1e-5 if e is None else e)})

# ---- shapes: concat, slice, reshape, transpose, broadcast_to, embedding ----------

case("shape", "concat/axis1_4x8_4x2",
     {"a": randn((4, 8)), "b": randn((4, 2))},
     "%y = graph.concat %a, %b {axis = 1 : i64} : $a, $b",
     lambda t: {"y": torch.cat([t["a"], t["b"]], 1)})
case("shape", "concat/axis0_three",
     {"a": randn((2, 3)), "b": randn((1, 3)), "c": randn((4, 3))},
     "%y = graph.concat %a, %b, %c {axis = 0 : i64} : $a, $b, $c",
     lambda t: {"y": torch.cat([t["a"], t["b"], t["c"]], 0)})
case("shape", "concat/axis-1_rank3",
     {"a": randn((2, 3, 1)), "b": randn((2, 3, 4))},
     "%y = graph.concat %a, %b {axis = -1 : i64} : $a, $b",
     lambda t: {"y": torch.cat([t["a"], t["b"]], -1)})
case("shape", "concat/channels_nchw",
     {"a": randn((2, 3, 4, 4)), "b": randn((2, 5, 4, 4))},
     "%y = graph.concat %a, %b {axis = 1 : i64} : $a, $b",
     lambda t: {"y": torch.cat([t["a"], t["b"]], 1)})
case("shape", "concat/i64",
     {"a": ints(-9, 9, (3,)), "b": ints(-9, 9, (5,))},
     "%y = graph.concat %a, %b {axis = 0 : i64} : $a, $b",
     lambda t: {"y": torch.cat([t["a"], t["b"]], 0)})
case("shape", "concat/i1",
     {"a": bools((2, 2)), "b": bools((2, 3))},
     "%y = graph.concat %a, %b {axis = 1 : i64} : $a, $b",
     lambda t: {"y": torch.cat([t["a"], t["b"]], 1)})
case("shape", "concat/single_input", {"a": randn((3, 2))},
     "%y = graph.concat %a {axis = 0 : i64} : $a",
     lambda t: {"y": t["a"].clone()})

SLICES = [  # input shape, starts, limits, strides
    ((4, 8), (1, 0), (4, 8), (1, 2)),
    ((7, 13), (1, 2), (7, 12), (3, 4)),
    ((5, 6, 7), (0, 1, 2), (5, 6, 7), (2, 1, 3)),
    ((13,), (2,), (13,), (5,)),
    ((2, 384), (0, 128), (2, 256), (1, 1)),
    ((3, 4), (0, 0), (3, 4), (1, 1)),
]
for _shape, _st, _li, _sd in SLICES:
    case("shape", "slice/%s_%s_%s_%s" % (sn(_shape), "-".join(map(str, _st)),
                                         "-".join(map(str, _li)),
                                         "-".join(map(str, _sd))),
         {"x": randn(_shape)},
         "%%y = graph.slice %%x%s : $x" % attrs(starts=arr(_st),
                                                limits=arr(_li),
                                                strides=arr(_sd)),
         lambda t, st_=_st, li=_li, sd=_sd: {"y": t["x"][tuple(
             slice(a, b, c) for a, b, c in zip(st_, li, sd))].clone()})
case("shape", "slice/i64", {"x": ints(-9, 9, (6, 5))},
     "%y = graph.slice %x {starts = array<i64: 1, 1>, limits = array<i64: 6, 5>,"
     " strides = array<i64: 2, 3>} : $x",
     lambda t: {"y": t["x"][1:6:2, 1:5:3].clone()})

for _src, _dst, _gen in [((2, 3, 4), (4, 6), randn), ((6,), (1, 2, 3, 1), randn),
                         ((1,), (), randn), ((), (1, 1), randn),
                         ((4, 8), (32,), randn),
                         ((2, 3), (3, 2), lambda s: ints(-9, 9, s)),
                         ((2, 1, 4), (8,), bools)]:
    case("shape", "reshape/%s_to_%s" % (sn(_src), sn(_dst)), {"x": _gen(_src)},
         "%%y = graph.reshape %%x {shape = %s} : $x" % arr(_dst),
         lambda t, dst=_dst: {"y": t["x"].reshape(dst).clone()})

for _shape, _perm, _gen in [((4, 8), (1, 0), randn), ((2, 3, 4), (2, 0, 1), randn),
                            ((2, 3, 4, 5), (0, 2, 1, 3), randn),
                            ((2, 3, 4, 5), (3, 2, 1, 0), randn),
                            ((3, 1, 2), (1, 2, 0), randn),
                            ((3, 5), (1, 0), lambda s: ints(-9, 9, s)),
                            ((2, 3), (1, 0), bools)]:
    case("shape", "transpose/%s_perm%s" % (sn(_shape), "".join(map(str, _perm))),
         {"x": _gen(_shape)},
         "%%y = graph.transpose %%x {permutation = %s} : $x" % arr(_perm),
         lambda t, perm=_perm: {"y": t["x"].permute(perm).contiguous()})

for _src, _dst, _gen in [((4, 1), (3, 4, 5), randn), ((), (2, 3), randn),
                         ((5,), (7, 5), randn), ((1, 3, 1), (2, 3, 4), randn),
                         ((3,), (2, 3), lambda s: ints(-9, 9, s)),
                         ((1, 3), (2, 3), bools)]:
    case("shape", "broadcast_to/%s_to_%s" % (sn(_src), sn(_dst)),
         {"x": _gen(_src)},
         "%%y = graph.broadcast_to %%x {shape = %s} : $x" % arr(_dst),
         lambda t, dst=_dst: {"y": t["x"].broadcast_to(dst).clone()})

for _name, _v, _d, _ids in [
        ("i64_4x3", 11, 5, np.array([[0, 10, 3], [3, 3, 7], [1, 2, 9],
                                     [10, 0, 5]], dtype=np.int64)),
        ("i32_7", 6, 4, ints(0, 6, (7,), np.int32)),
        ("scalar_index", 9, 3, np.array(4, dtype=np.int64)),
        ("i64_2x2x3", 96, 8, ints(0, 96, (2, 2, 3)))]:
    case("shape", "embedding/" + _name,
         {"w": randn((_v, _d)), "ids": _ids},
         "%y = graph.embedding %w, %ids : $w, $ids",
         lambda t: {"y": F.embedding(t["ids"].long(), t["w"])})

# A result that is an argument, or one value returned twice (the graph-level
# form of identity ops that fold away).
case("shape", "identity/return_argument", {"x": randn((2, 3))}, "",
     lambda t: {"y": t["x"].clone()}, results={"y": "%x"})
case("shape", "identity/same_value_twice", {"x": randn((2, 3))},
     "%n = graph.neg %x : $x",
     lambda t: {"y": -t["x"], "z": -t["x"]}, results={"y": "%n", "z": "%n"})
