//===- ShapeOps.cpp - The DSL's shape ops and gathers ---------------------===//
//
// Reshapes, permutations, slices, concatenation and broadcasting, and
// the gathers: one-hot and embedding lookups.
//
//===----------------------------------------------------------------------===//

#include "frontends/cpp/lib/OpSupport.h"

#include <fmt/format.h>

#include <algorithm>

namespace kiln {

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

} // namespace kiln
