//===- Common.cpp - Building blocks for lowering graph ops to linalg ------===//

#include "compiler/Conversion/GraphToLinalg/Common.h"
#include "dialects/Graph/IR/AttributeNames.h"
#include "dialects/Kernel/IR/KernelDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

#include <limits>

using namespace mlir;

namespace kiln::lowering {

RankedTensorType tensorTypeOf(Value v) {
  return llvm::cast<RankedTensorType>(v.getType());
}
ArrayRef<int64_t> shapeOf(Value v) { return tensorTypeOf(v).getShape(); }
Type elementTypeOf(Value v) { return tensorTypeOf(v).getElementType(); }
bool isFloat(Type t) { return llvm::isa<FloatType>(t); }

Value scalar(OpBuilder &b, Location loc, Type type, double value) {
  if (auto f = llvm::dyn_cast<FloatType>(type))
    return b.create<arith::ConstantOp>(loc, b.getFloatAttr(f, value));
  return b.create<arith::ConstantOp>(
      loc, b.getIntegerAttr(type, static_cast<int64_t>(value)));
}

Value lowest(OpBuilder &b, Location loc, Type type) {
  if (isFloat(type))
    return scalar(b, loc, type, -std::numeric_limits<double>::infinity());
  unsigned width = type.getIntOrFloatBitWidth();
  return b.create<arith::ConstantOp>(
      loc, b.getIntegerAttr(type, APInt::getSignedMinValue(width)));
}

Value highest(OpBuilder &b, Location loc, Type type) {
  if (isFloat(type))
    return scalar(b, loc, type, std::numeric_limits<double>::infinity());
  unsigned width = type.getIntOrFloatBitWidth();
  return b.create<arith::ConstantOp>(
      loc, b.getIntegerAttr(type, APInt::getSignedMaxValue(width)));
}

Value empty(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elt) {
  return b.create<tensor::EmptyOp>(loc, shape, elt);
}

Value filled(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
             Value value) {
  Value init = empty(b, loc, shape, value.getType());
  return b.create<linalg::FillOp>(loc, value, init).getResult(0);
}

AffineMap broadcastMap(MLIRContext *ctx, ArrayRef<int64_t> operandShape,
                       int64_t rank) {
  SmallVector<AffineExpr> exprs;
  int64_t offset = rank - static_cast<int64_t>(operandShape.size());
  for (auto [i, size] : llvm::enumerate(operandShape))
    exprs.push_back(size == 1 ? getAffineConstantExpr(0, ctx)
                              : getAffineDimExpr(offset + i, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

AffineMap droppingMap(MLIRContext *ctx, int64_t rank,
                      ArrayRef<int64_t> dropped) {
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d)
    if (!llvm::is_contained(dropped, d))
      exprs.push_back(getAffineDimExpr(d, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

SmallVector<Value> generic(OpBuilder &b, Location loc, int64_t rank,
                           ValueRange inputs, ArrayRef<AffineMap> inputMaps,
                           ValueRange inits, ArrayRef<AffineMap> initMaps,
                           ArrayRef<int64_t> reduced, BodyFn body) {
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  for (int64_t d : reduced)
    iterators[d] = utils::IteratorType::reduction;
  SmallVector<AffineMap> maps(inputMaps);
  maps.append(initMaps.begin(), initMaps.end());
  SmallVector<Type> resultTypes;
  for (Value init : inits)
    resultTypes.push_back(init.getType());
  auto op = b.create<linalg::GenericOp>(
      loc, resultTypes, inputs, inits, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        nb.create<linalg::YieldOp>(nloc, body(nb, nloc, args));
      });
  return SmallVector<Value>(op.getResults());
}

Value elementwise(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                  Type elt, ValueRange inputs, ScalarFn body) {
  MLIRContext *ctx = b.getContext();
  int64_t rank = shape.size();
  SmallVector<AffineMap> maps;
  for (Value input : inputs)
    maps.push_back(broadcastMap(ctx, shapeOf(input), rank));
  Value init = empty(b, loc, shape, elt);
  return generic(b, loc, rank, inputs, maps, init,
                 AffineMap::getMultiDimIdentityMap(rank, ctx), {},
                 [&](OpBuilder &nb, Location nloc, ValueRange args) {
                   return SmallVector<Value>{
                       body(nb, nloc, args.drop_back())};
                 })
      .front();
}

void markNanAgnosticMax(Value value) {
  if (Operation *op = value.getDefiningOp())
    op->setAttr(kiln::attr::kNanAgnosticMax, UnitAttr::get(op->getContext()));
}

Value reduce(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> dims,
             Value init,
             llvm::function_ref<Value(OpBuilder &, Location, Value, Value)>
                 combine,
             llvm::function_ref<Value(OpBuilder &, Location, Value)>
                 prologue) {
  MLIRContext *ctx = b.getContext();
  ArrayRef<int64_t> shape = shapeOf(input);
  int64_t rank = shape.size();
  SmallVector<int64_t> kept;
  for (int64_t d = 0; d < rank; ++d)
    if (!llvm::is_contained(dims, d))
      kept.push_back(shape[d]);
  Value out = filled(b, loc, kept, init);
  return generic(b, loc, rank, input,
                 AffineMap::getMultiDimIdentityMap(rank, ctx), out,
                 droppingMap(ctx, rank, dims), dims,
                 [&](OpBuilder &nb, Location nloc, ValueRange args) {
                   Value x = prologue ? prologue(nb, nloc, args[0]) : args[0];
                   return SmallVector<Value>{combine(nb, nloc, x, args[1])};
                 })
      .front();
}

Value reshape(OpBuilder &b, Location loc, Value value,
              ArrayRef<int64_t> shape) {
  RankedTensorType type = tensorTypeOf(value);
  if (type.getShape() == shape)
    return value;
  auto flatType = RankedTensorType::get({type.getNumElements()},
                                        type.getElementType());
  auto all = [](int64_t rank) {
    ReassociationIndices group;
    for (int64_t i = 0; i < rank; ++i)
      group.push_back(i);
    return rank == 0 ? SmallVector<ReassociationIndices>{}
                     : SmallVector<ReassociationIndices>{group};
  };
  Value flat = value;
  if (type.getRank() == 0)
    flat = b.create<tensor::ExpandShapeOp>(loc, flatType, value,
                                           ArrayRef<ReassociationIndices>{});
  else if (type.getRank() != 1)
    flat = b.create<tensor::CollapseShapeOp>(loc, flatType, value,
                                             all(type.getRank()));
  auto target = RankedTensorType::get(shape, type.getElementType());
  if (shape.size() == 1)
    return flat;
  if (shape.empty())
    return b.create<tensor::CollapseShapeOp>(loc, target, flat,
                                             ArrayRef<ReassociationIndices>{});
  return b.create<tensor::ExpandShapeOp>(loc, target, flat,
                                         all(shape.size()));
}

Value addS(OpBuilder &b, Location loc, Value x, Value y) {
  if (isFloat(x.getType()))
    return b.create<arith::AddFOp>(loc, x, y);
  return b.create<arith::AddIOp>(loc, x, y);
}
Value mulS(OpBuilder &b, Location loc, Value x, Value y) {
  if (isFloat(x.getType()))
    return b.create<arith::MulFOp>(loc, x, y);
  return b.create<arith::MulIOp>(loc, x, y);
}
Value maxS(OpBuilder &b, Location loc, Value x, Value y) {
  if (isFloat(x.getType()))
    return b.create<arith::MaximumFOp>(loc, x, y);
  return b.create<arith::MaxSIOp>(loc, x, y);
}
Value minS(OpBuilder &b, Location loc, Value x, Value y) {
  if (isFloat(x.getType()))
    return b.create<arith::MinimumFOp>(loc, x, y);
  return b.create<arith::MinSIOp>(loc, x, y);
}

SmallVector<Value> libraryCall(OpBuilder &b, Location loc, StringRef callee,
                               ArrayRef<Value> slots,
                               ArrayRef<RankedTensorType> results,
                               ArrayRef<int64_t> ints,
                               ArrayRef<double> floats) {
  SmallVector<Value> inputs, inits;
  SmallVector<int64_t> slotIndex;
  SmallVector<Type> types;
  for (Value v : slots) {
    slotIndex.push_back(v ? static_cast<int64_t>(inputs.size()) : -1);
    if (v)
      inputs.push_back(v);
  }
  for (RankedTensorType result : results) {
    inits.push_back(empty(b, loc, result.getShape(), result.getElementType()));
    types.push_back(result);
  }
  auto call = b.create<kernel::LibraryCallOp>(
      loc, types, b.getStringAttr(callee), inputs, inits,
      b.getDenseI64ArrayAttr(slotIndex), b.getDenseI64ArrayAttr(ints),
      b.getDenseF64ArrayAttr(floats));
  return SmallVector<Value>(call.getResults());
}

Value libraryCall(OpBuilder &b, Location loc, StringRef callee,
                  ArrayRef<Value> slots, RankedTensorType result,
                  ArrayRef<int64_t> ints, double alpha) {
  return libraryCall(b, loc, callee, slots, ArrayRef<RankedTensorType>{result},
                     ints, ArrayRef<double>{alpha})
      .front();
}

Value permute(OpBuilder &b, Location loc, Value x,
              ArrayRef<int64_t> permutation) {
  ArrayRef<int64_t> s = shapeOf(x);
  SmallVector<int64_t> shape;
  for (int64_t d : permutation)
    shape.push_back(s[d]);
  Value init = empty(b, loc, shape, elementTypeOf(x));
  return b.create<linalg::TransposeOp>(loc, x, init, permutation)
      .getResult()
      .front();
}

Value transposeLastTwo(OpBuilder &b, Location loc, Value x) {
  int64_t rank = shapeOf(x).size();
  SmallVector<int64_t> permutation;
  for (int64_t i = 0; i < rank; ++i)
    permutation.push_back(i);
  std::swap(permutation[rank - 2], permutation[rank - 1]);
  return permute(b, loc, x, permutation);
}

Value addF(OpBuilder &b, Location l, Value x, Value y) {
  return addS(b, l, x, y);
}

Value withReduced(OpBuilder &b, Location loc, Value x, ArrayRef<Value> reduced,
                  ArrayRef<int64_t> dropped, ArrayRef<Value> extra,
                  ScalarFn body, Type resultElt) {
  MLIRContext *ctx = b.getContext();
  ArrayRef<int64_t> shape = shapeOf(x);
  int64_t rank = shape.size();
  SmallVector<Value> inputs{x};
  SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(rank, ctx)};
  for (Value r : reduced) {
    inputs.push_back(r);
    maps.push_back(droppingMap(ctx, rank, dropped));
  }
  for (Value e : extra) {
    inputs.push_back(e);
    maps.push_back(broadcastMap(ctx, shapeOf(e), rank));
  }
  Value init = empty(b, loc, shape, resultElt ? resultElt : elementTypeOf(x));
  return generic(b, loc, rank, inputs, maps, init,
                 AffineMap::getMultiDimIdentityMap(rank, ctx), {},
                 [&](OpBuilder &nb, Location l, ValueRange args) {
                   return SmallVector<Value>{body(nb, l, args.drop_back())};
                 })
      .front();
}

Value divideBy(OpBuilder &b, Location loc, Value t, double count) {
  Type elt = elementTypeOf(t);
  return elementwise(
      b, loc, shapeOf(t), elt, t, [&](OpBuilder &nb, Location l, ValueRange a) {
        if (isFloat(elt))
          return nb.create<arith::DivFOp>(l, a[0], scalar(nb, l, elt, count))
              .getResult();
        return nb.create<arith::DivSIOp>(l, a[0], scalar(nb, l, elt, count))
            .getResult();
      });
}

int64_t countOver(ArrayRef<int64_t> shape, ArrayRef<int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= shape[d];
  return n;
}

} // namespace kiln::lowering
