//===- Reduction.cpp - Reductions, softmax and losses to linalg -----------===//
//
// Each op becomes a few generics: reductions over its dimensions and
// elementwise passes that read the reduced values broadcast back. Softmax
// and its relatives subtract the maximum first, so they never overflow.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/GraphToLinalg/Common.h"
#include "compiler/Conversion/GraphToLinalg/Lowerings.h"

#include "dialects/Graph/IR/GraphDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace kiln::graph;

namespace kiln::lowering {
namespace {

using Combine = llvm::function_ref<Value(OpBuilder &, Location, Value, Value)>;

Value maxF(OpBuilder &b, Location l, Value x, Value y) { return maxS(b, l, x, y); }
Value minF(OpBuilder &b, Location l, Value x, Value y) { return minS(b, l, x, y); }

SmallVector<int64_t> normalized(ArrayRef<int64_t> dims, int64_t rank) {
  SmallVector<int64_t> out;
  for (int64_t d : dims)
    out.push_back(d < 0 ? d + rank : d);
  llvm::sort(out);
  return out;
}

Value reduceAll(OpBuilder &b, Location loc, Value x, LossReduction reduction) {
  if (reduction == LossReduction::none)
    return x;
  SmallVector<int64_t> dims;
  for (int64_t d = 0, e = shapeOf(x).size(); d < e; ++d)
    dims.push_back(d);
  Type t = elementTypeOf(x);
  Value sum = reduce(b, loc, x, dims, scalar(b, loc, t, 0), addF);
  if (reduction == LossReduction::sum)
    return sum;
  return divideBy(b, loc, sum,
                  static_cast<double>(tensorTypeOf(x).getNumElements()));
}

Value softmaxLike(OpBuilder &b, Location loc, Value x, int64_t axis,
                  bool logarithmic) {
  Type t = elementTypeOf(x);
  SmallVector<int64_t> dims{axis};
  Value m = reduce(b, loc, x, dims, lowest(b, loc, t), maxF);
  markNanAgnosticMax(m);
  if (!logarithmic) {
    // e = exp(x - m) once, its row sums, then e / sum: one exp per element
    // (exp, not memory, bounds softmax on the CPU).
    Value e = withReduced(b, loc, x, {m}, dims, {},
                          [](OpBuilder &nb, Location l, ValueRange a) {
                            return nb
                                .create<math::ExpOp>(
                                    l, nb.create<arith::SubFOp>(l, a[0], a[1]))
                                .getResult();
                          });
    Value s = reduce(b, loc, e, dims, scalar(b, loc, t, 0), addF);
    return withReduced(b, loc, e, {s}, dims, {},
                       [](OpBuilder &nb, Location l, ValueRange a) {
                         return nb.create<arith::DivFOp>(l, a[0], a[1])
                             .getResult();
                       });
  }
  // log_softmax: sum(exp(x - m)) in one reduction with a prologue reading m.
  MLIRContext *ctx = b.getContext();
  int64_t rank = shapeOf(x).size();
  SmallVector<int64_t> kept;
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis)
      kept.push_back(shapeOf(x)[d]);
  Value zero = filled(b, loc, kept, scalar(b, loc, t, 0));
  Value s = generic(b, loc, rank, {x, m},
                    {AffineMap::getMultiDimIdentityMap(rank, ctx),
                     droppingMap(ctx, rank, dims)},
                    zero, droppingMap(ctx, rank, dims), dims,
                    [](OpBuilder &nb, Location l, ValueRange a) {
                      Value e = nb.create<math::ExpOp>(
                          l, nb.create<arith::SubFOp>(l, a[0], a[1]));
                      return SmallVector<Value>{
                          nb.create<arith::AddFOp>(l, e, a[2])};
                    })
                .front();
  return withReduced(
      b, loc, x, {m, s}, dims, {},
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value shifted = nb.create<arith::SubFOp>(l, a[0], a[1]);
        return nb.create<arith::SubFOp>(l, shifted,
                                        nb.create<math::LogOp>(l, a[2]))
            .getResult();
      });
}

SmallVector<Value> lowerArgmax(OpBuilder &b, Location loc, ArgmaxOp op) {
  MLIRContext *ctx = b.getContext();
  Value x = op.getInput();
  int64_t rank = shapeOf(x).size();
  int64_t dim = static_cast<int64_t>(op.getDim());
  if (dim < 0)
    dim += rank;
  SmallVector<int64_t> kept;
  for (int64_t d = 0; d < rank; ++d)
    if (d != dim)
      kept.push_back(shapeOf(x)[d]);
  Type t = elementTypeOf(x);
  Value best = filled(b, loc, kept, lowest(b, loc, t));
  Value index = filled(b, loc, kept, scalar(b, loc, b.getI64Type(), 0));
  AffineMap out = droppingMap(ctx, rank, dim);
  SmallVector<Value> r = generic(
      b, loc, rank, x, AffineMap::getMultiDimIdentityMap(rank, ctx),
      {best, index}, {out, out}, dim,
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value i = nb.create<arith::IndexCastOp>(
            l, nb.getI64Type(), nb.create<linalg::IndexOp>(l, dim));
        // Strictly greater keeps the first maximum, as torch.argmax.
        Value better =
            isFloat(t)
                ? nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGT, a[0],
                                           a[1])
                      .getResult()
                : nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::sgt, a[0],
                                           a[1])
                      .getResult();
        return SmallVector<Value>{
            nb.create<arith::SelectOp>(l, better, a[0], a[1]),
            nb.create<arith::SelectOp>(l, better, i, a[2])};
      });
  return {reshape(b, loc, r[1], shapeOf(op.getResult()))};
}

