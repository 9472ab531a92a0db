//===- ElementwiseOps.cpp - The DSL's elementwise ops ---------------------===//
//
// Arithmetic with broadcasting, the unary functions and activations,
// comparisons and `where`.
//
//===----------------------------------------------------------------------===//

#include "frontends/cpp/lib/OpSupport.h"

#include <fmt/format.h>

namespace kiln {
namespace {

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

} // namespace

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

Tensor neg(const Tensor &x, SourceLoc loc) {
  return unary("graph.neg", x, loc);
}
Tensor abs(const Tensor &x, SourceLoc loc) {
  return unary("graph.abs", x, loc);
}
Tensor exp(const Tensor &x, SourceLoc loc) {
  return unary("graph.exp", x, loc);
}
Tensor log(const Tensor &x, SourceLoc loc) {
  return unary("graph.log", x, loc);
}
Tensor sqrt(const Tensor &x, SourceLoc loc) {
  return unary("graph.sqrt", x, loc);
}
Tensor rsqrt(const Tensor &x, SourceLoc loc) {
  return unary("graph.rsqrt", x, loc);
}
Tensor sin(const Tensor &x, SourceLoc loc) {
  return unary("graph.sin", x, loc);
}
Tensor cos(const Tensor &x, SourceLoc loc) {
  return unary("graph.cos", x, loc);
}
Tensor tanh(const Tensor &x, SourceLoc loc) {
  return unary("graph.tanh", x, loc);
}
Tensor erf(const Tensor &x, SourceLoc loc) {
  return unary("graph.erf", x, loc);
}
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

} // namespace kiln
