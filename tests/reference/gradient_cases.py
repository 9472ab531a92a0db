"""The cases of test_gradients.py: every graph op with a gradient rule on
several shapes, each with its PyTorch float64 loss, and the finite-difference
cases. Importing this module registers them in CASES and FD_CASES, in order
(their inputs come from RNG, so the order fixes them)."""

import math

import numpy as np
import torch
import torch.nn.functional as F

from harness import (arr, attrs, binary_body, conv_operands, f64, i64,
                     make_generators, pair, sn, to_torch, torch_reduce)

RNG = np.random.default_rng(20240917)


class Case:
    """One differentiated function.

    params:  {name: float64 array}: graph.param arguments, differentiated.
    inputs:  {name: array}: graph.input arguments, not differentiated (int64,
             int32 and bool arrays keep their type; float64 ones follow the
             mode like params).
    body:    MLIR lines that end in `%y`; `%name` names an argument or an SSA
             value, `$name` is replaced by the tensor type of an argument, of
             `y` or of an `inter` entry, `$T` by the mode's float type.
    ref:     function({name: torch float64 tensor (int for int inputs)}) -> y.
    types:   {argument name: "f32" | "f64"}: a float element type that does
             not follow the mode.
    y_type:  the element type of %y when it does not follow the mode.
    inter:   {ssa name: (shape, element type or "T")} for intermediates whose
             type a later line spells.
    kind:    "default" or "long" (f32 tolerance 2e-4).
    fd:      None, or the names of the params the finite-difference check
             perturbs (the case is then run in the fd mode only).
    """

    def __init__(self, group, name, params, body, ref, inputs=None, kind="default",
                 types=None, y_type=None, inter=None, fd=None):
        self.group = group
        self.name = name
        self.params = params
        self.inputs = inputs or {}
        self.body = body
        self.ref = ref
        self.kind = kind
        self.types = types or {}
        self.y_type = y_type
        self.inter = inter or {}
        self.fd = fd
        # The output shape, from the reference, gives the cotangent's shape.
        with torch.no_grad():
            y = ref({k: to_torch(v) for k, v in
                     list(self.params.items()) + list(self.inputs.items())})
        self.y_shape = tuple(y.shape)
        self.cot = randn(self.y_shape)


CASES = []
FD_CASES = []


def case(group, name, params, body, ref, **kw):
    CASES.append(Case(group, name, params, body, ref, **kw))


def fd_case(name, params, body, ref, fd=None, **kw):
    FD_CASES.append(Case("fd", "fd/" + name, params, body, ref,
                         fd=list(params) if fd is None else fd, **kw))


# ---- input generators (float64 numpy arrays) -----------------------------

randn, uniform, signed_away_from_zero, ints, choice, bools = \
    make_generators(RNG)


def distinct(shape, step=0.375):
    """Distinct values, exact in float32, `step` apart: no ties, no kinks
    within a finite-difference step."""
    n = int(np.prod(shape, dtype=np.int64))
    return ((RNG.permutation(n) - n // 2) * step).astype(np.float64) \
        .reshape(shape)


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
