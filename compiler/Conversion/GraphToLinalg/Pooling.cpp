//===- Pooling.cpp - Max, average and global pooling to linalg ----------===//
//
// Windows as strided slices of the padded input, so that every generic's
// maps are identities; max pooling's gradient routes each window's gradient
// to its first maximum, as PyTorch does.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/GraphToLinalg/Common.h"
#include "compiler/Conversion/GraphToLinalg/Lowerings.h"
#include "compiler/Conversion/GraphToLinalg/Spatial.h"

#include "dialects/Graph/IR/GraphDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/TypeSwitch.h"

#include <algorithm>

using namespace mlir;
using namespace kiln::graph;

namespace kiln::lowering {
namespace {

/// Max or sum pooling as one parallel generic over the kernel's strided
/// windows: window (i, j) is the strided slice of the padded input starting
/// at (i, j), so every map is an identity and the generic vectorizes.
Value pool(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> kernel,
           ArrayRef<int64_t> strides, ArrayRef<int64_t> padding, bool max,
           ArrayRef<int64_t> resultShape, bool channelsLast) {
  Type t = elementTypeOf(x);
  Value padValue = max ? lowest(b, loc, t) : scalar(b, loc, t, 0);
  Value padded = padSpatial(b, loc, x, padding[0], padding[1], padding[0],
                            padding[1], padValue, channelsLast);
  auto windowType = RankedTensorType::get(resultShape, t);
  SmallVector<Value> windows;
  for (int64_t i = 0; i < kernel[0]; ++i)
    for (int64_t j = 0; j < kernel[1]; ++j)
      windows.push_back(b.create<tensor::ExtractSliceOp>(
          loc, windowType, padded, ValueRange{}, ValueRange{}, ValueRange{},
          b.getDenseI64ArrayAttr(atSpatial(channelsLast, i, j, 0)),
          b.getDenseI64ArrayAttr(resultShape),
          b.getDenseI64ArrayAttr(
              atSpatial(channelsLast, strides[0], strides[1], 1))));
  return elementwise(b, loc, resultShape, t, windows,
                     [&](OpBuilder &nb, Location l, ValueRange a) {
                       Value acc = a[0];
                       for (Value v : a.drop_front())
                         acc = max ? maxS(nb, l, acc, v) : addS(nb, l, acc, v);
                       return acc;
                     });
}

/// The gradient of max pooling: each window's first maximum (as PyTorch)
/// receives the window's gradient. Pass 1 finds the first maximum of every
/// window over the strided windows; pass 2 adds, window offset by window
/// offset, the routed gradient into a padded accumulator (windows may
/// overlap), which is then cropped.
Value maxPoolGrad(OpBuilder &b, Location loc, MaxPool2DGradOp op) {
  Value x = op.getInput(), g = op.getResultGrad();
  bool channelsLast = op.getChannelsLast();
  Type t = elementTypeOf(x);
  ArrayRef<int64_t> k = op.getKernel(), s = op.getStrides(),
                    p = op.getPadding();
  ArrayRef<int64_t> gs = shapeOf(g), xs = shapeOf(x);
  Value padded = padSpatial(b, loc, x, p[0], p[1], p[0], p[1],
                            lowest(b, loc, t), channelsLast);
  ArrayRef<int64_t> ps = shapeOf(padded);
  auto windowType = RankedTensorType::get(gs, t);
  auto slice = [&](Value from, int64_t i, int64_t j) -> Value {
    return b.create<tensor::ExtractSliceOp>(
        loc, windowType, from, ValueRange{}, ValueRange{}, ValueRange{},
        b.getDenseI64ArrayAttr(atSpatial(channelsLast, i, j, 0)),
        b.getDenseI64ArrayAttr(gs),
        b.getDenseI64ArrayAttr(atSpatial(channelsLast, s[0], s[1], 1)));
  };
  SmallVector<Value> windows;
  for (int64_t i = 0; i < k[0]; ++i)
    for (int64_t j = 0; j < k[1]; ++j)
      windows.push_back(slice(padded, i, j));
  // The index (i * k + j) of the first maximum of each window, as i32: as
  // wide as the floats beside it, so the vectors of both have 16 lanes.
  Type i32 = b.getI32Type();
  Value first = elementwise(
      b, loc, gs, i32, windows, [&](OpBuilder &nb, Location l, ValueRange a) {
        Value best = a[0];
        Value index = scalar(nb, l, i32, 0);
        for (size_t w = 1; w < a.size(); ++w) {
          Value better = nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGT,
                                                  a[w], best);
          best = nb.create<arith::SelectOp>(l, better, a[w], best);
          index = nb.create<arith::SelectOp>(l, better, scalar(nb, l, i32, w),
                                             index);
        }
        return index;
      });
  // Each pass updates its strided slice of the accumulator in place (the
  // slice is the generic's output, inserted back where it was extracted), so
  // bufferization writes the slice directly instead of copying a temporary
  // into a strided view element by element.
  Value accumulator = filled(b, loc, ps, scalar(b, loc, t, 0));
  AffineMap identity = AffineMap::getMultiDimIdentityMap(4, b.getContext());
  int64_t w = 0;
  for (int64_t i = 0; i < k[0]; ++i)
    for (int64_t j = 0; j < k[1]; ++j, ++w) {
      Value current = slice(accumulator, i, j);
      Value updated = generic(b, loc, 4, {first, g}, {identity, identity},
                              {current}, {identity}, {},
                              [&](OpBuilder &nb, Location l, ValueRange a) {
                                Value mine = nb.create<arith::CmpIOp>(
                                    l, arith::CmpIPredicate::eq, a[0],
                                    scalar(nb, l, i32, w));
                                Value routed = nb.create<arith::SelectOp>(
                                    l, mine, a[1], scalar(nb, l, t, 0));
                                return SmallVector<Value>{
                                    nb.create<arith::AddFOp>(l, a[2], routed)};
                              })
                          .front();
      accumulator = b.create<tensor::InsertSliceOp>(
          loc, updated, accumulator, ValueRange{}, ValueRange{}, ValueRange{},
          b.getDenseI64ArrayAttr(atSpatial(channelsLast, i, j, 0)),
          b.getDenseI64ArrayAttr(gs),
          b.getDenseI64ArrayAttr(atSpatial(channelsLast, s[0], s[1], 1)));
    }
  if (p[0] == 0 && p[1] == 0)
    return accumulator;
  return b.create<tensor::ExtractSliceOp>(
      loc, RankedTensorType::get(xs, t), accumulator, ValueRange{},
      ValueRange{}, ValueRange{},
      b.getDenseI64ArrayAttr(atSpatial(channelsLast, p[0], p[1], 0)),
      b.getDenseI64ArrayAttr(xs), b.getDenseI64ArrayAttr({1, 1, 1, 1}));
}

Value avgPool(OpBuilder &b, Location loc, AvgPool2DOp op) {
  bool channelsLast = op.getChannelsLast();
  ArrayRef<int64_t> k = op.getKernel(), s = op.getStrides(),
                    p = op.getPadding();
  SmallVector<int64_t> rs = nchwOf(op.getResult(), channelsLast),
                       xs = nchwOf(op.getInput(), channelsLast);
  Type t = elementTypeOf(op.getInput());
  Value sum = pool(b, loc, op.getInput(), k, s, p, false,
                   shapeOf(op.getResult()), channelsLast);
  // Divisors per output position: the window size, or the number of
  // unpadded elements it covers.
  SmallVector<double> divisors;
  for (int64_t y = 0; y < rs[2]; ++y)
    for (int64_t x = 0; x < rs[3]; ++x) {
      if (op.getCountIncludePad()) {
        divisors.push_back(static_cast<double>(k[0] * k[1]));
        continue;
      }
      auto covered = [](int64_t start, int64_t size, int64_t limit) {
        return std::min(start + size, limit) - std::max<int64_t>(start, 0);
      };
      divisors.push_back(
          static_cast<double>(covered(y * s[0] - p[0], k[0], xs[2]) *
                              covered(x * s[1] - p[1], k[1], xs[3])));
    }
  // Broadcast over the channels: [OH, OW], or [OH, OW, 1] channels-last.
  SmallVector<int64_t> divShape{rs[2], rs[3]};
  if (channelsLast)
    divShape.push_back(1);
  auto divType = RankedTensorType::get(divShape, t);
  SmallVector<Attribute> attrs;
  for (double v : divisors)
    attrs.push_back(b.getFloatAttr(t, v));
  Value div =
      b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(divType, attrs));
  return elementwise(
      b, loc, shapeOf(op.getResult()), t, {sum, div},
      [](OpBuilder &nb, Location l, ValueRange a) {
        return nb.create<arith::DivFOp>(l, a[0], a[1]).getResult();
      });
}

} // namespace

