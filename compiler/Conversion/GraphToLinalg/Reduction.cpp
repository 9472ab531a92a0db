//===- Reduction.cpp - Reductions, softmax, norms and losses to linalg ----===//
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

Value addF(OpBuilder &b, Location l, Value x, Value y) { return addS(b, l, x, y); }
Value maxF(OpBuilder &b, Location l, Value x, Value y) { return maxS(b, l, x, y); }
Value minF(OpBuilder &b, Location l, Value x, Value y) { return minS(b, l, x, y); }

SmallVector<int64_t> normalized(ArrayRef<int64_t> dims, int64_t rank) {
  SmallVector<int64_t> out;
  for (int64_t d : dims)
    out.push_back(d < 0 ? d + rank : d);
  llvm::sort(out);
  return out;
}

/// An elementwise pass over `x`'s shape reading `x` and tensors that lack
/// the dims `dropped` (reduced values broadcast back), plus `extra` inputs
/// with numpy broadcasting.
Value withReduced(OpBuilder &b, Location loc, Value x, ArrayRef<Value> reduced,
                  ArrayRef<int64_t> dropped, ArrayRef<Value> extra,
                  ScalarFn body, Type resultElt = {}) {
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

/// A generic reading `per` (shape [C]) along dim `channel` of rank `rank`.
AffineMap channelMap(MLIRContext *ctx, int64_t rank, int64_t channel) {
  return AffineMap::get(rank, 0, getAffineDimExpr(channel, ctx), ctx);
}

/// A batch norm's channel dimension: 1, or the last with `channels_last`.
template <typename BatchNormOp> int64_t channelOf(BatchNormOp op) {
  return op.getChannelsLast() ? shapeOf(op.getInput()).size() - 1 : 1;
}

Value divideBy(OpBuilder &b, Location loc, Value t, double count) {
  Type elt = elementTypeOf(t);
  return elementwise(b, loc, shapeOf(t), elt, t,
                     [&](OpBuilder &nb, Location l, ValueRange a) {
                       if (isFloat(elt))
                         return nb.create<arith::DivFOp>(
                                      l, a[0], scalar(nb, l, elt, count))
                             .getResult();
                       return nb.create<arith::DivSIOp>(
                                    l, a[0], scalar(nb, l, elt, count))
                           .getResult();
                     });
}

int64_t countOver(ArrayRef<int64_t> shape, ArrayRef<int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= shape[d];
  return n;
}

/// True for sums over the batch and the dimensions after it but not the
/// last: a channels-last batch norm's per-channel sums. Each channel's sum
/// then runs down one long strided column (N*H*W values, one vector lane
/// each), which rounds more than NCHW's sums over contiguous planes; they
/// are summed in two stages instead: per image, then over the batch.
bool sumsInStages(ArrayRef<int64_t> dims, int64_t rank) {
  return dims.size() >= 2 && dims.front() == 0 && dims.back() != rank - 1;
}

/// `dims` without the batch: the first stage's reduced dimensions.
SmallVector<int64_t> firstStage(ArrayRef<int64_t> dims) {
  return SmallVector<int64_t>(dims.drop_front());
}

/// Sums `partials` (per image, [N, ...]) over the batch.
Value overBatch(OpBuilder &b, Location loc, Value partials) {
  return reduce(b, loc, partials, {0},
                scalar(b, loc, elementTypeOf(partials), 0), addF);
}

/// The sum of `x` over `dims`, in stages where sumsInStages says so.
Value sumOver(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> dims) {
  Value zero = scalar(b, loc, elementTypeOf(x), 0);
  if (!sumsInStages(dims, shapeOf(x).size()))
    return reduce(b, loc, x, dims, zero, addF);
  return overBatch(b, loc, reduce(b, loc, x, firstStage(dims), zero, addF));
}

/// Mean and biased variance of `x` over `dims` (two passes).
std::pair<Value, Value> moments(OpBuilder &b, Location loc, Value x,
                                ArrayRef<int64_t> dims) {
  double n = static_cast<double>(countOver(shapeOf(x), dims));
  Value mean = divideBy(b, loc, sumOver(b, loc, x, dims), n);
  Value centered = withReduced(b, loc, x, {mean}, dims, {},
                               [](OpBuilder &nb, Location l, ValueRange a) {
                                 Value d = nb.create<arith::SubFOp>(l, a[0], a[1]);
                                 return nb.create<arith::MulFOp>(l, d, d)
                                     .getResult();
                               });
  Value var = divideBy(b, loc, sumOver(b, loc, centered, dims), n);
  return {mean, var};
}

/// `count` zero-filled accumulators of shape `shape`.
SmallVector<Value> zeroSums(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                            Type t, int count) {
  SmallVector<Value> sums;
  for (int i = 0; i < count; ++i)
    sums.push_back(filled(b, loc, shape, scalar(b, loc, t, 0)));
  return sums;
}

/// 1 / sqrt(var + eps): the one formula for the inverse standard deviation,
/// so that a norm's gradient computes it as its forward pass does (from a
/// variance summed the same way, the same value; the float32 batch-norm
/// gradient's one-pass variance may differ from the forward pass's in its
/// last bits).
Value inverseStd(OpBuilder &b, Location loc, Value var, double eps) {
  Type t = var.getType();
  Value root = b.create<math::SqrtOp>(
      loc, b.create<arith::AddFOp>(loc, var, scalar(b, loc, t, eps)));
  return b.create<arith::DivFOp>(loc, scalar(b, loc, t, 1), root);
}

/// (x - mean) * rsqrt(var + eps), then optional per-channel affine.
Value normalize(OpBuilder &b, Location loc, Value x, Value mean, Value var,
                ArrayRef<int64_t> dims, double eps) {
  return withReduced(b, loc, x, {mean, var}, dims, {},
                     [&](OpBuilder &nb, Location l, ValueRange a) {
                       Value d = nb.create<arith::SubFOp>(l, a[0], a[1]);
                       return nb
                           .create<arith::MulFOp>(l, d,
                                                  inverseStd(nb, l, a[2], eps))
                           .getResult();
                     });
}

/// y * weight[c] + bias[c] along dim `channel`.
Value perChannelAffine(OpBuilder &b, Location loc, Value y, Value weight,
                       Value bias, int64_t channel) {
  MLIRContext *ctx = b.getContext();
  int64_t rank = shapeOf(y).size();
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap ch = channelMap(ctx, rank, channel);
  Value init = empty(b, loc, shapeOf(y), elementTypeOf(y));
  return generic(b, loc, rank, {y, weight, bias}, {id, ch, ch}, init, id, {},
                 [](OpBuilder &nb, Location l, ValueRange a) {
                   Value s = nb.create<arith::MulFOp>(l, a[0], a[1]);
                   return SmallVector<Value>{
                       nb.create<arith::AddFOp>(l, s, a[2])};
                 })
      .front();
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

/// The gradients of batch norm: per channel, the batch mean m, the biased
/// variance, sum(g) and sum(g (x - m)) (float32: one pass over x and g;
/// other types: the mean, then the centered sums in a second); per-channel
/// coefficients; then
/// dx = w r ((g - sum(g)/N) - (x - m) r^2 sum(g (x - m))/N) in a last pass.
SmallVector<Value> lowerBatchNormGrad(OpBuilder &b, Location loc,
                                      BatchNormGradOp op) {
  MLIRContext *ctx = b.getContext();
  Value x = op.getInput(), g = op.getGrad(), w = op.getWeight();
  ArrayRef<int64_t> shape = shapeOf(x);
  int64_t rank = shape.size(), channel = channelOf(op);
  Type t = elementTypeOf(x);
  SmallVector<int64_t> dims = allDimsBut(rank, channel);
  double n = static_cast<double>(countOver(shape, dims));
  double eps = op.getEpsilon().convertToDouble();
  ArrayRef<int64_t> channels = shapeOf(w);
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap ch = channelMap(ctx, rank, channel);
  // The sums run per image first where they run in stages.
  bool staged = sumsInStages(dims, rank);
  AffineMap sumMap =
      staged ? AffineMap::get(rank, 0,
                              {getAffineDimExpr(0, ctx),
                               getAffineDimExpr(channel, ctx)},
                              ctx)
             : ch;
  SmallVector<int64_t> sumShape{channels.begin(), channels.end()};
  if (staged)
    sumShape.insert(sumShape.begin(), shape[0]);
  SmallVector<int64_t> reduced = staged ? firstStage(dims) : dims;
  auto sums = [&](ValueRange inputs, ArrayRef<AffineMap> maps, Type sumType,
                  int count, BodyFn body) {
    SmallVector<Value> result = generic(
        b, loc, rank, inputs, maps, zeroSums(b, loc, sumShape, sumType, count),
        SmallVector<AffineMap>(count, sumMap), reduced, body);
    if (staged)
      for (Value &sum : result)
        sum = overBatch(b, loc, sum);
    return result;
  };
  Value mean, var, sumG, sumGCentered;
  if (t.isF32()) {
    // float32: one pass, float64 sums of x, x^2, g and g x, from which
    // follow the mean, the variance and sum(g (x - m)). A float64 product
    // of two float32 values is exact, and in float64 sums the
    // cancellation of E[x^2] - m^2 (and of sum(g x) - m sum(g)) stays
    // below float32's precision while |mean| / std is below about 10^3;
    // a negative variance from rounding is clamped to 0.
    Type wide = b.getF64Type();
    SmallVector<Value> wideSums =
        sums({x, g}, {id, id}, wide, 4,
             [&](OpBuilder &nb, Location l, ValueRange a) {
               Value xw = nb.create<arith::ExtFOp>(l, wide, a[0]);
               Value gw = nb.create<arith::ExtFOp>(l, wide, a[1]);
               Value xx = nb.create<arith::MulFOp>(l, xw, xw);
               Value gx = nb.create<arith::MulFOp>(l, gw, xw);
               return SmallVector<Value>{nb.create<arith::AddFOp>(l, xw, a[2]),
                                         nb.create<arith::AddFOp>(l, xx, a[3]),
                                         nb.create<arith::AddFOp>(l, gw, a[4]),
                                         nb.create<arith::AddFOp>(l, gx, a[5])};
             });
    AffineMap one = AffineMap::getMultiDimIdentityMap(1, ctx);
    SmallVector<Value> stats = generic(
        b, loc, 1, wideSums, SmallVector<AffineMap>(4, one),
        {empty(b, loc, channels, t), empty(b, loc, channels, t),
         empty(b, loc, channels, t), empty(b, loc, channels, t)},
        SmallVector<AffineMap>(4, one), {},
        [&](OpBuilder &nb, Location l, ValueRange a) {
          Value count = scalar(nb, l, wide, n);
          Value m = nb.create<arith::DivFOp>(l, a[0], count);
          Value v = nb.create<arith::SubFOp>(
              l, nb.create<arith::DivFOp>(l, a[1], count),
              nb.create<arith::MulFOp>(l, m, m));
          v = nb.create<arith::MaximumFOp>(l, v, scalar(nb, l, wide, 0));
          Value gc = nb.create<arith::SubFOp>(
              l, a[3], nb.create<arith::MulFOp>(l, m, a[2]));
          auto narrow = [&](Value value) {
            return nb.create<arith::TruncFOp>(l, t, value).getResult();
          };
          return SmallVector<Value>{narrow(m), narrow(v), narrow(a[2]),
                                    narrow(gc)};
        });
    mean = stats[0];
    var = stats[1];
    sumG = stats[2];
    sumGCentered = stats[3];
  } else {
    // Two passes: the mean, then sums of the centered values.
    mean = divideBy(b, loc, sumOver(b, loc, x, dims), n);
    SmallVector<Value> centered =
        sums({x, mean, g}, {id, ch, id}, t, 3,
             [](OpBuilder &nb, Location l, ValueRange a) {
               Value c = nb.create<arith::SubFOp>(l, a[0], a[1]);
               Value squared = nb.create<arith::MulFOp>(l, c, c);
               Value weighted = nb.create<arith::MulFOp>(l, a[2], c);
               return SmallVector<Value>{
                   nb.create<arith::AddFOp>(l, squared, a[3]),
                   nb.create<arith::AddFOp>(l, a[2], a[4]),
                   nb.create<arith::AddFOp>(l, weighted, a[5])};
             });
    var = divideBy(b, loc, centered[0], n);
    sumG = centered[1];
    sumGCentered = centered[2];
  }

  // Per channel: r (inverseStd, as the forward pass computes it), the weight's
  // gradient r sum(g (x - m)), and dx's three coefficients.
  auto perChannel = [&](ValueRange inputs, ScalarFn body) {
    return elementwise(b, loc, channels, t, inputs, body);
  };
  Value r = perChannel(var, [&](OpBuilder &nb, Location l, ValueRange a) {
    return inverseStd(nb, l, a[0], eps);
  });
  Value weightGrad =
      perChannel({sumGCentered, r}, [](OpBuilder &nb, Location l, ValueRange a) {
        return nb.create<arith::MulFOp>(l, a[0], a[1]).getResult();
      });
  Value scale = perChannel({w, r}, [](OpBuilder &nb, Location l, ValueRange a) {
    return nb.create<arith::MulFOp>(l, a[0], a[1]).getResult();
  });
  Value meanG = divideBy(b, loc, sumG, n);
  Value projection = perChannel(
      {sumGCentered, r}, [&](OpBuilder &nb, Location l, ValueRange a) {
        Value rr = nb.create<arith::MulFOp>(l, a[1], a[1]);
        return nb
            .create<arith::DivFOp>(l, nb.create<arith::MulFOp>(l, a[0], rr),
                                   scalar(nb, l, t, n))
            .getResult();
      });

  Value inputGrad =
      generic(b, loc, rank, {x, g, mean, meanG, projection, scale},
              {id, id, ch, ch, ch, ch}, empty(b, loc, shape, t), id, {},
              [](OpBuilder &nb, Location l, ValueRange a) {
                Value centered = nb.create<arith::SubFOp>(l, a[0], a[2]);
                Value shifted = nb.create<arith::SubFOp>(l, a[1], a[3]);
                Value projected = nb.create<arith::MulFOp>(l, centered, a[4]);
                Value d = nb.create<arith::SubFOp>(l, shifted, projected);
                return SmallVector<Value>{
                    nb.create<arith::MulFOp>(l, a[5], d)};
              })
          .front();
  return {inputGrad, weightGrad, sumG};
}

/// Group norm's statistics, per image and channel first: x is [N, C, *]
/// (or [N, *, C] channels-last) and a group's sums are the sums over the
/// image of each of its channels ([N, C]: in channels-last one vector lane
/// a channel, each image's sums apart), then over the group's channels.
/// Every pass over x reads it in its own layout, and the last one writes
/// the result in it, so the elementwise ops after the norm fuse with it.
struct GroupNormView {
  int64_t rank, n, channels, groups;
  SmallVector<int64_t> image; // the dimensions summed per channel
  double count;               // the elements of a group in one image
  AffineMap id, perImage, perChannel;

  template <typename GroupNormOpT>
  GroupNormView(MLIRContext *ctx, GroupNormOpT op) {
    ArrayRef<int64_t> shape = shapeOf(op.getInput());
    rank = shape.size();
    int64_t channel = op.getChannelsLast() ? rank - 1 : 1;
    n = shape[0];
    channels = shape[channel];
    groups = static_cast<int64_t>(op.getNumGroups());
    for (int64_t d = 1; d < rank; ++d)
      if (d != channel)
        image.push_back(d);
    count = static_cast<double>(countOver(shape, image) * (channels / groups));
    id = AffineMap::getMultiDimIdentityMap(rank, ctx);
    perImage = AffineMap::get(
        rank, 0, {getAffineDimExpr(0, ctx), getAffineDimExpr(channel, ctx)},
        ctx);
    perChannel = channelMap(ctx, rank, channel);
  }

  /// `count` sums over each image and channel, [N, C] each, of `body`
  /// (block arguments: the inputs, then the running sums).
  SmallVector<Value> imageSums(OpBuilder &b, Location loc, ValueRange inputs,
                               ArrayRef<AffineMap> maps, int count,
                               BodyFn body) const {
    SmallVector<AffineMap> sumMaps(count, perImage);
    return generic(
        b, loc, rank, inputs, maps,
        zeroSums(b, loc, {n, channels}, elementTypeOf(inputs[0]), count),
        sumMaps, image, body);
  }

  /// [N, C] summed over each group's channels: [N, G].
  Value overGroup(OpBuilder &b, Location loc, Value perChannelSums) const {
    Value grouped =
        reshape(b, loc, perChannelSums, {n, groups, channels / groups});
    return reduce(b, loc, grouped, {2},
                  scalar(b, loc, elementTypeOf(grouped), 0), addF);
  }

  /// [N, G] read back per channel: [N, C].
  Value perGroupChannel(OpBuilder &b, Location loc, Value perGroup) const {
    MLIRContext *ctx = b.getContext();
    AffineMap group = AffineMap::get(
        3, 0, {getAffineDimExpr(0, ctx), getAffineDimExpr(1, ctx)}, ctx);
    SmallVector<int64_t> shape{n, groups, channels / groups};
    Type t = elementTypeOf(perGroup);
    Value spread = generic(b, loc, 3, perGroup, group, empty(b, loc, shape, t),
                           AffineMap::getMultiDimIdentityMap(3, ctx), {},
                           [](OpBuilder &, Location, ValueRange a) {
                             return SmallVector<Value>{a[0]};
                           })
                       .front();
    return reshape(b, loc, spread, {n, channels});
  }

  /// Each group's mean of x, per channel: [N, C].
  Value mean(OpBuilder &b, Location loc, Value x) const {
    Value sums = imageSums(b, loc, x, id, 1,
                           [](OpBuilder &nb, Location l, ValueRange a) {
                             return SmallVector<Value>{
                                 nb.create<arith::AddFOp>(l, a[0], a[1])};
                           })
                     .front();
    return perGroupChannel(b, loc,
                           divideBy(b, loc, overGroup(b, loc, sums), count));
  }

  /// 1 / sqrt(var + eps) of each group's sums of squared deviations, [N, G].
  Value inverseStdOf(OpBuilder &b, Location loc, Value squares,
                     double eps) const {
    Type t = elementTypeOf(squares);
    return elementwise(b, loc, {n, groups}, t, overGroup(b, loc, squares),
                       [&](OpBuilder &nb, Location l, ValueRange a) {
                         Value var = nb.create<arith::DivFOp>(
                             l, a[0], scalar(nb, l, t, count));
                         return inverseStd(nb, l, var, eps);
                       });
  }
};

/// Group norm: the group means, then the squared deviations (two passes
/// over x); then y = (x - m) r w + b in one more.
Value lowerGroupNorm(OpBuilder &b, Location loc, GroupNormOp op) {
  GroupNormView v(b.getContext(), op);
  Value x = op.getInput();
  Value mean = v.mean(b, loc, x);
  Value squares = v.imageSums(b, loc, {x, mean}, {v.id, v.perImage}, 1,
                              [](OpBuilder &nb, Location l, ValueRange a) {
                                Value d =
                                    nb.create<arith::SubFOp>(l, a[0], a[1]);
                                Value dd = nb.create<arith::MulFOp>(l, d, d);
                                return SmallVector<Value>{
                                    nb.create<arith::AddFOp>(l, dd, a[2])};
                              })
                      .front();
  Value r = v.perGroupChannel(
      b, loc,
      v.inverseStdOf(b, loc, squares, op.getEpsilon().convertToDouble()));
  return generic(b, loc, v.rank, {x, mean, r, op.getWeight(), op.getBias()},
                 {v.id, v.perImage, v.perImage, v.perChannel, v.perChannel},
                 empty(b, loc, shapeOf(x), elementTypeOf(x)), v.id, {},
                 [](OpBuilder &nb, Location l, ValueRange a) {
                   Value d = nb.create<arith::SubFOp>(l, a[0], a[1]);
                   Value y = nb.create<arith::MulFOp>(
                       l, nb.create<arith::MulFOp>(l, d, a[2]), a[3]);
                   return SmallVector<Value>{
                       nb.create<arith::AddFOp>(l, y, a[4])};
                 })
      .front();
}

/// The gradients of group norm: the group means (one pass over x); then,
/// per image and channel, sum((x - m)^2), sum(g) and sum(g (x - m)) (one
/// pass over x and g); from those, per group, r, sum(g w) and
/// sum(g w (x - m)), and per channel the weight's and bias's gradients;
/// then dx = r ((g w - sum(g w)/M) - (x - m) r^2 sum(g w (x - m))/M), M a
/// group's count, in a last pass.
SmallVector<Value> lowerGroupNormGrad(OpBuilder &b, Location loc,
                                      GroupNormGradOp op) {
  GroupNormView v(b.getContext(), op);
  Value x = op.getInput(), g = op.getGrad(), w = op.getWeight();
  Type t = elementTypeOf(x);
  SmallVector<int64_t> nc{v.n, v.channels};
  Value mean = v.mean(b, loc, x);
  SmallVector<Value> sums = v.imageSums(
      b, loc, {x, mean, g}, {v.id, v.perImage, v.id}, 3,
      [](OpBuilder &nb, Location l, ValueRange a) {
        Value centered = nb.create<arith::SubFOp>(l, a[0], a[1]);
        Value squared = nb.create<arith::MulFOp>(l, centered, centered);
        Value weighted = nb.create<arith::MulFOp>(l, a[2], centered);
        return SmallVector<Value>{nb.create<arith::AddFOp>(l, squared, a[3]),
                                  nb.create<arith::AddFOp>(l, a[2], a[4]),
                                  nb.create<arith::AddFOp>(l, weighted, a[5])};
      });
  Value sumG = sums[1], sumGCentered = sums[2];
  Value rGroup =
      v.inverseStdOf(b, loc, sums[0], op.getEpsilon().convertToDouble());
  Value r = v.perGroupChannel(b, loc, rGroup);
  auto product = [](OpBuilder &nb, Location l, ValueRange a) {
    return nb.create<arith::MulFOp>(l, a[0], a[1]).getResult();
  };
  // Per group: sum(g w) / M and r^2 sum(g w (x - m)) / M, read per channel.
  Value meanScaled = v.perGroupChannel(
      b, loc,
      divideBy(
          b, loc,
          v.overGroup(b, loc, elementwise(b, loc, nc, t, {sumG, w}, product)),
          v.count));
  Value sumScaledCentered = v.overGroup(
      b, loc, elementwise(b, loc, nc, t, {sumGCentered, w}, product));
  Value projection = v.perGroupChannel(
      b, loc,
      elementwise(b, loc, {v.n, v.groups}, t, {sumScaledCentered, rGroup},
                  [&](OpBuilder &nb, Location l, ValueRange a) {
                    Value rr = nb.create<arith::MulFOp>(l, a[1], a[1]);
                    return nb
                        .create<arith::DivFOp>(
                            l, nb.create<arith::MulFOp>(l, a[0], rr),
                            scalar(nb, l, t, v.count))
                        .getResult();
                  }));
  Value inputGrad =
      generic(b, loc, v.rank, {x, g, w, mean, r, meanScaled, projection},
              {v.id, v.id, v.perChannel, v.perImage, v.perImage, v.perImage,
               v.perImage},
              empty(b, loc, shapeOf(x), t), v.id, {},
              [](OpBuilder &nb, Location l, ValueRange a) {
                Value centered = nb.create<arith::SubFOp>(l, a[0], a[3]);
                Value scaled = nb.create<arith::MulFOp>(l, a[1], a[2]);
                Value d = nb.create<arith::SubFOp>(
                    l, nb.create<arith::SubFOp>(l, scaled, a[5]),
                    nb.create<arith::MulFOp>(l, centered, a[6]));
                return SmallVector<Value>{
                    nb.create<arith::MulFOp>(l, a[4], d)};
              })
          .front();
  // The weight's gradient sum(g x^) = sum over images of r sum(g (x - m)).
  Value zero = scalar(b, loc, t, 0);
  Value weightGrad =
      reduce(b, loc, elementwise(b, loc, nc, t, {sumGCentered, r}, product),
             {0}, zero, addF);
  return {inputGrad, weightGrad, reduce(b, loc, sumG, {0}, zero, addF)};
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
      .Case([&](LayerNormOp o) {
        Value x = o.getInput();
        int64_t rank = shapeOf(x).size();
        int64_t k = shapeOf(o.getWeight()).size();
        SmallVector<int64_t> dims;
        for (int64_t d = rank - k; d < rank; ++d)
          dims.push_back(d);
        auto [mean, var] = moments(b, loc, x, dims);
        double eps = o.getEpsilon().convertToDouble();
        Value y = normalize(b, loc, x, mean, var, dims, eps);
        return SmallVector<Value>{elementwise(
            b, loc, shapeOf(x), elementTypeOf(x),
            {y, o.getWeight(), o.getBias()},
            [](OpBuilder &nb, Location l, ValueRange a) {
              return nb
                  .create<arith::AddFOp>(
                      l, nb.create<arith::MulFOp>(l, a[0], a[1]), a[2])
                  .getResult();
            })};
      })
      .Case([&](BatchNormInferenceOp o) {
        Value x = o.getInput();
        MLIRContext *ctx = b.getContext();
        int64_t rank = shapeOf(x).size();
        Type t = elementTypeOf(x);
        double eps = o.getEpsilon().convertToDouble();
        AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
        AffineMap ch = channelMap(ctx, rank, channelOf(o));
        Value init = empty(b, loc, shapeOf(x), t);
        return generic(
            b, loc, rank,
            {x, o.getMean(), o.getVariance(), o.getWeight(), o.getBias()},
            {id, ch, ch, ch, ch}, init, id, {},
            [&](OpBuilder &nb, Location l, ValueRange a) {
              Value d = nb.create<arith::SubFOp>(l, a[0], a[1]);
              Value inv = inverseStd(nb, l, a[2], eps);
              Value y = nb.create<arith::MulFOp>(
                  l, nb.create<arith::MulFOp>(l, d, inv), a[3]);
              return SmallVector<Value>{nb.create<arith::AddFOp>(l, y, a[4])};
            });
      })
      .Case([&](BatchNormTrainingOp o) {
        Value x = o.getInput();
        int64_t rank = shapeOf(x).size(), channel = channelOf(o);
        Type t = elementTypeOf(x);
        SmallVector<int64_t> dims = allDimsBut(rank, channel);
        auto [mean, var] = moments(b, loc, x, dims);
        double eps = o.getEpsilon().convertToDouble();
        double momentum = o.getMomentum().convertToDouble();
        double n = static_cast<double>(countOver(shapeOf(x), dims));
        Value y =
            perChannelAffine(b, loc, normalize(b, loc, x, mean, var, dims, eps),
                             o.getWeight(), o.getBias(), channel);
        auto update = [&](Value running, Value batch, double correction) {
          return elementwise(
              b, loc, shapeOf(running), t, {running, batch},
              [&](OpBuilder &nb, Location l, ValueRange a) {
                Value keep = nb.create<arith::MulFOp>(
                    l, a[0], scalar(nb, l, t, 1 - momentum));
                Value add = nb.create<arith::MulFOp>(
                    l, a[1], scalar(nb, l, t, momentum * correction));
                return nb.create<arith::AddFOp>(l, keep, add).getResult();
              });
        };
        return SmallVector<Value>{
            y, update(o.getRunningMean(), mean, 1.0),
            update(o.getRunningVar(), var, n > 1 ? n / (n - 1) : 1.0)};
      })
      .Case([&](BatchNormGradOp o) { return lowerBatchNormGrad(b, loc, o); })
      .Case([&](GroupNormGradOp o) { return lowerGroupNormGrad(b, loc, o); })
      .Case([&](GroupNormOp o) {
        return SmallVector<Value>{lowerGroupNorm(b, loc, o)};
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
