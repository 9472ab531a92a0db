//===- GraphGradients.cpp - The gradient rule of every graph op -----------===//
//
// One vector-Jacobian product per op, built from graph ops, read as a table:
// `g` is the gradient of the op's result, `x`/`lhs`/`rhs` its operands, `y`
// its result. Broadcast operands receive their gradient summed back to their
// shape (`unbroadcast`). Integer operands get no gradient.
//
//===----------------------------------------------------------------------===//

#include "dialects/Graph/IR/GraphDialect.h"

#include "mlir/IR/Builders.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace kiln::graph;

namespace {

/// Builds graph ops at one location; the rules below read as formulas.
struct G {
  OpBuilder &b;
  Location loc;

  Type elt(Value v) {
    return llvm::cast<RankedTensorType>(v.getType()).getElementType();
  }
  ArrayRef<int64_t> shape(Value v) {
    return llvm::cast<RankedTensorType>(v.getType()).getShape();
  }
  /// A constant of `shape` filled with `v`, with `like`'s element type.
  Value splat(Value like, ArrayRef<int64_t> shape, double v) {
    auto type = RankedTensorType::get(shape, elt(like));
    return b.create<ConstantOp>(
        loc, type, DenseElementsAttr::get(type, b.getFloatAttr(elt(like), v)));
  }
  /// A 0-d constant with `like`'s element type.
  Value c(Value like, double v) { return splat(like, {}, v); }
  Value add(Value x, Value y) { return b.create<AddOp>(loc, x, y); }
  Value sub(Value x, Value y) { return b.create<SubOp>(loc, x, y); }
  Value mul(Value x, Value y) { return b.create<MulOp>(loc, x, y); }
  Value div(Value x, Value y) { return b.create<DivOp>(loc, x, y); }
  Value neg(Value x) { return b.create<NegOp>(loc, x); }
  Value cmp(ComparePredicate p, Value x, Value y) {
    return b.create<CompareOp>(loc, p, x, y);
  }
  Value select(Value cond, Value x, Value y) {
    return b.create<SelectOp>(loc, cond, x, y);
  }
  Value reshape(Value x, ArrayRef<int64_t> s) {
    return shape(x) == s ? x : b.create<ReshapeOp>(loc, x, s).getResult();
  }
  Value sum(Value x, ArrayRef<int64_t> dims, bool keep) {
    return b.create<ReduceSumOp>(loc, x, dims, keep);
  }
  Value broadcastTo(Value x, ArrayRef<int64_t> s) {
    return shape(x) == s ? x : b.create<BroadcastToOp>(loc, x, s).getResult();
  }
  /// `grad` (a broadcast result's shape) summed back to `target`'s shape.
  Value unbroadcast(Value grad, Value target) {
    ArrayRef<int64_t> gs = shape(grad), ts = shape(target);
    if (gs == ts)
      return grad;
    SmallVector<int64_t> dims;
    int64_t offset = gs.size() - ts.size();
    for (int64_t d = 0; d < static_cast<int64_t>(gs.size()); ++d)
      if (d < offset || (ts[d - offset] == 1 && gs[d] != 1))
        dims.push_back(d);
    return reshape(sum(grad, dims, /*keep=*/false), ts);
  }
};

/// Fills `out` with `count` absent gradients (integer operands).
LogicalResult noGradients(SmallVectorImpl<Value> &out, size_t count) {
  out.assign(count, Value());
  return success();
}

bool isFloatTensor(Value v) {
  return llvm::isa<FloatType>(
      llvm::cast<RankedTensorType>(v.getType()).getElementType());
}

} // namespace

#define RULE(Op)                                                               \
  LogicalResult Op::buildGradients(OpBuilder &builder, ValueRange grads,       \
                                   SmallVectorImpl<Value> &out)

//===----------------------------------------------------------------------===//
// Unary elementwise
//===----------------------------------------------------------------------===//

