#!/usr/bin/env python3
"""Reference tests of every `graph` op, run by Kiln and checked against PyTorch.

Each case is a few lines of graph IR (usually one op) with `graph.input` arguments
and `graph.output` results, random inputs from a seeded numpy generator, and a
PyTorch float64 reference. Cases of one op family are put into one function,
compiled and run by `kiln-run --jit` once per mode (if that fails, the family is
bisected down to the failing cases, so an error names its case). Modes:

  f64           inputs and compute in float64;
                pass if max|got - expected| <= 1e-9 * max(1, max|expected|)
  f32           inputs rounded to float32, expected computed in float64 from the
                rounded inputs; pass if max|got - expected| <= 1e-4 * max(1e-3,
                max|expected|) (2e-4 for matmul/conv/attention with long reductions)
  f32-nofusion  as f32, compiled with --fusion=off; must meet the f32 tolerance
                both against the expected values and against the fused f32 run

Integer and boolean results (argmax, compare, casts to integers, integer
arithmetic) must match exactly. Random ops (random_uniform/normal/integers)
cannot match PyTorch; they are checked for shape, dtype and range, mean and
standard deviation within 5-sigma bounds for 10^4 samples (plus bucket counts for
integers and the 1-sigma mass for normals), bit-identical reproduction across
two runs, a shifted stream for a shifted offset (output(offset=k)[i] ==
output(offset=0)[i+k], also across the 2^32 counter boundary), another stream
for offset 2^32 (the counter is 64-bit) and for another seed, and agreement of
fused and unfused builds.

Usage:  python3 test_ops.py [--filter SUBSTR] [--kiln-run PATH] [--jobs N]
                            [--modes f64,f32,f32-nofusion] [--keep DIR]
                            [--show-mlir] [--list] [--kiln-run-arg=ARG ...]
kiln-run defaults to $KILN_RUN, else ../../build/bin/kiln-run next to this file.
Prints one line per case and mode: PASS|FAIL name mode max_err tol; exits 1 if
any case fails. Only the standard library, numpy and torch are used.
"""

import argparse
import concurrent.futures
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import safetensors as st  # noqa: E402

torch.set_num_threads(1)

MODES = ("f64", "f32", "f32-nofusion")
TOL_F64 = 1e-9
TOL_F32 = {"default": 1e-4, "long": 2e-4}
# kind="relative": the largest error relative to each expected value (about
# 2.5 float32 ulp), for math functions over ranges where the absolute
# tolerance, scaled by the largest value, would say nothing about the small.
TOL_RELATIVE = {"f64": 1e-14, "f32": 3e-7}

# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------

RNG = np.random.default_rng(20240611)


class Case:
    """One test: graph IR lines, inputs, and a float64 PyTorch reference.

    body:      MLIR op lines. `%name` names an input argument or an SSA value
               of the case; `$name` is replaced by the tensor type of that
               input, output or intermediate, `$T` by the float element type
               of the mode (f32 or f64).
    inputs:    {name: numpy array}; float64 arrays are passed as the mode's
               float type (rounded to f32 in the f32 modes); int64, int32 and
               bool arrays are passed as I64, I32 and BOOL.
    ref:       function({name: torch tensor (float64 for floats)}) ->
               {output name: tensor}; the output names are SSA values of the
               body unless `results` maps them to another expression (%r#1).
    out_types: element type of an output that is not the mode's float type
               (e.g. "f32" for a cast); integer and bool outputs are inferred.
    inter:     {ssa name: (shape, element type or "T")} for intermediates
               that are not outputs but whose type a later op spells.
    kind:      "default", "long" (f32 tolerance 2e-4) or "relative" (error
               relative to each expected value, TOL_RELATIVE).
    """

    def __init__(self, group, name, inputs, body, ref, kind="default",
                 out_types=None, results=None, inter=None):
        self.group = group
        self.name = name
        self.inputs = inputs
        self.body = body
        self.ref = ref
        self.kind = kind
        self.out_types = out_types or {}
        self.results = results or {}
        self.inter = inter or {}


CASES = []


def case(group, name, inputs, body, ref, **kw):
    CASES.append(Case(group, name, inputs, body, ref, **kw))


# ---- input generators (float64 numpy arrays) -----------------------------

def randn(shape, scale=1.0):
    return np.asarray(RNG.standard_normal(shape) * scale, dtype=np.float64)


def uniform(lo, hi, shape):
    return np.asarray(RNG.uniform(lo, hi, shape), dtype=np.float64)


