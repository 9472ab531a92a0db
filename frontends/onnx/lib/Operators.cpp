//===- Operators.cpp - ONNX operators as DSL ops --------------------------===//
//
// One converter per ONNX operator of the default domain. A converter reads
// its node's inputs and attributes through NodeContext and sets its
// outputs: DSL tensors, or constants where every input is known (shape
// arithmetic is folded so that Reshape and friends see fixed shapes). An
// attribute value Kiln cannot honour exactly is an error, never an
// approximation.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/lib/Importer.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <map>
#include <numeric>

namespace kiln::onnx {
namespace {

using Ctx = NodeContext;

/// `axis` in [-rank, rank) as a non-negative axis.
int64_t normalizeAxis(const Ctx &c, int64_t axis, int64_t rank,
                      const char *what = "axis") {
  if (axis < -rank || axis >= rank)
    c.fail(fmt::format("{} {} is out of range for rank {}", what, axis, rank));
  return axis < 0 ? axis + rank : axis;
}

int64_t product(const Shape &s, size_t from = 0,
                size_t to = std::numeric_limits<size_t>::max()) {
  auto end = s.begin() + static_cast<std::ptrdiff_t>(std::min(to, s.size()));
  auto begin = s.begin() + static_cast<std::ptrdiff_t>(std::min(from, s.size()));
  return std::accumulate(begin, std::max(begin, end), int64_t(1),
                         std::multiplies<int64_t>());
}

/// Row-major strides of `shape`.
Shape stridesOf(const Shape &shape) {
  Shape strides(shape.size(), 1);
  for (int64_t k = static_cast<int64_t>(shape.size()) - 2; k >= 0; --k)
    strides[k] = strides[k + 1] * shape[k + 1];
  return strides;
}

/// The most elements the importer computes itself (shape arithmetic and
/// constant tables); larger results are left to the graph.
constexpr int64_t kMaxFolded = int64_t(1) << 24;

bool foldable(const Shape &shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d != 0 && n > kMaxFolded / d))
      return false;
    n *= d;
  }
  return true;
}

/// NumPy's broadcast of two shapes.
Shape broadcastShapes(const Ctx &c, const Shape &a, const Shape &b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t k = 0; k < rank; ++k) {
    int64_t da = k < rank - a.size() ? 1 : a[k - (rank - a.size())];
    int64_t db = k < rank - b.size() ? 1 : b[k - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      c.fail(fmt::format("shapes [{}] and [{}] do not broadcast",
                         fmt::join(a, "x"), fmt::join(b, "x")));
    out[k] = da == 1 ? db : da;
  }
  return out;
}

/// The flat index into `shape` (broadcast to `out`) of output element `k`.
int64_t broadcastIndex(int64_t k, const Shape &out, const Shape &shape) {
  int64_t index = 0, stride = 1;
  size_t offset = out.size() - shape.size();
  for (int64_t d = static_cast<int64_t>(out.size()) - 1; d >= 0; --d) {
    int64_t coord = k % out[d];
    k /= out[d];
    if (d >= static_cast<int64_t>(offset)) {
      int64_t size = shape[d - offset];
      index += (size == 1 ? 0 : coord) * stride;
      stride *= size;
    }
  }
  return index;
}

/// Folds an elementwise op over constants with broadcasting.
template <typename F>
Constant foldBinary(const Ctx &c, const Constant &a, const Constant &b,
                    DType dtype, F op) {
  Shape out = broadcastShapes(c, a.shape, b.shape);
  int64_t n = checkedCount(out, "a folded constant");
  std::vector<double> values(n);
  for (int64_t k = 0; k < n; ++k)
    values[k] = op(a.at(broadcastIndex(k, out, a.shape)),
                   b.at(broadcastIndex(k, out, b.shape)));
  return Constant::ofDoubles(out, std::move(values), dtype);
}

/// Folding with exact 64-bit integers (shape arithmetic).
template <typename F>
Constant foldIntegers(const Ctx &c, const Constant &a, const Constant &b,
                      F op) {
  Shape out = broadcastShapes(c, a.shape, b.shape);
  int64_t n = checkedCount(out, "a folded constant");
  std::vector<int64_t> values(n);
  for (int64_t k = 0; k < n; ++k)
    values[k] = op(a.i[broadcastIndex(k, out, a.shape)],
                   b.i[broadcastIndex(k, out, b.shape)]);
  return Constant::ofInts(out, std::move(values), a.dtype);
}

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

