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
    return o.tensor ? *o.tensor : scalar_like(like, o.scalar, o.loc);
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

Tensor scalar_like(const Tensor &like, double value, SourceLoc loc) {
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
Tensor leaky_relu(const Tensor &x, double alpha, SourceLoc loc) {
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

Tensor eq(const Tensor &a, const Tensor &b, SourceLoc loc) {
  return compare(Compare::Eq, a, b, loc);
}
Tensor ne(const Tensor &a, const Tensor &b, SourceLoc loc) {
  return compare(Compare::Ne, a, b, loc);
}
Tensor lt(const Tensor &a, const Tensor &b, SourceLoc loc) {
  return compare(Compare::Lt, a, b, loc);
}
Tensor le(const Tensor &a, const Tensor &b, SourceLoc loc) {
  return compare(Compare::Le, a, b, loc);
}
Tensor gt(const Tensor &a, const Tensor &b, SourceLoc loc) {
  return compare(Compare::Gt, a, b, loc);
}
Tensor ge(const Tensor &a, const Tensor &b, SourceLoc loc) {
  return compare(Compare::Ge, a, b, loc);
}

Tensor where(const Tensor &condition, const Tensor &a, const Tensor &b,
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
// Reductions and normalization
//===----------------------------------------------------------------------===//

Tensor sum(const Tensor &x, Shape dims, bool keepDims, SourceLoc loc) {
  return reduceOp("graph.reduce_sum", x, dims, keepDims, loc);
}
Tensor mean(const Tensor &x, Shape dims, bool keepDims, SourceLoc loc) {
  return reduceOp("graph.reduce_mean", x, dims, keepDims, loc);
}
Tensor amax(const Tensor &x, Shape dims, bool keepDims, SourceLoc loc) {
  return reduceOp("graph.reduce_max", x, dims, keepDims, loc);
}
Tensor amin(const Tensor &x, Shape dims, bool keepDims, SourceLoc loc) {
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
Tensor log_softmax(const Tensor &x, int64_t axis, SourceLoc loc) {
  return softmaxOp("graph.log_softmax", x, axis, loc);
}

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
// Shapes and gathers
//===----------------------------------------------------------------------===//

Tensor one_hot(const Tensor &indices, int64_t numClasses, DType dtype,
               SourceLoc loc) {
  const char *op = "graph.one_hot";
  requireInteger(op, indices, "indices", loc);
  if (!isFloat(dtype))
    indices.graph().fail(op,
                         fmt::format("needs a float dtype, got {}",
                                     dtypeName(dtype)),
                         loc);
  Shape shape = check(indices.graph(), op,
                      shapes::oneHot(indices.shape(), numClasses), loc);
  return single(indices.graph(), op, {indices},
                {{"num_classes", numClasses}, {"dtype", dtype}}, shape, dtype,
                loc);
}

Tensor embedding(const Tensor &weight, const Tensor &indices, SourceLoc loc) {
  const char *op = "graph.embedding";
  requireFloat(op, weight, "weight", loc);
  requireInteger(op, indices, "indices", loc);
  Shape shape = check(weight.graph(), op,
                      shapes::embedding(weight.shape(), indices.shape()), loc);
  return single(weight.graph(), op, {weight, indices}, {}, shape,
                weight.dtype(), loc);
}

Tensor cat(const std::vector<Tensor> &inputs, int64_t axis, SourceLoc loc) {
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

Tensor strided_slice(const Tensor &x, Shape starts, Shape limits, Shape strides,
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
    else if (__builtin_mul_overflow(known, shape[i], &known))
      x.graph().fail(op, fmt::format("the shape {} has more elements than "
                                     "int64 counts",
                                     shapes::str(shape)),
                     loc);
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

Tensor flatten(const Tensor &x, int64_t startDim, int64_t endDim,
               SourceLoc loc) {
  int64_t rank = std::max<int64_t>(x.rank(), 1);
  int64_t first = startDim, last = endDim;
  if (!shapes::normalizeAxis(first, rank) ||
      !shapes::normalizeAxis(last, rank) || first > last)
    x.graph().fail("flatten",
                   fmt::format("dimensions {}..{} are not a range of {}",
                               startDim, endDim, shapes::str(x.shape())),
                   loc);
  if (x.rank() == 0)
    return reshape(x, {1}, loc);
  Shape shape(x.shape().begin(), x.shape().begin() + first);
  int64_t merged = 1;
  for (int64_t i = first; i <= last; ++i)
    merged *= x.shape()[i];
  shape.push_back(merged);
  shape.insert(shape.end(), x.shape().begin() + last + 1, x.shape().end());
  return reshape(x, shape, loc);
}

Tensor unsqueeze(const Tensor &x, int64_t dim, SourceLoc loc) {
  int64_t at = dim;
  if (!shapes::normalizeAxis(at, x.rank() + 1))
    x.graph().fail("unsqueeze",
                   fmt::format("dimension {} is out of range for {}", dim,
                               shapes::str(x.shape())),
                   loc);
  Shape shape = x.shape();
  shape.insert(shape.begin() + at, 1);
  return reshape(x, shape, loc);
}

Tensor squeeze(const Tensor &x, int64_t dim, SourceLoc loc) {
  int64_t at = dim;
  if (!shapes::normalizeAxis(at, x.rank()) || x.shape()[at] != 1)
    x.graph().fail("squeeze",
                   fmt::format("dimension {} of {} is not a dimension of 1",
                               dim, shapes::str(x.shape())),
                   loc);
  Shape shape = x.shape();
  shape.erase(shape.begin() + at);
  return reshape(x, shape, loc);
}

Tensor transpose(const Tensor &x, int64_t dim0, int64_t dim1, SourceLoc loc) {
  int64_t a = dim0, b = dim1;
  if (!shapes::normalizeAxis(a, x.rank()) ||
      !shapes::normalizeAxis(b, x.rank()))
    x.graph().fail("transpose",
                   fmt::format("dimensions {} and {} are out of range for {}",
                               dim0, dim1, shapes::str(x.shape())),
                   loc);
  Shape dims(x.rank());
  for (int64_t i = 0; i < x.rank(); ++i)
    dims[i] = i;
  std::swap(dims[a], dims[b]);
  return permute(x, dims, loc);
}

Tensor slice(const Tensor &x, int64_t dim, int64_t start, int64_t end,
             int64_t step, SourceLoc loc) {
  int64_t d = dim;
  if (!shapes::normalizeAxis(d, x.rank()) || step < 1)
    x.graph().fail("slice",
                   fmt::format("dimension {} with step {} does not slice {} "
                               "(the step must be positive)",
                               dim, step, shapes::str(x.shape())),
                   loc);
  int64_t size = x.shape()[d];
  auto clampIndex = [&](int64_t i) {
    if (i < 0)
      i += size;
    return std::min(std::max<int64_t>(i, 0), size);
  };
  Shape starts(x.rank(), 0), limits = x.shape(), strides(x.rank(), 1);
  starts[d] = clampIndex(start);
  limits[d] = std::max(starts[d], clampIndex(end));
  strides[d] = step;
  return strided_slice(x, starts, limits, strides, loc);
}

Tensor narrow(const Tensor &x, int64_t dim, int64_t start, int64_t length,
              SourceLoc loc) {
  int64_t d = dim;
  if (!shapes::normalizeAxis(d, x.rank()) || length < 0 || start < 0 ||
      start > x.shape()[d] - length)
    x.graph().fail("narrow",
                   fmt::format("{} elements from {} along dimension {} are "
                               "not inside {}",
                               length, start, dim, shapes::str(x.shape())),
                   loc);
  return slice(x, d, start, start + length, 1, loc);
}

Tensor permute(const Tensor &x, Shape permutation, SourceLoc loc) {
  Shape shape = check(x.graph(), "graph.transpose",
                      shapes::transpose(x.shape(), permutation), loc);
  return single(x.graph(), "graph.transpose", {x},
                {{"permutation", permutation}}, shape, x.dtype(), loc);
}

Tensor broadcast_to(const Tensor &x, Shape shape, SourceLoc loc) {
  Shape result = check(x.graph(), "graph.broadcast_to",
                       shapes::broadcastTo(x.shape(), shape), loc);
  return single(x.graph(), "graph.broadcast_to", {x}, {{"shape", shape}},
                result, x.dtype(), loc);
}

//===----------------------------------------------------------------------===//
// Attention, losses, random numbers
//===----------------------------------------------------------------------===//

Tensor scaled_dot_product_attention(const Tensor &q, const Tensor &k, const Tensor &v,
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

namespace {

/// The mean, sum or the values themselves of per-example `losses`.
Tensor reduceLoss(const Tensor &losses, Reduction reduction, SourceLoc loc) {
  Shape all(losses.rank());
  for (int64_t i = 0; i < losses.rank(); ++i)
    all[i] = i;
  switch (reduction) {
  case Reduction::None:
    return losses;
  case Reduction::Sum:
    return sum(losses, all, false, loc);
  case Reduction::Mean:
    break;
  }
  return mean(losses, all, false, loc);
}

/// The loss of `logProbs [N, C]` against `labels [N]` as cross-entropy
/// with smoothing `smoothing` and an optional ignored label, reduced.
Tensor classLoss(const char *op, const Tensor &logProbs, const Tensor &labels,
                 std::optional<int64_t> ignoreIndex, double smoothing,
                 Reduction reduction, SourceLoc loc) {
  requireFloat(op, logProbs, "input", loc);
  requireInteger(op, labels, "labels", loc);
  check(logProbs.graph(), op,
        shapes::crossEntropy(logProbs.shape(), labels.shape(),
                             static_cast<shapes::Reduction>(reduction)),
        loc);
  if (!(smoothing >= 0 && smoothing <= 1))
    logProbs.graph().fail(op,
                          fmt::format("label smoothing must be in [0, 1], "
                                      "got {}",
                                      smoothing),
                          loc);
  int64_t classes = logProbs.shape()[1];
  Tensor picked = labels, valid;
  if (ignoreIndex) {
    Tensor ignored = scalar_like(labels, static_cast<double>(*ignoreIndex), loc);
    valid = ne(labels, ignored, loc);
    picked = where(valid, labels, scalar_like(labels, 0, loc), loc);
  }
  Tensor hot = one_hot(picked, classes, logProbs.dtype(), loc);
  Tensor losses = -sum(logProbs * hot, {1}, false, loc);
  if (smoothing > 0)
    losses = losses * (1 - smoothing) -
             mean(logProbs, {1}, false, loc) * smoothing;
  if (!valid.valid())
    return reduceLoss(losses, reduction, loc);
  Tensor weights = cast(valid, logProbs.dtype(), loc);
  losses = losses * weights;
  if (reduction != Reduction::Mean)
    return reduceLoss(losses, reduction, loc);
  // PyTorch's mean over the labels that count (NaN when none does).
  return sum(losses, {0}, false, loc) / sum(weights, {0}, false, loc);
}

} // namespace

Tensor cross_entropy(const Tensor &logits, const Tensor &labels,
                     const CrossEntropyOptions &options, SourceLoc loc) {
  const char *op = "graph.cross_entropy";
  if (options.ignore_index_ || options.label_smoothing_ != 0) {
    requireFloat(op, logits, "logits", loc);
    return classLoss("cross_entropy", log_softmax(logits, 1, loc), labels,
                     options.ignore_index_, options.label_smoothing_,
                     options.reduction_, loc);
  }
  Reduction reduction = options.reduction_;
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

Tensor nll_loss(const Tensor &logProbs, const Tensor &labels,
                const NllLossOptions &options, SourceLoc loc) {
  return classLoss("nll_loss", logProbs, labels, options.ignore_index_, 0,
                   options.reduction_, loc);
}

Tensor l1_loss(const Tensor &input, const Tensor &target, Reduction reduction,
               SourceLoc loc) {
  requireFloat("l1_loss", input, "input", loc);
  check(input.graph(), "l1_loss",
        shapes::elementwiseLoss(input.shape(), target.shape(),
                                static_cast<shapes::Reduction>(reduction)),
        loc);
  return reduceLoss(abs(input - target, loc), reduction, loc);
}

Tensor smooth_l1_loss(const Tensor &input, const Tensor &target,
                      Reduction reduction, double beta, SourceLoc loc) {
  requireFloat("smooth_l1_loss", input, "input", loc);
  check(input.graph(), "smooth_l1_loss",
        shapes::elementwiseLoss(input.shape(), target.shape(),
                                static_cast<shapes::Reduction>(reduction)),
        loc);
  if (!(beta > 0 && std::isfinite(beta)))
    input.graph().fail("smooth_l1_loss",
                       fmt::format("beta must be positive, got {}", beta),
                       loc);
  Tensor d = abs(input - target, loc);
  Tensor quadratic = d * d * (0.5 / beta);
  Tensor linear = d - 0.5 * beta;
  return reduceLoss(
      where(lt(d, scalar_like(d, beta, loc), loc), quadratic, linear, loc),
      reduction, loc);
}

Tensor kl_div(const Tensor &input, const Tensor &target,
              const KLDivOptions &options, SourceLoc loc) {
  requireFloat("kl_div", input, "input", loc);
  requireSameDType("kl_div", input, target, loc);
  check(input.graph(), "kl_div",
        shapes::elementwiseLoss(input.shape(), target.shape(),
                                shapes::Reduction::None),
        loc);
  Tensor pointwise;
  if (options.log_target_) {
    pointwise = exp(target, loc) * (target - input);
  } else {
    // target log target, with 0 log 0 = 0 (torch's xlogy).
    Tensor zero = scalar_like(target, 0, loc);
    Tensor positive = gt(target, zero, loc);
    Tensor safe = where(positive, target, scalar_like(target, 1, loc), loc);
    pointwise = where(positive, target * (log(safe, loc) - input),
                      zero - target * input, loc);
  }
  Shape all(pointwise.rank());
  for (int64_t i = 0; i < pointwise.rank(); ++i)
    all[i] = i;
  switch (options.reduction_) {
  case KLDivReduction::None:
    return pointwise;
  case KLDivReduction::Sum:
    return sum(pointwise, all, false, loc);
  case KLDivReduction::Mean:
    return mean(pointwise, all, false, loc);
  case KLDivReduction::BatchMean:
    break;
  }
  double batch = pointwise.rank() > 0 ? pointwise.shape()[0] : 1;
  return sum(pointwise, all, false, loc) / batch;
}

Tensor mse_loss(const Tensor &input, const Tensor &target, Reduction reduction,
               SourceLoc loc) {
  return elementwiseLoss("graph.mse_loss", input, target, reduction, loc);
}

Tensor binary_cross_entropy_with_logits(const Tensor &logits, const Tensor &target,
                     Reduction reduction, SourceLoc loc) {
  return elementwiseLoss("graph.bce_with_logits", logits, target, reduction,
                         loc);
}

Tensor rand(const Tensor &seed, const Tensor &offset, Shape shape,
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

Tensor randn(const Tensor &seed, const Tensor &offset, Shape shape,
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

Tensor randint(const Tensor &seed, const Tensor &offset, Shape shape,
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

//===----------------------------------------------------------------------===//
// Tensor methods
//===----------------------------------------------------------------------===//

Tensor Tensor::reshape(Shape shape, SourceLoc loc) const {
  return kiln::reshape(*this, std::move(shape), loc);
}
Tensor Tensor::view(Shape shape, SourceLoc loc) const {
  return kiln::reshape(*this, std::move(shape), loc);
}
Tensor Tensor::flatten(int64_t startDim, int64_t endDim, SourceLoc loc) const {
  return kiln::flatten(*this, startDim, endDim, loc);
}
Tensor Tensor::unsqueeze(int64_t dim, SourceLoc loc) const {
  return kiln::unsqueeze(*this, dim, loc);
}
Tensor Tensor::squeeze(int64_t dim, SourceLoc loc) const {
  return kiln::squeeze(*this, dim, loc);
}
Tensor Tensor::permute(Shape dims, SourceLoc loc) const {
  return kiln::permute(*this, std::move(dims), loc);
}
Tensor Tensor::transpose(int64_t dim0, int64_t dim1, SourceLoc loc) const {
  return kiln::transpose(*this, dim0, dim1, loc);
}
Tensor Tensor::t(SourceLoc loc) const {
  if (rank() < 2)
    graph().fail("t", fmt::format("needs a tensor of rank 2 or more, got {}",
                                  shapes::str(shape())),
                 loc);
  return kiln::transpose(*this, -2, -1, loc);
}
Tensor Tensor::expand(Shape shape, SourceLoc loc) const {
  return kiln::broadcast_to(*this, std::move(shape), loc);
}
Tensor Tensor::to(DType dtype, SourceLoc loc) const {
  return kiln::cast(*this, dtype, loc);
}
Tensor Tensor::matmul(const Tensor &other, SourceLoc loc) const {
  return kiln::matmul(*this, other, false, false, loc);
}
Tensor Tensor::sum(Shape dims, bool keepdim, SourceLoc loc) const {
  return kiln::sum(*this, std::move(dims), keepdim, loc);
}
Tensor Tensor::mean(Shape dims, bool keepdim, SourceLoc loc) const {
  return kiln::mean(*this, std::move(dims), keepdim, loc);
}
Tensor Tensor::amax(Shape dims, bool keepdim, SourceLoc loc) const {
  return kiln::amax(*this, std::move(dims), keepdim, loc);
}
Tensor Tensor::amin(Shape dims, bool keepdim, SourceLoc loc) const {
  return kiln::amin(*this, std::move(dims), keepdim, loc);
}
Tensor Tensor::argmax(int64_t dim, bool keepdim, SourceLoc loc) const {
  return kiln::argmax(*this, dim, keepdim, loc);
}
Tensor Tensor::softmax(int64_t dim, SourceLoc loc) const {
  return kiln::softmax(*this, dim, loc);
}
Tensor Tensor::log_softmax(int64_t dim, SourceLoc loc) const {
  return kiln::log_softmax(*this, dim, loc);
}
Tensor Tensor::relu(SourceLoc loc) const { return kiln::relu(*this, loc); }
Tensor Tensor::sigmoid(SourceLoc loc) const { return kiln::sigmoid(*this, loc); }
Tensor Tensor::tanh(SourceLoc loc) const { return kiln::tanh(*this, loc); }
Tensor Tensor::exp(SourceLoc loc) const { return kiln::exp(*this, loc); }
Tensor Tensor::log(SourceLoc loc) const { return kiln::log(*this, loc); }
Tensor Tensor::sqrt(SourceLoc loc) const { return kiln::sqrt(*this, loc); }
Tensor Tensor::abs(SourceLoc loc) const { return kiln::abs(*this, loc); }
Tensor Tensor::neg(SourceLoc loc) const { return kiln::neg(*this, loc); }

} // namespace kiln
