//===- ShapeOperators.cpp - ONNX shape operators as DSL ops ---------------===//
//
// Reshape and its relatives, Transpose, Concat, Slice, Split, Gather,
// Expand, Tile, Pad and Resize. Each folds where its data is a constant
// (shape arithmetic), so that the ops after it see fixed shapes.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/lib/OperatorSupport.h"

#include <fmt/format.h>

#include <cmath>

namespace kiln::onnx {
namespace {

/// A constant with the elements of `c` at `indices` (flat), shape `shape`.
Constant gatherFlat(const Constant &c, const std::vector<int64_t> &indices,
                    Shape shape) {
  Constant out;
  out.shape = std::move(shape);
  out.dtype = c.dtype;
  for (int64_t k : indices) {
    if (isFloat(c.dtype))
      out.f.push_back(c.f[k]);
    else
      out.i.push_back(c.i[k]);
  }
  return out;
}

Constant reshaped(Constant c, Shape shape) {
  c.shape = std::move(shape);
  return c;
}

/// Applies ONNX's Reshape rules (0 copies, -1 infers) to `input`.
Shape reshapeTarget(const Ctx &c, const Shape &input,
                    std::vector<int64_t> target, bool allowZero) {
  int64_t known = 1, infer = -1;
  for (size_t k = 0; k < target.size(); ++k) {
    if (target[k] == 0 && !allowZero) {
      if (k >= input.size())
        c.fail("shape has a 0 beyond the input's rank");
      target[k] = input[k];
    }
    if (target[k] == -1) {
      if (infer >= 0)
        c.fail("shape has more than one -1");
      infer = static_cast<int64_t>(k);
    } else if (target[k] < 0) {
      c.fail(fmt::format("shape has a negative size {}", target[k]));
    } else {
      if (target[k] > 0 && known > kMaxElements / target[k])
        c.fail(fmt::format("shape [{}] has more than 2^32 elements",
                           fmt::join(target, "x")));
      known *= target[k];
    }
  }
  int64_t total = product(input);
  if (infer >= 0) {
    if (known == 0 || total % known != 0)
      c.fail(fmt::format("cannot reshape [{}] to [{}]", fmt::join(input, "x"),
                         fmt::join(target, "x")));
    target[infer] = total / known;
  } else if (known != total) {
    c.fail(fmt::format("cannot reshape [{}] ({} elements) to [{}]",
                       fmt::join(input, "x"), total, fmt::join(target, "x")));
  }
  return target;
}

/// Sets output 0 to `input` reshaped, folding constants.
void setReshaped(Ctx &c, size_t input, const Shape &shape) {
  if (const Constant *k = c.constant(input))
    c.setOutput(0, reshaped(*k, shape));
  else if (c.shape(input) == shape)
    c.setOutput(0, c.tensor(input));
  else
    c.setOutput(0, reshape(c.tensor(input), shape));
}

} // namespace

void convertReshape(Ctx &c) {
  std::vector<int64_t> target =
      c.opset < 5 ? c.attrInts("shape") : c.requireConstant(1, "shape").ints();
  setReshaped(c, 0,
              reshapeTarget(c, c.shape(0), target, c.attrInt("allowzero", 0)));
}

void convertFlatten(Ctx &c) {
  const Shape s = c.shape(0);
  int64_t rank = static_cast<int64_t>(s.size());
  int64_t axis = c.attrInt("axis", 1);
  if (axis < -rank || axis > rank)
    c.fail(fmt::format("axis {} is out of range for rank {}", axis, rank));
  if (axis < 0)
    axis += rank;
  setReshaped(c, 0, {product(s, 0, axis), product(s, axis)});
}

void convertSqueeze(Ctx &c) {
  const Shape s = c.shape(0);
  int64_t rank = static_cast<int64_t>(s.size());
  std::optional<std::vector<int64_t>> axes = axesOf(c, 13, 1);
  std::vector<bool> drop(rank, false);
  if (!axes) {
    for (int64_t d = 0; d < rank; ++d)
      drop[d] = s[d] == 1;
  } else {
    for (int64_t a : *axes) {
      int64_t d = normalizeAxis(c, a, rank);
      if (s[d] != 1)
        c.fail(fmt::format("cannot squeeze dimension {} of size {}", d, s[d]));
      drop[d] = true;
    }
  }
  Shape out;
  for (int64_t d = 0; d < rank; ++d)
    if (!drop[d])
      out.push_back(s[d]);
  setReshaped(c, 0, out);
}

void convertUnsqueeze(Ctx &c) {
  const Shape s = c.shape(0);
  std::optional<std::vector<int64_t>> axes = axesOf(c, 13, 1);
  if (!axes)
    c.fail("axes are required");
  int64_t rank = static_cast<int64_t>(s.size() + axes->size());
  std::vector<bool> inserted(rank, false);
  for (int64_t a : *axes) {
    int64_t d = normalizeAxis(c, a, rank);
    if (inserted[d])
      c.fail("axes repeat");
    inserted[d] = true;
  }
  Shape out;
  size_t next = 0;
  for (int64_t d = 0; d < rank; ++d)
    out.push_back(inserted[d] ? 1 : s[next++]);
  setReshaped(c, 0, out);
}

void convertTranspose(Ctx &c) {
  const Shape s = c.shape(0);
  int64_t rank = static_cast<int64_t>(s.size());
  Shape perm = c.attrInts("perm");
  if (perm.empty())
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  if (static_cast<int64_t>(perm.size()) != rank)
    c.fail("perm must list every dimension");
  std::vector<bool> seen(rank, false);
  for (int64_t &d : perm) {
    d = normalizeAxis(c, d, rank, "perm entry");
    if (seen[d])
      c.fail("perm repeats a dimension");
    seen[d] = true;
  }
  if (const Constant *k = c.constant(0)) {
    Shape out(rank);
    for (int64_t d = 0; d < rank; ++d)
      out[d] = s[perm[d]];
    Shape inStrides = stridesOf(s);
    int64_t n = product(out);
    std::vector<int64_t> indices(n);
    for (int64_t e = 0; e < n; ++e) {
      int64_t rem = e, index = 0;
      for (int64_t d = rank - 1; d >= 0; --d) {
        index += (rem % out[d]) * inStrides[perm[d]];
        rem /= out[d];
      }
      indices[e] = index;
    }
    c.setOutput(0, gatherFlat(*k, indices, out));
    return;
  }
  c.setOutput(0, permute(c.tensor(0), perm));
}

void convertConcat(Ctx &c) {
  int64_t rank = static_cast<int64_t>(c.shape(0).size());
  int64_t axis = normalizeAxis(c, c.attrInt("axis", 0), rank);
  for (size_t k = 1; k < c.inputCount(); ++k) {
    Shape a = c.shape(0), b = c.shape(k);
    if (a.size() != b.size())
      c.fail("inputs differ in rank");
    a[axis] = b[axis] = 0;
    if (a != b)
      c.fail("inputs differ in a dimension other than axis");
  }
  if (c.allConstant()) {
    Shape out = c.shape(0);
    out[axis] = 0;
    for (size_t k = 0; k < c.inputCount(); ++k)
      out[axis] += c.shape(k)[axis];
    int64_t outer = product(out, 0, axis);
    Constant result;
    result.shape = out;
    result.dtype = c.dtype(0);
    for (int64_t o = 0; o < outer; ++o)
      for (size_t k = 0; k < c.inputCount(); ++k) {
        const Constant &in = *c.constant(k);
        int64_t block = product(in.shape, axis);
        for (int64_t e = o * block; e < (o + 1) * block; ++e) {
          if (isFloat(result.dtype))
            result.f.push_back(in.at(e));
          else
            result.i.push_back(in.intAt(e));
        }
      }
    c.setOutput(0, result);
    return;
  }
  std::vector<Tensor> parts;
  for (size_t k = 0; k < c.inputCount(); ++k)
    if (c.has(k) && product(c.shape(k)) > 0)
      parts.push_back(c.tensor(k));
  c.setOutput(0, parts.size() == 1 ? parts[0] : cat(parts, axis));
}

Tensor reverseAxis(const Ctx &c, const Tensor &x, int64_t axis) {
  int64_t n = x.size(axis);
  if (n == 1)
    return x;
  if (!isFloat(x.dtype()))
    c.unsupported("reversing an integer tensor computed at run time");
  Shape perm{axis}, inverse(x.rank());
  for (int64_t d = 0; d < x.rank(); ++d)
    if (d != axis)
      perm.push_back(d);
  for (int64_t d = 0; d < x.rank(); ++d)
    inverse[perm[d]] = d;
  Tensor front = axis == 0 ? x : permute(x, perm);
  Shape shape = front.shape();
  std::vector<double> rows(n);
  for (int64_t k = 0; k < n; ++k)
    rows[k] = static_cast<double>(n - 1 - k);
  Tensor reversed = embedding(reshape(front, {n, product(shape, 1)}),
                              constant(c.graph, {n}, rows, DType::I64));
  reversed = reshape(reversed, shape);
  return axis == 0 ? reversed : permute(reversed, inverse);
}

/// Slices of `x` (constant or tensor) by per-dimension starts, limits and
/// steps; with a negative step, from start down to limit (exclusive).
static void setSlice(Ctx &c, size_t input, size_t output, const Shape &starts,
                     const Shape &limits, const Shape &steps) {
  const Shape s = c.shape(input);
  if (const Constant *k = c.constant(input)) {
    Shape out(s.size());
    for (size_t d = 0; d < s.size(); ++d)
      out[d] = std::max<int64_t>(
          0, steps[d] > 0 ? (limits[d] - starts[d] + steps[d] - 1) / steps[d]
                          : (starts[d] - limits[d] - steps[d] - 1) / -steps[d]);
    Shape inStrides = stridesOf(s);
    int64_t n = product(out);
    std::vector<int64_t> indices(n);
    for (int64_t e = 0; e < n; ++e) {
      int64_t rem = e, index = 0;
      for (int64_t d = static_cast<int64_t>(s.size()) - 1; d >= 0; --d) {
        index += (starts[d] + (rem % out[d]) * steps[d]) * inStrides[d];
        rem /= out[d];
      }
      indices[e] = index;
    }
    c.setOutput(output, gatherFlat(*k, indices, out));
    return;
  }
  // Negative steps: the axis reversed, then sliced forwards.
  Tensor x = c.tensor(input);
  Shape lo = starts, hi = limits, st = steps;
  for (size_t d = 0; d < s.size(); ++d)
    if (st[d] < 0) {
      x = reverseAxis(c, x, static_cast<int64_t>(d));
      lo[d] = s[d] - 1 - starts[d];
      hi[d] = s[d] - 1 - limits[d];
      st[d] = -steps[d];
    }
  bool whole = true;
  for (size_t d = 0; d < s.size(); ++d)
    whole &= lo[d] == 0 && hi[d] == s[d] && st[d] == 1;
  c.setOutput(output, whole ? x : strided_slice(x, lo, hi, st));
}

void convertSlice(Ctx &c) {
  const Shape s = c.shape(0);
  int64_t rank = static_cast<int64_t>(s.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (c.opset < 10) {
    starts = c.attrInts("starts");
    ends = c.attrInts("ends");
    axes = c.attrInts("axes");
  } else {
    starts = c.requireConstant(1, "starts").ints();
    ends = c.requireConstant(2, "ends").ints();
    if (c.has(3))
      axes = c.requireConstant(3, "axes").ints();
    if (c.has(4))
      steps = c.requireConstant(4, "steps").ints();
  }
  if (axes.empty())
    for (size_t k = 0; k < starts.size(); ++k)
      axes.push_back(static_cast<int64_t>(k));
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size())
    c.fail("starts, ends, axes and steps differ in length");
  Shape lo(rank, 0), hi = s, st(rank, 1);
  for (size_t k = 0; k < starts.size(); ++k) {
    int64_t d = normalizeAxis(c, axes[k], rank);
    int64_t size = s[d], step = steps[k];
    if (step == 0)
      c.fail("a step of 0");
    auto clampIndex = [&](int64_t v, int64_t low, int64_t high) {
      if (v < 0)
        v = v < -size ? -1 : v + size;
      return std::clamp<int64_t>(v, low, high);
    };
    if (step > 0) {
      lo[d] = clampIndex(starts[k], 0, size);
      hi[d] = std::max(lo[d], clampIndex(ends[k], 0, size));
    } else {
      // Backwards: from start (at most size - 1) down to end (at least -1).
      lo[d] = clampIndex(starts[k], 0, size - 1);
      hi[d] = std::min(lo[d], clampIndex(ends[k], -1, size - 1));
    }
    st[d] = step;
  }
  if (!c.constant(0))
    for (int64_t d = 0; d < rank; ++d)
      if (hi[d] == lo[d])
        c.unsupported("a Slice with an empty result");
  setSlice(c, 0, 0, lo, hi, st);
}

void convertSplit(Ctx &c) {
  const Shape s = c.shape(0);
  int64_t rank = static_cast<int64_t>(s.size());
  int64_t axis = normalizeAxis(c, c.attrInt("axis", 0), rank);
  std::vector<int64_t> sizes;
  if (c.opset < 13)
    sizes = c.attrInts("split");
  else if (c.has(1))
    sizes = c.requireConstant(1, "split").ints();
  int64_t outputs = c.node.output_size();
  if (sizes.empty()) {
    int64_t n = c.attrInt("num_outputs", outputs);
    int64_t chunk = (s[axis] + n - 1) / n;
    for (int64_t k = 0; k < n; ++k)
      sizes.push_back(std::min(chunk, s[axis] - k * chunk));
  }
  if (static_cast<int64_t>(sizes.size()) != outputs)
    c.fail("split sizes and outputs differ in number");
  int64_t offset = 0;
  for (int64_t k = 0; k < outputs; ++k) {
    if (sizes[k] <= 0)
      c.unsupported("an empty Split output");
    Shape lo(rank, 0), hi = s, st(rank, 1);
    lo[axis] = offset;
    hi[axis] = offset + sizes[k];
    offset += sizes[k];
    if (offset > s[axis])
      c.fail("split sizes exceed the dimension");
    setSlice(c, 0, k, lo, hi, st);
  }
  if (offset != s[axis])
    c.fail("split sizes do not add up to the dimension");
}

void convertGather(Ctx &c) {
  const Shape s = c.shape(0);
  int64_t rank = static_cast<int64_t>(s.size());
  int64_t axis = normalizeAxis(c, c.attrInt("axis", 0), rank);
  const Shape is = c.shape(1);
  Shape out(s.begin(), s.begin() + axis);
  out.insert(out.end(), is.begin(), is.end());
  out.insert(out.end(), s.begin() + axis + 1, s.end());
  int64_t outer = product(s, 0, axis), inner = product(s, axis + 1);
  if (product(is) == 0 || product(s) == 0)
    c.unsupported("a Gather of no elements");
  if (const Constant *indices = c.constant(1)) {
    std::vector<int64_t> idx = indices->ints();
    for (int64_t &v : idx) {
      if (v < -s[axis] || v >= s[axis])
        c.fail(fmt::format("index {} is out of range for size {}", v, s[axis]));
      if (v < 0)
        v += s[axis];
    }
    if (const Constant *data = c.constant(0); data && foldable(out)) {
      std::vector<int64_t> flat;
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t v : idx)
          for (int64_t e = 0; e < inner; ++e)
            flat.push_back((o * s[axis] + v) * inner + e);
      c.setOutput(0, gatherFlat(*data, flat, out));
      return;
    }
  }
  if (const Constant *indices = c.constant(1);
      indices && indices->count() <= 64) {
    std::vector<int64_t> idx = indices->ints();
    for (int64_t &v : idx)
      if (v < 0)
        v += s[axis];
    // A few indices: slices of the data, one per index.
    Tensor x = c.tensor(0);
    std::vector<Tensor> parts;
    for (int64_t v : idx) {
      Shape lo(rank, 0), hi = s;
      lo[axis] = v;
      hi[axis] = v + 1;
      parts.push_back(strided_slice(x, lo, hi));
    }
    Tensor joined = parts.size() == 1 ? parts[0] : cat(parts, axis);
    c.setOutput(0, reshape(joined, out));
    return;
  }
  // Indices computed at run time (or many): an embedding lookup along
  // `axis`.
  Tensor x = c.tensor(0), idx = c.tensor(1);
  if (!isInteger(idx.dtype()))
    c.fail("indices must be integers");
  if (idx.dtype() != DType::I64)
    idx = cast(idx, DType::I64);
  // Negative indices count from the end.
  idx = where(compare(Compare::Lt, idx, scalar_like(idx, 0)),
              idx + scalar_like(idx, double(s[axis])), idx);
  Shape perm;
  perm.push_back(axis);
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis)
      perm.push_back(d);
  Tensor front = axis == 0 ? x : permute(x, perm);
  Tensor table = reshape(front, {s[axis], outer * inner});
  Tensor g = embedding(table, idx); // [idx..., outer*inner]
  Shape gs = is;
  gs.push_back(outer);
  gs.push_back(inner);
  g = reshape(g, gs);
  if (axis != 0) {
    // [idx..., outer, inner] -> [outer, idx..., inner]
    int64_t ir = static_cast<int64_t>(is.size());
    Shape p{ir};
    for (int64_t d = 0; d < ir; ++d)
      p.push_back(d);
    p.push_back(ir + 1);
    g = permute(g, p);
  }
  c.setOutput(0, reshape(g, out));
}