/// Axes from the `axes` attribute (before `inputOpset`) or input `index`.
std::optional<std::vector<int64_t>> axesOf(const Ctx &c, int64_t inputOpset,
                                           size_t index) {
  if (c.opset < inputOpset) {
    if (!c.hasAttr("axes"))
      return std::nullopt;
    return c.attrInts("axes");
  }
  if (!c.has(index))
    return std::nullopt;
  return c.requireConstant(index, "axes").ints();
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

Tensor scalar(const Tensor &like, double v) { return scalar_like(like, v); }

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

/// Rounds a folded value to its dtype (float32 folds as float32 does).
double roundTo(DType dtype, double v) {
  return dtype == DType::F32 ? static_cast<double>(static_cast<float>(v)) : v;
}

void unaryOp(Ctx &c, Tensor (*fn)(const Tensor &, SourceLoc),
             double (*fold)(double)) {
  if (const Constant *k = c.constant(0); k && fold && isFloat(k->dtype)) {
    Constant out = *k;
    for (double &v : out.f)
      v = roundTo(out.dtype, fold(v));
    c.setOutput(0, out);
    return;
  }
  c.setOutput(0, fn(c.tensor(0), SourceLoc::current()));
}

Tensor softplus(const Tensor &x) {
  // log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), exact for large |x|.
  return relu(x) + log(scalar(x, 1) + exp(neg(abs(x))));
}

Tensor elu(const Tensor &x, double alpha) {
  Tensor zero = scalar(x, 0);
  return where(compare(Compare::Gt, x, zero), x,
                scalar(x, alpha) * (exp(minimum(x, zero)) - 1.0));
}

/// The second operand of a binary op. Before opset 7, broadcasting was
/// explicit (broadcast=1) and `axis` aligned the second operand's
/// dimensions with the first's from that axis on.
Tensor rhs(Ctx &c, const Tensor &a) {
  Tensor b = c.tensor(1);
  if (c.opset >= 7)
    return b;
  bool broadcast = c.attrInt("broadcast", 0);
  bool hasAxis = c.hasAttr("axis");
  int64_t axis = c.attrInt("axis", 0);
  if (!broadcast) {
    if (a.shape() != b.shape())
      c.fail("operands differ in shape and broadcast is not 1");
    return b;
  }
  if (!hasAxis)
    return b;
  axis = normalizeAxis(c, axis, a.rank());
  int64_t trailing = a.rank() - axis - b.rank();
  if (trailing < 0)
    c.fail("the second operand does not fit at axis");
  Shape shape = b.shape();
  shape.insert(shape.end(), trailing, 1);
  return trailing ? reshape(b, shape) : b;
}

/// Whether a binary node's constant operands can be folded: the same
/// dtype, a result of foldable size, and NumPy broadcasting (before opset
/// 7 broadcasting was explicit: left to rhs()).
bool foldsBinary(const Ctx &c) {
  return c.allConstant() && c.opset >= 7 && c.dtype(0) == c.dtype(1) &&
         foldable(broadcastShapes(c, c.shape(0), c.shape(1)));
}

void binaryOp(Ctx &c, Tensor (*fn)(const Tensor &, const Tensor &, SourceLoc),
              double (*fold)(double, double),
              int64_t (*foldInt)(int64_t, int64_t)) {
  if (foldsBinary(c)) {
    const Constant &a = *c.constant(0), &b = *c.constant(1);
    if (!isFloat(a.dtype))
      c.setOutput(0, foldIntegers(c, a, b, foldInt));
    else
      c.setOutput(0, foldBinary(c, a, b, a.dtype, [&](double x, double y) {
                    return roundTo(a.dtype, fold(x, y));
                  }));
    return;
  }
  Tensor a = c.tensor(0);
  c.setOutput(0, fn(a, rhs(c, a), SourceLoc::current()));
}

void variadic(Ctx &c, Tensor (*fn)(const Tensor &, const Tensor &, SourceLoc)) {
  Tensor acc = c.tensor(0);
  for (size_t k = 1; k < c.inputCount(); ++k)
    acc = fn(acc, c.tensor(k), SourceLoc::current());
  c.setOutput(0, acc);
}

/// `predicate` of two numbers of one kind.
template <typename T> bool holds(Compare predicate, T x, T y) {
  switch (predicate) {
  case Compare::Eq:
    return x == y;
  case Compare::Ne:
    return x != y;
  case Compare::Lt:
    return x < y;
  case Compare::Le:
    return x <= y;
  case Compare::Gt:
    return x > y;
  case Compare::Ge:
    return x >= y;
  }
  return false;
}

void compareOp(Ctx &c, Compare predicate) {
  if (foldsBinary(c) && !isFloat(c.dtype(0))) {
    // Integers compare exactly (no detour through double).
    const Constant &a = *c.constant(0), &b = *c.constant(1);
    Constant out = foldIntegers(c, a, b, [predicate](int64_t x, int64_t y) {
      return int64_t(holds(predicate, x, y));
    });
    out.dtype = DType::I1;
    c.setOutput(0, out);
    return;
  }
  if (foldsBinary(c)) {
    const Constant &a = *c.constant(0), &b = *c.constant(1);
    c.setOutput(0, foldBinary(c, a, b, DType::I1, [predicate](double x,
                                                              double y) {
                  return double(holds(predicate, x, y));
                }));
    return;
  }
  Tensor a = c.tensor(0);
  c.setOutput(0, compare(predicate, a, rhs(c, a)));
}

void convertPow(Ctx &c) {
  if (!isFloat(c.dtype(0)))
    c.unsupported("Pow of an integer base");
  if (c.allConstant() &&
      foldable(broadcastShapes(c, c.shape(0), c.shape(1)))) {
    const Constant &a = *c.constant(0), &b = *c.constant(1);
    c.setOutput(0, foldBinary(c, a, b, a.dtype, [&](double x, double y) {
                  return roundTo(a.dtype, std::pow(x, y));
                }));
    return;
  }
  Tensor x = c.tensor(0);
  if (const Constant *e = c.constant(1); e && e->count() == 1) {
    double p = e->at(0);
    if (p == 1) {
      c.setOutput(0, x);
      return;
    }
    if (p == 2) {
      c.setOutput(0, x * x);
      return;
    }
    if (p == 3) {
      c.setOutput(0, x * x * x);
      return;
    }
    if (p == 0.5) {
      c.setOutput(0, sqrt(x));
      return;
    }
    if (p == -1) {
      c.setOutput(0, scalar(x, 1) / x);
      return;
    }
  }
  Tensor e = c.tensor(1);
  if (e.dtype() != x.dtype())
    e = cast(e, x.dtype());
  c.setOutput(0, pow(x, e));
}

void convertCast(Ctx &c) {
  DType to = dtypeOf(static_cast<int32_t>(c.attrInt("to", 1)), "'to'");
  c.attrInt("saturate", 1); // float8 conversions only
  if (const Constant *k = c.constant(0)) {
    Constant out = *k;
    if (isFloat(to) != isFloat(k->dtype) || to == DType::I1)
      out = Constant::ofDoubles(k->shape, k->doubles(), to);
    out.dtype = to;
    if (to == DType::F32)
      for (double &v : out.f)
        v = static_cast<float>(v);
    c.setOutput(0, out);
    return;
  }
  Tensor x = c.tensor(0);
  c.setOutput(0, x.dtype() == to ? x : cast(x, to));
}

void convertClip(Ctx &c) {
  Tensor x = c.tensor(0);
  if (c.opset < 11) {
    c.setOutput(0, clamp(x, c.attrFloat("min", -INFINITY),
                         c.attrFloat("max", INFINITY)));
    return;
  }
  const Constant *lo = c.constant(1), *hi = c.constant(2);
  if ((!c.has(1) || lo) && (!c.has(2) || hi) && isFloat(x.dtype())) {
    double a = lo ? lo->scalar("min") : -INFINITY,
           b = hi ? hi->scalar("max") : INFINITY;
    if (a <= b) {
      c.setOutput(0, clamp(x, a, b));
      return;
    }
  }
  if (c.has(1))
    x = maximum(x, c.tensor(1));
  if (c.has(2))
    x = minimum(x, c.tensor(2));
  c.setOutput(0, x);
}

void convertWhere(Ctx &c) {
  if (c.allConstant() &&
      foldable(broadcastShapes(c, broadcastShapes(c, c.shape(0), c.shape(1)),
                               c.shape(2)))) {
    const Constant &cond = *c.constant(0), &a = *c.constant(1),
                   &b = *c.constant(2);
    Shape out = broadcastShapes(c, broadcastShapes(c, cond.shape, a.shape),
                                b.shape);
    int64_t n = checkedCount(out, "a folded constant");
    if (a.dtype != b.dtype)
      c.fail("X and Y differ in element type");
    Constant result;
    result.shape = out;
    result.dtype = a.dtype;
    for (int64_t k = 0; k < n; ++k) {
      bool first = cond.at(broadcastIndex(k, out, cond.shape)) != 0;
      const Constant &from = first ? a : b;
      int64_t at = broadcastIndex(k, out, from.shape);
      if (isFloat(result.dtype))
        result.f.push_back(from.f[at]);
      else
        result.i.push_back(from.i[at]);
    }
    c.setOutput(0, std::move(result));
    return;
  }
  c.setOutput(0, where(c.tensor(0), c.tensor(1), c.tensor(2)));
}

/// Boolean ops on 0/1 integers: And(a, b) = a * b != 0, Or = a + b != 0.
void logicOp(Ctx &c, const std::string &op) {
  if (c.allConstant() && c.opset >= 7) {
    const Constant &a = *c.constant(0);
    if (op == "Not") {
      Constant out = Constant::ofDoubles(a.shape, a.doubles(), DType::I1);
      for (int64_t &v : out.i)
        v = !v;
      c.setOutput(0, out);
      return;
    }
    const Constant &b = *c.constant(1);
    if (foldable(broadcastShapes(c, a.shape, b.shape))) {
      c.setOutput(0, foldBinary(c, a, b, DType::I1, [&](double x, double y) {
                    bool p = x != 0, q = y != 0;
                    return double(op == "And" ? p && q
                                  : op == "Or" ? p || q
                                               : p != q);
                  }));
      return;
    }
  }
  Tensor a = cast(c.tensor(0), DType::I32);
  Tensor zero = scalar_like(a, 0);
  if (op == "Not") {
    c.setOutput(0, compare(Compare::Eq, a, zero));
    return;
  }
  Tensor b = cast(rhs(c, c.tensor(0)), DType::I32);
  if (op == "Xor")
    c.setOutput(0, compare(Compare::Ne, a, b));
  else if (op == "And")
    c.setOutput(0, compare(Compare::Ne, a * b, zero));
  else
    c.setOutput(0, compare(Compare::Ne, a + b, zero));
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

/// NumPy's matmul of ranks >= 1.
Tensor matmulNd(const Ctx &c, Tensor a, Tensor b) {
  if (a.rank() == 0 || b.rank() == 0)
    c.fail("MatMul operands must have rank 1 or more");
  bool vecA = a.rank() == 1, vecB = b.rank() == 1;
  if (vecA)
    a = reshape(a, {1, a.size(0)});
  if (vecB)
    b = reshape(b, {b.size(0), 1});
  if (a.size(-1) != b.size(-2))
    c.fail(fmt::format("MatMul of [{}] and [{}]: inner sizes differ",
                       fmt::join(a.shape(), "x"), fmt::join(b.shape(), "x")));
  int64_t m = a.size(-2), n = b.size(-1), k = a.size(-1);
  Tensor r;
  Shape batch;
  if (a.rank() == 2 && b.rank() == 2) {
    r = matmul(a, b);
  } else if (b.rank() == 2) {
    // [..., M, K] x [K, N]: one matmul over the rows of every batch.
    batch.assign(a.shape().begin(), a.shape().end() - 2);
    r = matmul(reshape(a, {product(batch) * m, k}), b);
  } else {
    Shape ba(a.shape().begin(), a.shape().end() - 2);
    Shape bb(b.shape().begin(), b.shape().end() - 2);
    batch = broadcastShapes(c, ba, bb);
    Shape sa = batch, sb = batch;
    sa.insert(sa.end(), {m, k});
    sb.insert(sb.end(), {k, n});
    if (a.shape() != sa)
      a = broadcast_to(a, sa);
    if (b.shape() != sb)
      b = broadcast_to(b, sb);
    int64_t nb = product(batch);
    r = bmm(reshape(a, {nb, m, k}), reshape(b, {nb, k, n}));
  }
  Shape out = batch;
  if (!vecA)
    out.push_back(m);
  if (!vecB)
    out.push_back(n);
  return r.shape() == out ? r : reshape(r, out);
}

void convertGemm(Ctx &c) {
  bool ta = c.attrInt("transA", 0), tb = c.attrInt("transB", 0);
  c.attrInt("broadcast", 1); // before opset 7: C broadcasts as NumPy's
  double alpha = c.attrFloat("alpha", 1), beta = c.attrFloat("beta", 1);
  Tensor y = matmul(c.tensor(0), c.tensor(1), ta, tb);
  if (alpha != 1)
    y = y * scalar(y, alpha);
  if (c.has(2) && beta != 0) {
    Tensor bias = c.tensor(2);
    y = y + (beta == 1 ? bias : bias * scalar(bias, beta));
  }
  c.setOutput(0, y);
}

//===----------------------------------------------------------------------===//
// Padding, convolution, pooling
//===----------------------------------------------------------------------===//

/// Pads `x` by `before`/`after` per dimension with `value` (mode
/// "constant"), its edge values ("edge") or its mirror ("reflect").
Tensor padTensor(const Ctx &c, Tensor x, const Shape &before,
                 const Shape &after, const std::string &mode, double value) {
  for (int64_t d = 0; d < x.rank(); ++d) {
    int64_t lo = before[d], hi = after[d];
    if (lo < 0 || hi < 0) {
      // Negative pads crop.
      Shape starts(x.rank(), 0), limits = x.shape();
      starts[d] = std::max<int64_t>(0, -lo);
      limits[d] = x.size(d) - std::max<int64_t>(0, -hi);
      if (limits[d] < starts[d])
        c.fail("negative pads remove more than the whole dimension");
      x = strided_slice(x, starts, limits);
      lo = std::max<int64_t>(lo, 0);
      hi = std::max<int64_t>(hi, 0);
    }
    if (lo == 0 && hi == 0)
      continue;
    int64_t size = x.size(d);
    auto piece = [&](int64_t index) {
      Shape starts(x.rank(), 0), limits = x.shape();
      starts[d] = index;
      limits[d] = index + 1;
      return strided_slice(x, starts, limits);
    };
    auto block = [&](int64_t count, bool leading) -> std::vector<Tensor> {
      std::vector<Tensor> parts;
      if (count == 0)
        return parts;
      if (mode == "constant") {
        Shape s = x.shape();
        s[d] = count;
        parts.push_back(broadcast_to(scalar(x, value), s));
      } else if (mode == "edge") {
        Shape s = x.shape();
        s[d] = count;
        parts.push_back(broadcast_to(piece(leading ? 0 : size - 1), s));
      } else { // reflect: x[count], ..., x[1] before; x[n-2], ... after
        if (count >= size)
          c.fail("reflect padding must be smaller than the dimension");
        if (count > 256)
          c.unsupported("reflect padding of more than 256 elements");
        for (int64_t k = 0; k < count; ++k)
          parts.push_back(
              piece(leading ? count - k : size - 2 - k));
      }
      return parts;
    };
    std::vector<Tensor> parts = block(lo, true);
    parts.push_back(x);
    for (Tensor &t : block(hi, false))
      parts.push_back(t);
    x = cat(parts, d);
  }
  return x;
}

/// Resolves pads (begin..., end...) of `spatial` dims from the node's
/// auto_pad/pads attributes.
Shape resolvePads(const Ctx &c, const Shape &input, const Shape &kernel,
                  const Shape &strides, const Shape &dilations) {
  size_t n = kernel.size();
  std::string autoPad = c.attrString("auto_pad", "NOTSET");
  Shape pads = c.attrInts("pads");
  if (autoPad == "NOTSET") {
    if (pads.empty())
      pads.assign(2 * n, 0);
    if (pads.size() != 2 * n)
      c.fail(fmt::format("pads has {} values; {} expected", pads.size(),
                         2 * n));
    for (int64_t p : pads)
      if (p < 0)
        c.fail("pads must not be negative");
    return pads;
  }
  pads.assign(2 * n, 0);
  if (autoPad == "VALID")
    return pads;
  if (autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER")
    c.unsupported("auto_pad " + autoPad);
  for (size_t k = 0; k < n; ++k) {
    int64_t in = input[input.size() - n + k];
    int64_t out = (in + strides[k] - 1) / strides[k];
    int64_t total = std::max<int64_t>(
        0, (out - 1) * strides[k] + (kernel[k] - 1) * dilations[k] + 1 - in);
    int64_t small = total / 2, large = total - small;
    pads[k] = autoPad == "SAME_UPPER" ? small : large;
    pads[k + n] = autoPad == "SAME_UPPER" ? large : small;
  }
  return pads;
}

/// Lifts a 1-D spatial op (N, C, L) to 2-D (N, C, 1, L); the attribute
/// lists gain a leading entry.
struct Spatial {
  bool oneD = false;
  Shape lift(const Shape &s, int64_t fill) const {
    if (!oneD)
      return s;
    Shape out{fill};
    out.insert(out.end(), s.begin(), s.end());
    return out;
  }
};

Spatial spatialOf(const Ctx &c, const Tensor &x) {
  if (x.rank() == 3)
    return {true};
  if (x.rank() != 4)
    c.unsupported(fmt::format("rank-{} input (Kiln supports 1-D and 2-D "
                              "spatial ops: rank 3 or 4)",
                              x.rank()));
  return {false};
}

Tensor toFourD(const Tensor &x) {
  return x.rank() == 3 ? reshape(x, {x.size(0), x.size(1), 1, x.size(2)}) : x;
}

Tensor fromFourD(const Tensor &y, bool oneD) {
  return oneD ? reshape(y, {y.size(0), y.size(1), y.size(3)}) : y;
}

/// Pads split into the symmetric part conv/pool take and an explicit pad
/// of the input for the rest.
struct SplitPads {
  Shape symmetric;
  Shape before, after; // extra, per spatial dim
  bool extra = false;
};

SplitPads splitPads(const Shape &pads) {
  size_t n = pads.size() / 2;
  SplitPads s;
  for (size_t k = 0; k < n; ++k) {
    int64_t lo = pads[k], hi = pads[k + n], common = std::min(lo, hi);
    s.symmetric.push_back(common);
    s.before.push_back(lo - common);
    s.after.push_back(hi - common);
    s.extra |= lo != hi;
  }
  return s;
}

Tensor padSpatial(const Ctx &c, const Tensor &x, const SplitPads &p,
                  double value) {
  if (!p.extra)
    return x;
  Shape before{0, 0}, after{0, 0};
  before.insert(before.end(), p.before.begin(), p.before.end());
  after.insert(after.end(), p.after.begin(), p.after.end());
  return padTensor(c, x, before, after, "constant", value);
}

/// A per-spatial-dimension attribute: `n` values, or `fill` repeated when
/// absent. Values below `least` are refused.
Shape spatialAttr(const Ctx &c, const char *name, size_t n, int64_t fill,
                  int64_t least) {
  Shape v = c.attrInts(name);
  if (v.empty())
    return Shape(n, fill);
  if (v.size() != n)
    c.fail(fmt::format("{} has {} values; {} expected", name, v.size(), n));
  for (int64_t x : v)
    if (x < least)
      c.fail(fmt::format("{} holds {}; at least {} expected", name, x,
                         least));
  return v;
}

/// The kernel's spatial sizes, from the weight; a kernel_shape attribute
/// must agree.
Shape kernelOf(const Ctx &c, const Tensor &w, const Tensor &x) {
  if (w.rank() != x.rank())
    c.fail(fmt::format("the weight [{}] must have the input's rank {}",
                       fmt::join(w.shape(), "x"), x.rank()));
  Shape kernel(w.shape().begin() + 2, w.shape().end());
  Shape given = c.attrInts("kernel_shape");
  if (!given.empty() && given != kernel)
    c.fail(fmt::format("kernel_shape [{}] differs from the weight's [{}]",
                       fmt::join(given, "x"), fmt::join(kernel, "x")));
  return kernel;
}

void convertConv(Ctx &c) {
  Tensor x = c.tensor(0), w = c.tensor(1);
  Spatial sp = spatialOf(c, x);
  size_t n = x.rank() - 2;
  Shape kernel = kernelOf(c, w, x);
  Shape strides = spatialAttr(c, "strides", n, 1, 1),
        dilations = spatialAttr(c, "dilations", n, 1, 1);
  Shape pads = resolvePads(c, x.shape(), kernel, strides, dilations);
  SplitPads p = splitPads(pads);
  ConvOptions o;
  o.stride = sp.lift(strides, 1);
  o.dilation = sp.lift(dilations, 1);
  o.padding = sp.lift(p.symmetric, 0);
  o.groups = c.attrInt("group", 1);
  // Asymmetric pads: the input padded explicitly (the pad lists are per
  // spatial dimension of the input as given).
  Tensor x4 = toFourD(padSpatial(c, x, p, 0));
  Tensor y = conv2d(x4, toFourD(w), c.has(2) ? c.tensor(2) : Tensor(), o);
  c.setOutput(0, fromFourD(y, sp.oneD));
}

void convertConvTranspose(Ctx &c) {
  Tensor x = c.tensor(0), w = c.tensor(1);
  Spatial sp = spatialOf(c, x);
  size_t n = x.rank() - 2;
  Shape kernel = kernelOf(c, w, x);
  Shape strides = spatialAttr(c, "strides", n, 1, 1),
        dilations = spatialAttr(c, "dilations", n, 1, 1),
        outputPadding = spatialAttr(c, "output_padding", n, 0, 0);
  Shape pads = c.attrInts("pads");
  Shape outputShape = c.attrInts("output_shape");
  std::string autoPad = c.attrString("auto_pad", "NOTSET");
  if (!outputShape.empty() || (autoPad != "NOTSET" && autoPad != "VALID")) {
    // Pads that give the requested (or SAME) output size.
    if (outputShape.size() > n)
      outputShape.erase(outputShape.begin(),
                        outputShape.end() - static_cast<int64_t>(n));
    if (!outputShape.empty() && outputShape.size() != n)
      c.fail("output_shape must have one size per spatial dimension");
    pads.assign(2 * n, 0);
    for (size_t k = 0; k < n; ++k) {
      int64_t in = x.size(2 + k);
      int64_t out = outputShape.empty() ? in * strides[k] : outputShape[k];
      int64_t total = strides[k] * (in - 1) + outputPadding[k] +
                      (kernel[k] - 1) * dilations[k] + 1 - out;
      if (total < 0) {
        // A larger output than the stride gives: extra rows at the end.
        outputPadding[k] += -total;
        total = 0;
      }
      bool upper = autoPad != "SAME_LOWER";
      pads[k] = upper ? total / 2 : total - total / 2;
      pads[k + n] = total - pads[k];
    }
  }
  if (pads.empty())
    pads.assign(2 * n, 0);
  if (pads.size() != 2 * n)
    c.fail("pads must have two values per spatial dimension");
  for (int64_t p : pads)
    if (p < 0)
      c.fail("pads must not be negative");
  for (size_t k = 0; k < n; ++k)
    if (pads[k] != pads[k + n])
      c.unsupported("asymmetric pads of ConvTranspose");
  ConvOptions o;
  o.stride = sp.lift(strides, 1);
  o.dilation = sp.lift(dilations, 1);
  o.padding = sp.lift(Shape(pads.begin(), pads.begin() + n), 0);
  o.outputPadding = sp.lift(outputPadding, 0);
  o.groups = c.attrInt("group", 1);
  Tensor y = conv_transpose2d(toFourD(x), toFourD(w),
                             c.has(2) ? c.tensor(2) : Tensor(), o);
  c.setOutput(0, fromFourD(y, sp.oneD));
}

void convertPool(Ctx &c, bool isMax) {
  Tensor x = c.tensor(0);
  Spatial sp = spatialOf(c, x);
  size_t n = x.rank() - 2;
  Shape kernel = c.attrInts("kernel_shape");
  if (kernel.size() != n)
    c.fail("kernel_shape must have one size per spatial dimension");
  for (int64_t k : kernel)
    if (k < 1)
      c.fail("kernel sizes must be positive");
  Shape strides = spatialAttr(c, "strides", n, 1, 1);
  Shape dilations = c.attrInts("dilations");
  for (int64_t d : dilations)
    if (d != 1)
      c.unsupported("pooling with dilations other than 1");
  if (c.attrInt("ceil_mode", 0))
    c.unsupported("ceil_mode=1");
  if (isMax && c.wantsOutput(1))
    c.unsupported("MaxPool's Indices output");
  if (isMax && c.attrInt("storage_order", 0))
    c.unsupported("storage_order=1");
  Shape pads = resolvePads(c, x.shape(), kernel, strides, Shape(n, 1));
  SplitPads p = splitPads(pads);
  bool includePad = c.attrInt("count_include_pad", 0);
  // Pooling pads Kiln's kernels take are at most half the kernel; pad the
  // rest explicitly (with -inf for max, zeros that count for average).
  for (size_t k = 0; k < n; ++k)
    if (p.symmetric[k] * 2 > kernel[k] && (isMax || includePad)) {
      p.before[k] += p.symmetric[k];
      p.after[k] += p.symmetric[k];
      p.symmetric[k] = 0;
      p.extra = true;
    }
  if (p.extra && !(isMax || includePad))
    c.unsupported("asymmetric pads of AveragePool without "
                  "count_include_pad");
  for (size_t k = 0; k < n; ++k)
    if (p.symmetric[k] * 2 > kernel[k])
      c.unsupported("pads larger than half the kernel");
  Tensor x4 = toFourD(x);
  if (p.extra)
    x4 = toFourD(padSpatial(c, x, p, isMax ? -INFINITY : 0));
  Tensor y = isMax ? max_pool2d(x4, sp.lift(kernel, 1), sp.lift(strides, 1),
                               sp.lift(p.symmetric, 0))
                   : avg_pool2d(x4, sp.lift(kernel, 1), sp.lift(strides, 1),
                               sp.lift(p.symmetric, 0), includePad);
  c.setOutput(0, fromFourD(y, sp.oneD));
}

void convertGlobalPool(Ctx &c, bool isMax) {
  Tensor x = c.tensor(0);
  if (x.rank() < 3)
    c.fail("input must have spatial dimensions");
  Shape dims;
  for (int64_t d = 2; d < x.rank(); ++d)
    dims.push_back(d);
  c.setOutput(0, isMax ? amax(x, dims, true) : mean(x, dims, true));
}

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

bool isStatistic(const ::onnx::NodeProto &node, int input) {
  return node.op_type() == "BatchNormalization" && (input == 3 || input == 4);
}

void convertBatchNorm(Ctx &c) {
  Tensor x = c.tensor(0);
  double eps = c.attrFloat("epsilon", 1e-5);
  // An export's training_mode=1 asks for batch statistics; a trainable
  // model's forward is inference regardless (its loss entry trains).
  bool modeAttr = c.attrInt("training_mode", 0);
  bool train = c.training() || (modeAttr && !c.trainable);
  double momentum = 1 - c.attrFloat("momentum", 0.9);
  if (!c.attrInt("spatial", 1))
    c.unsupported("spatial=0 (statistics per element, opsets before 9)");
  if (c.opset < 7 && !c.attrInt("is_test", 0) && !c.training())
    c.unsupported("is_test=0 (training mode, opsets before 7)");
  // Batch norm wants [N, C, H, W]: lift [N, C] and [N, C, L].
  Shape original = x.shape();
  if (x.rank() < 2)
    c.fail("input must be [N, C, ...]");
  if (x.rank() != 4)
    x = reshape(x, {x.size(0), x.size(1), x.rank() > 2 ? product(original, 2)
                                                       : 1,
                    1});
  if (!train) {
    Tensor y = batch_norm(x, c.tensor(3), c.tensor(4), c.tensor(1),
                          c.tensor(2), eps);
    c.setOutput(0, y.shape() == original ? y : reshape(y, original));
    // A training export's running statistics pass through unchanged.
    for (int k : {1, 2})
      if (c.wantsOutput(k))
        c.setOutput(k, c.tensor(k + 2));
    return;
  }
  BatchNormResult r = batch_norm_training(x, c.tensor(3), c.tensor(4),
                                          c.tensor(1), c.tensor(2), momentum,
                                          eps);
  c.setOutput(0, r.output.shape() == original ? r.output
                                              : reshape(r.output, original));
  if (c.training()) {
    // The loss entry: the running statistics are the buffers' new values.
    for (int k : {3, 4}) {
      if (c.constant(k))
        c.fail("running statistics must be initializers to be updated");
      c.graph.updateBuffer(c.node.input(k),
                           k == 3 ? r.running_mean : r.running_var);
    }
  }
  if (c.wantsOutput(1))
    c.setOutput(1, r.running_mean);
  if (c.wantsOutput(2)) {
    // ONNX's running variance (training_mode=1) blends in the biased batch
    // variance where PyTorch's (the loss entry's) blends the unbiased one:
    // (1-m) v + m s (n-1)/n from r = (1-m) v + m s.
    Tensor v = c.tensor(4), newVar = r.running_var;
    if (!c.training()) {
      double n = static_cast<double>(x.numElements() / x.size(1));
      Tensor kept = v * scalar(v, 1 - momentum);
      newVar = kept + (newVar - kept) * scalar(v, (n - 1) / n);
    }
    c.setOutput(2, newVar);
  }
}

void convertLayerNorm(Ctx &c) {
  Tensor x = c.tensor(0);
  int64_t axis = normalizeAxis(c, c.attrInt("axis", -1), x.rank());
  // stash_type: the precision of the statistics; Kiln's are at least the
  // input's.
  c.attrInt("stash_type", 1);
  double eps = c.attrFloat("epsilon", 1e-5);
  if (c.wantsOutput(1) || c.wantsOutput(2)) {
    Shape dims;
    for (int64_t d = axis; d < x.rank(); ++d)
      dims.push_back(d);
    Tensor m = mean(x, dims, true), centered = x - m;
    c.setOutput(1, m);
    c.setOutput(2, rsqrt(mean(centered * centered, dims, true) +
                         scalar(x, eps)));
  }
  Shape trailing(x.shape().begin() + axis, x.shape().end());
  Tensor w = c.tensor(1);
  if (w.shape() != trailing)
    w = broadcast_to(w, trailing);
  Tensor b = c.has(2) ? c.tensor(2) : broadcast_to(scalar(x, 0), trailing);
  if (b.shape() != trailing)
    b = broadcast_to(b, trailing);
  c.setOutput(0, layer_norm(x, w, b, eps));
}

Tensor lift4(const Tensor &x) {
  if (x.rank() == 4)
    return x;
  Shape s = x.shape();
  return reshape(x, {s[0], s[1], product(s, 2), 1});
}

void convertInstanceNorm(Ctx &c) {
  Tensor x = c.tensor(0);
  if (x.rank() < 3)
    c.fail("input must be [N, C, spatial...]");
  Tensor y = group_norm(lift4(x), x.size(1), c.tensor(1), c.tensor(2),
                        c.attrFloat("epsilon", 1e-5));
  c.setOutput(0, y.shape() == x.shape() ? y : reshape(y, x.shape()));
}

void convertGroupNorm(Ctx &c) {
  Tensor x = c.tensor(0), w = c.tensor(1), b = c.tensor(2);
  if (x.rank() < 3)
    c.fail("input must be [N, C, spatial...]");
  int64_t groups = c.attrInt("num_groups", 0), channels = x.size(1);
  if (groups < 1 || channels % groups)
    c.fail(fmt::format("num_groups {} does not divide {} channels", groups,
                       channels));
  // Opset 18 gives one scale and bias per group, 21 one per channel.
  auto perChannel = [&](Tensor t) {
    if (t.rank() == 1 && t.size(0) == groups && groups != channels)
      return reshape(broadcast_to(reshape(t, {groups, 1}),
                                 {groups, channels / groups}),
                     {channels});
    return t;
  };
  Tensor y = group_norm(lift4(x), groups, perChannel(w), perChannel(b),
                        c.attrFloat("epsilon", 1e-5));
  c.setOutput(0, y.shape() == x.shape() ? y : reshape(y, x.shape()));
}

void convertSoftmax(Ctx &c, bool isLog) {
  Tensor x = c.tensor(0);
  if (c.opset >= 13) {
    int64_t axis = normalizeAxis(c, c.attrInt("axis", -1), x.rank());
    c.setOutput(0, isLog ? log_softmax(x, axis) : softmax(x, axis));
    return;
  }
  // Before opset 13: over the input flattened to 2-D at `axis`.
  int64_t axis = normalizeAxis(c, c.attrInt("axis", 1), x.rank());
  Tensor flat = reshape(x, {product(x.shape(), 0, axis),
                            product(x.shape(), axis)});
  Tensor y = isLog ? log_softmax(flat, 1) : softmax(flat, 1);
  c.setOutput(0, reshape(y, x.shape()));
}

//===----------------------------------------------------------------------===//
// Shapes
//===----------------------------------------------------------------------===//

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

/// `x` with dimension `axis` in reverse order: an embedding lookup of its
/// rows n-1, ..., 0 with `axis` moved first.
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
void setSlice(Ctx &c, size_t input, size_t output, const Shape &starts,
              const Shape &limits, const Shape &steps) {
  const Shape s = c.shape(input);
  if (const Constant *k = c.constant(input)) {
    Shape out(s.size());
    for (size_t d = 0; d < s.size(); ++d)
      out[d] = std::max<int64_t>(
          0, steps[d] > 0
                 ? (limits[d] - starts[d] + steps[d] - 1) / steps[d]
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
        c.fail(fmt::format("index {} is out of range for size {}", v,
                           s[axis]));
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
    bool repeats = (coordinates == "asymmetric" && nearest == "floor") ||
                   ((coordinates == "half_pixel" ||
                     coordinates == "pytorch_half_pixel") &&
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

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

void convertReduce(Ctx &c, const std::string &op) {
  Tensor x = c.tensor(0);
  int64_t rank = x.rank();
  // ReduceSum takes axes as an input from opset 13, the others from 18.
  int64_t inputOpset = op == "ReduceSum" ? 13 : 18;
  std::optional<std::vector<int64_t>> axes = axesOf(c, inputOpset, 1);
  bool keep = c.attrInt("keepdims", 1);
  Shape dims;
  if (!axes || axes->empty()) {
    if (c.attrInt("noop_with_empty_axes", 0)) {
      c.setOutput(0, x);
      return;
    }
    for (int64_t d = 0; d < rank; ++d)
      dims.push_back(d);
  } else {
    for (int64_t a : *axes)
      dims.push_back(normalizeAxis(c, a, rank));
  }
  Tensor y;
  if (op == "ReduceSum")
    y = sum(x, dims, keep);
  else if (op == "ReduceMean")
    y = mean(x, dims, keep);
  else if (op == "ReduceMax")
    y = amax(x, dims, keep);
  else if (op == "ReduceMin")
    y = amin(x, dims, keep);
  else if (op == "ReduceL1")
    y = sum(abs(x), dims, keep);
  else if (op == "ReduceL2")
    y = sqrt(sum(x * x, dims, keep));
  else if (op == "ReduceSumSquare")
    y = sum(x * x, dims, keep);
  else if (op == "ReduceLogSum")
    y = log(sum(x, dims, keep));
  else { // ReduceLogSumExp, shifted by the maximum
    Tensor m = amax(x, dims, true);
    y = log(sum(exp(x - m), dims, true)) + m;
    if (!keep) {
      Shape s;
      for (int64_t d = 0; d < rank; ++d)
        if (std::find(dims.begin(), dims.end(), d) == dims.end())
          s.push_back(x.size(d));
      y = reshape(y, s);
    }
  }
  c.setOutput(0, y);
}

void convertArg(Ctx &c, bool isMax) {
  Tensor x = c.tensor(0);
  int64_t axis = normalizeAxis(c, c.attrInt("axis", 0), x.rank());
  bool keep = c.attrInt("keepdims", 1);
  Tensor scores = isMax ? x : neg(x);
  if (!c.attrInt("select_last_index", 0)) {
    c.setOutput(0, argmax(scores, axis, keep));
    return;
  }
  // The last of equal maxima: the first in the reversed axis, counted
  // back from the end.
  Tensor first = argmax(reverseAxis(c, scores, axis), axis, keep);
  c.setOutput(0, scalar_like(first, double(x.size(axis) - 1)) - first);
}


//===----------------------------------------------------------------------===//
// Recurrent layers
//===----------------------------------------------------------------------===//

/// Rows of `w` (dim 0: G blocks of `h`) in another gate order: block k of
/// the result is block order[k] of `w`.
Tensor reorderGates(const Tensor &w, const std::vector<int64_t> &order,
                    int64_t h) {
  if (order.size() == 1)
    return w;
  std::vector<Tensor> blocks;
  for (int64_t k : order) {
    Shape lo(w.rank(), 0), hi = w.shape();
    lo[0] = k * h;
    hi[0] = (k + 1) * h;
    blocks.push_back(strided_slice(w, lo, hi));
  }
  return cat(blocks, 0);
}

/// Slab `d` of `t` along dim 0, without that dim.
Tensor direction(const Tensor &t, int64_t d) {
  Shape lo(t.rank(), 0), hi = t.shape();
  lo[0] = d;
  hi[0] = d + 1;
  Shape rest(t.shape().begin() + 1, t.shape().end());
  return reshape(strided_slice(t, lo, hi), rest);
}

/// LSTM, GRU and RNN onto Kiln's recurrence (PyTorch's cells): the input
/// projection is one matmul per direction, the loop over time one
/// graph.recurrence.
void convertRecurrent(Ctx &c, Cell cell) {
  int64_t gates = cell == Cell::Lstm ? 4 : cell == Cell::Gru ? 3 : 1;
  // ONNX's gate order -> PyTorch's: LSTM i,o,f,c -> i,f,c,o; GRU z,r,h ->
  // r,z,h.
  std::vector<int64_t> order = cell == Cell::Lstm  ? std::vector<int64_t>{0, 2, 3, 1}
                               : cell == Cell::Gru ? std::vector<int64_t>{1, 0, 2}
                                                   : std::vector<int64_t>{0};
  std::vector<std::string> defaults =
      cell == Cell::Lstm  ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
      : cell == Cell::Gru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                          : std::vector<std::string>{"Tanh"};
  std::string dir = c.attrString("direction", "forward");
  if (dir != "forward" && dir != "reverse" && dir != "bidirectional")
    c.fail("direction must be forward, reverse or bidirectional");
  int64_t dirs = dir == "bidirectional" ? 2 : 1;
  if (c.hasAttr("activations")) {
    for (const auto &attr : c.node.attribute())
      if (attr.name() == "activations")
        for (int k = 0; k < attr.strings_size(); ++k)
          if (attr.strings(k) != defaults[k % defaults.size()])
            c.unsupported("activation " + attr.strings(k));
  }
  c.attrFloats("activation_alpha");
  c.attrFloats("activation_beta");
  if (c.hasAttr("clip"))
    c.unsupported("clip");
  if (c.attrInt("input_forget", 0))
    c.unsupported("input_forget=1");
  if (cell == Cell::Gru && !c.attrInt("linear_before_reset", 0))
    c.unsupported("linear_before_reset=0 (Kiln's GRU cell is PyTorch's, "
                  "linear_before_reset=1)");
  if (cell == Cell::Lstm && c.has(7))
    c.unsupported("peephole weights P");
  int64_t layout = c.attrInt("layout", 0);
  Tensor x = c.tensor(0);
  if (x.rank() != 3)
    c.fail("X must have rank 3");
  if (layout == 0)
    x = permute(x, {1, 0, 2}); // [B, T, I]
  int64_t batch = x.size(0), steps = x.size(1), inputSize = x.size(2);
  Tensor w = c.tensor(1), r = c.tensor(2);
  if (w.rank() != 3 || r.rank() != 3)
    c.fail("W and R must have rank 3");
  int64_t h = c.attrInt("hidden_size", r.size(-1));
  if (h < 1)
    c.fail("hidden_size must be positive");
  if (w.shape() != Shape{dirs, gates * h, inputSize} ||
      r.shape() != Shape{dirs, gates * h, h})
    c.fail(fmt::format("W [{}] and R [{}] do not match {} direction(s), "
                       "hidden_size {} and input size {}",
                       fmt::join(w.shape(), "x"), fmt::join(r.shape(), "x"),
                       dirs, h, inputSize));
  if (const Constant *lens = c.constant(4)) {
    for (int64_t v : lens->ints())
      if (v != steps)
        c.unsupported("sequence_lens shorter than the sequence");
  } else if (c.has(4)) {
    c.unsupported("sequence_lens computed at run time");
  }
  auto expect = [&](size_t input, const char *what, const Shape &shape) {
    if (c.has(input) && c.shape(input) != shape)
      c.fail(fmt::format("{} is [{}], expected [{}]", what,
                         fmt::join(c.shape(input), "x"),
                         fmt::join(shape, "x")));
  };
  // Initial states are [D, B, H] (layout 0) or [B, D, H] (layout 1).
  Shape stateShape = layout == 0 ? Shape{dirs, batch, h} : Shape{batch, dirs, h};
  expect(3, "B", {dirs, 2 * gates * h});
  expect(5, "initial_h", stateShape);
  if (cell == Cell::Lstm)
    expect(6, "initial_c", stateShape);
  auto initialState = [&](size_t input) {
    Tensor t = c.tensor(input);
    return layout == 0 ? t : permute(t, {1, 0, 2});
  };
  std::vector<Tensor> ys, hs, cs;
  for (int64_t d = 0; d < dirs; ++d) {
    bool reverse = dir == "reverse" || d == 1;
    Tensor wd = reorderGates(direction(w, d), order, h);
    Tensor rd = reorderGates(direction(r, d), order, h);
    Tensor wb, rb;
    if (c.has(3)) {
      Tensor bd = direction(c.tensor(3), d); // [2 G H]
      wb = reorderGates(strided_slice(bd, {0}, {gates * h}), order, h);
      rb = reorderGates(strided_slice(bd, {gates * h}, {2 * gates * h}), order, h);
    } else {
      rb = broadcast_to(scalar(x, 0), {gates * h});
    }
    Tensor gx = matmul(reshape(x, {batch * steps, inputSize}), wd, false, true);
    if (wb.valid())
      gx = gx + wb;
    gx = reshape(gx, {batch, steps, gates * h});
    Tensor state;
    if (c.has(5) || (cell == Cell::Lstm && c.has(6))) {
      Tensor h0 = c.has(5) ? direction(initialState(5), d)
                           : broadcast_to(scalar(x, 0), {batch, h});
      state = h0;
      if (cell == Cell::Lstm) {
        Tensor c0 = c.has(6) ? direction(initialState(6), d)
                             : broadcast_to(scalar(x, 0), {batch, h});
        state = cat({h0, c0}, 1);
      }
    }
    RecurrenceResult res = recurrence(cell, gx, rd, rb, state, reverse);
    ys.push_back(res.hidden); // [B, T, H]
    int64_t last = reverse ? 0 : steps - 1;
    hs.push_back(reshape(strided_slice(res.hidden, {0, last, 0}, {batch, last + 1, h}),
                         {1, batch, h}));
    if (cell == Cell::Lstm) {
      int64_t width = res.saved.size(2);
      cs.push_back(reshape(strided_slice(res.saved, {0, last, width - h},
                                 {batch, last + 1, width}),
                           {1, batch, h}));
    }
  }
  // Y: [T, D, B, H] (layout 0) or [B, T, D, H] (layout 1).
  std::vector<Tensor> parts;
  for (Tensor &y : ys)
    parts.push_back(layout == 0 ? reshape(permute(y, {1, 0, 2}),
                                          {steps, 1, batch, h})
                                : reshape(y, {batch, steps, 1, h}));
  auto joined = [](std::vector<Tensor> &v, int64_t axis) {
    return v.size() == 1 ? v[0] : cat(v, axis);
  };
  if (c.wantsOutput(0))
    c.setOutput(0, joined(parts, layout == 0 ? 1 : 2));
  auto finalState = [&](std::vector<Tensor> &v) {
    Tensor t = joined(v, 0); // [D, B, H]
    return layout == 0 ? t : permute(t, {1, 0, 2});
  };
  if (c.wantsOutput(1))
    c.setOutput(1, finalState(hs));
  if (cell == Cell::Lstm && c.wantsOutput(2))
    c.setOutput(2, finalState(cs));
}

//===----------------------------------------------------------------------===//
// Constants and shapes of values
//===----------------------------------------------------------------------===//

void convertConstant(Ctx &c) {
  if (c.hasAttr("value"))
    c.setOutput(0, c.attrTensor("value"));
  else if (c.hasAttr("value_float"))
    c.setOutput(0, Constant::ofDoubles({}, {c.attrFloat("value_float", 0)},
                                       DType::F32));
  else if (c.hasAttr("value_floats")) {
    std::vector<double> v = c.attrFloats("value_floats");
    c.setOutput(0, Constant::ofDoubles({int64_t(v.size())}, v, DType::F32));
  } else if (c.hasAttr("value_int"))
    c.setOutput(0, Constant::ofInts({}, {c.attrInt("value_int", 0)}));
  else if (c.hasAttr("value_ints")) {
    std::vector<int64_t> v = c.attrInts("value_ints");
    c.setOutput(0, Constant::ofInts({int64_t(v.size())}, v));
  } else
    c.unsupported("a Constant that is not a tensor, float(s) or int(s)");
}

void convertShape(Ctx &c) {
  const Shape s = c.shape(0);
  int64_t rank = static_cast<int64_t>(s.size());
  int64_t start = c.attrInt("start", 0), end = c.attrInt("end", rank);
  auto clampIndex = [&](int64_t v) {
    return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank);
  };
  start = clampIndex(start);
  end = std::max(start, clampIndex(end));
  std::vector<int64_t> dims(s.begin() + start, s.begin() + end);
  c.setOutput(0, Constant::ofInts({end - start}, dims));
}

void convertConstantOfShape(Ctx &c) {
  std::vector<int64_t> shape = c.requireConstant(0, "shape").ints();
  Constant fill = c.hasAttr("value")
                      ? c.attrTensor("value")
                      : Constant::ofDoubles({1}, {0.0}, DType::F32);
  fill.scalar("value");
  int64_t n = checkedCount(shape, "the result");
  if (!foldable(shape)) {
    Constant one = Constant::ofDoubles({}, {fill.at(0)}, fill.dtype);
    c.setOutput(0, broadcast_to(toTensor(c.graph, one), shape));
    return;
  }
  c.setOutput(0, Constant::ofDoubles(shape,
                                     std::vector<double>(n, fill.at(0)),
                                     fill.dtype));
}

void convertRange(Ctx &c) {
  const Constant &start = c.requireConstant(0, "start"),
                 &limit = c.requireConstant(1, "limit"),
                 &delta = c.requireConstant(2, "delta");
  double a = start.scalar("start"), b = limit.scalar("limit"),
         d = delta.scalar("delta");
  if (d == 0 || !std::isfinite(a) || !std::isfinite(b) || !std::isfinite(d))
    c.fail("start, limit and delta must be finite and delta not 0");
  if (!(std::fabs((b - a) / d) < double(kMaxFolded)))
    c.unsupported("a Range of more than 2^24 elements");
  int64_t n = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((b - a) / d)));
  if (!foldable({n}))
    c.unsupported(fmt::format("a Range of {} elements (at most 2^24)", n));
  std::vector<double> values(n);
  for (int64_t k = 0; k < n; ++k)
    values[k] = a + k * d;
  c.setOutput(0, Constant::ofDoubles({n}, values, start.dtype));
}

void convertTrilu(Ctx &c) {
  Shape shape = c.shape(0);
  if (shape.size() < 2)
    c.fail("input must have rank 2 or more");
  int64_t k = c.has(1) ? static_cast<int64_t>(
                             c.requireConstant(1, "k").scalar("k"))
                       : 0;
  bool upper = c.attrInt("upper", 1);
  int64_t rows = shape[shape.size() - 2], cols = shape.back();
  auto kept = [&](int64_t i, int64_t j) {
    return upper ? j - i >= k : j - i <= k;
  };
  if (const Constant *x = c.constant(0)) {
    // A constant (a causal mask being built): folded.
    Constant out = *x;
    for (int64_t e = 0; e < out.count(); ++e) {
      int64_t j = e % cols, i = (e / cols) % rows;
      if (!kept(i, j)) {
        if (isFloat(out.dtype))
          out.f[e] = 0;
        else
          out.i[e] = 0;
      }
    }
    c.setOutput(0, out);
    return;
  }
  Tensor x = c.tensor(0);
  std::vector<double> keep(rows * cols);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      keep[i * cols + j] = kept(i, j);
  Tensor mask = constant(c.graph, {rows, cols}, keep, DType::I1);
  c.setOutput(0, where(mask, x, scalar_like(x, 0)));
}

/// ScatterND of constants (exporters emit it for tables a model fills in
/// place, e.g. sinusoidal positions): folded.
void convertScatterND(Ctx &c) {
  if (c.attrString("reduction", "none") != "none")
    c.unsupported("ScatterND with a reduction");
  const Constant &data = c.requireConstant(0, "data");
  const Constant &indices = c.requireConstant(1, "indices");
  const Constant &updates = c.requireConstant(2, "updates");
  Shape ds = data.shape, is = indices.shape;
  if (is.empty())
    c.fail("indices must have rank 1 or more");
  int64_t depth = is.back();
  if (depth > static_cast<int64_t>(ds.size()))
    c.fail("indices index more dimensions than the data has");
  int64_t slice = product(ds, depth), count = product(is, 0, is.size() - 1);
  if (updates.count() != count * slice)
    c.fail("updates do not match indices and data");
  Constant out = data;
  Shape strides = stridesOf(ds);
  std::vector<int64_t> idx = indices.ints();
  for (int64_t u = 0; u < count; ++u) {
    int64_t base = 0;
    for (int64_t d = 0; d < depth; ++d) {
      int64_t v = idx[u * depth + d];
      if (v < -ds[d] || v >= ds[d])
        c.fail(fmt::format("index {} is out of range for size {}", v, ds[d]));
      base += (v < 0 ? v + ds[d] : v) * strides[d];
    }
    for (int64_t e = 0; e < slice; ++e) {
      if (isFloat(out.dtype))
        out.f[base + e] = updates.at(u * slice + e);
      else
        out.i[base + e] = updates.intAt(u * slice + e);
    }
  }
  c.setOutput(0, out);
}

void convertIdentity(Ctx &c) {
  if (const Constant *k = c.constant(0))
    c.setOutput(0, *k);
  else
    c.setOutput(0, c.tensor(0));
}

void convertDropout(Ctx &c) {
  bool train = c.training();
  c.attrInt("seed", 0); // Kiln's dropout draws from the step's stream
  if (c.has(2)) {
    const Constant *mode = c.constant(2);
    if (!mode && !train && !c.trainable)
      c.unsupported("training_mode computed at run time");
    if (mode && mode->scalar("training_mode") != 0 && !train && !c.trainable)
      c.unsupported("training_mode=1 in an inference entry (Kiln drops out "
                    "in the loss entry, with its own random numbers)");
    if (train && mode)
      train = mode->scalar("training_mode") != 0;
  }
  // The ratio matters only in training.
  double ratio = c.opset < 12     ? c.attrFloat("ratio", 0.5)
                 : c.has(1) && train ? c.requireConstant(1, "ratio").scalar("ratio")
                                     : 0.5;
  c.attrInt("is_test", 0);
  Tensor x = c.tensor(0);
  if (c.wantsOutput(1))
    c.unsupported("Dropout's mask output");
  if (!train || ratio == 0) {
    c.setOutput(0, x);
    return;
  }
  if (!(ratio > 0 && ratio < 1))
    c.fail(fmt::format("ratio {} is not in [0, 1)", ratio));
  Graph::RandomStream stream = c.graph.randomStream(x.numElements());
  Tensor u = rand(stream.seed, stream.offset, x.shape(), 0.0, 1.0,
                           x.dtype());
  Tensor keep = cast(compare(Compare::Ge, u, scalar(u, ratio)), x.dtype());
  c.setOutput(0, x * keep * scalar(x, 1 / (1 - ratio)));
}

void convertGelu(Ctx &c) {
  Tensor x = c.tensor(0);
  if (c.attrString("approximate", "none") == "none") {
    c.setOutput(0, gelu(x));
    return;
  }
  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  Tensor inner = scalar(x, std::sqrt(2 / M_PI)) *
                 (x + scalar(x, 0.044715) * x * x * x);
  c.setOutput(0, scalar(x, 0.5) * x * (scalar(x, 1) + tanh(inner)));
}

//===----------------------------------------------------------------------===//
// The table
//===----------------------------------------------------------------------===//

const std::map<std::string, Converter> &converters() {
  static const std::map<std::string, Converter> table = [] {
    std::map<std::string, Converter> t;
    auto unary = [&](const char *name, Tensor (*fn)(const Tensor &, SourceLoc),
                     double (*fold)(double)) {
      t[name] = [fn, fold](Ctx &c) { unaryOp(c, fn, fold); };
    };
    unary("Abs", abs, [](double v) { return std::fabs(v); });
    unary("Exp", exp, [](double v) { return std::exp(v); });
    unary("Log", log, [](double v) { return std::log(v); });
    unary("Sqrt", sqrt, [](double v) { return std::sqrt(v); });
    unary("Sin", sin, [](double v) { return std::sin(v); });
    unary("Cos", cos, [](double v) { return std::cos(v); });
    unary("Tanh", tanh, [](double v) { return std::tanh(v); });
    unary("Erf", erf, [](double v) { return std::erf(v); });
    unary("Sigmoid", sigmoid, [](double v) { return 1 / (1 + std::exp(-v)); });
    unary("Relu", relu, [](double v) { return v > 0 ? v : 0.0; });
    t["Neg"] = [](Ctx &c) {
      if (const Constant *k = c.constant(0)) {
        Constant out = *k;
        for (double &v : out.f)
          v = -v;
        for (int64_t &v : out.i)
          v = -v;
        c.setOutput(0, out);
        return;
      }
      c.setOutput(0, neg(c.tensor(0)));
    };
    t["Reciprocal"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, scalar(x, 1) / x);
    };
    t["Softplus"] = [](Ctx &c) { c.setOutput(0, softplus(c.tensor(0))); };
    t["Softsign"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, x / (scalar(x, 1) + abs(x)));
    };
    t["Mish"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, x * tanh(softplus(x)));
    };
    t["Elu"] = [](Ctx &c) {
      c.setOutput(0, elu(c.tensor(0), c.attrFloat("alpha", 1)));
    };
    t["Celu"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      double alpha = c.attrFloat("alpha", 1);
      c.setOutput(0, elu(x / scalar(x, alpha), 1) * scalar(x, alpha));
    };
    t["Selu"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      double alpha = c.attrFloat("alpha", 1.67326319217681884765625);
      double gamma = c.attrFloat("gamma", 1.05070102214813232421875);
      c.setOutput(0, elu(x, alpha) * scalar(x, gamma));
    };
    t["LeakyRelu"] = [](Ctx &c) {
      c.setOutput(0, leaky_relu(c.tensor(0), c.attrFloat("alpha", 0.01)));
    };
    t["PRelu"] = [](Ctx &c) {
      Tensor x = c.tensor(0), slope = c.tensor(1);
      // Before opset 7 a 1-D slope is per channel.
      if (c.opset < 7 && slope.rank() == 1 && x.rank() > 2 &&
          slope.size(0) == x.size(1) && slope.size(0) > 1) {
        Shape s{slope.size(0)};
        s.insert(s.end(), x.rank() - 2, 1);
        slope = reshape(slope, s);
      }
      c.setOutput(0, where(compare(Compare::Lt, x, scalar(x, 0)), x * slope,
                            x));
    };
    t["ThresholdedRelu"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, where(compare(Compare::Gt, x,
                                    scalar(x, c.attrFloat("alpha", 1))),
                            x, scalar(x, 0)));
    };
    t["HardSigmoid"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, clamp(x * scalar(x, c.attrFloat("alpha", 0.2)) +
                               scalar(x, c.attrFloat("beta", 0.5)),
                           0, 1));
    };
    t["HardSwish"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, x * clamp(x * scalar(x, 1.0 / 6) + scalar(x, 0.5), 0, 1));
    };
    t["Sign"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      Tensor zero = scalar(x, 0);
      c.setOutput(0, cast(compare(Compare::Gt, x, zero), x.dtype()) -
                         cast(compare(Compare::Lt, x, zero), x.dtype()));
    };
    t["Gelu"] = convertGelu;
    // Integers fold exactly, wrapping as two's complement (exporters use
    // INT64_MAX for "to the end").
    t["Add"] = [](Ctx &c) {
      binaryOp(
          c, add, [](double a, double b) { return a + b; },
          [](int64_t a, int64_t b) {
            return static_cast<int64_t>(uint64_t(a) + uint64_t(b));
          });
    };
    t["Sub"] = [](Ctx &c) {
      binaryOp(
          c, sub, [](double a, double b) { return a - b; },
          [](int64_t a, int64_t b) {
            return static_cast<int64_t>(uint64_t(a) - uint64_t(b));
          });
    };
    t["Mul"] = [](Ctx &c) {
      binaryOp(
          c, mul, [](double a, double b) { return a * b; },
          [](int64_t a, int64_t b) {
            return static_cast<int64_t>(uint64_t(a) * uint64_t(b));
          });
    };
    t["Div"] = [](Ctx &c) {
      if (foldsBinary(c) && !isFloat(c.dtype(0))) {
        const Constant &a = *c.constant(0), &b = *c.constant(1);
        for (int64_t v : b.i)
          if (v == 0)
            c.fail("integer division by zero");
        c.setOutput(0, foldIntegers(c, a, b, [](int64_t x, int64_t y) {
                      // INT64_MIN / -1 overflows: it wraps.
                      return y == -1 ? static_cast<int64_t>(0 - uint64_t(x))
                                     : x / y;
                    }));
        return;
      }
      binaryOp(
          c, div, [](double a, double b) { return a / b; },
          [](int64_t a, int64_t b) { return a / b; });
    };
    t["Pow"] = convertPow;
    t["Max"] = [](Ctx &c) { variadic(c, maximum); };
    t["Min"] = [](Ctx &c) { variadic(c, minimum); };
    t["Sum"] = [](Ctx &c) { variadic(c, add); };
    t["Mean"] = [](Ctx &c) {
      variadic(c, add);
      Tensor s = c.outputs()[0].tensor;
      c.setOutput(0, s / scalar(s, double(c.inputCount())));
    };
    t["Equal"] = [](Ctx &c) { compareOp(c, Compare::Eq); };
    t["Less"] = [](Ctx &c) { compareOp(c, Compare::Lt); };
    t["LessOrEqual"] = [](Ctx &c) { compareOp(c, Compare::Le); };
    t["Greater"] = [](Ctx &c) { compareOp(c, Compare::Gt); };
    t["GreaterOrEqual"] = [](Ctx &c) { compareOp(c, Compare::Ge); };
    for (const char *op : {"Not", "And", "Or", "Xor"})
      t[op] = [op = std::string(op)](Ctx &c) { logicOp(c, op); };
    t["Where"] = convertWhere;
    t["Cast"] = convertCast;
    t["Clip"] = convertClip;
    t["MatMul"] = [](Ctx &c) {
      c.setOutput(0, matmulNd(c, c.tensor(0), c.tensor(1)));
    };
    t["Gemm"] = convertGemm;
    t["Conv"] = convertConv;
    t["ConvTranspose"] = convertConvTranspose;
    t["MaxPool"] = [](Ctx &c) { convertPool(c, true); };
    t["AveragePool"] = [](Ctx &c) { convertPool(c, false); };
    t["GlobalAveragePool"] = [](Ctx &c) { convertGlobalPool(c, false); };
    t["GlobalMaxPool"] = [](Ctx &c) { convertGlobalPool(c, true); };
    t["BatchNormalization"] = convertBatchNorm;
    t["LayerNormalization"] = convertLayerNorm;
    t["InstanceNormalization"] = convertInstanceNorm;
    t["GroupNormalization"] = convertGroupNorm;
    t["Softmax"] = [](Ctx &c) { convertSoftmax(c, false); };
    t["LogSoftmax"] = [](Ctx &c) { convertSoftmax(c, true); };
    t["Reshape"] = convertReshape;
    t["Flatten"] = convertFlatten;
    t["Squeeze"] = convertSqueeze;
    t["Unsqueeze"] = convertUnsqueeze;
    t["Transpose"] = convertTranspose;
    t["Concat"] = convertConcat;
    t["Slice"] = convertSlice;
    t["Split"] = convertSplit;
    t["Gather"] = convertGather;
    t["Expand"] = convertExpand;
    t["Tile"] = convertTile;
    t["Pad"] = convertPad;
    for (const char *op :
         {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceL1",
          "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"})
      t[op] = [op = std::string(op)](Ctx &c) { convertReduce(c, op); };
    t["ArgMax"] = [](Ctx &c) { convertArg(c, true); };
    t["ArgMin"] = [](Ctx &c) { convertArg(c, false); };
    t["Constant"] = convertConstant;
    t["Shape"] = convertShape;
    t["Size"] = [](Ctx &c) {
      c.setOutput(0, Constant::ofInts({}, {product(c.shape(0))}));
    };
    t["ConstantOfShape"] = convertConstantOfShape;
    t["Range"] = convertRange;
    t["Identity"] = convertIdentity;
    t["Dropout"] = convertDropout;
    t["LSTM"] = [](Ctx &c) { convertRecurrent(c, Cell::Lstm); };
    t["GRU"] = [](Ctx &c) { convertRecurrent(c, Cell::Gru); };
    t["RNN"] = [](Ctx &c) { convertRecurrent(c, Cell::Tanh); };
    t["CastLike"] = [](Ctx &c) {
      DType to = c.dtype(1);
      if (const Constant *k = c.constant(0)) {
        c.setOutput(0, Constant::ofDoubles(k->shape, k->doubles(), to));
        return;
      }
      Tensor x = c.tensor(0);
      c.setOutput(0, x.dtype() == to ? x : cast(x, to));
    };
    t["IsNaN"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, compare(Compare::Ne, x, x));
    };
    t["IsInf"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      bool positive = c.attrInt("detect_positive", 1),
           negative = c.attrInt("detect_negative", 1);
      // Nothing is below -inf: the empty selection.
      Tensor a = positive && negative ? abs(x)
                 : positive           ? x
                 : negative           ? neg(x)
                                      : Tensor();
      c.setOutput(0, a.valid()
                         ? compare(Compare::Eq, a, scalar(x, INFINITY))
                         : compare(Compare::Lt, x, scalar(x, -INFINITY)));
    };
    t["Sinh"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, (exp(x) - exp(neg(x))) * scalar(x, 0.5));
    };
    t["Cosh"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, (exp(x) + exp(neg(x))) * scalar(x, 0.5));
    };
    t["Tan"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, sin(x) / cos(x));
    };
    t["Asinh"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, log(x + sqrt(x * x + scalar(x, 1))));
    };
    t["Acosh"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, log(x + sqrt(x * x - scalar(x, 1))));
    };
    t["Atanh"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, log((scalar(x, 1) + x) / (scalar(x, 1) - x)) *
                         scalar(x, 0.5));
    };
    t["Shrink"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      double bias = c.attrFloat("bias", 0), lambd = c.attrFloat("lambd", 0.5);
      Tensor zero = scalar(x, 0);
      c.setOutput(0, where(compare(Compare::Lt, x, scalar(x, -lambd)),
                            x + scalar(x, bias),
                            where(compare(Compare::Gt, x, scalar(x, lambd)),
                                   x - scalar(x, bias), zero)));
    };
    t["Trilu"] = convertTrilu;
    t["ScatterND"] = convertScatterND;
    t["Resize"] = [](Ctx &c) { convertResize(c, false); };
    t["Upsample"] = [](Ctx &c) { convertResize(c, true); };
    return t;
  }();
  return table;
}

} // namespace

const Converter *findConverter(const std::string &opType) {
  const auto &table = converters();
  auto it = table.find(opType);
  return it == table.end() ? nullptr : &it->second;
}

bool isSettingInput(const ::onnx::NodeProto &node, int input) {
  const std::string &op = node.op_type();
  return ((op == "Resize" || op == "Upsample") && input >= 1) ||
         (op == "Clip" && input >= 1) || (op == "Pad" && input == 2) ||
         (op == "Dropout" && input == 1) || op == "Range" ||
         op == "ConstantOfShape";
}

bool isBatchNormStatistic(const ::onnx::NodeProto &node, int input) {
  return isStatistic(node, input);
}

} // namespace kiln::onnx