RULE(NegOp) { G m{builder, getLoc()}; out.assign({m.neg(grads[0])}); return success(); }
// sign(x) g, with sign(0) = 0 as PyTorch.
RULE(AbsOp) {
  G m{builder, getLoc()};
  Value x = getInput(), g = grads[0], zero = m.c(x, 0);
  Value negative = m.select(m.cmp(ComparePredicate::lt, x, zero), m.neg(g), zero);
  out.assign({m.select(m.cmp(ComparePredicate::gt, x, zero), g, negative)});
  return success();
}
RULE(ExpOp) { G m{builder, getLoc()}; out.assign({m.mul(grads[0], getResult())}); return success(); }
RULE(LogOp) { G m{builder, getLoc()}; out.assign({m.div(grads[0], getInput())}); return success(); }
RULE(SqrtOp) {
  G m{builder, getLoc()};
  out.assign({m.div(m.mul(grads[0], m.c(getInput(), 0.5)), getResult())});
  return success();
}
RULE(RsqrtOp) {
  G m{builder, getLoc()};
  Value y = getResult();
  out.assign({m.mul(m.mul(grads[0], m.c(y, -0.5)), m.mul(y, m.mul(y, y)))});
  return success();
}
RULE(SinOp) {
  G m{builder, getLoc()};
  out.assign({m.mul(grads[0], builder.create<CosOp>(getLoc(), getInput()))});
  return success();
}
RULE(CosOp) {
  G m{builder, getLoc()};
  out.assign({m.neg(m.mul(grads[0], builder.create<SinOp>(getLoc(), getInput())))});
  return success();
}
RULE(TanhOp) {
  G m{builder, getLoc()};
  Value y = getResult();
  out.assign({m.mul(grads[0], m.sub(m.c(y, 1), m.mul(y, y)))});
  return success();
}
RULE(ErfOp) {
  G m{builder, getLoc()};
  Value x = getInput();
  Value e = builder.create<ExpOp>(getLoc(), m.neg(m.mul(x, x)));
  out.assign({m.mul(grads[0], m.mul(e, m.c(x, 2 / std::sqrt(M_PI))))});
  return success();
}
// Piecewise constant: no gradient flows through floor.
RULE(FloorOp) {
  G m{builder, getLoc()};
  out.assign({m.mul(grads[0], m.c(grads[0], 0))});
  return success();
}
RULE(SigmoidOp) {
  G m{builder, getLoc()};
  Value y = getResult();
  out.assign({m.mul(grads[0], m.mul(y, m.sub(m.c(y, 1), y)))});
  return success();
}
RULE(ReluOp) {
  G m{builder, getLoc()};
  Value x = getInput();
  out.assign({m.select(m.cmp(ComparePredicate::gt, x, m.c(x, 0)), grads[0],
                  m.c(x, 0))});
  return success();
}
RULE(GeluOp) {
  // d/dx [x Phi(x)] = Phi(x) + x phi(x).
  G m{builder, getLoc()};
  Value x = getInput();
  Value cdf = m.mul(m.c(x, 0.5),
                    m.add(m.c(x, 1), builder.create<ErfOp>(
                                         getLoc(), m.mul(x, m.c(x, M_SQRT1_2)))));
  Value pdf = m.mul(builder.create<ExpOp>(
                        getLoc(), m.mul(m.mul(x, x), m.c(x, -0.5))),
                    m.c(x, 1 / std::sqrt(2 * M_PI)));
  out.assign({m.mul(grads[0], m.add(cdf, m.mul(x, pdf)))});
  return success();
}
RULE(SiluOp) {
  G m{builder, getLoc()};
  Value x = getInput();
  Value s = builder.create<SigmoidOp>(getLoc(), x);
  out.assign({m.mul(grads[0],
               m.add(s, m.mul(x, m.mul(s, m.sub(m.c(x, 1), s)))))});
  return success();
}
RULE(LeakyReluOp) {
  G m{builder, getLoc()};
  Value x = getInput(), g = grads[0];
  out.assign({m.select(m.cmp(ComparePredicate::gt, x, m.c(x, 0)), g,
                  m.mul(g, m.c(x, getAlpha().convertToDouble())))});
  return success();
}
RULE(ClampOp) {
  G m{builder, getLoc()};
  Value x = getInput(), zero = m.c(x, 0);
  Value inside = m.select(
      m.cmp(ComparePredicate::ge, x, m.c(x, getMin().convertToDouble())),
      grads[0], zero);
  out.assign({m.select(
      m.cmp(ComparePredicate::le, x, m.c(x, getMax().convertToDouble())),
      inside, zero)});
  return success();
}
RULE(CastOp) {
  G m{builder, getLoc()};
  Value x = getInput();
  out.assign({isFloatTensor(x) && isFloatTensor(getResult())
             ? builder.create<CastOp>(getLoc(), grads[0],
                                      TypeAttr::get(m.elt(x)))
                   .getResult()
             : Value()});
  return success();
}

//===----------------------------------------------------------------------===//
// Binary elementwise (with broadcasting)
//===----------------------------------------------------------------------===//

