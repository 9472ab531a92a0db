//===- ConstantOperators.cpp - ONNX constants and value operators ---------===//
//
// Constants and shapes of values: Constant, Shape, ConstantOfShape, Range,
// Trilu and ScatterND (folded where their inputs are known), and Identity,
// Dropout and Gelu.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/lib/OperatorSupport.h"

#include <fmt/format.h>

#include <cmath>

namespace kiln::onnx {

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
  c.setOutput(0, Constant::ofDoubles(shape, std::vector<double>(n, fill.at(0)),
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
  int64_t n =
      std::max<int64_t>(0, static_cast<int64_t>(std::ceil((b - a) / d)));
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
  int64_t k = c.has(1)
                  ? static_cast<int64_t>(c.requireConstant(1, "k").scalar("k"))
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
  double ratio = c.opset < 12 ? c.attrFloat("ratio", 0.5)
                 : c.has(1) && train
                     ? c.requireConstant(1, "ratio").scalar("ratio")
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
  Tensor u = rand(stream.seed, stream.offset, x.shape(), 0.0, 1.0, x.dtype());
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
  Tensor inner =
      scalar(x, std::sqrt(2 / M_PI)) * (x + scalar(x, 0.044715) * x * x * x);
  c.setOutput(0, scalar(x, 0.5) * x * (scalar(x, 1) + tanh(inner)));
}

} // namespace kiln::onnx
