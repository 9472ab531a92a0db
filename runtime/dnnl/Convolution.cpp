//===- Convolution.cpp - Convolutions and transposed ones, on oneDNN ------===//
//
// The convolution runs in the memory formats oneDNN picks for speed (blocked
// or channels-last, as its AVX-512 kernels prefer): source and weights are
// reordered into them and the result back to NCHW, with the reorders cached
// with the primitive. For inputs with few channels (a first layer), a plain
// NCHW source is faster: oneDNN then has a direct kernel for it, where a
// blocked source would pad the channels to a full block. Measured on one
// AVX-512 core (Zen 5), a 3x3 convolution of 64x1x28x28 to 32 channels takes
// 0.36 ms through this library with a plain source and 0.83-1.0 ms with a
// blocked one; with raw oneDNN, 4 and 8 channels run 1.7x faster plain, 3
// channels 1.2x, while from 16 channels on the blocked source is 1.7x faster.
//
// A pointwise convolution (1x1, unit strides, no padding, one group) and its
// transposed twin (its data gradient) need no reorder at all: per image, the
// result's [o, h*w] plane is the weight's [o, c] matrix times the input's
// [c, h*w] plane, and NCHW holds both planes as plain row-major matrices.
// They run as one oneDNN matmul over the batch, the weight broadcast, on
// the caller's buffers. (densenet's transition, 72 to 36 channels on
// 64x28x28: 3.4 ms as a convolution with its reorders, of which the
// reorders of input and result took most.)
//
// The transposed convolution runs on oneDNN's deconvolution, which reads
// PyTorch's [in, out/groups, kh, kw] weight through strides: no flipped copy
// of the weight and no zero-dilated input. With at most 4 output channels
// (and no activation) it runs instead as one matmul over the batch into
// columns, the weight's transpose times the input's plane per image (or,
// channels-last, the input's [h*w, c] matrix times the weight), each
// column then added into its place in the result: oneDNN's deconvolution
// vectorizes over output channels and ran one-channel outputs at 5-8
// GFLOP/s (gan's last layer: 4.6 ms a call where the columns take under
// 1). A convolution's weight gradient is ConvolutionWeightGrad.cpp's.
//
// The `_nhwc` entry points take and return channels-last activations
// ([n, h, w, c]; weights as PyTorch's), which the compiler's
// graph-channels-last keeps between convolutions, batch norms and
// elementwise ops. oneDNN's AVX-512 kernels run NHWC directly, so these
// calls reorder only weights: the primitive is created on the caller's
// NHWC buffers where oneDNN has an optimized kernel for them, and on the
// formats it picks (with reorders) where it has not. Their stride-1 3x3
// convolutions of 16k channels, and the transposed twins (data gradients),
// run Winograd's algorithm instead (Winograd.cpp).
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
#include <stdexcept>
#include <string>
#include <unordered_map>

using namespace kiln::rt::onednn;
using namespace kiln::rt::onednn::convolution;

