//===- ConvolutionWeightGrad.cpp - A convolution's weight gradient --------===//
//
// The gradient of a convolution's weight, on oneDNN's backward-weights
// convolution (NCHW or, with `_nhwc`, channels-last activations; the weight
// as PyTorch's [o, c/groups, kh, kw]). A pointwise convolution's runs as one
// matmul over the batch into per-image partial sums, added up in image
// order, so that its sums are the same on any thread count. A stride-1
// 3x3 convolution's on channels-last data runs Winograd's algorithm
// (Winograd.cpp).
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/Library.h"

#include "Convolution.h"
#include "OneDnnSupport.h"
#include "PrimitiveCache.h"
#include "Winograd.h"

#include <algorithm>
#include <memory>
#include <optional>

using namespace kiln::rt::onednn;
using namespace kiln::rt::onednn::convolution;

namespace {

/// A created backward-weights convolution: the caller's plain source,
/// result gradient and weight gradient, the formats the primitive runs in,
/// and the reorders between them (only where the formats differ).
struct WeightGradEntry {
  /// A convolution_backward_weights, or for a pointwise convolution a
  /// matmul of the result gradient [n, o, h*w] by the input's transposed
  /// planes [n, h*w, c] into per-image partial sums [n, o, c], which
  /// runWeightGrad adds up.
  dnnl::primitive primitive;
  bool pointwise = false;
  dnnl::memory::desc userSource, userGrad, userWeights;
  dnnl::memory::desc source, grad, weights, scratchpad;
  dnnl::reorder sourceReorder, gradReorder, weightsReorder;
};

PrimitiveCache<WeightGradEntry> &weightGradCache() {
  static auto *cache = new PrimitiveCache<WeightGradEntry>();
  return *cache;
}

/// The pointwise weight gradient: per image, the result gradient's
/// [o, h*w] plane times the transposed input plane [h*w, c], both read in
/// place from NCHW.
std::optional<WeightGradEntry>
createPointwiseWeightGrad(const ConvolutionConfig &cfg) {
  int64_t plane = cfg.h * cfg.w;
  WeightGradEntry entry;
  entry.pointwise = true;
  entry.userGrad = planesOf(cfg.n, cfg.o, plane);
  entry.userSource =
      dnnl::memory::desc({cfg.n, plane, cfg.c}, DataType::f32,
                         dnnl::memory::dims{cfg.c * plane, 1, plane});
  entry.weights =
      dnnl::memory::desc({cfg.n, cfg.o, cfg.c}, DataType::f32,
                         dnnl::memory::dims{cfg.o * cfg.c, cfg.c, 1});
  entry.userWeights =
      dnnl::memory::desc({cfg.o, cfg.c, 1, 1}, DataType::f32, Tag::oihw);
  dnnl::primitive_attr attributes;
  attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  std::optional<dnnl::matmul::primitive_desc> primitiveDesc = optimizedMatmul(
      dnnl::matmul::desc(entry.userGrad, entry.userSource, entry.weights),
      attributes);
  if (!primitiveDesc)
    return std::nullopt;
  entry.primitive = dnnl::matmul(*primitiveDesc);
  entry.scratchpad = primitiveDesc->scratchpad_desc();
  entry.source = entry.userSource;
  entry.grad = entry.userGrad;
  return entry;
}

WeightGradEntry createWeightGrad(const ConvolutionConfig &cfg) {
  if (isPointwise(cfg))
    if (std::optional<WeightGradEntry> entry = createPointwiseWeightGrad(cfg))
      return std::move(*entry);
  bool grouped = cfg.groups > 1;
  dnnl::memory::dims sourceDims{cfg.n, cfg.c, cfg.h, cfg.w};
  dnnl::memory::dims weightsDims = weightsDimsOf(cfg);
  dnnl::memory::dims gradDims{cfg.n, cfg.o, cfg.oh, cfg.ow};
  WeightGradEntry entry;
  entry.userSource =
      dnnl::memory::desc(sourceDims, DataType::f32, activationTag(cfg));
  entry.userGrad =
      dnnl::memory::desc(gradDims, DataType::f32, activationTag(cfg));
  entry.userWeights = dnnl::memory::desc(weightsDims, DataType::f32,
                                         grouped ? Tag::goihw : Tag::oihw);
  dnnl::memory::desc anySource(sourceDims, DataType::f32, Tag::any);
  dnnl::memory::desc anyWeights(weightsDims, DataType::f32, Tag::any);
  dnnl::memory::desc anyGrad(gradDims, DataType::f32, Tag::any);
  dnnl::memory::dims strides{cfg.strideH, cfg.strideW};
  dnnl::memory::dims gaps{cfg.dilationH - 1, cfg.dilationW - 1};
  dnnl::memory::dims padding{cfg.padH, cfg.padW};
  dnnl::primitive_attr attributes;
  attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  auto primitiveDesc = onUserFormats(
      cfg.channelsLast, entry.userSource, entry.userGrad, anySource, anyGrad,
      [&](const auto &source, const auto &grad) {
        // oneDNN picks the backward primitive given the forward one it
        // belongs to.
        dnnl::convolution_forward::primitive_desc forward(
            dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                            dnnl::algorithm::convolution_direct,
                                            source, anyWeights, grad, strides,
                                            gaps, padding, padding),
            cpuEngine());
        return dnnl::convolution_backward_weights::primitive_desc(
            dnnl::convolution_backward_weights::desc(
                dnnl::algorithm::convolution_direct, source, anyWeights, grad,
                strides, gaps, padding, padding),
            attributes, cpuEngine(), forward);
      });
  entry.primitive = dnnl::convolution_backward_weights(primitiveDesc);
  entry.source = primitiveDesc.src_desc();
  entry.grad = primitiveDesc.diff_dst_desc();
  entry.weights = primitiveDesc.diff_weights_desc();
  entry.scratchpad = primitiveDesc.scratchpad_desc();
  if (entry.source != entry.userSource)
    entry.sourceReorder = makeReorder(entry.userSource, entry.source);
  if (entry.grad != entry.userGrad)
    entry.gradReorder = makeReorder(entry.userGrad, entry.grad);
  if (entry.weights != entry.userWeights)
    entry.weightsReorder = makeReorder(entry.weights, entry.userWeights);
  return entry;
}