SmallVector<Value> lowerCrossEntropy(OpBuilder &b, Location loc,
                                     CrossEntropyOp op) {
  MLIRContext *ctx = b.getContext();
  Value x = op.getLogits(), labels = op.getLabels();
  Type t = elementTypeOf(x);
  int64_t n = shapeOf(x)[0];
  Value logProbs = softmaxLike(b, loc, x, 1, /*logarithmic=*/true);
  // picked[n] = logProbs[n, labels[n]], as a reduction over classes.
  Value zero = filled(b, loc, {n}, scalar(b, loc, t, 0));
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap row = droppingMap(ctx, 2, 1);
  Value picked =
      generic(b, loc, 2, {logProbs, labels}, {id, row}, zero, row, {1},
              [&](OpBuilder &nb, Location l, ValueRange a) {
                Value c = nb.create<arith::IndexCastOp>(
                    l, a[1].getType(), nb.create<linalg::IndexOp>(l, 1));
                Value hit = nb.create<arith::CmpIOp>(
                    l, arith::CmpIPredicate::eq, c, a[1]);
                Value v = nb.create<arith::SelectOp>(l, hit, a[0],
                                                     scalar(nb, l, t, 0));
                return SmallVector<Value>{nb.create<arith::AddFOp>(l, v, a[2])};
              })
          .front();
  Value perExample = elementwise(b, loc, {n}, t, picked,
                                 [](OpBuilder &nb, Location l, ValueRange a) {
                                   return nb.create<arith::NegFOp>(l, a[0])
                                       .getResult();
                                 });
  return {reduceAll(b, loc, perExample, op.getReduction())};
}

} // namespace

Results lowerReduction(OpBuilder &b, Operation *op) {
  Location loc = op->getLoc();
  auto reduceOp = [&](Value x, ArrayRef<int64_t> rawDims, Value init,
                      Combine combine, bool average) {
    int64_t rank = shapeOf(x).size();
    SmallVector<int64_t> dims = normalized(rawDims, rank);
    Value r = reduce(b, loc, x, dims, init, combine);
    if (average)
      r = divideBy(b, loc, r, static_cast<double>(countOver(shapeOf(x), dims)));
    return SmallVector<Value>{reshape(b, loc, r, shapeOf(op->getResult(0)))};
  };
  return llvm::TypeSwitch<Operation *, Results>(op)
      .Case([&](ReduceSumOp o) {
        Type t = elementTypeOf(o.getInput());
        return reduceOp(o.getInput(), o.getDims(), scalar(b, loc, t, 0), addF,
                        false);
      })
      .Case([&](ReduceMeanOp o) {
        Type t = elementTypeOf(o.getInput());
        return reduceOp(o.getInput(), o.getDims(), scalar(b, loc, t, 0), addF,
                        true);
      })
      .Case([&](ReduceMaxOp o) {
        Type t = elementTypeOf(o.getInput());
        return reduceOp(o.getInput(), o.getDims(), lowest(b, loc, t), maxF,
                        false);
      })
      .Case([&](ReduceMinOp o) {
        Type t = elementTypeOf(o.getInput());
        return reduceOp(o.getInput(), o.getDims(), highest(b, loc, t), minF,
                        false);
      })
      .Case([&](ArgmaxOp o) { return lowerArgmax(b, loc, o); })
      .Case([&](SoftmaxOp o) {
        int64_t rank = shapeOf(o.getInput()).size();
        int64_t axis = static_cast<int64_t>(o.getAxis());
        return SmallVector<Value>{softmaxLike(
            b, loc, o.getInput(), axis < 0 ? axis + rank : axis, false)};
      })
      .Case([&](LogSoftmaxOp o) {
        int64_t rank = shapeOf(o.getInput()).size();
        int64_t axis = static_cast<int64_t>(o.getAxis());
        return SmallVector<Value>{softmaxLike(
            b, loc, o.getInput(), axis < 0 ? axis + rank : axis, true)};
      })
      .Case([&](CrossEntropyOp o) { return lowerCrossEntropy(b, loc, o); })
      .Case([&](MseLossOp o) {
        Value d = elementwise(b, loc, shapeOf(o.getInput()),
                              elementTypeOf(o.getInput()),
                              {o.getInput(), o.getTarget()},
                              [](OpBuilder &nb, Location l, ValueRange a) {
                                Value diff =
                                    nb.create<arith::SubFOp>(l, a[0], a[1]);
                                return nb.create<arith::MulFOp>(l, diff, diff)
                                    .getResult();
                              });
        return SmallVector<Value>{reduceAll(b, loc, d, o.getReduction())};
      })
      .Case([&](BceWithLogitsOp o) {
        Type t = elementTypeOf(o.getInput());
        // max(x, 0) - x t + log(1 + exp(-|x|)): stable for any x.
        Value d = elementwise(
            b, loc, shapeOf(o.getInput()), t, {o.getInput(), o.getTarget()},
            [&](OpBuilder &nb, Location l, ValueRange a) {
              Value pos = nb.create<arith::MaximumFOp>(l, a[0],
                                                       scalar(nb, l, t, 0));
              Value xt = nb.create<arith::MulFOp>(l, a[0], a[1]);
              Value soft = nb.create<math::Log1pOp>(
                  l, nb.create<math::ExpOp>(
                         l, nb.create<arith::NegFOp>(
                                l, nb.create<math::AbsFOp>(l, a[0]))));
              return nb
                  .create<arith::AddFOp>(
                      l, nb.create<arith::SubFOp>(l, pos, xt), soft)
                  .getResult();
            });
        return SmallVector<Value>{reduceAll(b, loc, d, o.getReduction())};
      })
      .Default([](Operation *) { return std::nullopt; });
}

} // namespace kiln::lowering
