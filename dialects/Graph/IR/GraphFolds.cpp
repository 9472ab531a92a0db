//===- GraphFolds.cpp - Folders of graph ops ------------------------------===//
//
// Only the obvious identities: x+0, x-0, x*1, x/1, -(-x), same-type casts,
// reshape of reshape, transpose of transpose, no-op reshapes, transposes and
// broadcasts. Each fold keeps the result type, so broadcasting never changes.
//
//===----------------------------------------------------------------------===//

#include "dialects/Graph/IR/GraphDialect.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace kiln::graph;

namespace {

/// True when `attr` is a splat constant equal to `value`.
bool isSplatOf(Attribute attr, double value) {
  auto dense = llvm::dyn_cast_if_present<DenseElementsAttr>(attr);
  if (!dense || !dense.isSplat())
    return false;
  Type element = dense.getElementType();
  if (llvm::isa<FloatType>(element))
    return dense.getSplatValue<APFloat>().convertToDouble() == value;
  if (llvm::isa<IntegerType>(element))
    return static_cast<double>(dense.getSplatValue<APInt>().getSExtValue()) ==
           value;
  return false;
}

/// `operand` if it can stand for the op's result (same type), else null.
OpFoldResult sameTypeAs(Value operand, Value result) {
  return operand.getType() == result.getType() ? operand : OpFoldResult();
}

} // namespace

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

OpFoldResult CastOp::fold(FoldAdaptor) {
  return sameTypeAs(getInput(), getResult());
}

OpFoldResult NegOp::fold(FoldAdaptor) {
  if (auto inner = getInput().getDefiningOp<NegOp>())
    return inner.getInput();
  return {};
}

OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 0))
    return sameTypeAs(getLhs(), getResult());
  if (isSplatOf(adaptor.getLhs(), 0))
    return sameTypeAs(getRhs(), getResult());
  return {};
}

OpFoldResult SubOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 0))
    return sameTypeAs(getLhs(), getResult());
  return {};
}

OpFoldResult MulOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 1))
    return sameTypeAs(getLhs(), getResult());
  if (isSplatOf(adaptor.getLhs(), 1))
    return sameTypeAs(getRhs(), getResult());
  return {};
}

OpFoldResult DivOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 1))
    return sameTypeAs(getLhs(), getResult());
  return {};
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (OpFoldResult same = sameTypeAs(getInput(), getResult()))
    return same;
  // reshape(reshape(x)) -> reshape(x): only the last shape matters.
  if (auto inner = getInput().getDefiningOp<ReshapeOp>()) {
    getInputMutable().assign(inner.getInput());
    return getResult();
  }
  // A reshaped dense constant is a constant.
  if (auto dense = llvm::dyn_cast_if_present<DenseElementsAttr>(
          adaptor.getInput()))
    return dense.reshape(llvm::cast<ShapedType>(getResult().getType()));
  return {};
}

OpFoldResult TransposeOp::fold(FoldAdaptor) {
  ArrayRef<int64_t> perm = getPermutation();
  if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
    return getInput();
  // transpose(transpose(x, p), q) -> transpose(x, p o q).
  if (auto inner = getInput().getDefiningOp<TransposeOp>()) {
    ArrayRef<int64_t> innerPerm = inner.getPermutation();
    SmallVector<int64_t> composed;
    for (int64_t p : perm)
      composed.push_back(innerPerm[p]);
    if (llvm::equal(composed, llvm::seq<int64_t>(0, composed.size())))
      return inner.getInput();
    getInputMutable().assign(inner.getInput());
    setPermutation(composed);
    return getResult();
  }
  return {};
}

OpFoldResult BroadcastToOp::fold(FoldAdaptor) {
  return sameTypeAs(getInput(), getResult());
}
