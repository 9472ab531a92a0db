//===- Spatial.cpp - What convolution and pooling lowerings share -------===//

#include "compiler/Conversion/GraphToLinalg/Spatial.h"
#include "compiler/Conversion/GraphToLinalg/Lowerings.h"

#include "dialects/Graph/IR/GraphDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace kiln::lowering {
namespace {

/// The permutations between NHWC and NCHW (result dimension i is operand
/// dimension permutation[i]).
constexpr int64_t kToChannelsFirst[] = {0, 3, 1, 2};
constexpr int64_t kToChannelsLast[] = {0, 2, 3, 1};

} // namespace

SmallVector<int64_t> nchwOf(Value v, bool channelsLast) {
  ArrayRef<int64_t> s = shapeOf(v);
  if (!channelsLast)
    return SmallVector<int64_t>(s.begin(), s.end());
  return {s[0], s[3], s[1], s[2]};
}

Value channelsFirst(OpBuilder &b, Location loc, Value v, bool channelsLast) {
  return channelsLast && v ? permute(b, loc, v, kToChannelsFirst) : v;
}
Value channelsLastAgain(OpBuilder &b, Location loc, Value v,
                        bool channelsLast) {
  return channelsLast ? permute(b, loc, v, kToChannelsLast) : v;
}

SmallVector<int64_t> atSpatial(bool channelsLast, int64_t y, int64_t x,
                               int64_t other) {
  if (channelsLast)
    return {other, y, x, other};
  return {other, other, y, x};
}

Value padSpatial(OpBuilder &b, Location loc, Value x, int64_t top, int64_t left,
                 int64_t bottom, int64_t right, Value value,
                 bool channelsLast) {
  if (top == 0 && left == 0 && bottom == 0 && right == 0)
    return x;
  SmallVector<int64_t> shape(shapeOf(x));
  SmallVector<int64_t> added =
      atSpatial(channelsLast, top + bottom, left + right, 0);
  for (int i = 0; i < 4; ++i)
    shape[i] += added[i];
  auto type = RankedTensorType::get(shape, elementTypeOf(x));
  auto indices = [&](ArrayRef<int64_t> values) {
    SmallVector<OpFoldResult> out;
    for (int64_t v : values)
      out.push_back(b.getIndexAttr(v));
    return out;
  };
  return b.create<tensor::PadOp>(
      loc, type, x, indices(atSpatial(channelsLast, top, left, 0)),
      indices(atSpatial(channelsLast, bottom, right, 0)), value);
}

Value epilogue(OpBuilder &b, Location loc, Value product, Value bias,
               int64_t channel, Value residual, graph::Activation act,
               double alpha) {
  if (!bias && !residual && act == graph::Activation::none)
    return product;
  MLIRContext *ctx = b.getContext();
  int64_t rank = shapeOf(product).size();
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
  SmallVector<Value> inputs{product};
  SmallVector<AffineMap> maps{id};
  if (bias) {
    inputs.push_back(bias);
    maps.push_back(
        AffineMap::get(rank, 0, getAffineDimExpr(channel, ctx), ctx));
  }
  if (residual) {
    inputs.push_back(residual);
    maps.push_back(id);
  }
  Value init = empty(b, loc, shapeOf(product), elementTypeOf(product));
  return generic(b, loc, rank, inputs, maps, init, id, {},
                 [&](OpBuilder &nb, Location l, ValueRange a) {
                   Value v = a[0];
                   for (size_t i = 1; i + 1 < a.size(); ++i)
                     v = nb.create<arith::AddFOp>(l, v, a[i]);
                   return SmallVector<Value>{
                       scalarActivation(nb, l, act, alpha, v)};
                 })
      .front();
}

} // namespace kiln::lowering