void convertExpand(Ctx &c) {
  std::vector<int64_t> target = c.requireConstant(1, "shape").ints();
  Shape out = broadcastShapes(c, c.shape(0), target);
  checkedCount(out, "the expanded shape");
  if (const Constant *k = c.constant(0); k && foldable(out)) {
    std::vector<int64_t> flat(product(out));
    for (size_t e = 0; e < flat.size(); ++e)
      flat[e] = broadcastIndex(static_cast<int64_t>(e), out, k->shape);
    c.setOutput(0, gatherFlat(*k, flat, out));
    return;
  }
  Tensor x = c.tensor(0);
  c.setOutput(0, x.shape() == out ? x : broadcast_to(x, out));
}

void convertTile(Ctx &c) {
  std::vector<int64_t> repeats = c.requireConstant(1, "repeats").ints();
  Tensor x = c.tensor(0);
  if (static_cast<int64_t>(repeats.size()) != x.rank())
    c.fail("repeats must have one value per dimension");
  Shape tiled = x.shape();
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (repeats[d] < 1 || repeats[d] > 4096)
      c.unsupported("repeats below 1 or above 4096");
    tiled[d] *= repeats[d];
  }
  checkedCount(tiled, "the tiled shape");
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (repeats[d] > 1)
      x = cat(std::vector<Tensor>(repeats[d], x), d);
  }
  c.setOutput(0, x);
}