RULE(AddOp) {
  G m{builder, getLoc()};
  if (!isFloatTensor(getLhs()))
    return noGradients(out, 2);
  out.assign({m.unbroadcast(grads[0], getLhs()), m.unbroadcast(grads[0], getRhs())});
  return success();
}
RULE(SubOp) {
  G m{builder, getLoc()};
  if (!isFloatTensor(getLhs()))
    return noGradients(out, 2);
  out.assign({m.unbroadcast(grads[0], getLhs()),
         m.unbroadcast(m.neg(grads[0]), getRhs())});
  return success();
}
RULE(MulOp) {
  G m{builder, getLoc()};
  if (!isFloatTensor(getLhs()))
    return noGradients(out, 2);
  out.assign({m.unbroadcast(m.mul(grads[0], getRhs()), getLhs()),
         m.unbroadcast(m.mul(grads[0], getLhs()), getRhs())});
  return success();
}
RULE(DivOp) {
  G m{builder, getLoc()};
  Value gr = m.div(grads[0], getRhs());
  out.assign({m.unbroadcast(gr, getLhs()),
         m.unbroadcast(m.neg(m.mul(gr, getResult())), getRhs())});
  return success();
}
RULE(PowOp) {
  G m{builder, getLoc()};
  Value x = getLhs(), p = getRhs(), g = grads[0];
  Value dx = m.mul(m.mul(g, p),
                   builder.create<PowOp>(getLoc(), x, m.sub(p, m.c(p, 1))));
  Value dp = m.mul(m.mul(g, getResult()), builder.create<LogOp>(getLoc(), x));
  out.assign({m.unbroadcast(dx, x), m.unbroadcast(dp, p)});
  return success();
}
namespace {
/// The gradient of max (`wins` = gt) or min (lt): to the operand that wins,
/// split evenly on ties, as PyTorch.
LogicalResult extremumGradients(G &m, ComparePredicate wins, Value lhs,
                                Value rhs, Value g,
                                SmallVectorImpl<Value> &out) {
  Value zero = m.c(g, 0), half = m.mul(g, m.c(g, 0.5));
  Value tie = m.cmp(ComparePredicate::eq, lhs, rhs);
  Value left = m.select(m.cmp(wins, lhs, rhs), g, m.select(tie, half, zero));
  Value right = m.select(m.cmp(wins, rhs, lhs), g, m.select(tie, half, zero));
  out.assign({m.unbroadcast(left, lhs), m.unbroadcast(right, rhs)});
  return success();
}
} // namespace

RULE(MaximumOp) {
  G m{builder, getLoc()};
  if (!isFloatTensor(getLhs()))
    return noGradients(out, 2);
  return extremumGradients(m, ComparePredicate::gt, getLhs(), getRhs(),
                           grads[0], out);
}
RULE(MinimumOp) {
  G m{builder, getLoc()};
  if (!isFloatTensor(getLhs()))
    return noGradients(out, 2);
  return extremumGradients(m, ComparePredicate::lt, getLhs(), getRhs(),
                           grads[0], out);
}
RULE(SelectOp) {
  G m{builder, getLoc()};
  if (!isFloatTensor(getLhs()))
    return noGradients(out, 3);
  Value g = grads[0], zero = m.c(g, 0);
  out.assign({Value(), m.unbroadcast(m.select(getCondition(), g, zero), getLhs()),
         m.unbroadcast(m.select(getCondition(), zero, g), getRhs())});
  return success();
}

//===----------------------------------------------------------------------===//
// Contractions, convolution, pooling
//===----------------------------------------------------------------------===//

// C = op(A) op(B): dA = g op(B)^T (or its transpose when A is read
// transposed), dB = op(A)^T g (likewise).
RULE(MatmulOp) {
  Value a = getLhs(), b = getRhs(), g = grads[0];
  bool ta = getTransposeLhs(), tb = getTransposeRhs();
  OpBuilder &m = builder;
  Value da = ta ? m.create<MatmulOp>(getLoc(), b, g, tb, true).getResult()
                : m.create<MatmulOp>(getLoc(), g, b, false, !tb).getResult();
  Value db = tb ? m.create<MatmulOp>(getLoc(), g, a, true, ta).getResult()
                : m.create<MatmulOp>(getLoc(), a, g, !ta, false).getResult();
  out.assign({da, db});
  return success();
}
RULE(BatchMatmulOp) {
  Value a = getLhs(), b = getRhs(), g = grads[0];
  bool ta = getTransposeLhs(), tb = getTransposeRhs();
  OpBuilder &m = builder;
  Value da = ta ? m.create<BatchMatmulOp>(getLoc(), b, g, tb, true).getResult()
                : m.create<BatchMatmulOp>(getLoc(), g, b, false, !tb).getResult();
  Value db = tb ? m.create<BatchMatmulOp>(getLoc(), g, a, true, ta).getResult()
                : m.create<BatchMatmulOp>(getLoc(), a, g, !ta, false).getResult();
  out.assign({da, db});
  return success();
}
namespace {
/// dW of y = conv2d(x, W) (one group): a convolution of the input with g
/// over the batch, strides and dilations swapped, cropped to the kernel.
Value convWeightGradient(G &m, Value x, Value g, ArrayRef<int64_t> kernel,
                         ArrayRef<int64_t> s, ArrayRef<int64_t> p,
                         ArrayRef<int64_t> d) {
  OpBuilder &b = m.b;
  const int64_t perm[] = {1, 0, 2, 3};
  Value xt = b.create<TransposeOp>(m.loc, x, perm);
  Value gt = b.create<TransposeOp>(m.loc, g, perm);
  Value dwt = b.create<Conv2DOp>(m.loc, xt, gt, Value(), d, p, s, 1);
  ArrayRef<int64_t> ws = m.shape(dwt); // [C, O, KH', KW'], KH' >= KH
  if (ws[2] != kernel[0] || ws[3] != kernel[1])
    dwt = b.create<SliceOp>(m.loc, dwt, ArrayRef<int64_t>{0, 0, 0, 0},
                            ArrayRef<int64_t>{ws[0], ws[1], kernel[0], kernel[1]},
                            ArrayRef<int64_t>{1, 1, 1, 1});
  return b.create<TransposeOp>(m.loc, dwt, perm);
}
/// Channels [first, first + count) of an NCHW tensor.
Value channels(G &m, Value v, int64_t first, int64_t count) {
  ArrayRef<int64_t> s = m.shape(v);
  return m.b.create<SliceOp>(m.loc, v, ArrayRef<int64_t>{0, first, 0, 0},
                             ArrayRef<int64_t>{s[0], first + count, s[2], s[3]},
                             ArrayRef<int64_t>{1, 1, 1, 1});
}
/// convWeightGradient of each of `groups` channel blocks of x and g,
/// concatenated along the first dimension.
Value groupedWeightGradient(G &m, Value x, Value g, int64_t groups,
                            ArrayRef<int64_t> kernel, ArrayRef<int64_t> s,
                            ArrayRef<int64_t> p, ArrayRef<int64_t> d) {
  if (groups == 1)
    return convWeightGradient(m, x, g, kernel, s, p, d);
  int64_t xc = m.shape(x)[1] / groups, gc = m.shape(g)[1] / groups;
  SmallVector<Value> blocks;
  for (int64_t k = 0; k < groups; ++k)
    blocks.push_back(convWeightGradient(m, channels(m, x, k * xc, xc),
                                        channels(m, g, k * gc, gc), kernel, s,
                                        p, d));
  return m.b.create<ConcatOp>(m.loc, blocks, uint64_t(0));
}
} // namespace