// What Convolution.h declares.
namespace kiln::rt::onednn::convolution {

dnnl::reorder makeReorder(const dnnl::memory::desc &from,
                          const dnnl::memory::desc &to) {
  const dnnl::engine &engine = cpuEngine();
  return dnnl::reorder(dnnl::reorder::primitive_desc(engine, from, engine, to));
}

dnnl::memory::dims weightsDimsOf(const ConvolutionConfig &cfg) {
  if (cfg.groups > 1)
    return {cfg.groups, cfg.o / cfg.groups, cfg.c / cfg.groups, cfg.kh,
            cfg.kw};
  return {cfg.o, cfg.c, cfg.kh, cfg.kw};
}

std::optional<dnnl::matmul::primitive_desc>
optimizedMatmul(const dnnl::matmul::desc &desc,
                const dnnl::primitive_attr &attributes) {
  try {
    dnnl::matmul::primitive_desc primitiveDesc(desc, attributes, cpuEngine());
    if (isReference(primitiveDesc))
      return std::nullopt;
    return primitiveDesc;
  } catch (const dnnl::error &error) {
    if (error.status != dnnl_unimplemented)
      throw;
    return std::nullopt;
  }
}

dnnl::memory::desc planesOf(int64_t n, int64_t channels, int64_t plane) {
  return dnnl::memory::desc({n, channels, plane}, DataType::f32,
                            dnnl::memory::dims{channels * plane, plane, 1});
}

bool isPointwise(const ConvolutionConfig &cfg) {
  return !cfg.channelsLast && cfg.kh == 1 && cfg.kw == 1 && cfg.strideH == 1 &&
         cfg.strideW == 1 && cfg.padH == 0 && cfg.padW == 0 &&
         cfg.outputPadH == 0 && cfg.outputPadW == 0 && cfg.groups == 1 &&
         cfg.oh == cfg.h && cfg.ow == cfg.w;
}

dnnl::memory inPrimitiveFormat(dnnl::stream &stream,
                               const dnnl::memory::desc &user,
                               const dnnl::memory::desc &format,
                               const dnnl::reorder &reorder, const float *data,
                               Scratch slot) {
  dnnl::memory plain = wrap(user, data);
  if (!reorder)
    return plain;
  dnnl::memory converted = wrapScratch(format, slot);
  reorder.execute(stream, plain, converted);
  return converted;
}

void checkConfig(const ConvolutionConfig &cfg) {
  for (int64_t size :
       {cfg.n, cfg.c, cfg.h, cfg.w, cfg.o, cfg.kh, cfg.kw, cfg.oh, cfg.ow,
        cfg.strideH, cfg.strideW, cfg.dilationH, cfg.dilationW, cfg.groups})
    if (size <= 0)
      throw std::invalid_argument("sizes, strides, dilations and groups must "
                                  "be positive");
  if (cfg.padH < 0 || cfg.padW < 0 || cfg.outputPadH < 0 || cfg.outputPadW < 0)
    throw std::invalid_argument("padding must not be negative");
  if ((cfg.outputPadH > cfg.padH || cfg.outputPadW > cfg.padW) &&
      cfg.activation != KILN_ACTIVATION_NONE)
    throw std::invalid_argument(
        "output padding beyond the padding takes no activation");
  if (cfg.c % cfg.groups != 0 || cfg.o % cfg.groups != 0)
    throw std::invalid_argument("groups must divide both channel counts");
}

} // namespace kiln::rt::onednn::convolution