Results lowerPooling(OpBuilder &b, Operation *op) {
  Location loc = op->getLoc();
  return llvm::TypeSwitch<Operation *, Results>(op)
      .Case([&](MaxPool2DOp o) {
        return SmallVector<Value>{pool(
            b, loc, o.getInput(), o.getKernel(), o.getStrides(), o.getPadding(),
            true, shapeOf(o.getResult()), o.getChannelsLast())};
      })
      .Case(
          [&](AvgPool2DOp o) { return SmallVector<Value>{avgPool(b, loc, o)}; })
      .Case([&](MaxPool2DGradOp o) {
        return SmallVector<Value>{maxPoolGrad(b, loc, o)};
      })
      .Case([&](GlobalAvgPool2DOp o) {
        Value x = o.getInput();
        Type t = elementTypeOf(x);
        bool channelsLast = o.getChannelsLast();
        SmallVector<int64_t> s = nchwOf(x, channelsLast);
        // The mean over H and W as [N, C], then reshaped to the result.
        SmallVector<int64_t> spatial = atSpatial(channelsLast, 1, 1, 0);
        SmallVector<int64_t> dims;
        for (int64_t d = 0; d < 4; ++d)
          if (spatial[d])
            dims.push_back(d);
        Value sum = reduce(b, loc, x, dims, scalar(b, loc, t, 0),
                           [](OpBuilder &nb, Location l, Value v, Value acc) {
                             return addS(nb, l, v, acc);
                           });
        Value mean = elementwise(
            b, loc, {s[0], s[1]}, t, sum,
            [&](OpBuilder &nb, Location l, ValueRange a) {
              return nb
                  .create<arith::DivFOp>(
                      l, a[0],
                      scalar(nb, l, t, static_cast<double>(s[2] * s[3])))
                  .getResult();
            });
        return SmallVector<Value>{
            reshape(b, loc, mean, shapeOf(o.getResult()))};
      })
      .Default([](Operation *) { return std::nullopt; });
}

} // namespace kiln::lowering
