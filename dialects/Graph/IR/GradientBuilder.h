//===- GradientBuilder.h - What the gradient rules build with --*- C++ -*-===//
//
// The gradient rules (one vector-Jacobian product per graph op) are spread
// over one file per op family, as the ops' TableGen files are:
// ElementwiseGradients.cpp, ContractionGradients.cpp, ReductionGradients.cpp,
// ShapeGradients.cpp and ModelGradients.cpp. They read as a table: `g` is
// the gradient of the op's result, `x`/`lhs`/`rhs` its operands, `y` its
// result. Broadcast operands receive their gradient summed back to their
// shape (`unbroadcast`). Integer operands get no gradient.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECTS_GRAPH_IR_GRADIENTBUILDER_H
#define KILN_DIALECTS_GRAPH_IR_GRADIENTBUILDER_H

#include "dialects/Graph/IR/GraphDialect.h"

#include "mlir/IR/Builders.h"

namespace kiln::graph::gradients {

using namespace mlir;

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
inline LogicalResult noGradients(SmallVectorImpl<Value> &out, size_t count) {
  out.assign(count, Value());
  return success();
}

inline bool isFloatTensor(Value v) {
  return llvm::isa<FloatType>(
      llvm::cast<RankedTensorType>(v.getType()).getElementType());
}

} // namespace kiln::graph::gradients

/// The definition of Op's gradient rule.
#define RULE(Op)                                                               \
  LogicalResult Op::buildGradients(OpBuilder &builder, ValueRange grads,       \
                                   SmallVectorImpl<Value> &out)

#endif // KILN_DIALECTS_GRAPH_IR_GRADIENTBUILDER_H