namespace {

/// Below this many input channels (without groups), the source stays NCHW.
constexpr int64_t minBlockedSourceChannels = 16;

/// A created convolution, the descriptors of the caller's plain buffers and
/// of the formats the primitive runs in, and the reorders between them (only
/// where the formats differ).
struct ConvolutionEntry {
  dnnl::primitive primitive;
  dnnl::memory::desc userSource, userWeights, bias, userResult;
  dnnl::memory::desc source, weights, result, scratchpad;
  dnnl::reorder sourceReorder, weightsReorder, residualReorder, resultReorder;
  bool reorderResult;
  /// A matmul of the weight (its source) and the input (its weights) over
  /// the batch: see createPointwise.
  bool pointwise = false;
  /// A transposed convolution as a matmul into columns (`result`, in
  /// scratch) scattered into the result: see createColumns.
  bool columns = false;
  /// Rows at the bottom and columns at the right of a transposed
  /// convolution's result that no input reaches (output padding beyond the
  /// padding): the primitive computes the rest, into a strided view.
  int64_t marginH = 0, marginW = 0;
};

PrimitiveCache<ConvolutionEntry> &convolutionCache() {
  static auto *cache = new PrimitiveCache<ConvolutionEntry>();
  return *cache;
}

/// A pointwise convolution as a oneDNN matmul on the caller's NCHW
/// buffers: source [1, o, c] (the weight, broadcast over the batch),
/// weights [n, c, h*w] (the input), destination [n, o, h*w], the bias
/// [1, o, 1]. The weight is [o, c, 1, 1] (element (o, c) at o*c + c), or a
/// transposed convolution's [c, o, 1, 1] (at c*o + o). Empty when oneDNN
/// has only its reference implementation for this combination (a bias per
/// row, in oneDNN 2.7): then the convolution path runs.
std::optional<ConvolutionEntry>
createPointwise(const ConvolutionConfig &cfg) {
  int64_t plane = cfg.h * cfg.w;
  ConvolutionEntry entry;
  entry.pointwise = true;
  entry.reorderResult = false;
  entry.userWeights = dnnl::memory::desc(
      {1, cfg.o, cfg.c}, DataType::f32,
      cfg.transposed ? dnnl::memory::dims{cfg.o * cfg.c, 1, cfg.o}
                     : dnnl::memory::dims{cfg.o * cfg.c, cfg.c, 1});
  entry.userSource = planesOf(cfg.n, cfg.c, plane);
  entry.userResult = planesOf(cfg.n, cfg.o, plane);
  if (cfg.hasBias)
    entry.bias = dnnl::memory::desc({1, cfg.o, 1}, DataType::f32,
                                    dnnl::memory::dims{cfg.o, 1, 1});
  dnnl::matmul::desc desc =
      cfg.hasBias ? dnnl::matmul::desc(entry.userWeights, entry.userSource,
                                       entry.bias, entry.userResult)
                  : dnnl::matmul::desc(entry.userWeights, entry.userSource,
                                       entry.userResult);
  std::optional<dnnl::matmul::primitive_desc> primitiveDesc = optimizedMatmul(
      desc, fusedAttributes(cfg.hasResidual, cfg.activation, cfg.alpha));
  if (!primitiveDesc)
    return std::nullopt;
  entry.primitive = dnnl::matmul(*primitiveDesc);
  entry.scratchpad = primitiveDesc->scratchpad_desc();
  entry.source = entry.userSource;
  entry.weights = entry.userWeights;
  entry.result = entry.userResult;
  return entry;
}

/// Up to this many output channels, an ungrouped transposed convolution
/// without an activation runs as a matrix product and a scatter
/// (createColumns): oneDNN's deconvolution vectorizes over output channels,
/// and with one of them ran at 5-8 GFLOP/s where the convolutions around it
/// reached 130 (gan's last layer; the input gradient of a convolution of
/// one-channel images, which ebm's Langevin chains take 20 times a step).
constexpr int64_t maxColumnOutputs = 4;

bool usesColumns(const ConvolutionConfig &cfg) {
  return cfg.transposed && cfg.groups == 1 && cfg.o <= maxColumnOutputs &&
         cfg.activation == KILN_ACTIVATION_NONE;
}

/// A transposed convolution as columns, one oneDNN matmul over the batch,
/// then scatterColumns adds every column into the result. NCHW: columns
/// [o*kh*kw, h*w] = W^T x per image, source [1, o*kh*kw, c] (PyTorch's
/// weight [c, o, kh, kw] read transposed: element (r, c) at c*o*kh*kw + r),
/// weights [n, c, h*w] (the input). Channels-last: columns [h*w, o*kh*kw] =
/// x W per image, source [n, h*w, c] (the input), weights [1, c, o*kh*kw]
/// (PyTorch's weight as it is). The columns (`result`) are in scratch. Empty
/// where oneDNN has only its reference matmul: then the deconvolution runs.
std::optional<ConvolutionEntry> createColumns(const ConvolutionConfig &cfg) {
  int64_t rows = cfg.o * cfg.kh * cfg.kw, plane = cfg.h * cfg.w;
  ConvolutionEntry entry;
  entry.columns = true;
  entry.reorderResult = false;
  std::optional<dnnl::matmul::primitive_desc> primitiveDesc;
  if (cfg.channelsLast) {
    entry.userResult = planesOf(cfg.n, cfg.oh * cfg.ow, cfg.o);
    entry.userSource = planesOf(cfg.n, plane, cfg.c);
    entry.userWeights = planesOf(1, cfg.c, rows);
    entry.result = planesOf(cfg.n, plane, rows);
    primitiveDesc = optimizedMatmul(
        dnnl::matmul::desc(entry.userSource, entry.userWeights, entry.result),
        fusedAttributes(false, KILN_ACTIVATION_NONE, 0.0));
  } else {
    entry.userWeights =
        dnnl::memory::desc({1, rows, cfg.c}, DataType::f32,
                           dnnl::memory::dims{rows * cfg.c, 1, rows});
    entry.userResult = planesOf(cfg.n, cfg.o, cfg.oh * cfg.ow);
    entry.userSource = planesOf(cfg.n, cfg.c, plane);
    entry.result = planesOf(cfg.n, rows, plane);
    primitiveDesc = optimizedMatmul(
        dnnl::matmul::desc(entry.userWeights, entry.userSource, entry.result),
        fusedAttributes(false, KILN_ACTIVATION_NONE, 0.0));
  }
  if (!primitiveDesc)
    return std::nullopt;
  entry.primitive = dnnl::matmul(*primitiveDesc);
  entry.scratchpad = primitiveDesc->scratchpad_desc();
  entry.source = entry.userSource;
  entry.weights = entry.userWeights;
  return entry;
}

/// Adds each image's columns into its result planes: input pixel (y, x)
/// under tap (ky, kx) lands at (y*strideH - padH + ky*dilationH,
/// x*strideW - padW + kx*dilationW) where that is inside the result, which
/// starts as the bias plus the residual (so output padding's margin is
/// theirs alone). The columns are createColumns's: [o*kh*kw, h*w] per image
/// for NCHW, [h*w, o*kh*kw] channels-last, where the result is [oh, ow, o]
/// per image. One thread per output plane, taps in order: the same sums on
/// any thread count. `residual` may be `result` itself.
void scatterColumns(const float *columns, const float *bias,
                    const float *residual, float *result,
                    const ConvolutionConfig &cfg, int64_t threads) {
  int64_t plane = cfg.h * cfg.w, outPlane = cfg.oh * cfg.ow;
  int64_t taps = cfg.kh * cfg.kw, planes = cfg.n * cfg.o;
  int64_t rows = cfg.o * taps;
#pragma omp parallel for schedule(static) num_threads(threads) if (planes > 1)
  for (int64_t p = 0; p < planes; ++p) {
    int64_t image = p / cfg.o, channel = p % cfg.o;
    // Element i of the output plane, and column entry (tap, pixel).
    int64_t outAt = cfg.channelsLast ? image * outPlane * cfg.o + channel
                                     : p * outPlane;
    int64_t outStride = cfg.channelsLast ? cfg.o : 1;
    const float *imageColumns =
        columns + (cfg.channelsLast ? image * plane * rows : p * taps * plane);
    int64_t tapStride = cfg.channelsLast ? 1 : plane;
    int64_t pixelStride = cfg.channelsLast ? rows : 1;
    if (cfg.channelsLast)
      imageColumns += channel * taps;
    float *out = result + outAt;
    const float *start = residual ? residual + outAt : nullptr;
    float base = bias ? bias[channel] : 0.0f;
    for (int64_t i = 0; i < outPlane; ++i)
      out[i * outStride] = start ? base + start[i * outStride] : base;
    for (int64_t ky = 0; ky < cfg.kh; ++ky)
      for (int64_t kx = 0; kx < cfg.kw; ++kx) {
        const float *tap = imageColumns + (ky * cfg.kw + kx) * tapStride;
        for (int64_t y = 0; y < cfg.h; ++y) {
          int64_t oy = y * cfg.strideH - cfg.padH + ky * cfg.dilationH;
          if (oy < 0 || oy >= cfg.oh)
            continue;
          for (int64_t x = 0; x < cfg.w; ++x) {
            int64_t ox = x * cfg.strideW - cfg.padW + kx * cfg.dilationW;
            if (ox >= 0 && ox < cfg.ow)
              out[(oy * cfg.ow + ox) * outStride] +=
                  tap[(y * cfg.w + x) * pixelStride];
          }
        }
      }
  }
}

ConvolutionEntry createConvolution(const ConvolutionConfig &cfg) {
  if (isPointwise(cfg))
    if (std::optional<ConvolutionEntry> entry = createPointwise(cfg))
      return std::move(*entry);
  if (usesColumns(cfg))
    if (std::optional<ConvolutionEntry> entry = createColumns(cfg))
      return std::move(*entry);
  bool grouped = cfg.groups > 1;
  dnnl::memory::dims sourceDims{cfg.n, cfg.c, cfg.h, cfg.w};
  dnnl::memory::dims weightsDims = weightsDimsOf(cfg);
  dnnl::memory::dims resultDims{cfg.n, cfg.o, cfg.oh, cfg.ow};

  ConvolutionEntry entry;
  entry.userSource =
      dnnl::memory::desc(sourceDims, DataType::f32, activationTag(cfg));
  if (cfg.transposed) {
    // PyTorch's transposed weight is [c, o/groups, kh, kw]: element
    // (g, oc, ic, kh, kw) of oneDNN's (g)oihw view is at
    // [g * c/groups + ic, oc, kh, kw].
    int64_t og = cfg.o / cfg.groups, cg = cfg.c / cfg.groups;
    int64_t taps = cfg.kh * cfg.kw;
    dnnl::memory::dims strides =
        grouped ? dnnl::memory::dims{cg * og * taps, taps, og * taps, cfg.kw, 1}
                : dnnl::memory::dims{taps, og * taps, cfg.kw, 1};
    entry.userWeights = dnnl::memory::desc(weightsDims, DataType::f32, strides);
  } else {
    entry.userWeights = dnnl::memory::desc(weightsDims, DataType::f32,
                                           grouped ? Tag::goihw : Tag::oihw);
  }
  entry.userResult =
      dnnl::memory::desc(resultDims, DataType::f32, activationTag(cfg));
  // Output padding beyond the padding extends the result past everything
  // the input reaches: the primitive computes the reachable part, written
  // through the strides of the whole result, and the margin is filled after.
  entry.marginH = std::max<int64_t>(0, cfg.outputPadH - cfg.padH);
  entry.marginW = std::max<int64_t>(0, cfg.outputPadW - cfg.padW);
  if (entry.marginH || entry.marginW) {
    resultDims = {cfg.n, cfg.o, cfg.oh - entry.marginH,
                  cfg.ow - entry.marginW};
    dnnl::memory::dims strides =
        cfg.channelsLast ? dnnl::memory::dims{cfg.oh * cfg.ow * cfg.o, 1,
                                              cfg.ow * cfg.o, cfg.o}
                         : dnnl::memory::dims{cfg.o * cfg.oh * cfg.ow,
                                              cfg.oh * cfg.ow, cfg.ow, 1};
    entry.userResult = dnnl::memory::desc(resultDims, DataType::f32, strides);
  }
  if (cfg.hasBias)
    entry.bias = dnnl::memory::desc({cfg.o}, DataType::f32, Tag::x);

  bool plainSource = !cfg.channelsLast && !cfg.transposed && !grouped &&
                     cfg.c < minBlockedSourceChannels;
  dnnl::memory::desc anySource(sourceDims, DataType::f32, Tag::any);
  dnnl::memory::desc anyWeights(weightsDims, DataType::f32, Tag::any);
  dnnl::memory::desc anyResult(resultDims, DataType::f32, Tag::any);
  // oneDNN counts dilation as the gaps between kernel taps: PyTorch's - 1.
  dnnl::memory::dims strides{cfg.strideH, cfg.strideW};
  dnnl::memory::dims gaps{cfg.dilationH - 1, cfg.dilationW - 1};
  dnnl::memory::dims padLow{cfg.padH, cfg.padW};
  // A transposed convolution's output padding shortens the padding that
  // crops its result at the bottom and right (beyond it: the margin).
  dnnl::memory::dims padHigh{std::max<int64_t>(0, cfg.padH - cfg.outputPadH),
                             std::max<int64_t>(0, cfg.padW - cfg.outputPadW)};
  dnnl::primitive_attr attributes =
      fusedAttributes(cfg.hasResidual, cfg.activation, cfg.alpha);
  auto describe = [&](const auto &primitiveDesc) {
    entry.source = primitiveDesc.src_desc();
    entry.weights = primitiveDesc.weights_desc();
    entry.result = primitiveDesc.dst_desc();
    entry.scratchpad = primitiveDesc.scratchpad_desc();
  };
  if (plainSource)
    anySource = entry.userSource;
  if (cfg.transposed) {
    auto primitiveDesc = onUserFormats(
        cfg.channelsLast, entry.userSource, entry.userResult, anySource,
        anyResult, [&](const auto &source, const auto &result) {
          return dnnl::deconvolution_forward::primitive_desc(
              dnnl::deconvolution_forward::desc(
                  dnnl::prop_kind::forward_inference,
                  dnnl::algorithm::deconvolution_direct, source, anyWeights,
                  entry.bias, result, strides, gaps, padLow, padHigh),
              attributes, cpuEngine());
        });
    entry.primitive = dnnl::deconvolution_forward(primitiveDesc);
    describe(primitiveDesc);
  } else {
    auto primitiveDesc = onUserFormats(
        cfg.channelsLast, entry.userSource, entry.userResult, anySource,
        anyResult, [&](const auto &source, const auto &result) {
          return dnnl::convolution_forward::primitive_desc(
              dnnl::convolution_forward::desc(
                  dnnl::prop_kind::forward_inference,
                  dnnl::algorithm::convolution_direct, source, anyWeights,
                  entry.bias, result, strides, gaps, padLow, padHigh),
              attributes, cpuEngine());
        });
    entry.primitive = dnnl::convolution_forward(primitiveDesc);
    describe(primitiveDesc);
  }

  entry.reorderResult = entry.result != entry.userResult;
  if (entry.source != entry.userSource)
    entry.sourceReorder = makeReorder(entry.userSource, entry.source);
  if (entry.weights != entry.userWeights)
    entry.weightsReorder = makeReorder(entry.userWeights, entry.weights);
  if (entry.reorderResult) {
    entry.resultReorder = makeReorder(entry.result, entry.userResult);
    if (cfg.hasResidual)
      entry.residualReorder = makeReorder(entry.userResult, entry.result);
  }
  return entry;
}

/// The bottom `marginH` rows and right `marginW` columns of a transposed
/// convolution's result, which no input reaches: the bias plus the residual
/// (checkConfig has ruled out an activation).
void fillMargin(float *result, const float *bias, const float *residual,
                const ConvolutionConfig &cfg, int64_t marginH,
                int64_t marginW) {
  int64_t reachedH = cfg.oh - marginH, reachedW = cfg.ow - marginW;
  for (int64_t image = 0; image < cfg.n * cfg.o; ++image) {
    int64_t n = image / cfg.o, channel = image % cfg.o;
    float base = bias ? bias[channel] : 0.0f;
    for (int64_t y = 0; y < cfg.oh; ++y)
      for (int64_t x = y < reachedH ? reachedW : 0; x < cfg.ow; ++x) {
        int64_t at = cfg.channelsLast
                         ? ((n * cfg.oh + y) * cfg.ow + x) * cfg.o + channel
                         : (image * cfg.oh + y) * cfg.ow + x;
        result[at] = residual ? base + residual[at] : base;
      }
  }
}

void runConvolution(const float *input, const float *weight, const float *bias,
                    const float *residual, float *result,
                    const ConvolutionConfig &cfg) {
  checkConfig(cfg);
  int64_t threads = useLibraryThreads();
  if (winogradTakes(cfg)) {
    runWinograd(input, weight, bias, residual, result, cfg, threads);
    return;
  }
  CacheKey key{cfg.n,           cfg.c,
               cfg.h,           cfg.w,
               cfg.o,           cfg.kh,
               cfg.kw,          cfg.oh,
               cfg.ow,          cfg.strideH,
               cfg.strideW,     cfg.padH,
               cfg.padW,        cfg.dilationH,
               cfg.dilationW,   cfg.groups,
               cfg.hasBias,     cfg.hasResidual,
               cfg.activation,  CacheKey::bitsOf(cfg.alpha),
               threads,         cfg.transposed,
               cfg.outputPadH,  cfg.outputPadW,
               cfg.channelsLast};
  std::shared_ptr<const ConvolutionEntry> entry =
      convolutionCache().getOrCreate(key,
                                     [&] { return createConvolution(cfg); });

  dnnl::stream &stream = threadStream();
  if (entry->columns) {
    dnnl::memory weights = wrap(entry->userWeights, weight);
    dnnl::memory source = wrap(entry->userSource, input);
    const float *columns =
        cfg.channelsLast
            ? matmulIntoScratch(stream, *entry, source, weights, entry->result,
                                Scratch::Destination)
            : matmulIntoScratch(stream, *entry, weights, source, entry->result,
                                Scratch::Destination);
    scatterColumns(columns, bias, residual, result, cfg, threads);
    return;
  }
  dnnl::memory source =
      inPrimitiveFormat(stream, entry->userSource, entry->source,
                        entry->sourceReorder, input, Scratch::Source);
  dnnl::memory weights =
      inPrimitiveFormat(stream, entry->userWeights, entry->weights,
                        entry->weightsReorder, weight, Scratch::Weights);
  dnnl::memory userResult = wrap(entry->userResult, result);
  dnnl::memory convResult = userResult;
  if (entry->reorderResult)
    convResult = wrapScratch(entry->result, Scratch::Destination);

  // The sum post-op adds what the destination holds before the primitive
  // runs: the residual, in the primitive's format.
  if (residual && entry->reorderResult) {
    dnnl::memory userResidual = wrap(entry->userResult, residual);
    entry->residualReorder.execute(stream, userResidual, convResult);
  } else if (residual) {
    copyResidual(residual, result,
                 entry->userResult.get_size() / sizeof(float));
  }

  // A pointwise convolution's matmul multiplies the weight by the input.
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, entry->pointwise ? weights : source},
      {DNNL_ARG_WEIGHTS, entry->pointwise ? source : weights},
      {DNNL_ARG_DST, convResult},
      {DNNL_ARG_SCRATCHPAD, wrapScratch(entry->scratchpad, Scratch::Primitive)},
  };
  if (bias)
    args.emplace(DNNL_ARG_BIAS, wrap(entry->bias, bias));
  entry->primitive.execute(stream, args);
  if (entry->reorderResult)
    entry->resultReorder.execute(stream, convResult, userResult);
  stream.wait();
  if (entry->marginH || entry->marginW)
    fillMargin(result, bias, residual, cfg, entry->marginH, entry->marginW);
}

