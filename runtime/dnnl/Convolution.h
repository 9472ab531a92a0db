//===- Convolution.h - What the convolution calls share ---------*- C++ -*-===//
//
// The configuration of a convolution call and the helpers its forward
// (Convolution.cpp) and weight-gradient (ConvolutionWeightGrad.cpp)
// primitives share: formats, oneDNN's implementation choice, reorders.
// Internal to the runtime's oneDNN calls.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_DNNL_CONVOLUTION_H
#define KILN_RUNTIME_DNNL_CONVOLUTION_H

#include "OneDnnSupport.h"

#include "kiln/runtime/Library.h"

#include <optional>
#include <string>

namespace kiln::rt::onednn::convolution {

using Tag = dnnl::memory::format_tag;
using DataType = dnnl::memory::data_type;

/// The shape and fusions of one convolution call. A transposed convolution
/// maps [n, c, h, w] to [n, o, oh, ow] too; its output padding adds rows and
/// columns at the bottom and right.
struct ConvolutionConfig {
  int64_t n, c, h, w, o, kh, kw, oh, ow;
  int64_t strideH, strideW, padH, padW, dilationH, dilationW, groups;
  bool hasBias, hasResidual;
  int64_t activation;
  double alpha;
  bool transposed = false;
  int64_t outputPadH = 0, outputPadW = 0;
  /// Input, residual and result are [n, h, w, c] (NHWC), not NCHW.
  bool channelsLast = false;
};

/// A convolution of [n, c, h, w] to [n, o, oh, ow] by a kh x kw kernel:
/// no bias, residual or activation, not transposed, NCHW. The entry points
/// set the rest.
inline ConvolutionConfig
convolutionShape(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o,
                 int64_t kh, int64_t kw, int64_t oh, int64_t ow,
                 int64_t strideH, int64_t strideW, int64_t padH, int64_t padW,
                 int64_t dilationH, int64_t dilationW, int64_t groups) {
  return {n,
          c,
          h,
          w,
          o,
          kh,
          kw,
          oh,
          ow,
          strideH,
          strideW,
          padH,
          padW,
          dilationH,
          dilationW,
          groups,
          false,
          false,
          KILN_ACTIVATION_NONE,
          0.0};
}

/// The caller's activations' format.
inline Tag activationTag(const ConvolutionConfig &cfg) {
  return cfg.channelsLast ? Tag::nhwc : Tag::nchw;
}

/// True where oneDNN picked only its reference (scalar) implementation:
/// "ref:any", or a deconvolution over one ("conv:ref:any").
template <typename PrimitiveDesc> bool isReference(const PrimitiveDesc &pd) {
  std::string name = pd.impl_info_str();
  return name.rfind("ref", 0) == 0 || name.find(":ref") != std::string::npos;
}

/// The primitive descriptor `make(source, result)` creates on the caller's
/// own formats `userSource` and `userResult` (no reorders) when oneDNN has
/// an optimized kernel for them (`preferUser`), else on the formats oneDNN
/// picks (`anySource`, `anyResult`).
template <typename Make>
auto onUserFormats(bool preferUser, const dnnl::memory::desc &userSource,
                   const dnnl::memory::desc &userResult,
                   const dnnl::memory::desc &anySource,
                   const dnnl::memory::desc &anyResult, Make &&make) {
  if (preferUser) {
    try {
      auto primitiveDesc = make(userSource, userResult);
      if (!isReference(primitiveDesc))
        return primitiveDesc;
    } catch (const dnnl::error &error) {
      if (error.status != dnnl_unimplemented)
        throw;
    }
  }
  return make(anySource, anyResult);
}

/// A reorder from format `from` to format `to`.
dnnl::reorder makeReorder(const dnnl::memory::desc &from,
                          const dnnl::memory::desc &to);

/// The weight's dimensions as oneDNN orders them: [o, c, kh, kw], or
/// [groups, o/groups, c/groups, kh, kw].
dnnl::memory::dims weightsDimsOf(const ConvolutionConfig &cfg);

/// The matmul `desc` with `attributes` on oneDNN's optimized kernels, or
/// none where oneDNN has only its reference (scalar, unblocked)
/// implementation for it, many times slower than a convolution.
std::optional<dnnl::matmul::primitive_desc>
optimizedMatmul(const dnnl::matmul::desc &desc,
                const dnnl::primitive_attr &attributes);

/// NCHW data as [n, channels, plane] planes, plane = h*w: plain row-major.
dnnl::memory::desc planesOf(int64_t n, int64_t channels, int64_t plane);

/// True for a 1x1 convolution with unit strides, no padding and one group,
/// transposed or not, on NCHW: its result's plane per image is a matrix
/// product.
bool isPointwise(const ConvolutionConfig &cfg);

/// The caller's buffer `data` (format `user`) as a primitive reads it: the
/// buffer itself where the formats agree (no `reorder` was made), else its
/// reordered copy (format `format`) in this thread's `slot`.
dnnl::memory inPrimitiveFormat(dnnl::stream &stream,
                               const dnnl::memory::desc &user,
                               const dnnl::memory::desc &format,
                               const dnnl::reorder &reorder, const float *data,
                               Scratch slot);

/// Throws std::invalid_argument naming what is wrong with `cfg`.
void checkConfig(const ConvolutionConfig &cfg);

/// Runs `entry`'s matmul of `source` and `weights` into this thread's
/// scratch `slot` (format `result`) and returns the result, complete.
template <typename Entry>
const float *matmulIntoScratch(dnnl::stream &stream, const Entry &entry,
                               const dnnl::memory &source,
                               const dnnl::memory &weights,
                               const dnnl::memory::desc &result, Scratch slot) {
  dnnl::memory destination = wrapScratch(result, slot);
  entry.primitive.execute(
      stream, {{DNNL_ARG_SRC, source},
               {DNNL_ARG_WEIGHTS, weights},
               {DNNL_ARG_DST, destination},
               {DNNL_ARG_SCRATCHPAD,
                wrapScratch(entry.scratchpad, Scratch::Primitive)}});
  stream.wait();
  return static_cast<const float *>(destination.get_data_handle());
}

/// How many weight-gradient primitives the cache holds.
size_t weightGradCacheSize();

} // namespace kiln::rt::onednn::convolution

#endif // KILN_RUNTIME_DNNL_CONVOLUTION_H