void convertPad(Ctx &c) {
  std::string mode = c.attrString("mode", "constant");
  if (mode != "constant" && mode != "edge" && mode != "reflect")
    c.unsupported("Pad mode " + mode);
  Tensor x = c.tensor(0);
  std::vector<int64_t> pads;
  double value = 0;
  if (c.opset < 11) {
    pads = c.attrInts("pads");
    value = c.attrFloat("value", 0);
  } else {
    pads = c.requireConstant(1, "pads").ints();
    if (c.has(2))
      value = c.requireConstant(2, "constant_value").scalar("constant_value");
  }
  int64_t rank = x.rank();
  std::vector<int64_t> axes;
  if (c.opset >= 18 && c.has(3))
    axes = c.requireConstant(3, "axes").ints();
  else
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  if (pads.size() != 2 * axes.size())
    c.fail("pads must have two values per padded axis");
  Shape before(rank, 0), after(rank, 0), padded = x.shape();
  for (size_t k = 0; k < axes.size(); ++k) {
    int64_t d = normalizeAxis(c, axes[k], rank);
    before[d] = pads[k];
    after[d] = pads[k + axes.size()];
    if (std::abs(before[d]) > kMaxElements || std::abs(after[d]) > kMaxElements)
      c.fail("pads are out of range");
    padded[d] += before[d] + after[d];
  }
  checkedCount(padded, "the padded shape");
  c.setOutput(0, padTensor(c, x, before, after, mode, value));
}