// dx: the transposed convolution of g (output_padding restores the input's
// size); dw: conv2d_weight_grad of the input and g; db: g summed over batch
// and space.
RULE(Conv2DOp) {
  G m{builder, getLoc()};
  Value x = getInput(), w = getWeight(), g = grads[0];
  int64_t groups = static_cast<int64_t>(getGroups());
  ArrayRef<int64_t> xs = m.shape(x), ws = m.shape(w), gs = m.shape(g);
  ArrayRef<int64_t> s = getStrides(), p = getPadding(), d = getDilation();
  SmallVector<int64_t> outputPadding(2);
  for (int i = 0; i < 2; ++i)
    outputPadding[i] =
        xs[2 + i] - ((gs[2 + i] - 1) * s[i] - 2 * p[i] + d[i] * (ws[2 + i] - 1) + 1);
  Value dx = builder.create<ConvTranspose2DOp>(getLoc(), g, w, Value(), s, p,
                                                outputPadding, d, groups);
  Value dw = builder.create<Conv2DWeightGradOp>(
      getLoc(), x, g, ArrayRef<int64_t>{ws[2], ws[3]}, s, p, d, groups);
  out.assign({dx, dw});
  if (getBias())
    out.push_back(m.sum(g, {0, 2, 3}, false));
  return success();
}
// y = conv_transpose2d(x, W): dx is the convolution of g with W; dW a
// convolution of g with x over the batch (strides and dilations swapped).
RULE(ConvTranspose2DOp) {
  G m{builder, getLoc()};
  Value x = getInput(), w = getWeight(), g = grads[0];
  int64_t groups = static_cast<int64_t>(getGroups());
  ArrayRef<int64_t> ws = m.shape(w);
  ArrayRef<int64_t> s = getStrides(), p = getPadding(), d = getDilation();
  Value dx =
      builder.create<Conv2DOp>(getLoc(), g, w, Value(), s, p, d, groups);
  // With output_padding >= stride (allowed when dilation > stride) the
  // convolution also covers input rows past the end: crop them.
  ArrayRef<int64_t> xs = m.shape(x), dxs = m.shape(dx);
  if (dxs[2] != xs[2] || dxs[3] != xs[3])
    dx = builder.create<SliceOp>(getLoc(), dx, ArrayRef<int64_t>{0, 0, 0, 0},
                                 ArrayRef<int64_t>{xs[0], xs[1], xs[2], xs[3]},
                                 ArrayRef<int64_t>{1, 1, 1, 1});
  // dW[ci, co] = sum over n, i, j of x[n, ci, i, j] g[n, co, i s - p + k d]:
  // the weight gradient of a convolution of g whose result is x. That
  // convolution's result has x's size unless output_padding >= stride; then
  // transposes, a convolution over the batch and a crop compute it.
  ArrayRef<int64_t> op_ = getOutputPadding();
  Value dw =
      op_[0] < s[0] && op_[1] < s[1]
          ? builder.create<Conv2DWeightGradOp>(
                getLoc(), g, x, ArrayRef<int64_t>{ws[2], ws[3]}, s, p, d,
                groups)
          : groupedWeightGradient(m, g, x, groups, {ws[2], ws[3]}, s, p, d);
  out.assign({dx, dw});
  if (getBias())
    out.push_back(m.sum(g, {0, 2, 3}, false));
  return success();
}
RULE(MaxPool2DOp) {
  out.assign({builder.create<MaxPool2DGradOp>(getLoc(), getInput(), grads[0],
                                         getKernel(), getStrides(),
                                         getPadding())});
  return success();
}
RULE(GlobalAvgPool2DOp) {
  G m{builder, getLoc()};
  ArrayRef<int64_t> xs = m.shape(getInput());
  Value scaled = m.mul(grads[0], m.c(grads[0], 1.0 / double(xs[2] * xs[3])));
  out.assign({m.broadcastTo(scaled, xs)});
  return success();
}

