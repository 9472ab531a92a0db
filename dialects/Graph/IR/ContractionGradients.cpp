//===- ContractionGradients.cpp - Gradients of contractions and pooling ---===//
//
// GradientBuilder.h describes how the rules read.
//
//===----------------------------------------------------------------------===//

#include "dialects/Graph/IR/GradientBuilder.h"

#include <algorithm>

using namespace mlir;
using namespace kiln::graph;
using namespace kiln::graph::gradients;

//===----------------------------------------------------------------------===//
// Contractions, convolution, pooling
//===----------------------------------------------------------------------===//

namespace {
/// C = op(A) op(B) with Product (MatmulOp or BatchMatmulOp): dA = g op(B)^T
/// (or its transpose when A is read transposed), dB = op(A)^T g (likewise).
template <typename Product>
LogicalResult productGradients(OpBuilder &m, Location loc, Value a, Value b,
                               Value g, bool ta, bool tb,
                               SmallVectorImpl<Value> &out) {
  Value da = ta ? m.create<Product>(loc, b, g, tb, true).getResult()
                : m.create<Product>(loc, g, b, false, !tb).getResult();
  Value db = tb ? m.create<Product>(loc, g, a, true, ta).getResult()
                : m.create<Product>(loc, a, g, !ta, false).getResult();
  out.assign({da, db});
  return success();
}
} // namespace

RULE(MatmulOp) {
  return productGradients<MatmulOp>(builder, getLoc(), getLhs(), getRhs(),
                                    grads[0], getTransposeLhs(),
                                    getTransposeRhs(), out);
}
RULE(BatchMatmulOp) {
  return productGradients<BatchMatmulOp>(builder, getLoc(), getLhs(), getRhs(),
                                         grads[0], getTransposeLhs(),
                                         getTransposeRhs(), out);
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
  if (getChannelsLast())
    return emitOpError("has no gradient rule with channels_last");
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
  if (getChannelsLast())
    return emitOpError("has no gradient rule with channels_last");
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
  out.assign({builder.create<MaxPool2DGradOp>(
      getLoc(), getInput(), grads[0], getKernel(), getStrides(), getPadding(),
      getChannelsLast())});
  return success();
}
RULE(GlobalAvgPool2DOp) {
  if (getChannelsLast())
    return emitOpError("has no gradient rule with channels_last");
  G m{builder, getLoc()};
  ArrayRef<int64_t> xs = m.shape(getInput());
  Value scaled = m.mul(grads[0], m.c(grads[0], 1.0 / double(xs[2] * xs[3])));
  out.assign({m.broadcastTo(scaled, xs)});
  return success();
}

// The window sums spread back: a depthwise transposed convolution of
// g / divisor with a kernel of ones.
RULE(AvgPool2DOp) {
  if (getChannelsLast())
    return emitOpError("has no gradient rule with channels_last");
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
