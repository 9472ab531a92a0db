//===- Ops.cpp - The ops of the Kiln C++ DSL ------------------------------===//
//
// Each op checks dtypes here and shapes through the dialect's own rules
// (GraphShapes.h), then records a node. What passes here verifies in MLIR.
//
//===----------------------------------------------------------------------===//

#include "kiln/Ops.h"

#include "dialects/Graph/IR/GraphShapes.h"

#include <fmt/format.h>

#include <cmath>

namespace kiln {
namespace {

using Attrs = std::vector<std::pair<std::string, AttrValue>>;

/// The shape rule's result, or a GraphError naming the op and location.
Shape check(Graph &graph, const char *op, const shapes::Inferred &r,
            SourceLoc loc) {
  if (!r.ok())
    graph.fail(op, r.error, loc);
  return r.shape;
}

void requireFloat(const char *op, const Tensor &t, const char *what,
                  SourceLoc loc) {
  if (!isFloat(t.dtype()))
    t.graph().fail(op,
                   fmt::format("{} must be a float tensor, got {} {}", what,
                               dtypeName(t.dtype()), shapes::str(t.shape())),
                   loc);
}

void requireInteger(const char *op, const Tensor &t, const char *what,
                    SourceLoc loc) {
  if (!isInteger(t.dtype()))
    t.graph().fail(op,
                   fmt::format("{} must be an integer tensor, got {} {}", what,
                               dtypeName(t.dtype()), shapes::str(t.shape())),
                   loc);
}

void requireSameDType(const char *op, const Tensor &a, const Tensor &b,
                      SourceLoc loc) {
  if (a.dtype() != b.dtype())
    a.graph().fail(op,
                   fmt::format("dtypes differ: {} {} and {} {}",
                               dtypeName(a.dtype()), shapes::str(a.shape()),
                               dtypeName(b.dtype()), shapes::str(b.shape())),
                   loc);
}

Tensor single(Graph &graph, const char *op, std::vector<Tensor> operands,
              Attrs attrs, Shape shape, DType dtype, SourceLoc loc) {
  return graph
      .addNode(op, std::move(operands), std::move(attrs),
               {{std::move(shape), dtype}}, loc)
      .front();
}

Tensor unary(const char *op, const Tensor &x, SourceLoc loc, Attrs attrs = {}) {
  requireFloat(op, x, "input", loc);
  return single(x.graph(), op, {x}, std::move(attrs), x.shape(), x.dtype(),
                loc);
}

Tensor binary(const char *op, const Tensor &a, const Tensor &b, SourceLoc loc,
              bool floatOnly) {
  if (floatOnly)
    requireFloat(op, a, "lhs", loc);
  else if (a.dtype() == DType::I1)
    a.graph().fail(op, "operands must be numeric, got i1", loc);
  requireSameDType(op, a, b, loc);
  Shape shape =
      check(a.graph(), op, shapes::broadcast(a.shape(), b.shape()), loc);
  return single(a.graph(), op, {a, b}, {}, shape, a.dtype(), loc);
}

/// Resolves an operator's operands: a scalar becomes a constant of the
/// tensor's dtype.
std::pair<Tensor, Tensor> resolve(const Operand &lhs, const Operand &rhs) {
  const Tensor &like = lhs.tensor ? *lhs.tensor : *rhs.tensor;
  auto get = [&](const Operand &o) {
    return o.tensor ? *o.tensor : scalarLike(like, o.scalar, o.loc);
  };
  return {get(lhs), get(rhs)};
}

Tensor reduceOp(const char *op, const Tensor &x, Shape dims, bool keepDims,
                SourceLoc loc) {
  if (x.dtype() == DType::I1)
    x.graph().fail(op, "input must be numeric, got i1", loc);
  Shape shape = check(x.graph(), op, shapes::reduce(x.shape(), dims, keepDims),
                      loc);
  Attrs attrs{{"dims", dims}};
  if (keepDims)
    attrs.push_back({"keep_dims", UnitAttr{}});
  return single(x.graph(), op, {x}, std::move(attrs), shape, x.dtype(), loc);
}

Tensor softmaxOp(const char *op, const Tensor &x, int64_t axis,
                 SourceLoc loc) {
  requireFloat(op, x, "input", loc);
  check(x.graph(), op, shapes::alongAxis(x.shape(), axis), loc);
  return single(x.graph(), op, {x}, {{"axis", axis}}, x.shape(), x.dtype(),
                loc);
}

Tensor elementwiseLoss(const char *op, const Tensor &input,
                       const Tensor &target, Reduction reduction,
                       SourceLoc loc) {
  requireFloat(op, input, "input", loc);
  requireSameDType(op, input, target, loc);
  Shape shape = check(input.graph(), op,
                      shapes::elementwiseLoss(
                          input.shape(), target.shape(),
                          static_cast<shapes::Reduction>(reduction)),
                      loc);
  return single(input.graph(), op, {input, target},
                {{"reduction", EnumAttr{static_cast<int64_t>(reduction)}}},
                shape, input.dtype(), loc);
}

Tensor randomOp(const char *op, const Tensor &seed, const Tensor &offset,
                Shape shape, DType dtype, Attrs extra, SourceLoc loc) {
  for (const Tensor *t : {&seed, &offset})
    if (t->dtype() != DType::I64 || t->rank() != 0)
      t->graph().fail(op,
                      fmt::format("seed and offset must be 0-d i64 tensors, "
                                  "got {} {}",
                                  dtypeName(t->dtype()),
                                  shapes::str(t->shape())),
                      loc);
  check(seed.graph(), op, shapes::fromAttribute(shape), loc);
  Attrs attrs{{"shape", shape}, {"dtype", dtype}};
  attrs.insert(attrs.end(), extra.begin(), extra.end());
  return single(seed.graph(), op, {seed, offset}, std::move(attrs), shape,
                dtype, loc);
}

} // namespace

//===----------------------------------------------------------------------===//
// Operators, constants, casts
//===----------------------------------------------------------------------===//

Tensor operator+(const Operand &lhs, const Operand &rhs) {
  auto [a, b] = resolve(lhs, rhs);
  return add(a, b, rhs.loc);
}
Tensor operator-(const Operand &lhs, const Operand &rhs) {
  auto [a, b] = resolve(lhs, rhs);
  return sub(a, b, rhs.loc);
}
Tensor operator*(const Operand &lhs, const Operand &rhs) {
  auto [a, b] = resolve(lhs, rhs);
  return mul(a, b, rhs.loc);
}
Tensor operator/(const Operand &lhs, const Operand &rhs) {
  auto [a, b] = resolve(lhs, rhs);
  return div(a, b, rhs.loc);
}
Tensor operator-(const Operand &x) {
  if (!x.tensor)
    throw GraphError("unary minus needs a tensor");
  return neg(*x.tensor, x.loc);
}

Tensor scalarLike(const Tensor &like, double value, SourceLoc loc) {
  return constant(like.graph(), {}, {value}, like.dtype(), loc);
}

Tensor constant(Graph &graph, Shape shape, std::vector<double> values,
                DType dtype, SourceLoc loc) {
  int64_t n = shapes::numElements(shape);
  if (values.size() != 1 && static_cast<int64_t>(values.size()) != n)
    graph.fail("graph.constant",
               fmt::format("{} values given for shape {} ({} elements)",
                           values.size(), shapes::str(shape), n),
               loc);
  return single(graph, "graph.constant", {},
                {{"value", DenseAttr{std::move(values)}}}, shape, dtype, loc);
}

Tensor cast(const Tensor &x, DType dtype, SourceLoc loc) {
  return single(x.graph(), "graph.cast", {x}, {{"dtype", dtype}}, x.shape(),
                dtype, loc);
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

Tensor add(const Tensor &a, const Tensor &b, SourceLoc loc) {
  return binary("graph.add", a, b, loc, false);
}
Tensor sub(const Tensor &a, const Tensor &b, SourceLoc loc) {
  return binary("graph.sub", a, b, loc, false);
}
Tensor mul(const Tensor &a, const Tensor &b, SourceLoc loc) {
  return binary("graph.mul", a, b, loc, false);
}
Tensor div(const Tensor &a, const Tensor &b, SourceLoc loc) {
  return binary("graph.div", a, b, loc, true);
}
Tensor pow(const Tensor &a, const Tensor &b, SourceLoc loc) {
  return binary("graph.pow", a, b, loc, true);
}
Tensor maximum(const Tensor &a, const Tensor &b, SourceLoc loc) {
  return binary("graph.maximum", a, b, loc, false);
}
Tensor minimum(const Tensor &a, const Tensor &b, SourceLoc loc) {
  return binary("graph.minimum", a, b, loc, false);
}

Tensor neg(const Tensor &x, SourceLoc loc) { return unary("graph.neg", x, loc); }
Tensor abs(const Tensor &x, SourceLoc loc) { return unary("graph.abs", x, loc); }
Tensor exp(const Tensor &x, SourceLoc loc) { return unary("graph.exp", x, loc); }
Tensor log(const Tensor &x, SourceLoc loc) { return unary("graph.log", x, loc); }
Tensor sqrt(const Tensor &x, SourceLoc loc) {
  return unary("graph.sqrt", x, loc);
}
Tensor rsqrt(const Tensor &x, SourceLoc loc) {
  return unary("graph.rsqrt", x, loc);
}
Tensor sin(const Tensor &x, SourceLoc loc) { return unary("graph.sin", x, loc); }
Tensor cos(const Tensor &x, SourceLoc loc) { return unary("graph.cos", x, loc); }
Tensor tanh(const Tensor &x, SourceLoc loc) {
  return unary("graph.tanh", x, loc);
}
Tensor erf(const Tensor &x, SourceLoc loc) { return unary("graph.erf", x, loc); }
Tensor sigmoid(const Tensor &x, SourceLoc loc) {
  return unary("graph.sigmoid", x, loc);
}
Tensor relu(const Tensor &x, SourceLoc loc) {
  return unary("graph.relu", x, loc);
}
Tensor gelu(const Tensor &x, SourceLoc loc) {
  return unary("graph.gelu", x, loc);
}
Tensor silu(const Tensor &x, SourceLoc loc) {
  return unary("graph.silu", x, loc);
}
Tensor leakyRelu(const Tensor &x, double alpha, SourceLoc loc) {
  return unary("graph.leaky_relu", x, loc, {{"alpha", alpha}});
}
Tensor clamp(const Tensor &x, double min, double max, SourceLoc loc) {
  if (std::string error = shapes::checkClampBounds(min, max); !error.empty())
    x.graph().fail("graph.clamp", error, loc);
  return unary("graph.clamp", x, loc, {{"min", min}, {"max", max}});
}

Tensor compare(Compare predicate, const Tensor &a, const Tensor &b,
               SourceLoc loc) {
  const char *op = "graph.compare";
  requireSameDType(op, a, b, loc);
  if (a.dtype() == DType::I1)
    a.graph().fail(op, "operands must be numeric, got i1", loc);
  Shape shape =
      check(a.graph(), op, shapes::broadcast(a.shape(), b.shape()), loc);
  return single(a.graph(), op, {a, b},
                {{"predicate", EnumAttr{static_cast<int64_t>(predicate)}}},
                shape, DType::I1, loc);
}

Tensor select(const Tensor &condition, const Tensor &a, const Tensor &b,
              SourceLoc loc) {
  const char *op = "graph.select";
  if (condition.dtype() != DType::I1)
    condition.graph().fail(op,
                           fmt::format("condition must be i1, got {}",
                                       dtypeName(condition.dtype())),
                           loc);
  requireSameDType(op, a, b, loc);
  Shape shape = check(condition.graph(), op,
                      shapes::broadcast3(condition.shape(), a.shape(),
                                         b.shape()),
                      loc);
  return single(a.graph(), op, {condition, a, b}, {}, shape, a.dtype(), loc);
}

//===----------------------------------------------------------------------===//
// Contractions, convolution, pooling
//===----------------------------------------------------------------------===//

static Tensor matmulOp(const char *op, const Tensor &a, const Tensor &b,
                       bool ta, bool tb, SourceLoc loc, bool batched) {
  requireFloat(op, a, "lhs", loc);
  requireSameDType(op, a, b, loc);
  Shape shape = check(a.graph(), op,
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
  return matmulOp("graph.matmul", a, b, transposeA, transposeB, loc, false);
}

Tensor batchMatmul(const Tensor &a, const Tensor &b, bool transposeA,
                   bool transposeB, SourceLoc loc) {
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

Tensor convTranspose2d(const Tensor &x, const Tensor &weight,
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

Tensor maxPool2d(const Tensor &x, Shape kernel, Shape stride, Shape padding,
                 SourceLoc loc) {
  return poolOp("graph.max_pool2d", x, kernel, stride, padding, {}, loc);
}

Tensor avgPool2d(const Tensor &x, Shape kernel, Shape stride, Shape padding,
                 bool countIncludePad, SourceLoc loc) {
  return poolOp("graph.avg_pool2d", x, kernel, stride, padding,
                {{"count_include_pad", countIncludePad}}, loc);
}

Tensor globalAvgPool2d(const Tensor &x, SourceLoc loc) {
  const char *op = "graph.global_avg_pool2d";
  requireFloat(op, x, "input", loc);
  Shape shape = check(x.graph(), op, shapes::globalPool2d(x.shape()), loc);
  return single(x.graph(), op, {x}, {}, shape, x.dtype(), loc);
}

//===----------------------------------------------------------------------===//
// Reductions and normalization
//===----------------------------------------------------------------------===//

Tensor sum(const Tensor &x, Shape dims, bool keepDims, SourceLoc loc) {
  return reduceOp("graph.reduce_sum", x, dims, keepDims, loc);
}
Tensor mean(const Tensor &x, Shape dims, bool keepDims, SourceLoc loc) {
  return reduceOp("graph.reduce_mean", x, dims, keepDims, loc);
}
Tensor max(const Tensor &x, Shape dims, bool keepDims, SourceLoc loc) {
  return reduceOp("graph.reduce_max", x, dims, keepDims, loc);
}
Tensor min(const Tensor &x, Shape dims, bool keepDims, SourceLoc loc) {
  return reduceOp("graph.reduce_min", x, dims, keepDims, loc);
}

Tensor argmax(const Tensor &x, int64_t dim, bool keepDims, SourceLoc loc) {
  const char *op = "graph.argmax";
  Shape shape =
      check(x.graph(), op, shapes::reduce(x.shape(), {dim}, keepDims), loc);
  Attrs attrs{{"dim", dim}};
  if (keepDims)
    attrs.push_back({"keep_dims", UnitAttr{}});
  return single(x.graph(), op, {x}, std::move(attrs), shape, DType::I64, loc);
}

Tensor softmax(const Tensor &x, int64_t axis, SourceLoc loc) {
  return softmaxOp("graph.softmax", x, axis, loc);
}
Tensor logSoftmax(const Tensor &x, int64_t axis, SourceLoc loc) {
  return softmaxOp("graph.log_softmax", x, axis, loc);
}

Tensor layerNorm(const Tensor &x, const Tensor &weight, const Tensor &bias,
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

BatchNormResult batchNormTraining(const Tensor &x, const Tensor &weight,
                                  const Tensor &bias, const Tensor &runningMean,
                                  const Tensor &runningVar, double epsilon,
                                  double momentum, SourceLoc loc) {
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

Tensor batchNormInference(const Tensor &x, const Tensor &weight,
                          const Tensor &bias, const Tensor &mean,
                          const Tensor &variance, double epsilon,
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

Tensor groupNorm(const Tensor &x, const Tensor &weight, const Tensor &bias,
                 int64_t numGroups, double epsilon, SourceLoc loc) {
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
// Shapes and gathers
//===----------------------------------------------------------------------===//

Tensor embedding(const Tensor &weight, const Tensor &indices, SourceLoc loc) {
  const char *op = "graph.embedding";
  requireFloat(op, weight, "weight", loc);
  requireInteger(op, indices, "indices", loc);
  Shape shape = check(weight.graph(), op,
                      shapes::embedding(weight.shape(), indices.shape()), loc);
  return single(weight.graph(), op, {weight, indices}, {}, shape,
                weight.dtype(), loc);
}

Tensor concat(const std::vector<Tensor> &inputs, int64_t axis, SourceLoc loc) {
  const char *op = "graph.concat";
  if (inputs.empty())
    throw GraphError(fmt::format("{}:{}: error: {}: needs at least one input",
                                 loc.file, loc.line, op));
  std::vector<Shape> shapesIn;
  for (const Tensor &t : inputs) {
    requireSameDType(op, inputs.front(), t, loc);
    shapesIn.push_back(t.shape());
  }
  Graph &graph = inputs.front().graph();
  Shape shape = check(graph, op, shapes::concat(shapesIn, axis), loc);
  return single(graph, op, inputs, {{"axis", axis}}, shape,
                inputs.front().dtype(), loc);
}

Tensor slice(const Tensor &x, Shape starts, Shape limits, Shape strides,
             SourceLoc loc) {
  if (strides.empty())
    strides.assign(x.shape().size(), 1);
  Shape shape =
      check(x.graph(), "graph.slice",
            shapes::slice(x.shape(), starts, limits, strides), loc);
  return single(x.graph(), "graph.slice", {x},
                {{"starts", starts}, {"limits", limits}, {"strides", strides}},
                shape, x.dtype(), loc);
}

Tensor reshape(const Tensor &x, Shape shape, SourceLoc loc) {
  const char *op = "graph.reshape";
  int inferred = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1 && inferred < 0)
      inferred = static_cast<int>(i);
    else
      known *= shape[i];
  }
  if (inferred >= 0) {
    if (known <= 0 || x.numElements() % known != 0)
      x.graph().fail(op,
                     fmt::format("cannot reshape {} ({} elements) to {}",
                                 shapes::str(x.shape()), x.numElements(),
                                 shapes::str(shape)),
                     loc);
    shape[inferred] = x.numElements() / known;
  }
  Shape result = check(x.graph(), op, shapes::reshape(x.shape(), shape), loc);
  return single(x.graph(), op, {x}, {{"shape", result}}, result, x.dtype(),
                loc);
}

Tensor flatten(const Tensor &x, int64_t startDim, SourceLoc loc) {
  int64_t start = startDim;
  if (!shapes::normalizeAxis(start, x.rank()))
    x.graph().fail("graph.reshape",
                   fmt::format("flatten start dimension {} is out of range "
                               "for {}",
                               startDim, shapes::str(x.shape())),
                   loc);
  Shape shape(x.shape().begin(), x.shape().begin() + start);
  int64_t rest = 1;
  for (size_t i = start; i < x.shape().size(); ++i)
    rest *= x.shape()[i];
  shape.push_back(rest);
  return reshape(x, shape, loc);
}

Tensor transpose(const Tensor &x, Shape permutation, SourceLoc loc) {
  Shape shape = check(x.graph(), "graph.transpose",
                      shapes::transpose(x.shape(), permutation), loc);
  return single(x.graph(), "graph.transpose", {x},
                {{"permutation", permutation}}, shape, x.dtype(), loc);
}

Tensor broadcastTo(const Tensor &x, Shape shape, SourceLoc loc) {
  Shape result = check(x.graph(), "graph.broadcast_to",
                       shapes::broadcastTo(x.shape(), shape), loc);
  return single(x.graph(), "graph.broadcast_to", {x}, {{"shape", shape}},
                result, x.dtype(), loc);
}

//===----------------------------------------------------------------------===//
// Attention, losses, random numbers
//===----------------------------------------------------------------------===//

Tensor attention(const Tensor &q, const Tensor &k, const Tensor &v,
                 const Tensor &mask, const AttentionOptions &options,
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

Tensor crossEntropy(const Tensor &logits, const Tensor &labels,
                    Reduction reduction, SourceLoc loc) {
  const char *op = "graph.cross_entropy";
  requireFloat(op, logits, "logits", loc);
  requireInteger(op, labels, "labels", loc);
  Shape shape = check(logits.graph(), op,
                      shapes::crossEntropy(
                          logits.shape(), labels.shape(),
                          static_cast<shapes::Reduction>(reduction)),
                      loc);
  return single(logits.graph(), op, {logits, labels},
                {{"reduction", EnumAttr{static_cast<int64_t>(reduction)}}},
                shape, logits.dtype(), loc);
}

Tensor mseLoss(const Tensor &input, const Tensor &target, Reduction reduction,
               SourceLoc loc) {
  return elementwiseLoss("graph.mse_loss", input, target, reduction, loc);
}

Tensor bceWithLogits(const Tensor &logits, const Tensor &target,
                     Reduction reduction, SourceLoc loc) {
  return elementwiseLoss("graph.bce_with_logits", logits, target, reduction,
                         loc);
}

Tensor randomUniform(const Tensor &seed, const Tensor &offset, Shape shape,
                     double low, double high, DType dtype, SourceLoc loc) {
  if (!isFloat(dtype))
    seed.graph().fail("graph.random_uniform",
                      fmt::format("needs a float dtype, got {}",
                                  dtypeName(dtype)),
                      loc);
  if (std::string error = shapes::checkUniformRange(low, high); !error.empty())
    seed.graph().fail("graph.random_uniform", error, loc);
  return randomOp("graph.random_uniform", seed, offset, shape, dtype,
                  {{"low", low}, {"high", high}}, loc);
}

Tensor randomNormal(const Tensor &seed, const Tensor &offset, Shape shape,
                    double mean, double stddev, DType dtype, SourceLoc loc) {
  if (!isFloat(dtype))
    seed.graph().fail("graph.random_normal",
                      fmt::format("needs a float dtype, got {}",
                                  dtypeName(dtype)),
                      loc);
  if (std::string error = shapes::checkNormalStddev(stddev); !error.empty())
    seed.graph().fail("graph.random_normal", error, loc);
  return randomOp("graph.random_normal", seed, offset, shape, dtype,
                  {{"mean", mean}, {"stddev", stddev}}, loc);
}

Tensor randomIntegers(const Tensor &seed, const Tensor &offset, Shape shape,
                      int64_t low, int64_t high, DType dtype, SourceLoc loc) {
  if (!isInteger(dtype))
    seed.graph().fail("graph.random_integers",
                      fmt::format("needs an integer dtype, got {}",
                                  dtypeName(dtype)),
                      loc);
  if (std::string error = shapes::checkIntegerRange(low, high); !error.empty())
    seed.graph().fail("graph.random_integers", error, loc);
  return randomOp("graph.random_integers", seed, offset, shape, dtype,
                  {{"low", low}, {"high", high}}, loc);
}

} // namespace kiln