//===----------------------------------------------------------------------===//
// Reductions, softmax, losses
//===----------------------------------------------------------------------===//

namespace {
/// The dims of a reduction, normalized, and the input's shape with them kept
/// as size 1.
SmallVector<int64_t> keptShape(ArrayRef<int64_t> shape, ArrayRef<int64_t> dims) {
  SmallVector<int64_t> kept(shape.begin(), shape.end());
  for (int64_t d : dims)
    kept[d < 0 ? d + shape.size() : d] = 1;
  return kept;
}
/// g, shaped as the reduction's result, back over the input's shape.
Value spread(G &m, Value g, Value x, ArrayRef<int64_t> dims) {
  return m.broadcastTo(m.reshape(g, keptShape(m.shape(x), dims)), m.shape(x));
}
} // namespace

RULE(ReduceSumOp) {
  G m{builder, getLoc()};
  out.assign({isFloatTensor(getInput()) ? spread(m, grads[0], getInput(), getDims())
                                   : Value()});
  return success();
}
RULE(ReduceMeanOp) {
  G m{builder, getLoc()};
  Value x = getInput();
  int64_t count = 1;
  for (int64_t d : getDims())
    count *= m.shape(x)[d < 0 ? d + m.shape(x).size() : d];
  out.assign({spread(m, m.mul(grads[0], m.c(grads[0], 1.0 / double(count))), x,
                getDims())});
  return success();
}
namespace {
/// Max and min reductions: the gradient is shared evenly by the elements
/// equal to the extremum (torch.amax / amin).
Value extremumReductionGradient(G &m, Value x, Value y, Value g,
                                ArrayRef<int64_t> dims) {
  Value hit = m.cmp(ComparePredicate::eq, x, spread(m, y, x, dims));
  Value ones = m.select(hit, m.broadcastTo(m.c(x, 1), m.shape(x)), m.c(x, 0));
  Value count = m.sum(ones, dims, /*keep=*/true);
  Value share = m.div(m.reshape(g, m.shape(count)), count);
  return m.mul(ones, m.broadcastTo(share, m.shape(x)));
}
} // namespace

RULE(ReduceMaxOp) {
  G m{builder, getLoc()};
  out.assign({extremumReductionGradient(m, getInput(), getResult(), grads[0],
                                        getDims())});
  return success();
}
RULE(ReduceMinOp) {
  G m{builder, getLoc()};
  out.assign({extremumReductionGradient(m, getInput(), getResult(), grads[0],
                                        getDims())});
  return success();
}
// y = softmax(x): dx = y (g - sum(g y)).
RULE(SoftmaxOp) {
  G m{builder, getLoc()};
  Value y = getResult(), g = grads[0];
  int64_t axis = static_cast<int64_t>(getAxis());
  Value dot = m.sum(m.mul(g, y), {axis}, /*keep=*/true);
  out.assign({m.mul(y, m.sub(g, dot))});
  return success();
}
// y = log_softmax(x): dx = g - exp(y) sum(g).
RULE(LogSoftmaxOp) {
  G m{builder, getLoc()};
  Value y = getResult(), g = grads[0];
  int64_t axis = static_cast<int64_t>(getAxis());
  Value total = m.sum(g, {axis}, /*keep=*/true);
  out.assign({m.sub(g, m.mul(builder.create<ExpOp>(getLoc(), y), total))});
  return success();
}

namespace {
/// The per-element scale of a loss's gradient: g itself (reduction none,
/// broadcast along trailing dims), g (sum) or g / count (mean).
Value lossScale(G &m, Value g, LossReduction r, int64_t count,
                ArrayRef<int64_t> perExample) {
  if (r == LossReduction::none) {
    SmallVector<int64_t> s(perExample.begin(), perExample.end());
    return s.size() == m.shape(g).size() ? g : m.reshape(g, s);
  }
  return r == LossReduction::mean ? m.mul(g, m.c(g, 1.0 / double(count))) : g;
}
} // namespace