void runWeightGrad(const float *input, const float *grad, float *result,
                   const ConvolutionConfig &cfg) {
  checkConfig(cfg);
  int64_t threads = useThreadsForSplitSums();
  if (winogradTakesWeightGrad(cfg)) {
    runWinogradWeightGrad(input, grad, result, cfg, threads);
    return;
  }
  CacheKey key{cfg.n,    cfg.c,           cfg.h,         cfg.w,
               cfg.o,    cfg.kh,          cfg.kw,        cfg.oh,
               cfg.ow,   cfg.strideH,     cfg.strideW,   cfg.padH,
               cfg.padW, cfg.dilationH,   cfg.dilationW, cfg.groups,
               threads,  cfg.channelsLast};
  std::shared_ptr<const WeightGradEntry> entry =
      weightGradCache().getOrCreate(key, [&] { return createWeightGrad(cfg); });

  dnnl::stream &stream = threadStream();
  if (entry->pointwise) {
    // Per-image partial sums, then their sum in image order (the same on
    // any thread count), each thread a range of the weight's elements.
    const float *sums = matmulIntoScratch(
        stream, *entry, wrap(entry->userGrad, grad),
        wrap(entry->userSource, input), entry->weights, Scratch::Weights);
    int64_t count = cfg.o * cfg.c;
    constexpr int64_t kChunk = 4096;
    int64_t chunks = (count + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) num_threads(threads) if (chunks > 1)
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      int64_t begin = chunk * kChunk, end = std::min(count, begin + kChunk);
      std::copy(sums + begin, sums + end, result + begin);
      for (int64_t image = 1; image < cfg.n; ++image)
        for (int64_t i = begin; i < end; ++i)
          result[i] += sums[image * count + i];
    }
    return;
  }
  dnnl::memory source =
      inPrimitiveFormat(stream, entry->userSource, entry->source,
                        entry->sourceReorder, input, Scratch::Source);
  dnnl::memory gradient =
      inPrimitiveFormat(stream, entry->userGrad, entry->grad,
                        entry->gradReorder, grad, Scratch::Destination);
  dnnl::memory userWeights = wrap(entry->userWeights, result);
  dnnl::memory weights = entry->weightsReorder
                             ? wrapScratch(entry->weights, Scratch::Weights)
                             : userWeights;
  entry->primitive.execute(
      stream, {{DNNL_ARG_SRC, source},
               {DNNL_ARG_DIFF_DST, gradient},
               {DNNL_ARG_DIFF_WEIGHTS, weights},
               {DNNL_ARG_SCRATCHPAD,
                wrapScratch(entry->scratchpad, Scratch::Primitive)}});
  if (entry->weightsReorder)
    entry->weightsReorder.execute(stream, weights, userWeights);
  stream.wait();
}

} // namespace

size_t kiln::rt::onednn::convolution::weightGradCacheSize() {
  return weightGradCache().size();
}

namespace {

void conv2dWeightGrad(const char *name, bool channelsLast, const float *input,
                      const float *grad, float *result, int64_t n, int64_t c,
                      int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw,
                      int64_t oh, int64_t ow, int64_t strideH, int64_t strideW,
                      int64_t padH, int64_t padW, int64_t dilationH,
                      int64_t dilationW, int64_t groups) {
  ConvolutionConfig config =
      convolutionShape(n, c, h, w, o, kh, kw, oh, ow, strideH, strideW, padH,
                       padW, dilationH, dilationW, groups);
  config.channelsLast = channelsLast;
  runGuarded(
      [&] {
        return describeCall(name,
                            "n c h w o kh kw oh ow strideH strideW padH padW "
                            "dilationH dilationW groups",
                            {n, c, h, w, o, kh, kw, oh, ow, strideH, strideW,
                             padH, padW, dilationH, dilationW, groups});
      },
      [&] { runWeightGrad(input, grad, result, config); });
}

} // namespace

// The C entry points: NCHW activations, and NHWC with `_nhwc`.
#define KILN_CONV2D_WEIGHT_GRAD_ENTRY(symbol, channelsLast)                    \
  extern "C" void symbol(                                                      \
      const float *input, const float *grad, float *result, int64_t n,         \
      int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw,      \
      int64_t oh, int64_t ow, int64_t strideH, int64_t strideW, int64_t padH,  \
      int64_t padW, int64_t dilationH, int64_t dilationW, int64_t groups) {    \
    conv2dWeightGrad(#symbol, channelsLast, input, grad, result, n, c, h, w,   \
                     o, kh, kw, oh, ow, strideH, strideW, padH, padW,          \
                     dilationH, dilationW, groups);                            \
  }
KILN_CONV2D_WEIGHT_GRAD_ENTRY(kiln_conv2d_weight_grad_f32, false)
KILN_CONV2D_WEIGHT_GRAD_ENTRY(kiln_conv2d_weight_grad_nhwc_f32, true)
#undef KILN_CONV2D_WEIGHT_GRAD_ENTRY
