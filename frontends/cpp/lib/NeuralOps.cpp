//===- NeuralOps.cpp - The DSL's matmul, convolution, norms, attention ----===//
//
// The ops of neural layers: matrix products, convolutions and pooling,
// the layer, batch and group norms, attention and recurrent cells.
//
//===----------------------------------------------------------------------===//

#include "frontends/cpp/lib/OpSupport.h"

#include <fmt/format.h>

namespace kiln {

//===----------------------------------------------------------------------===//
// Contractions, convolution, pooling
//===----------------------------------------------------------------------===//

static Tensor matmulOp(const char *op, const Tensor &a, const Tensor &b,
                       bool ta, bool tb, SourceLoc loc, bool batched) {
  requireFloat(op, a, "lhs", loc);
  requireSameDType(op, a, b, loc);
  Shape shape =
      check(a.graph(), op,
            batched ? shapes::batchMatmul(a.shape(), b.shape(), ta, tb)
                    : shapes::matmul(a.shape(), b.shape(), ta, tb),
            loc);
  Attrs attrs;
  if (ta)
    attrs.push_back({"transpose_lhs", UnitAttr{}});
  if (tb)
    attrs.push_back({"transpose_rhs", UnitAttr{}});
  return single(a.graph(), op, {a, b}, std::move(attrs), shape, a.dtype(),
                loc);
}

Tensor matmul(const Tensor &a, const Tensor &b, bool transposeA,
              bool transposeB, SourceLoc loc) {
  if (a.rank() <= 2 && b.rank() <= 2)
    return matmulOp("graph.matmul", a, b, transposeA, transposeB, loc, false);
  if (a.rank() < 2 || b.rank() < 2)
    a.graph().fail("graph.batch_matmul",
                   fmt::format("operands must have rank >= 2, got {} and {}",
                               shapes::str(a.shape()), shapes::str(b.shape())),
                   loc);
  // [..., M, K] x [K, N]: one product of all rows.
  if (b.rank() == 2 && !transposeA) {
    Shape rows(a.shape().begin(), a.shape().end() - 1);
    Tensor product = matmulOp("graph.matmul",
                              reshape(a, {-1, a.shape().back()}, loc), b,
                              false, transposeB, loc, false);
    rows.push_back(product.shape().back());
    return reshape(product, rows, loc);
  }
  // Otherwise the batch dimensions broadcast to one shape.
  Shape batchA(a.shape().begin(), a.shape().end() - 2);
  Shape batchB(b.shape().begin(), b.shape().end() - 2);
  Shape batch = check(a.graph(), "graph.batch_matmul",
                      shapes::broadcast(batchA, batchB), loc);
  auto expand = [&](const Tensor &t) {
    Shape full = batch;
    full.insert(full.end(), t.shape().end() - 2, t.shape().end());
    return t.shape() == full ? t : broadcast_to(t, full, loc);
  };
  return matmulOp("graph.batch_matmul", expand(a), expand(b), transposeA,
                  transposeB, loc, true);
}

Tensor bmm(const Tensor &a, const Tensor &b, bool transposeA, bool transposeB,
           SourceLoc loc) {
  return matmulOp("graph.batch_matmul", a, b, transposeA, transposeB, loc,
                  true);
}

static Tensor convOp(const char *op, const Tensor &x, const Tensor &weight,
                     const Tensor &bias, const ConvOptions &o, SourceLoc loc,
                     bool transposed) {
  requireFloat(op, x, "input", loc);
  requireSameDType(op, x, weight, loc);
  if (bias.valid())
    requireSameDType(op, x, bias, loc);
  Shape biasShape = bias.valid() ? bias.shape() : Shape{};
  const Shape *b = bias.valid() ? &biasShape : nullptr;
  Shape shape = check(
      x.graph(), op,
      transposed ? shapes::convTranspose2d(x.shape(), weight.shape(), b,
                                           o.stride, o.padding,
                                           o.outputPadding, o.dilation,
                                           o.groups)
                 : shapes::conv2d(x.shape(), weight.shape(), b, o.stride,
                                  o.padding, o.dilation, o.groups),
      loc);
  Attrs attrs{{"strides", o.stride},
              {"padding", o.padding},
              {"dilation", o.dilation},
              {"groups", o.groups}};
  if (transposed)
    attrs.push_back({"output_padding", o.outputPadding});
  std::vector<Tensor> operands{x, weight};
  if (bias.valid())
    operands.push_back(bias);
  return single(x.graph(), op, operands, std::move(attrs), shape, x.dtype(),
                loc);
}

Tensor conv2d(const Tensor &x, const Tensor &weight, const Tensor &bias,
              const ConvOptions &options, SourceLoc loc) {
  return convOp("graph.conv2d", x, weight, bias, options, loc, false);
}

Tensor conv_transpose2d(const Tensor &x, const Tensor &weight,
                       const Tensor &bias, const ConvOptions &options,
                       SourceLoc loc) {
  return convOp("graph.conv_transpose2d", x, weight, bias, options, loc, true);
}

static Tensor poolOp(const char *op, const Tensor &x, Shape kernel,
                     Shape stride, Shape padding, Attrs extra, SourceLoc loc) {
  requireFloat(op, x, "input", loc);
  Shape shape = check(x.graph(), op,
                      shapes::pool2d(x.shape(), kernel, stride, padding), loc);
  Attrs attrs{{"kernel", kernel}, {"strides", stride}, {"padding", padding}};
  attrs.insert(attrs.end(), extra.begin(), extra.end());
  return single(x.graph(), op, {x}, std::move(attrs), shape, x.dtype(), loc);
}

Tensor max_pool2d(const Tensor &x, Shape kernel, Shape stride, Shape padding,
                 SourceLoc loc) {
  return poolOp("graph.max_pool2d", x, kernel, stride, padding, {}, loc);
}

Tensor avg_pool2d(const Tensor &x, Shape kernel, Shape stride, Shape padding,
                 bool countIncludePad, SourceLoc loc) {
  return poolOp("graph.avg_pool2d", x, kernel, stride, padding,
                {{"count_include_pad", countIncludePad}}, loc);
}

Tensor adaptive_avg_pool2d(const Tensor &x, Shape outputSize, SourceLoc loc) {
  const char *op = "graph.global_avg_pool2d";
  requireFloat(op, x, "input", loc);
  Shape shape = check(x.graph(), op, shapes::globalPool2d(x.shape()), loc);
  if (outputSize.size() != 2 || outputSize[0] < 1 || outputSize[1] < 1)
    x.graph().fail("adaptive_avg_pool2d",
                   fmt::format("output size must be two positive numbers, "
                               "got {}",
                               shapes::str(outputSize)),
                   loc);
  if (outputSize == Shape{1, 1})
    return single(x.graph(), op, {x}, {}, shape, x.dtype(), loc);
  int64_t h = x.shape()[2], w = x.shape()[3];
  if (h % outputSize[0] != 0 || w % outputSize[1] != 0)
    x.graph().fail("adaptive_avg_pool2d",
                   fmt::format("output size {} must divide the input's {}x{} "
                               "(uneven windows are not supported)",
                               shapes::str(outputSize), h, w),
                   loc);
  Shape window{h / outputSize[0], w / outputSize[1]};
  return avg_pool2d(x, window, window, {0, 0}, true, loc);
}

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

Tensor layer_norm(const Tensor &x, const Tensor &weight, const Tensor &bias,
                 double epsilon, SourceLoc loc) {
  const char *op = "graph.layer_norm";
  requireFloat(op, x, "input", loc);
  requireSameDType(op, x, weight, loc);
  requireSameDType(op, x, bias, loc);
  Shape shape =
      check(x.graph(), op,
            shapes::layerNorm(x.shape(), weight.shape(), bias.shape()), loc);
  return single(x.graph(), op, {x, weight, bias}, {{"epsilon", epsilon}},
                shape, x.dtype(), loc);
}

BatchNormResult batch_norm_training(const Tensor &x, const Tensor &runningMean,
                                    const Tensor &runningVar,
                                    const Tensor &weight, const Tensor &bias,
                                    double momentum, double epsilon,
                                    SourceLoc loc) {
  const char *op = "graph.batch_norm_training";
  requireFloat(op, x, "input", loc);
  for (const Tensor *t : {&weight, &bias, &runningMean, &runningVar})
    requireSameDType(op, x, *t, loc);
  Shape shape = check(x.graph(), op,
                      shapes::batchNorm(x.shape(),
                                        {weight.shape(), bias.shape(),
                                         runningMean.shape(),
                                         runningVar.shape()}),
                      loc);
  std::vector<Tensor> r = x.graph().addNode(
      op, {x, weight, bias, runningMean, runningVar},
      {{"epsilon", epsilon}, {"momentum", momentum}},
      {{shape, x.dtype()},
       {runningMean.shape(), x.dtype()},
       {runningVar.shape(), x.dtype()}},
      loc);
  return {r[0], r[1], r[2]};
}

Tensor batch_norm(const Tensor &x, const Tensor &mean, const Tensor &variance,
                  const Tensor &weight, const Tensor &bias, double epsilon,
                  SourceLoc loc) {
  const char *op = "graph.batch_norm_inference";
  requireFloat(op, x, "input", loc);
  for (const Tensor *t : {&weight, &bias, &mean, &variance})
    requireSameDType(op, x, *t, loc);
  Shape shape = check(x.graph(), op,
                      shapes::batchNorm(x.shape(),
                                        {weight.shape(), bias.shape(),
                                         mean.shape(), variance.shape()}),
                      loc);
  return single(x.graph(), op, {x, weight, bias, mean, variance},
                {{"epsilon", epsilon}}, shape, x.dtype(), loc);
}

Tensor group_norm(const Tensor &x, int64_t numGroups, const Tensor &weight,
                  const Tensor &bias, double epsilon, SourceLoc loc) {
  const char *op = "graph.group_norm";
  requireFloat(op, x, "input", loc);
  requireSameDType(op, x, weight, loc);
  requireSameDType(op, x, bias, loc);
  Shape shape = check(
      x.graph(), op,
      shapes::groupNorm(x.shape(), weight.shape(), bias.shape(), numGroups),
      loc);
  return single(x.graph(), op, {x, weight, bias},
                {{"num_groups", numGroups}, {"epsilon", epsilon}}, shape,
                x.dtype(), loc);
}

//===----------------------------------------------------------------------===//
// Attention and recurrence
//===----------------------------------------------------------------------===//

Tensor scaled_dot_product_attention(const Tensor &q, const Tensor &k,
                                    const Tensor &v, const Tensor &mask,
                                    const AttentionOptions &options,
                                    SourceLoc loc) {
  const char *op = "graph.attention";
  requireFloat(op, q, "query", loc);
  requireSameDType(op, q, k, loc);
  requireSameDType(op, q, v, loc);
  Shape maskShape = mask.valid() ? mask.shape() : Shape{};
  if (mask.valid() && mask.dtype() != DType::I1)
    q.graph().fail(op,
                   fmt::format("mask must be i1, got {}",
                               dtypeName(mask.dtype())),
                   loc);
  Shape shape = check(q.graph(), op,
                      shapes::attention(q.shape(), k.shape(), v.shape(),
                                        mask.valid() ? &maskShape : nullptr),
                      loc);
  Attrs attrs;
  if (options.scale) {
    if (std::string error = shapes::checkAttentionScale(*options.scale);
        !error.empty())
      q.graph().fail(op, error, loc);
    attrs.push_back({"scale", *options.scale});
  }
  if (options.causal)
    attrs.push_back({"causal", UnitAttr{}});
  std::vector<Tensor> operands{q, k, v};
  if (mask.valid())
    operands.push_back(mask);
  return single(q.graph(), op, operands, std::move(attrs), shape, q.dtype(),
                loc);
}

RecurrenceResult recurrence(Cell cell, const Tensor &gates,
                            const Tensor &weight, const Tensor &bias,
                            const Tensor &state, bool reverse, SourceLoc loc) {
  const char *op = "graph.recurrence";
  requireFloat(op, gates, "gates", loc);
  requireSameDType(op, gates, weight, loc);
  requireSameDType(op, gates, bias, loc);
  if (state.valid())
    requireSameDType(op, gates, state, loc);
  auto shapeCell = static_cast<shapes::Cell>(cell);
  Shape stateShape = state.valid() ? state.shape() : Shape{};
  Shape hidden = check(gates.graph(), op,
                       shapes::recurrence(gates.shape(), weight.shape(),
                                          bias.shape(),
                                          state.valid() ? &stateShape : nullptr,
                                          shapeCell),
                       loc);
  Shape saved{hidden[0], hidden[1],
              shapes::cellSavedWidth(shapeCell) * hidden[2]};
  Attrs attrs{{"cell", EnumAttr{static_cast<int64_t>(cell)}}};
  if (reverse)
    attrs.push_back({"reverse", UnitAttr{}});
  std::vector<Tensor> operands{gates, weight, bias};
  if (state.valid())
    operands.push_back(state);
  std::vector<Tensor> r = gates.graph().addNode(
      op, operands, std::move(attrs),
      {{hidden, gates.dtype()}, {saved, gates.dtype()}}, loc);
  return {r[0], r[1]};
}

} // namespace kiln