// dlogits = (softmax(logits) - one_hot(labels)) * g.
RULE(CrossEntropyOp) {
  G m{builder, getLoc()};
  Value logits = getLogits();
  ArrayRef<int64_t> s = m.shape(logits);
  Value p = builder.create<SoftmaxOp>(getLoc(), logits, uint64_t(1));
  Value hot = builder.create<OneHotOp>(getLoc(), getLabels(),
                                       static_cast<uint64_t>(s[1]),
                                       m.elt(logits));
  Value scale = lossScale(m, grads[0], getReduction(), s[0], {s[0], 1});
  out.assign({m.mul(m.sub(p, hot), scale), Value()});
  return success();
}
RULE(MseLossOp) {
  G m{builder, getLoc()};
  Value x = getInput(), t = getTarget();
  int64_t count = llvm::cast<RankedTensorType>(x.getType()).getNumElements();
  Value d = m.mul(m.mul(m.sub(x, t), m.c(x, 2)),
                  lossScale(m, grads[0], getReduction(), count, m.shape(x)));
  out.assign({d, m.neg(d)});
  return success();
}
// d/dx = sigmoid(x) - t, d/dt = -x.
RULE(BceWithLogitsOp) {
  G m{builder, getLoc()};
  Value x = getInput(), t = getTarget();
  int64_t count = llvm::cast<RankedTensorType>(x.getType()).getNumElements();
  Value scale = lossScale(m, grads[0], getReduction(), count, m.shape(x));
  Value s = builder.create<SigmoidOp>(getLoc(), x);
  out.assign({m.mul(m.sub(s, t), scale), m.neg(m.mul(x, scale))});
  return success();
}

//===----------------------------------------------------------------------===//
// Shapes
//===----------------------------------------------------------------------===//