/// Runs one convolution call; an error aborts naming the call `name` with
/// its configuration.
void callConvolution(const char *name, const ConvolutionConfig &cfg,
                     const float *input, const float *weight,
                     const float *bias, const float *residual, float *result) {
  runGuarded(
      [&] {
        // A plain convolution's output padding is 0.
        return describeCall(
            name,
            "n c h w o kh kw oh ow strideH strideW padH padW outputPadH "
            "outputPadW dilationH dilationW groups bias residual activation",
            {cfg.n, cfg.c, cfg.h, cfg.w, cfg.o, cfg.kh, cfg.kw, cfg.oh,
             cfg.ow, cfg.strideH, cfg.strideW, cfg.padH, cfg.padW,
             cfg.outputPadH, cfg.outputPadW, cfg.dilationH, cfg.dilationW,
             cfg.groups, cfg.hasBias, cfg.hasResidual, cfg.activation});
      },
      [&] { runConvolution(input, weight, bias, residual, result, cfg); });
}

} // namespace

size_t kiln::rt::onednn::convolutionCacheSize() {
  return convolutionCache().size() + weightGradCacheSize() +
         winogradCacheSize();
}

namespace {

/// Records a call's fusions in `config`: its bias, residual and activation.
void fuse(ConvolutionConfig &config, const float *bias, const float *residual,
          int64_t activation, double alpha) {
  config.hasBias = bias != nullptr;
  config.hasResidual = residual != nullptr;
  config.activation = activation;
  config.alpha = activationParameter(activation, alpha);
}

void conv2d(const char *name, bool channelsLast, const float *input,
            const float *weight, const float *bias, const float *residual,
            float *result, int64_t n, int64_t c, int64_t h, int64_t w,
            int64_t o, int64_t kh, int64_t kw, int64_t oh, int64_t ow,
            int64_t strideH, int64_t strideW, int64_t padH, int64_t padW,
            int64_t dilationH, int64_t dilationW, int64_t groups,
            int64_t activation, double alpha) {
  ConvolutionConfig config =
      convolutionShape(n, c, h, w, o, kh, kw, oh, ow, strideH, strideW, padH,
                       padW, dilationH, dilationW, groups);
  fuse(config, bias, residual, activation, alpha);
  config.channelsLast = channelsLast;
  callConvolution(name, config, input, weight, bias, residual, result);
}

void convTranspose2d(const char *name, bool channelsLast, const float *input,
                     const float *weight, const float *bias,
                     const float *residual, float *result, int64_t n, int64_t c,
                     int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw,
                     int64_t oh, int64_t ow, int64_t strideH, int64_t strideW,
                     int64_t padH, int64_t padW, int64_t outputPadH,
                     int64_t outputPadW, int64_t dilationH, int64_t dilationW,
                     int64_t groups, int64_t activation, double alpha) {
  ConvolutionConfig config =
      convolutionShape(n, c, h, w, o, kh, kw, oh, ow, strideH, strideW, padH,
                       padW, dilationH, dilationW, groups);
  fuse(config, bias, residual, activation, alpha);
  config.transposed = true;
  config.outputPadH = outputPadH;
  config.outputPadW = outputPadW;
  config.channelsLast = channelsLast;
  callConvolution(name, config, input, weight, bias, residual, result);
}

} // namespace