/// Resize (and Upsample) by whole factors in nearest mode where every
/// coordinate mode gives the same answer: each element repeated, which is
/// what PyTorch's nearest upsampling exports (asymmetric, floor).
void convertResize(Ctx &c, bool upsample) {
  Tensor x = c.tensor(0);
  std::string mode = c.attrString("mode", "nearest");
  if (mode != "nearest")
    c.unsupported("Resize mode " + mode + " (nearest only)");
  std::vector<double> scales;
  if (upsample) {
    scales = c.opset < 9 ? c.attrFloats("scales")
                         : c.requireConstant(1, "scales").doubles();
  } else {
    std::string coordinates =
        c.attrString("coordinate_transformation_mode", "half_pixel");
    std::string nearest = c.attrString("nearest_mode", "round_prefer_floor");
    c.attrFloat("cubic_coeff_a", -0.75);
    c.attrInt("exclude_outside", 0);
    c.attrFloat("extrapolation_value", 0);
    if (c.attrInt("antialias", 0))
      c.unsupported("antialias=1");
    if (c.hasAttr("axes") || c.hasAttr("keep_aspect_ratio_policy"))
      c.unsupported("Resize's axes and keep_aspect_ratio_policy");
    bool repeats =
        (coordinates == "asymmetric" && nearest == "floor") ||
        ((coordinates == "half_pixel" || coordinates == "pytorch_half_pixel") &&
         nearest != "floor" && nearest != "ceil");
    if (!repeats)
      c.unsupported("Resize with coordinate_transformation_mode " +
                    coordinates + " and nearest_mode " + nearest);
    size_t scalesInput = c.opset < 11 ? 1 : 2;
    if (c.has(scalesInput) && c.requireConstant(scalesInput, "scales").count())
      scales = c.requireConstant(scalesInput, "scales").doubles();
    else if (c.has(3)) {
      std::vector<int64_t> sizes = c.requireConstant(3, "sizes").ints();
      if (static_cast<int64_t>(sizes.size()) != x.rank())
        c.fail("sizes must have one value per dimension");
      for (int64_t d = 0; d < x.rank(); ++d)
        scales.push_back(double(sizes[d]) / double(x.size(d)));
    }
  }
  if (static_cast<int64_t>(scales.size()) != x.rank())
    c.fail("scales must have one value per dimension");
  Shape split, repeated, out;
  bool any = false;
  for (int64_t d = 0; d < x.rank(); ++d) {
    double f = scales[d];
    int64_t whole = static_cast<int64_t>(std::llround(f));
    if (!(f >= 1) || std::fabs(f - double(whole)) > 1e-6 || whole > 4096)
      c.unsupported(fmt::format("a Resize by {} (whole upscaling factors "
                                "only)",
                                f));
    split.insert(split.end(), {x.size(d), 1});
    repeated.insert(repeated.end(), {x.size(d), whole});
    out.push_back(x.size(d) * whole);
    any |= whole > 1;
  }
  if (!any) {
    c.setOutput(0, x);
    return;
  }
  checkedCount(out, "the resized shape");
  c.setOutput(0, reshape(broadcast_to(reshape(x, split), repeated), out));
}

} // namespace kiln::onnx
