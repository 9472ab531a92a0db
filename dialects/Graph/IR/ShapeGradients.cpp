//===- ShapeGradients.cpp - Gradients of shape ops and gathers ------------===//
//
// GradientBuilder.h describes how the rules read.
//
//===----------------------------------------------------------------------===//

#include "dialects/Graph/IR/GradientBuilder.h"

using namespace mlir;
using namespace kiln::graph;
using namespace kiln::graph::gradients;

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
