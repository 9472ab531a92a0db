//===- Shape.cpp - Reshape, transpose, slice, concat, embedding to linalg -===//

#include "compiler/Conversion/GraphToLinalg/Common.h"
#include "compiler/Conversion/GraphToLinalg/Lowerings.h"

#include "dialects/Graph/IR/GraphDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace kiln::graph;

namespace kiln::lowering {

Results lowerShape(OpBuilder &b, Operation *op) {
  Location loc = op->getLoc();
  MLIRContext *ctx = b.getContext();
  return llvm::TypeSwitch<Operation *, Results>(op)
      .Case([&](ReshapeOp o) {
        return SmallVector<Value>{
            reshape(b, loc, o.getInput(), shapeOf(o.getResult()))};
      })
      .Case([&](TransposeOp o) {
        Value init = empty(b, loc, shapeOf(o.getResult()),
                           elementTypeOf(o.getInput()));
        return SmallVector<Value>{
            b.create<linalg::TransposeOp>(loc, o.getInput(), init,
                                          o.getPermutation())
                .getResult()
                .front()};
      })
      .Case([&](SliceOp o) {
        return SmallVector<Value>{b.create<tensor::ExtractSliceOp>(
            loc, tensorTypeOf(o.getResult()), o.getInput(), ValueRange{},
            ValueRange{}, ValueRange{}, o.getStartsAttr(),
            b.getDenseI64ArrayAttr(shapeOf(o.getResult())),
            o.getStridesAttr())};
      })
      .Case([&](ConcatOp o) {
        ArrayRef<int64_t> shape = shapeOf(o.getResult());
        int64_t rank = shape.size();
        int64_t axis = static_cast<int64_t>(o.getAxis());
        if (axis < 0)
          axis += rank;
        Value out = empty(b, loc, shape, elementTypeOf(o.getResult()));
        int64_t offset = 0;
        for (Value input : o.getInputs()) {
          SmallVector<int64_t> offsets(rank, 0), strides(rank, 1);
          offsets[axis] = offset;
          out = b.create<tensor::InsertSliceOp>(
              loc, input, out, ValueRange{}, ValueRange{}, ValueRange{},
              b.getDenseI64ArrayAttr(offsets),
              b.getDenseI64ArrayAttr(shapeOf(input)),
              b.getDenseI64ArrayAttr(strides));
          offset += shapeOf(input)[axis];
        }
        return SmallVector<Value>{out};
      })
      .Case([&](OneHotOp o) {
        // out[i..., c] = (indices[i...] == c) ? 1 : 0.
        ArrayRef<int64_t> shape = shapeOf(o.getResult());
        int64_t rank = shape.size();
        Type t = elementTypeOf(o.getResult());
        SmallVector<AffineExpr> idx;
        for (int64_t i = 0; i + 1 < rank; ++i)
          idx.push_back(getAffineDimExpr(i, ctx));
        return generic(
            b, loc, rank, o.getIndices(), AffineMap::get(rank, 0, idx, ctx),
            empty(b, loc, shape, t),
            AffineMap::getMultiDimIdentityMap(rank, ctx), {},
            [&](OpBuilder &nb, Location l, ValueRange a) {
              Value c = nb.create<arith::IndexCastOp>(
                  l, a[0].getType(), nb.create<linalg::IndexOp>(l, rank - 1));
              Value hit = nb.create<arith::CmpIOp>(
                  l, arith::CmpIPredicate::eq, c, a[0]);
              return SmallVector<Value>{nb.create<arith::SelectOp>(
                  l, hit, scalar(nb, l, t, 1), scalar(nb, l, t, 0))};
            });
      })
      .Case([&](EmbeddingOp o) {
        // out[i..., d] = weight[clamp(indices[i...]), d]; indices outside
        // [0, V) are clamped so no read leaves the table.
        Value weight = o.getWeight(), indices = o.getIndices();
        ArrayRef<int64_t> shape = shapeOf(o.getResult());
        int64_t rank = shape.size();
        int64_t vocab = shapeOf(weight)[0];
        SmallVector<AffineExpr> idx;
        for (int64_t i = 0; i + 1 < rank; ++i)
          idx.push_back(getAffineDimExpr(i, ctx));
        Value init = empty(b, loc, shape, elementTypeOf(weight));
        return generic(
            b, loc, rank, indices, AffineMap::get(rank, 0, idx, ctx), init,
            AffineMap::getMultiDimIdentityMap(rank, ctx), {},
            [&](OpBuilder &nb, Location l, ValueRange a) {
              Value row = nb.create<arith::IndexCastOp>(l, nb.getIndexType(),
                                                        a[0]);
              Value zero = nb.create<arith::ConstantIndexOp>(l, 0);
              Value last = nb.create<arith::ConstantIndexOp>(l, vocab - 1);
              row = nb.create<arith::MaxSIOp>(l, row, zero);
              row = nb.create<arith::MinSIOp>(l, row, last);
              Value col = nb.create<linalg::IndexOp>(l, rank - 1);
              return SmallVector<Value>{nb.create<tensor::ExtractOp>(
                  l, weight, ValueRange{row, col})};
            });
      })
      .Default([](Operation *) { return std::nullopt; });
}

} // namespace kiln::lowering
