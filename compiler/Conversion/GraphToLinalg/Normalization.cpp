//===- Normalization.cpp - Batch, group and layer norms to linalg ---------===//
//
// Layer norm, batch norm (inference, training and gradient) and group norm
// (forward and gradient): sums over the normalized dimensions give the
// statistics, per channel or per group, and elementwise passes read them
// broadcast back. The inverse standard deviation has one formula, so that
// a gradient computes it as its forward pass does.
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

/// A generic reading `per` (shape [C]) along dim `channel` of rank `rank`.
AffineMap channelMap(MLIRContext *ctx, int64_t rank, int64_t channel) {
  return AffineMap::get(rank, 0, getAffineDimExpr(channel, ctx), ctx);
}

/// A batch norm's channel dimension: 1, or the last with `channels_last`.
template <typename BatchNormOp> int64_t channelOf(BatchNormOp op) {
  return op.getChannelsLast() ? shapeOf(op.getInput()).size() - 1 : 1;
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
  Value centered = withReduced(
      b, loc, x, {mean}, dims, {}, [](OpBuilder &nb, Location l, ValueRange a) {
        Value d = nb.create<arith::SubFOp>(l, a[0], a[1]);
        return nb.create<arith::MulFOp>(l, d, d).getResult();
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
  return withReduced(
      b, loc, x, {mean, var}, dims, {},
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value d = nb.create<arith::SubFOp>(l, a[0], a[1]);
        return nb.create<arith::MulFOp>(l, d, inverseStd(nb, l, a[2], eps))
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
  AffineMap sumMap = staged ? AffineMap::get(rank, 0,
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
  Value weightGrad = perChannel(
      {sumGCentered, r}, [](OpBuilder &nb, Location l, ValueRange a) {
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
                return SmallVector<Value>{nb.create<arith::MulFOp>(l, a[5], d)};
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
                return SmallVector<Value>{nb.create<arith::MulFOp>(l, a[4], d)};
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

Results lowerNormalization(OpBuilder &b, Operation *op) {
  Location loc = op->getLoc();
  return llvm::TypeSwitch<Operation *, Results>(op)
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
      .Default([](Operation *) { return std::nullopt; });
}

} // namespace kiln::lowering