def signed_away_from_zero(lo, hi, shape):
    sign = np.where(RNG.random(shape) < 0.5, -1.0, 1.0)
    return np.asarray(sign * RNG.uniform(lo, hi, shape), dtype=np.float64)


def ints(lo, hi, shape, dtype=np.int64):
    return np.asarray(RNG.integers(lo, hi, shape), dtype=dtype)


def choice(values, shape):
    return np.asarray(RNG.choice(np.asarray(values, dtype=np.float64), shape),
                      dtype=np.float64)


def bools(shape, p=0.5):
    return np.asarray(RNG.random(shape) < p)


def distinct(shape):
    """Distinct values, exact in float32: no ties for argmax."""
    n = int(np.prod(shape, dtype=np.int64))
    return ((RNG.permutation(n) - n // 2) * 0.375).astype(np.float64) \
        .reshape(shape)


def sn(shape):
    return "x".join(str(d) for d in shape) if len(shape) else "scalar"


def fmt(value):
    """A float literal MLIR accepts (it needs a '.' before any exponent)."""
    text = repr(float(value))
    if "e" in text:
        mantissa, exponent = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        text = mantissa + "e" + exponent
    elif "." not in text:
        text += ".0"
    return text


def arr(values):
    values = list(values)
    return "array<i64: %s>" % ", ".join(str(int(v)) for v in values) \
        if values else "array<i64>"


def attrs(**items):
    """An attribute dictionary; None values are left out, True is a unit attr."""
    parts = []
    for key, value in items.items():
        if value is None or value is False:
            continue
        if value is True:
            parts.append(key)
        elif isinstance(value, str):
            parts.append("%s = %s" % (key, value))
        else:
            raise TypeError(key)
    return " {%s}" % ", ".join(parts) if parts else ""


def f64(value):
    return "%s : f64" % fmt(value)


def i64(value):
    return "%d : i64" % value


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


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


def binary_body(op):
    return "%%y = graph.%s %%a, %%b : $a, $b" % op


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
    explicit = _name == "explicit_defaults"
    at = attrs(strides=arr(s) if s != (1, 1) or explicit else None,
               padding=arr(p) if p != (0, 0) or explicit else None,
               dilation=arr(d) if d != (1, 1) or explicit else None,
               groups=i64(g) if g != 1 or explicit else None)
    operands = "%x, %w, %bias : $x, $w, $bias" if has_bias else "%x, %w : $x, $w"
    operands = operands.replace(" :", at + " :")
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
    at = attrs(strides=arr(s) if s != (1, 1) else None,
               padding=arr(p) if p != (0, 0) else None,
               output_padding=arr(op_) if op_ != (0, 0) else None,
               dilation=arr(d) if d != (1, 1) else None,
               groups=i64(g) if g != 1 else None)
    operands = "%x, %w, %bias : $x, $w, $bias" if has_bias else "%x, %w : $x, $w"
    operands = operands.replace(" :", at + " :")
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


def torch_reduce(kind, x, dims, keep):
    if not dims:
        return x.clone()
    if kind == "reduce_sum":
        return torch.sum(x, dim=dims, keepdim=keep)
    if kind == "reduce_mean":
        return torch.mean(x, dim=dims, keepdim=keep)
    if kind == "reduce_max":
        return torch.amax(x, dim=dims, keepdim=keep)
    return torch.amin(x, dim=dims, keepdim=keep)


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
                            ((13,), 0, False), ((3, 4, 5), 0, True)]:
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

# ---- random numbers (checked statistically, see run_random) -------------------------

# One function computes every output from the same `seed` and `offset` inputs.
# name: (op, shape, dtype ("T": the mode's float type), distribution and its
# parameters (low/high, mean/stddev), whether the parameters are spelled
# (False: the op's defaults 0/1 are meant))
RANDOM_OUTPUTS = {
    "u": ("random_uniform", (20000,), "T", ("uniform", -1.0, 2.0), True),
    "u01": ("random_uniform", (100, 100), "T", ("uniform", 0.0, 1.0), False),
    "n": ("random_normal", (20000,), "T", ("normal", 0.5, 2.0), True),
    "n01": ("random_normal", (50, 200), "T", ("normal", 0.0, 1.0), False),
    "i": ("random_integers", (20000,), "i64", ("integers", -3, 7), True),
    "i32": ("random_integers", (100, 100), "i32", ("integers", 0, 96), True),
    "s": ("random_uniform", (), "T", ("uniform", 5.0, 6.0), True),
}


def random_op_line(name, float_type):
    op, shape, element, (kind, a, b), spelled = RANDOM_OUTPUTS[name]
    items = {"shape": arr(shape),
             "dtype": float_type if element == "T" else element}
    if spelled:
        keys = {"uniform": ("low", "high"), "normal": ("mean", "stddev"),
                "integers": ("low", "high")}[kind]
        values = (i64(a), i64(b)) if kind == "integers" else (f64(a), f64(b))
        items.update(zip(keys, values))
    return "%%%s = graph.%s %%seed, %%offset%s" % (name, op, attrs(**items))


# --------------------------------------------------------------------------
# Building modules
# --------------------------------------------------------------------------

NP_OF_ELEMENT = {"f32": np.float32, "f64": np.float64, "i64": np.int64,
                 "i32": np.int32, "i1": np.bool_}


def tensor_type(shape, element):
    return "tensor<%s%s>" % ("".join("%dx" % d for d in shape), element)


def element_of(array, float_type):
    if array.dtype == np.float64 or array.dtype == np.float32:
        return float_type
    return {np.dtype(np.int64): "i64", np.dtype(np.int32): "i32",
            np.dtype(np.bool_): "i1"}[array.dtype]


def mode_float(mode):
    return "f64" if mode == "f64" else "f32"


def mode_inputs(c, float_type):
    """The case's inputs as passed in this mode (floats rounded for f32)."""
    out = {}
    for name, a in c.inputs.items():
        if a.dtype == np.float64:
            a = a.astype(np.float32 if float_type == "f32" else np.float64)
        out[name] = a
    return out


def to_torch(a):
    if a.dtype in (np.float32, np.float64):
        return torch.from_numpy(a.astype(np.float64))
    return torch.from_numpy(a.copy())


def to_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def expected_outputs(c, float_type):
    """Runs the reference on the mode's (rounded) inputs; float64 results."""
    inputs = mode_inputs(c, float_type)
    with torch.no_grad():
        result = c.ref({k: to_torch(v) for k, v in inputs.items()})
    return {k: to_numpy(v) for k, v in result.items()}


def output_element(c, key, value, float_type):
    if key in c.out_types:
        return c.out_types[key]
    return element_of(value, float_type)


def case_function_parts(c, prefix, float_type, expected):
    """(args, results, body lines, return values) of a case, names prefixed."""
    types = {"T": float_type}
    inputs = mode_inputs(c, float_type)
    for name, a in inputs.items():
        types[name] = tensor_type(a.shape, element_of(a, float_type))
    for name, (shape, element) in c.inter.items():
        types[name] = tensor_type(shape, float_type if element == "T" else element)
    out_types = {}
    for key, value in expected.items():
        out_types[key] = tensor_type(value.shape,
                                     output_element(c, key, value, float_type))
        types.setdefault(key, out_types[key])

    def substitute(text):
        def typ(m):
            if m.group(1) not in types:
                raise KeyError("case %s: no type for $%s" % (c.name, m.group(1)))
            return types[m.group(1)]
        text = re.sub(r"\$(\w+)", typ, text)
        return re.sub(r"%(\w+)", lambda m: "%" + prefix + m.group(1), text)

    args = ["%%%s%s: %s {graph.input = \"%s%s\"}"
            % (prefix, name, types[name], prefix, name) for name in inputs]
    results = ["%s {graph.output = \"%s%s\"}" % (out_types[k], prefix, k)
               for k in expected]
    body = [substitute(line) for line in c.body.split("\n") if line.strip()]
    returns = [(substitute(c.results.get(k, "%" + k)), out_types[k])
               for k in expected]
    return args, results, body, returns


def build_module(cases, float_type, expected_of):
    """One function @f holding every case; returns (text, inputs)."""
    args, results, body, returns, inputs = [], [], [], [], {}
    for index, c in cases:
        prefix = "c%d_" % index
        a, r, b, ret = case_function_parts(c, prefix, float_type,
                                           expected_of(c))
        args += a
        results += r
        body += b
        returns += ret
        for name, value in mode_inputs(c, float_type).items():
            inputs[prefix + name] = value
    lines = ["module {",
             "  func.func @f(%s) -> (%s) {" % (", ".join(args),
                                               ", ".join(results))]
    lines += ["    " + line for line in body]
    lines.append("    return %s : %s" % (", ".join(v for v, _ in returns),
                                         ", ".join(t for _, t in returns)))
    lines += ["  }", "}", ""]
    return "\n".join(lines), inputs


# --------------------------------------------------------------------------
# Running kiln-run
# --------------------------------------------------------------------------


def summarize_stderr(text, limit=40):
    """The informative lines of kiln-run's stderr (it may dump whole IR)."""
    lines = text.rstrip().splitlines()
    if len(lines) <= limit:
        return "\n".join(lines)
    keep = [i for i, line in enumerate(lines)
            if re.search(r"error|Assertion|Segmentation|PLEASE|Stack dump|"
                         r"^\s*#\d+ |^kiln-run|failed", line, re.I)]
    # An error's "see current operation" note and its first lines.
    for i in list(keep):
        if "error" in lines[i].lower():
            keep += [j for j in range(i + 1, min(i + 4, len(lines)))]
    keep = sorted(set(keep + [len(lines) - 1]))[:limit]
    out = [lines[i][:400] + (" ..." if len(lines[i]) > 400 else "")
           for i in keep]
    return "\n".join(out + ["(%d of %d lines of stderr shown; all of it is "
                             "in stderr.txt with --keep)" % (len(keep),
                                                             len(lines))])


class Runner:
    def __init__(self, kiln_run, workdir, timeout, extra_args=()):
        self.kiln_run = kiln_run
        self.extra_args = list(extra_args)
        self.workdir = workdir
        self.timeout = timeout
        self.counter = 0
        self.lock = threading.Lock()
        self.calls = 0
        self.seconds = 0.0

    def _dir(self, tag):
        with self.lock:
            self.counter += 1
            number = self.counter
        path = os.path.join(self.workdir, "%04d_%s" % (
            number, re.sub(r"[^A-Za-z0-9_.-]+", "_", tag)[:80]))
        os.makedirs(path)
        return path

    def run(self, tag, module_text, inputs, fusion=True, entry="f",
            params=None):
        """Runs kiln-run; returns (outputs dict, None) or (None, error text)."""
        d = self._dir(tag)
        module = os.path.join(d, "module.mlir")
        with open(module, "w") as f:
            f.write(module_text)
        in_path = os.path.join(d, "inputs.safetensors")
        out_path = os.path.join(d, "outputs.safetensors")
        st.save(in_path, inputs)
        cmd = [self.kiln_run, module, "--jit", "--entry=" + entry,
               "--inputs=" + in_path, "--outputs=" + out_path,
               "--fusion=" + ("on" if fusion else "off")] + self.extra_args
        if params:
            p = os.path.join(d, "params.safetensors")
            st.save(p, params)
            cmd.insert(3, "--params=" + p)
        start = time.time()
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            return None, "kiln-run timed out after %ds: %s" % (
                self.timeout, " ".join(cmd))
        finally:
            with self.lock:
                self.calls += 1
                self.seconds += time.time() - start
        err = proc.stderr.decode("utf-8", "replace")
        if err:
            with open(os.path.join(d, "stderr.txt"), "w") as f:
                f.write(err)
        if proc.returncode != 0:
            return None, "kiln-run exited with %d: %s\n%s" % (
                proc.returncode, " ".join(cmd), summarize_stderr(err))
        try:
            return st.load(out_path), None
        except (OSError, ValueError) as e:
            return None, "cannot read %s: %s" % (out_path, e)


def run_group(runner, indexed_cases, mode, expected_of, tag):
    """Runs cases in one module; on failure bisects down to the bad cases.

    Returns {case name: ({output key: array}, None) or (None, error)}.
    """
    float_type = mode_float(mode)
    text, inputs = build_module(indexed_cases, float_type, expected_of)
    outputs, error = runner.run(tag, text, inputs, fusion=mode != "f32-nofusion")
    if error is not None and len(indexed_cases) > 1:
        mid = len(indexed_cases) // 2
        out = run_group(runner, indexed_cases[:mid], mode, expected_of, tag)
        out.update(run_group(runner, indexed_cases[mid:], mode, expected_of, tag))
        return out
    result = {}
    for index, c in indexed_cases:
        if error is not None:
            result[c.name] = (None, error)
            continue
        prefix = "c%d_" % index
        got, missing = {}, []
        for key in expected_of(c):
            if prefix + key in outputs:
                got[key] = outputs[prefix + key]
            else:
                missing.append(prefix + key)
        result[c.name] = (None, "outputs missing from the results file: %s"
                          % ", ".join(missing)) if missing else (got, None)
    return result


# --------------------------------------------------------------------------
# Comparing
# --------------------------------------------------------------------------


def tolerance(mode, kind, expected):
    if expected.dtype.kind != "f":
        return 0.0
    if kind == "relative":
        return TOL_RELATIVE["f64" if mode == "f64" else "f32"]
    # The scale of the finite values: NaN or inf (checked exactly by
    # max_abs_diff) must not make the tolerance NaN or infinite.
    finite = np.abs(expected[np.isfinite(expected)])
    scale = float(np.max(finite)) if finite.size else 0.0
    if mode == "f64":
        return TOL_F64 * max(1.0, scale)
    return TOL_F32[kind] * max(1e-3, scale)


def differences(a, b, relative=False):
    """|a - b| in float64, relative to |b| where b is finite and not 0 if
    `relative`; inf where NaN-ness or infinities disagree."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        d = np.abs(a - b)
        if relative:
            scaled = np.isfinite(b) & (b != 0)
            d = np.where(scaled, d / np.where(scaled, np.abs(b), 1.0), d)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    d = np.where(same, 0.0, d)
    return np.where(np.isnan(d), np.inf, d)


def max_abs_diff(a, b):
    """max |a - b| in float64; inf where NaN-ness or infinities disagree."""
    d = differences(a, b)
    return float(np.max(d)) if d.size else 0.0


def max_rel_diff(a, b):
    """max |a - b| / |b| (|a - b| where b is 0); inf where NaN-ness or
    infinities disagree."""
    d = differences(a, b, relative=True)
    return float(np.max(d)) if d.size else 0.0


def compare_case(c, mode, expected, got, fused=None):
    """Returns (ok, worst error, its tolerance, messages)."""
    ok, worst, worst_tol, worst_ratio, messages = True, 0.0, 0.0, -1.0, []
    float_type = mode_float(mode)
    for key, exp in expected.items():
        element = output_element(c, key, exp, float_type)
        if key not in got:
            return False, math.inf, 0.0, ["output %s missing" % key]
        g = got[key]
        if g.shape != exp.shape:
            ok = False
            messages.append("output %s: shape %s, expected %s"
                            % (key, list(g.shape), list(exp.shape)))
            continue
        want = np.dtype(NP_OF_ELEMENT[element])
        if g.dtype != want and not (want == np.bool_ and g.dtype == np.uint8):
            ok = False
            messages.append("output %s: dtype %s, expected %s (%s)"
                            % (key, g.dtype, want, element))
        tol = tolerance(mode, c.kind, exp)
        diff = max_rel_diff if c.kind == "relative" else max_abs_diff
        checks = [("expected", diff(g, exp))]
        if fused is not None and key in fused:
            checks.append(("fused f32 run", diff(g, fused[key])))
        for what, e in checks:
            ratio = e / tol if tol > 0 else (0.0 if e == 0 else math.inf)
            if ratio > worst_ratio:
                worst, worst_tol, worst_ratio = e, tol, ratio
            if not e <= tol:
                ok = False
                flat = differences(g, exp if what == "expected"
                                   else fused[key],
                                   relative=c.kind == "relative").reshape(-1)
                at = int(np.argmax(flat)) if flat.size else 0
                idx = np.unravel_index(at, exp.shape) if exp.ndim else ()
                ref = exp if what == "expected" else fused[key]
                messages.append(
                    "output %s vs %s: max|diff| %.3g > tol %.3g at %s: got %r, "
                    "want %r" % (key, what, e, tol, list(map(int, idx)),
                                 np.asarray(g)[idx].item(),
                                 np.asarray(ref)[idx].item()))
    return ok, worst, worst_tol, messages


# --------------------------------------------------------------------------
# Random ops
# --------------------------------------------------------------------------


def random_module(float_type):
    types = {name: tensor_type(shape, float_type if el == "T" else el)
             for name, (_, shape, el, _, _) in RANDOM_OUTPUTS.items()}
    results = ", ".join("%s {graph.output = \"%s\"}" % (types[k], k)
                        for k in RANDOM_OUTPUTS)
    lines = ["module {",
             "  func.func @f(%seed: tensor<i64> {graph.input = \"seed\"}, "
             "%offset: tensor<i64> {graph.input = \"offset\"}) -> (" + results
             + ") {"]
    lines += ["    " + random_op_line(k, float_type) for k in RANDOM_OUTPUTS]
    lines.append("    return %s : %s" % (
        ", ".join("%" + k for k in RANDOM_OUTPUTS),
        ", ".join(types[k] for k in RANDOM_OUTPUTS)))
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def seeds(seed, offset):
    return {"seed": np.array(seed, dtype=np.int64),
            "offset": np.array(offset, dtype=np.int64)}


def moments(dist):
    """(mean, std, fourth central moment) of a distribution."""
    kind, a, b = dist
    if kind == "uniform":
        return (a + b) / 2, (b - a) / math.sqrt(12), (b - a) ** 4 / 80
    if kind == "normal":
        return a, b, 3 * b ** 4
    support = np.arange(a, b, dtype=np.float64)
    mean = support.mean()
    return mean, support.std(), np.mean((support - mean) ** 4)


def random_checks(name, mode, values, spec):
    """Statistical checks of one output; yields (check, ok, err, tol, msg)."""
    op, shape, element, dist, _ = spec
    float_type = mode_float(mode)
    element = float_type if element == "T" else element
    want = np.dtype(NP_OF_ELEMENT[element])
    base = "%s/%s" % (op, name)
    ok = values.shape == tuple(shape) and values.dtype == want
    yield (base + "/shape_dtype", ok, 0.0, 0.0,
           "" if ok else "got %s %s, expected %s %s"
           % (list(values.shape), values.dtype, list(shape), want))
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    kind, a, b = dist
    if kind in ("uniform", "integers"):
        lo, hi = a, b
        bad = int(np.sum(~((x >= lo) & (x < hi))))
        if kind == "integers":
            bad += int(np.sum(x != np.round(x)))
        yield (base + "/range", bad == 0, float(bad), 0.0,
               "" if bad == 0 else "%d values outside [%g, %g): min %r max %r"
               % (bad, lo, hi, x.min(), x.max()))
    if x.size < 1000:
        return
    n = x.size
    mu, sigma, m4 = moments(dist)
    err = abs(x.mean() - mu)
    tol = 5 * sigma / math.sqrt(n)
    yield (base + "/mean", err <= tol, err, tol,
           "mean %.5g, expected %.5g" % (x.mean(), mu))
    s = x.std()
    err = abs(s - sigma)
    tol = 5 * math.sqrt(max(m4 - sigma ** 4, 0.0) / n) / (2 * sigma)
    yield (base + "/std", err <= tol, err, tol,
           "std %.5g, expected %.5g" % (s, sigma))
    if kind == "normal":
        p = math.erf(1 / math.sqrt(2))
        frac = float(np.mean(np.abs(x - mu) < sigma))
        err = abs(frac - p)
        tol = 5 * math.sqrt(p * (1 - p) / n)
        yield (base + "/one_sigma_mass", err <= tol, err, tol,
               "fraction within 1 sigma %.4f, expected %.4f" % (frac, p))
        above = float(np.mean(x > mu))
        err = abs(above - 0.5)
        tol = 5 * math.sqrt(0.25 / n)
        yield (base + "/symmetry", err <= tol, err, tol,
               "fraction above the mean %.4f" % above)
    if kind == "integers":
        k = b - a
        counts = np.bincount((x - a).astype(np.int64).clip(0, k - 1),
                             minlength=k)
        p = 1.0 / k
        err = float(np.max(np.abs(counts - n * p)))
        tol = 5 * math.sqrt(n * p * (1 - p))
        yield (base + "/buckets", err <= tol and np.all(counts > 0), err, tol,
               "bucket counts %s, expected %.1f each" % (counts.tolist(), n * p))


def chance_agreement_limit(name):
    """The largest fraction of equal elements two independent streams may
    share: twice the chance level for integers, 5% for floats."""
    kind, low, high = RANDOM_OUTPUTS[name][3]
    return 2.0 / (high - low) if kind == "integers" else 0.05


def run_random(runner, modes):
    """Returns a list of (name, mode, ok, err, tol, messages)."""
    lines = []
    stream_outputs = [k for k, v in RANDOM_OUTPUTS.items() if len(v[1]) >= 1]
    fused_a = None
    for mode in modes:
        float_type = mode_float(mode)
        text = random_module(float_type)
        fusion = mode != "f32-nofusion"

        def call(seed, offset, what):
            out, error = runner.run("random_%s_%s" % (mode, what), text,
                                    seeds(seed, offset), fusion=fusion)
            missing = [k for k in RANDOM_OUTPUTS if error is None and k not in out]
            if missing:
                return None, "outputs missing from the results file: " + \
                    ", ".join(missing)
            return out, error

        a, error = call(1234, 0, "a")
        if error is not None:
            lines.append(("random/all", mode, False, math.inf, 0.0, [error]))
            continue
        if mode == "f32":
            fused_a = a
        if mode == "f32-nofusion":
            # The unfused build gives the numbers of the fused one.
            for k, (op, _, _, dist, _) in RANDOM_OUTPUTS.items():
                name = "%s/%s/fused_vs_unfused" % (op, k)
                if fused_a is None:
                    lines.append((name, mode, False, math.inf, 0.0,
                                  ["no fused f32 run to compare with"]))
                    continue
                exact = dist[0] == "integers"
                err = max_abs_diff(a[k], fused_a[k])
                tol = 0.0 if exact else TOL_F32["default"] * max(
                    1e-3, float(np.max(np.abs(fused_a[k]))))
                lines.append((name, mode, err <= tol, err, tol, []))
            continue
        for k, spec in RANDOM_OUTPUTS.items():
            for check, ok, err, tol, msg in random_checks(k, mode, a[k], spec):
                lines.append((check, mode, ok, err, tol, [msg] if not ok else []))

        # Reproducible, bit for bit, in another process.
        b, error = call(1234, 0, "b")
        for k in RANDOM_OUTPUTS:
            name = "%s/%s/reproducible" % (RANDOM_OUTPUTS[k][0], k)
            if error is not None:
                lines.append((name, mode, False, math.inf, 0.0, [error]))
                continue
            same = a[k].tobytes() == b[k].tobytes()
            lines.append((name, mode, same, max_abs_diff(a[k], b[k]), 0.0,
                          [] if same else ["two runs differ"]))

        # Offsets shift the stream: out(offset=k)[i] == out(offset=0)[i + k].
        for shift, (base, what) in [(37, (0, "small")),
                                    (7, (2 ** 32 - 7, "carry_2^32"))]:
            if base == 0:
                ref, error = a, None
            else:
                ref, error = call(1234, base, "base_" + what)
            shifted, error2 = call(1234, base + shift, "shift_" + what)
            error = error or error2
            for k in stream_outputs:
                name = "%s/%s/offset_shift_%s" % (RANDOM_OUTPUTS[k][0], k, what)
                if error is not None:
                    lines.append((name, mode, False, math.inf, 0.0, [error]))
                    continue
                r = ref[k].reshape(-1)
                s = shifted[k].reshape(-1)
                same = r[shift:].tobytes() == s[:-shift].tobytes()
                lines.append((name, mode, same,
                              max_abs_diff(r[shift:], s[:-shift]), 0.0,
                              [] if same else
                              ["out(offset=%d)[i] != out(offset=%d)[i+%d]"
                               % (base + shift, base, shift)]))

        # The counter is 64 bits wide: offset 2^32 is not offset 0.
        if error is None:
            for k in stream_outputs:
                name = "%s/%s/offset_2^32_differs" % (RANDOM_OUTPUTS[k][0], k)
                frac = float(np.mean(a[k] == shifted[k]))
                limit = chance_agreement_limit(k)
                lines.append((name, mode, frac <= limit, frac, limit,
                              [] if frac <= limit else
                              ["%.3f of the values equal those of offset 0"
                               % frac]))

        # Another seed gives another stream.
        other, error = call(99, 0, "seed99")
        for k in stream_outputs:
            name = "%s/%s/seed_changes_stream" % (RANDOM_OUTPUTS[k][0], k)
            if error is not None:
                lines.append((name, mode, False, math.inf, 0.0, [error]))
                continue
            frac = float(np.mean(a[k] == other[k]))
            limit = chance_agreement_limit(k)
            lines.append((name, mode, frac <= limit, frac, limit,
                          [] if frac <= limit else
                          ["%.3f of the values equal those of seed 1234" % frac]))
    return lines


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def default_kiln_run():
    if os.environ.get("KILN_RUN"):
        return os.environ["KILN_RUN"]
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "build", "bin",
                                         "kiln-run"))


def single_case_module(c, mode):
    expected = expected_outputs(c, mode_float(mode))
    text, _ = build_module([(0, c)], mode_float(mode), lambda _: expected)
    return text


class Tally:
    """Prints one line per check and counts passes and failures."""

    def __init__(self, name_width):
        self.name_width = name_width
        self.passes = 0
        self.failures = []

    def add(self, ok, name, mode, err, tol, messages=()):
        print("%s  %-*s  %-12s  max_err=%-10.3g tol=%.3g"
              % ("PASS" if ok else "FAIL", self.name_width, name, mode, err,
                 tol), flush=True)
        for m in messages:
            for line in m.splitlines()[:60]:
                print("      " + line)
        if ok:
            self.passes += 1
        else:
            self.failures.append("%s [%s]" % (name, mode))


def parse_suite_args(doc, all_modes):
    """The command line shared by the reference suites: (args, modes), the
    modes checked against `all_modes`, f32 added when f32-nofusion (which is
    compared against it) is asked for alone."""
    parser = argparse.ArgumentParser(
        description=doc.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--filter", default="",
                        help="run only cases whose name contains SUBSTR")
    parser.add_argument("--kiln-run", default=default_kiln_run(),
                        help="path of kiln-run (default: $KILN_RUN or "
                        "../../build/bin/kiln-run)")
    parser.add_argument("--modes", default=",".join(all_modes),
                        help="comma-separated subset of " + ",".join(all_modes))
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="kiln-run processes at a time (default 2)")
    parser.add_argument("--kiln-run-arg", action="append", default=[],
                        metavar="ARG", help="extra kiln-run argument, e.g. "
                        "--kiln-run-arg=--library-calls=off (repeatable)")
    parser.add_argument("--timeout", type=int, default=600,
                        help="seconds per kiln-run call")
    parser.add_argument("--keep", metavar="DIR",
                        help="keep modules, inputs and outputs under DIR")
    parser.add_argument("--show-mlir", action="store_true",
                        help="print the module of each failing case")
    parser.add_argument("--list", action="store_true",
                        help="list the cases and exit")
    args = parser.parse_args()

    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in all_modes:
            parser.error("unknown mode %r" % m)
    if "f32-nofusion" in modes and "f32" not in modes:
        modes.insert(modes.index("f32-nofusion"), "f32")
    return args, modes


def main():
    args, modes = parse_suite_args(__doc__, MODES)
    cases = [(i, c) for i, c in enumerate(CASES) if args.filter in c.name]
    with_random = "random" in args.filter or any(
        args.filter in "%s/%s" % (v[0], k) for k, v in RANDOM_OUTPUTS.items())
    if args.list:
        for _, c in cases:
            print("%-10s %s" % (c.group, c.name))
        if with_random:
            for k, v in RANDOM_OUTPUTS.items():
                print("%-10s %s/%s" % ("random", v[0], k))
        return 0
    if not os.path.isfile(args.kiln_run):
        print("error: kiln-run not found at %s (use --kiln-run or $KILN_RUN)"
              % args.kiln_run, file=sys.stderr)
        return 2

    # Expected values first: a failure here is a bug of the test, not Kiln.
    expected = {}
    for _, c in cases:
        for ft in {mode_float(m) for m in modes}:
            expected[(c.name, ft)] = expected_outputs(c, ft)

    def expected_for(ft):
        return lambda c: expected[(c.name, ft)]

    workdir = args.keep or tempfile.mkdtemp(prefix="kiln-test-ops-")
    os.makedirs(workdir, exist_ok=True)
    runner = Runner(args.kiln_run, workdir, args.timeout, args.kiln_run_arg)
    groups = []
    for _, c in cases:
        if c.group not in groups:
            groups.append(c.group)
    name_width = max([len(c.name) for _, c in cases] + [44])

    start = time.time()
    tally = Tally(name_width)
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = {}
        for g in groups:
            members = [(i, c) for i, c in cases if c.group == g]
            for mode in modes:
                futures[(g, mode)] = pool.submit(
                    run_group, runner, members, mode,
                    expected_for(mode_float(mode)), "%s_%s" % (g, mode))
        random_future = pool.submit(run_random, runner, modes) \
            if with_random else None

        for g in groups:
            fused_results = {}
            for mode in modes:
                results = futures[(g, mode)].result()
                if mode == "f32":
                    fused_results = results
                for _, c in cases:
                    if c.group != g:
                        continue
                    got, error = results[c.name]
                    if error is not None:
                        ok, err, tol, msgs = False, math.inf, 0.0, [error]
                    else:
                        fused = fused_results.get(c.name, (None, None))[0] \
                            if mode == "f32-nofusion" else None
                        ok, err, tol, msgs = compare_case(
                            c, mode, expected[(c.name, mode_float(mode))],
                            got, fused)
                    if not ok and args.show_mlir:
                        msgs = msgs + ["module of this case alone:\n"
                                       + single_case_module(c, mode)]
                    tally.add(ok, c.name, mode, err, tol, msgs)
        if random_future is not None:
            for name, mode, ok, err, tol, msgs in random_future.result():
                if args.filter in name or args.filter in "random":
                    tally.add(ok, name, mode, err, tol, msgs)

    print("\n%d passed, %d failed; %d kiln-run calls, %.1f s in kiln-run, "
          "%.1f s wall" % (tally.passes, len(tally.failures), runner.calls,
                           runner.seconds, time.time() - start))
    if tally.failures:
        print("failed:")
        for f in tally.failures:
            print("  " + f)
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print("files kept in " + workdir)
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
