//===- NeuralOperators.cpp - ONNX matmul, convolution, pooling, norms -----===//
//
// The operators of neural layers: MatMul and Gemm, convolutions and
// pooling (1-D lifted to 2-D, pads Kiln's kernels cannot take applied to
// the input first), the batch, layer, instance and group norms, and
// softmax.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/lib/OperatorSupport.h"

#include <fmt/format.h>

#include <cmath>

namespace kiln::onnx {

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

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
          parts.push_back(piece(leading ? count - k : size - 2 - k));
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

namespace {

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
      c.fail(
          fmt::format("pads has {} values; {} expected", pads.size(), 2 * n));
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
      c.fail(fmt::format("{} holds {}; at least {} expected", name, x, least));
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

} // namespace

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

static bool isStatistic(const ::onnx::NodeProto &node, int input) {
  return node.op_type() == "BatchNormalization" && (input == 3 || input == 4);
}

bool isBatchNormStatistic(const ::onnx::NodeProto &node, int input) {
  return isStatistic(node, input);
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
    x = reshape(
        x, {x.size(0), x.size(1), x.rank() > 2 ? product(original, 2) : 1, 1});
  if (!train) {
    Tensor y =
        batch_norm(x, c.tensor(3), c.tensor(4), c.tensor(1), c.tensor(2), eps);
    c.setOutput(0, y.shape() == original ? y : reshape(y, original));
    // A training export's running statistics pass through unchanged.
    for (int k : {1, 2})
      if (c.wantsOutput(k))
        c.setOutput(k, c.tensor(k + 2));
    return;
  }
  BatchNormResult r = batch_norm_training(
      x, c.tensor(3), c.tensor(4), c.tensor(1), c.tensor(2), momentum, eps);
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
    c.setOutput(2,
                rsqrt(mean(centered * centered, dims, true) + scalar(x, eps)));
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

static Tensor lift4(const Tensor &x) {
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
      return reshape(
          broadcast_to(reshape(t, {groups, 1}), {groups, channels / groups}),
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
  Tensor flat =
      reshape(x, {product(x.shape(), 0, axis), product(x.shape(), axis)});
  Tensor y = isLog ? log_softmax(flat, 1) : softmax(flat, 1);
  c.setOutput(0, reshape(y, x.shape()));
}

} // namespace kiln::onnx