RULE(ReshapeOp) {
  G m{builder, getLoc()};
  out.assign({isFloatTensor(getInput()) ? m.reshape(grads[0], m.shape(getInput()))
                                   : Value()});
  return success();
}
RULE(TransposeOp) {
  ArrayRef<int64_t> perm = getPermutation();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = i;
  out.assign({isFloatTensor(getInput())
             ? builder.create<TransposeOp>(getLoc(), grads[0], inverse)
                   .getResult()
             : Value()});
  return success();
}
RULE(BroadcastToOp) {
  G m{builder, getLoc()};
  out.assign({isFloatTensor(getInput()) ? m.unbroadcast(grads[0], getInput())
                                   : Value()});
  return success();
}
RULE(ConcatOp) {
  G m{builder, getLoc()};
  ArrayRef<int64_t> gs = m.shape(grads[0]);
  int64_t rank = gs.size();
  int64_t axis = static_cast<int64_t>(getAxis());
  if (axis < 0)
    axis += rank;
  int64_t offset = 0;
  for (Value input : getInputs()) {
    SmallVector<int64_t> starts(rank, 0), limits(gs.begin(), gs.end()),
        strides(rank, 1);
    starts[axis] = offset;
    limits[axis] = offset + m.shape(input)[axis];
    offset = limits[axis];
    out.push_back(isFloatTensor(input)
                      ? builder.create<SliceOp>(getLoc(), grads[0], starts,
                                                limits, strides)
                            .getResult()
                      : Value());
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Normalization, pooling, gathers, attention
//===----------------------------------------------------------------------===//

namespace {
/// Normalization over `dims` (kept): x̂ = (x - mean) r with r = 1/sqrt(var +
/// eps); returns x̂ and r. `x` may be a reshaped view of the op's input.
std::pair<Value, Value> normalized(G &m, Value x, ArrayRef<int64_t> dims,
                                   double eps) {
  OpBuilder &b = m.b;
  Value mean = b.create<ReduceMeanOp>(m.loc, x, dims, true);
  Value centered = m.sub(x, mean);
  Value var = b.create<ReduceMeanOp>(m.loc, m.mul(centered, centered), dims, true);
  Value r = b.create<RsqrtOp>(m.loc, m.add(var, m.c(x, eps)));
  return {m.mul(centered, r), r};
}
/// dx of a normalization: r (ĝ - mean(ĝ) - x̂ mean(ĝ x̂)) over `dims`.
Value normalizedInputGradient(G &m, Value gHat, Value xHat, Value r,
                              ArrayRef<int64_t> dims) {
  OpBuilder &b = m.b;
  Value meanG = b.create<ReduceMeanOp>(m.loc, gHat, dims, true);
  Value meanGX = b.create<ReduceMeanOp>(m.loc, m.mul(gHat, xHat), dims, true);
  return m.mul(r, m.sub(m.sub(gHat, meanG), m.mul(xHat, meanGX)));
}
SmallVector<int64_t> allBut(int64_t rank, int64_t keep) {
  SmallVector<int64_t> dims;
  for (int64_t d = 0; d < rank; ++d)
    if (d != keep)
      dims.push_back(d);
  return dims;
}
/// A per-channel [C] tensor as [1, C, 1, ...] for broadcasting over NC...
Value channelView(G &m, Value v, int64_t rank) {
  SmallVector<int64_t> shape(rank, 1);
  shape[1] = m.shape(v)[0];
  return m.reshape(v, shape);
}
} // namespace

RULE(LayerNormOp) {
  G m{builder, getLoc()};
  Value x = getInput(), w = getWeight(), g = grads[0];
  int64_t rank = m.shape(x).size(), k = m.shape(w).size();
  SmallVector<int64_t> dims;
  for (int64_t d = rank - k; d < rank; ++d)
    dims.push_back(d);
  auto [xHat, r] = normalized(m, x, dims, getEpsilon().convertToDouble());
  Value dx = normalizedInputGradient(m, m.mul(g, w), xHat, r, dims);
  out.assign({dx, m.unbroadcast(m.mul(g, xHat), w), m.unbroadcast(g, getBias())});
  return success();
}
RULE(BatchNormTrainingOp) {
  G m{builder, getLoc()};
  Value x = getInput(), g = grads[0];
  int64_t rank = m.shape(x).size();
  SmallVector<int64_t> dims = allBut(rank, 1);
  auto [xHat, r] = normalized(m, x, dims, getEpsilon().convertToDouble());
  Value w = channelView(m, getWeight(), rank);
  Value dx = normalizedInputGradient(m, m.mul(g, w), xHat, r, dims);
  out.assign({dx, m.sum(m.mul(g, xHat), dims, false), m.sum(g, dims, false),
              Value(), Value()});
  return success();
}
RULE(BatchNormInferenceOp) {
  G m{builder, getLoc()};
  Value x = getInput(), g = grads[0];
  int64_t rank = m.shape(x).size();
  SmallVector<int64_t> dims = allBut(rank, 1);
  Value r = builder.create<RsqrtOp>(
      getLoc(), m.add(channelView(m, getVariance(), rank),
                      m.c(x, getEpsilon().convertToDouble())));
  Value xHat = m.mul(m.sub(x, channelView(m, getMean(), rank)), r);
  Value dx = m.mul(g, m.mul(channelView(m, getWeight(), rank), r));
  out.assign({dx, m.sum(m.mul(g, xHat), dims, false), m.sum(g, dims, false),
              Value(), Value()});
  return success();
}
RULE(GroupNormOp) {
  G m{builder, getLoc()};
  Value x = getInput(), g = grads[0];
  ArrayRef<int64_t> s = m.shape(x);
  int64_t rank = s.size();
  int64_t groups = static_cast<int64_t>(getNumGroups());
  int64_t rest = llvm::cast<RankedTensorType>(x.getType()).getNumElements() /
                 s[0] / groups;
  SmallVector<int64_t> grouped{s[0], groups, rest};
  auto [xHat, r] = normalized(m, m.reshape(x, grouped), {2},
                              getEpsilon().convertToDouble());
  Value gHat = m.reshape(m.mul(g, channelView(m, getWeight(), rank)), grouped);
  Value dx = m.reshape(normalizedInputGradient(m, gHat, xHat, r, {2}), s);
  SmallVector<int64_t> dims = allBut(rank, 1);
  out.assign({dx, m.sum(m.mul(g, m.reshape(xHat, s)), dims, false),
              m.sum(g, dims, false)});
  return success();
}
// The window sums spread back: a depthwise transposed convolution of
// g / divisor with a kernel of ones.
RULE(AvgPool2DOp) {
  G m{builder, getLoc()};
  Value x = getInput(), g = grads[0];
  ArrayRef<int64_t> xs = m.shape(x), gs = m.shape(g);
  ArrayRef<int64_t> k = getKernel(), s = getStrides(), p = getPadding();
  Type elt = m.elt(x);
  SmallVector<double> divisors;
  for (int64_t y = 0; y < gs[2]; ++y)
    for (int64_t xx = 0; xx < gs[3]; ++xx) {
      auto covered = [](int64_t start, int64_t size, int64_t limit) {
        return std::min(start + size, limit) - std::max<int64_t>(start, 0);
      };
      divisors.push_back(getCountIncludePad()
                             ? double(k[0] * k[1])
                             : double(covered(y * s[0] - p[0], k[0], xs[2]) *
                                      covered(xx * s[1] - p[1], k[1], xs[3])));
    }
  auto divType = RankedTensorType::get({1, 1, gs[2], gs[3]}, elt);
  SmallVector<Attribute> attrs;
  for (double d : divisors)
    attrs.push_back(builder.getFloatAttr(elt, 1.0 / d));
  Value scale = builder.create<ConstantOp>(
      getLoc(), divType, DenseElementsAttr::get(divType, attrs));
  Value ones = m.splat(g, {xs[1], 1, k[0], k[1]}, 1.0);
  SmallVector<int64_t> outputPadding(2);
  for (int i = 0; i < 2; ++i)
    outputPadding[i] = xs[2 + i] - ((gs[2 + i] - 1) * s[i] - 2 * p[i] + k[i]);
  out.assign({builder.create<ConvTranspose2DOp>(
      getLoc(), m.mul(g, scale), ones, Value(), s, p, outputPadding,
      ArrayRef<int64_t>{1, 1}, xs[1])});
  return success();
}
// dW = one_hot(indices)^T g, summed over every position.
RULE(EmbeddingOp) {
  G m{builder, getLoc()};
  Value w = getWeight(), g = grads[0];
  ArrayRef<int64_t> ws = m.shape(w);
  int64_t positions = llvm::cast<RankedTensorType>(getIndices().getType())
                          .getNumElements();
  Value hot = builder.create<OneHotOp>(getLoc(), getIndices(),
                                       static_cast<uint64_t>(ws[0]), m.elt(w));
  Value dw = builder.create<MatmulOp>(getLoc(), m.reshape(hot, {positions, ws[0]}),
                                      m.reshape(g, {positions, ws[1]}), true,
                                      false);
  out.assign({dw, Value()});
  return success();
}
// dx: g spread back to the read positions (zeros between strided reads),
// then padded with zeros before `starts` and up to the input's size.
RULE(SliceOp) {
  G m{builder, getLoc()};
  Value x = getInput();
  if (!isFloatTensor(x))
    return noGradients(out, 1);
  ArrayRef<int64_t> xs = m.shape(x);
  Value g = grads[0];
  auto zeros = [&](ArrayRef<int64_t> shape) { return m.splat(g, shape, 0); };
  for (size_t d = 0; d < xs.size(); ++d) {
    int64_t start = getStarts()[d], stride = getStrides()[d];
    if (stride != 1) {
      // [.., n, ..] -> [.., n, 1, ..] ++ zeros [.., n, stride - 1, ..]
      // -> [.., n * stride, ..], cropped to what fits after `start`.
      SmallVector<int64_t> gs(m.shape(g).begin(), m.shape(g).end());
      int64_t n = gs[d];
      SmallVector<int64_t> split(gs);
      split.insert(split.begin() + d + 1, 1);
      SmallVector<int64_t> gap(split);
      gap[d + 1] = stride - 1;
      Value spread = builder.create<ConcatOp>(
          getLoc(), ValueRange{m.reshape(g, split), zeros(gap)},
          static_cast<uint64_t>(d + 1));
      gs[d] = n * stride;
      g = m.reshape(spread, gs);
      int64_t room = xs[d] - start;
      if (gs[d] > room) {
        SmallVector<int64_t> starts(gs.size(), 0), limits(gs),
            ones(gs.size(), 1);
        limits[d] = room;
        g = builder.create<SliceOp>(getLoc(), g, starts, limits, ones);
      }
    }
    int64_t size = m.shape(g)[d];
    int64_t before = start, after = xs[d] - start - size;
    if (!before && !after)
      continue;
    SmallVector<int64_t> padShape(m.shape(g).begin(), m.shape(g).end());
    SmallVector<Value> pieces;
    if (before) {
      padShape[d] = before;
      pieces.push_back(zeros(padShape));
    }
    pieces.push_back(g);
    if (after) {
      padShape[d] = after;
      pieces.push_back(zeros(padShape));
    }
    g = builder.create<ConcatOp>(getLoc(), pieces, static_cast<uint64_t>(d));
  }
  out.assign({g});
  return success();
}
// Recomputes P = softmax(q k^T scale + masks); then dV = P^T g,
// dS = P (g v^T - rowsum(P g v^T)), dQ = dS k scale, dK = dS^T q scale.
RULE(AttentionOp) {
  G m{builder, getLoc()};
  Value q = getQuery(), k = getKey(), v = getValue(), g = grads[0];
  ArrayRef<int64_t> qs = m.shape(q), ks = m.shape(k);
  int64_t r = qs.size();
  double scale = getScale() ? getScale()->convertToDouble()
                            : 1.0 / std::sqrt(double(qs[r - 1]));
  Location loc = getLoc();
  Value scores = m.mul(builder.create<BatchMatmulOp>(loc, q, k, false, true),
                       m.c(q, scale));
  Value minusInf = m.c(q, -std::numeric_limits<double>::infinity());
  if (getCausal()) {
    int64_t tq = qs[r - 2], tk = ks[r - 2];
    SmallVector<bool> keep;
    for (int64_t i = 0; i < tq; ++i)
      for (int64_t j = 0; j < tk; ++j)
        keep.push_back(j <= i);
    auto maskType = RankedTensorType::get({tq, tk}, builder.getI1Type());
    Value causal = builder.create<ConstantOp>(
        loc, maskType, DenseElementsAttr::get(maskType, ArrayRef<bool>(keep)));
    scores = m.select(causal, scores, minusInf);
  }
  if (getMask())
    scores = m.select(getMask(), scores, minusInf);
  Value p = builder.create<SoftmaxOp>(loc, scores, static_cast<uint64_t>(-1));
  Value dv = builder.create<BatchMatmulOp>(loc, p, g, true, false);
  Value dp = builder.create<BatchMatmulOp>(loc, g, v, false, true);
  Value ds = m.mul(p, m.sub(dp, m.sum(m.mul(dp, p), {r - 1}, true)));
  Value dq = m.mul(builder.create<BatchMatmulOp>(loc, ds, k, false, false),
                   m.c(q, scale));
  Value dk = m.mul(builder.create<BatchMatmulOp>(loc, ds, q, true, false),
                   m.c(q, scale));
  out.assign({dq, dk, dv});
  if (getMask())
    out.push_back(Value());
  return success();
}
