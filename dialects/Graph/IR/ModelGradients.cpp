//===- ModelGradients.cpp - Gradients of losses and attention -------------===//
//
// GradientBuilder.h describes how the rules read.
//
//===----------------------------------------------------------------------===//

#include "dialects/Graph/IR/GradientBuilder.h"
#include "dialects/Graph/IR/GraphShapes.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace kiln::graph;
using namespace kiln::graph::gradients;

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

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
// Attention
//===----------------------------------------------------------------------===//

// One graph.attention_grad: fused, it recomputes the scores row by row;
// unfused (decompose), the batch matmuls and softmax below.
RULE(AttentionOp) {
  auto grad = builder.create<AttentionGradOp>(
      getLoc(), getQuery(), getKey(), getValue(), getResult(), grads[0],
      getMask(), getScaleAttr(), getCausalAttr());
  out.assign(grad.getResults().begin(), grad.getResults().end());
  if (getMask())
    out.push_back(Value());
  return success();
}

// Recomputes P = softmax(q k^T scale + masks); then dV = P^T g,
// dS = P (g v^T - rowsum(P g v^T)), dQ = dS k scale, dK = dS^T q scale.
SmallVector<Value> AttentionGradOp::decompose(OpBuilder &builder) {
  G m{builder, getLoc()};
  Value q = getQuery(), k = getKey(), v = getValue(), g = getResultGrad();
  ArrayRef<int64_t> qs = m.shape(q), ks = m.shape(k);
  int64_t r = qs.size();
  double scale = scaleOrDefault();
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
  return {dq, dk, dv};
}

//===----------------------------------------------------------------------===//
// Recurrences
//===----------------------------------------------------------------------===//

namespace {
/// True when `v` is a constant zero (a result the loss does not reach).
bool isZeroConstant(Value v) {
  auto constant = v.getDefiningOp<ConstantOp>();
  auto dense = constant
                   ? llvm::dyn_cast<DenseFPElementsAttr>(constant.getValue())
                   : DenseFPElementsAttr();
  return dense && dense.isSplat() && dense.getSplatValue<APFloat>().isZero();
}
} // namespace

// Backpropagation through time, one recurrence_grad (the steps in reverse);
// the gates' gradient flows on into the input projection's matmul.
RULE(RecurrenceOp) {
  G m{builder, getLoc()};
  Value hidden = getHidden(), saved = getSaved();
  if (getCell() == RecurrentCell::gru && !isZeroConstant(grads[1]))
    return emitOpError("has no gradient through its saved gate values: the "
                       "loss may depend on `hidden` only");
  ArrayRef<int64_t> h = m.shape(hidden);
  Value state = getState();
  if (!state)
    state = m.splat(hidden,
                    {h[0], shapes::cellStateWidth(
                               static_cast<shapes::Cell>(getCell())) *
                               h[2]},
                    0.0);
  auto grad = builder.create<RecurrenceGradOp>(
      getLoc(), getCell(), getWeight(), state, hidden, saved, grads[0],
      grads[1], getReverse());
  out.assign({grad.getGatesGrad(), grad.getWeightGrad(), grad.getBiasGrad()});
  if (getState())
    out.push_back(grad.getStateGrad());
  return success();
}
