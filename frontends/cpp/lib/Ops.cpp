//===- Ops.cpp - The ops of the Kiln C++ DSL ------------------------------===//
//
// Each op checks dtypes here and shapes through the dialect's own rules
// (GraphShapes.h), then records a node. What passes here verifies in MLIR.
// This file holds the checks the op families share (OpSupport.h), the
// arithmetic operators, constants and casts, random numbers and Tensor's
// methods; the families are in ElementwiseOps.cpp, NeuralOps.cpp,
// ReductionOps.cpp and ShapeOps.cpp.
//
//===----------------------------------------------------------------------===//

#include "kiln/Ops.h"

#include "frontends/cpp/lib/OpSupport.h"

#include <fmt/format.h>

namespace kiln {

//===----------------------------------------------------------------------===//
// Checks the op families share (OpSupport.h)
//===----------------------------------------------------------------------===//

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

namespace {

/// Resolves an operator's operands: a scalar becomes a constant of the
/// tensor's dtype.
std::pair<Tensor, Tensor> resolve(const Operand &lhs, const Operand &rhs) {
  const Tensor &like = lhs.tensor ? *lhs.tensor : *rhs.tensor;
  auto get = [&](const Operand &o) {
    return o.tensor ? *o.tensor : scalar_like(like, o.scalar, o.loc);
  };
  return {get(lhs), get(rhs)};
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
// Random numbers
//===----------------------------------------------------------------------===//

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
Tensor Tensor::sigmoid(SourceLoc loc) const {
  return kiln::sigmoid(*this, loc);
}
Tensor Tensor::tanh(SourceLoc loc) const { return kiln::tanh(*this, loc); }
Tensor Tensor::exp(SourceLoc loc) const { return kiln::exp(*this, loc); }
Tensor Tensor::log(SourceLoc loc) const { return kiln::log(*this, loc); }
Tensor Tensor::sqrt(SourceLoc loc) const { return kiln::sqrt(*this, loc); }
Tensor Tensor::abs(SourceLoc loc) const { return kiln::abs(*this, loc); }
Tensor Tensor::neg(SourceLoc loc) const { return kiln::neg(*this, loc); }

} // namespace kiln
