//===- ReductionGradients.cpp - Gradients of reductions and norms ---------===//
//
// GradientBuilder.h describes how the rules read.
//
//===----------------------------------------------------------------------===//

#include "dialects/Graph/IR/GradientBuilder.h"

#include <utility>

using namespace mlir;
using namespace kiln::graph;
using namespace kiln::graph::gradients;

//===----------------------------------------------------------------------===//
// Reductions and softmax
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

//===----------------------------------------------------------------------===//
// Normalization
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
// One op (graph.batch_norm_grad), which lowers to two passes over x and g
// (three in float64).
RULE(BatchNormTrainingOp) {
  auto grad = builder.create<BatchNormGradOp>(getLoc(), getInput(), grads[0],
                                              getWeight(), getEpsilon(),
                                              getChannelsLast());
  out.assign({grad.getInputGrad(), grad.getWeightGrad(), grad.getBiasGrad(),
              Value(), Value()});
  return success();
}
RULE(BatchNormInferenceOp) {
  if (getChannelsLast())
    return emitOpError("has no gradient rule with channels_last");
  G m{builder, getLoc()};
  Value x = getInput(), g = grads[0];
  int64_t rank = m.shape(x).size();
  SmallVector<int64_t> dims = allDimsBut(rank, 1);
  Value r = builder.create<RsqrtOp>(
      getLoc(), m.add(channelView(m, getVariance(), rank),
                      m.c(x, getEpsilon().convertToDouble())));
  Value xHat = m.mul(m.sub(x, channelView(m, getMean(), rank)), r);
  Value dx = m.mul(g, m.mul(channelView(m, getWeight(), rank), r));
  out.assign({dx, m.sum(m.mul(g, xHat), dims, false), m.sum(g, dims, false),
              Value(), Value()});
  return success();
}
// One op (graph.group_norm_grad), which lowers to three passes over x and g.
RULE(GroupNormOp) {
  auto grad = builder.create<GroupNormGradOp>(getLoc(), getInput(), grads[0],
                                              getWeight(), getNumGroups(),
                                              getEpsilon(), getChannelsLast());
  out.assign({grad.getInputGrad(), grad.getWeightGrad(), grad.getBiasGrad()});
  return success();
}