// The C entry points: NCHW activations, and NHWC with `_nhwc`.
#define KILN_CONV2D_ENTRY(symbol, channelsLast)                                \
  extern "C" void symbol(                                                      \
      const float *input, const float *weight, const float *bias,              \
      const float *residual, float *result, int64_t n, int64_t c, int64_t h,   \
      int64_t w, int64_t o, int64_t kh, int64_t kw, int64_t oh, int64_t ow,    \
      int64_t strideH, int64_t strideW, int64_t padH, int64_t padW,            \
      int64_t dilationH, int64_t dilationW, int64_t groups,                    \
      int64_t activation, double alpha) {                                      \
    conv2d(#symbol, channelsLast, input, weight, bias, residual, result, n, c, \
           h, w, o, kh, kw, oh, ow, strideH, strideW, padH, padW, dilationH,   \
           dilationW, groups, activation, alpha);                              \
  }
KILN_CONV2D_ENTRY(kiln_conv2d_f32, false)
KILN_CONV2D_ENTRY(kiln_conv2d_nhwc_f32, true)
#undef KILN_CONV2D_ENTRY

#define KILN_CONV_TRANSPOSE2D_ENTRY(symbol, channelsLast)                      \
  extern "C" void symbol(                                                      \
      const float *input, const float *weight, const float *bias,              \
      const float *residual, float *result, int64_t n, int64_t c, int64_t h,   \
      int64_t w, int64_t o, int64_t kh, int64_t kw, int64_t oh, int64_t ow,    \
      int64_t strideH, int64_t strideW, int64_t padH, int64_t padW,            \
      int64_t outputPadH, int64_t outputPadW, int64_t dilationH,               \
      int64_t dilationW, int64_t groups, int64_t activation, double alpha) {   \
    convTranspose2d(#symbol, channelsLast, input, weight, bias, residual,      \
                    result, n, c, h, w, o, kh, kw, oh, ow, strideH, strideW,   \
                    padH, padW, outputPadH, outputPadW, dilationH, dilationW,  \
                    groups, activation, alpha);                                \
  }
KILN_CONV_TRANSPOSE2D_ENTRY(kiln_conv_transpose2d_f32, false)
KILN_CONV_TRANSPOSE2D_ENTRY(kiln_conv_transpose2d_nhwc_f32, true)
#undef KILN_CONV_TRANSPOSE2D_ENTRY
