//===- Winograd.h - 3x3 convolutions by Winograd's algorithm ----*- C++ -*-===//
//
// Stride-1, padding-1 3x3 convolutions on channels-last data, their
// transposed twins (the data gradients) and their weight gradients, with
// fewer multiplications than oneDNN's direct kernels: see Winograd.cpp.
// Internal to the runtime's convolution calls.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_DNNL_WINOGRAD_H
#define KILN_RUNTIME_DNNL_WINOGRAD_H

#include "Convolution.h"

namespace kiln::rt::onednn::convolution {

/// True where runWinograd computes `cfg`: an NHWC 3x3 convolution (or
/// transposed convolution) with unit strides and dilation, padding 1 and
/// one group, the result the input's size; channel counts multiples of 16;
/// images of at least 8x8 whose transformed tiles take at most 4 MiB; no
/// activation. KILN_WINOGRAD=0 in the environment turns the path off
/// (oneDNN's direct kernels run instead).
bool winogradTakes(const ConvolutionConfig &cfg);

/// True where runWinogradWeightGrad computes `cfg`'s weight gradient: as
/// winogradTakes, not transposed, with at most 64 x 64 channel pairs.
bool winogradTakesWeightGrad(const ConvolutionConfig &cfg);

/// The convolution `cfg` (winogradTakes(cfg)) of the NHWC `input` by
/// PyTorch's `weight` ([o, c, 3, 3], or [c, o, 3, 3] transposed), plus
/// `bias` [o] and the NHWC `residual` where given (either may be null;
/// `residual` may be `result`), into the NHWC `result`, on `threads`
/// threads. Each output is computed the same way on any thread count.
void runWinograd(const float *input, const float *weight, const float *bias,
                 const float *residual, float *result,
                 const ConvolutionConfig &cfg, int64_t threads);

/// The gradient of the convolution `cfg`'s weight
/// (winogradTakesWeightGrad(cfg)), PyTorch's [o, c, 3, 3], from its NHWC
/// `input` and result gradient `grad`. Its sums are added in the same
/// order on any thread count.
void runWinogradWeightGrad(const float *input, const float *grad, float *result,
                           const ConvolutionConfig &cfg, int64_t threads);

/// How many matrix-product primitives the Winograd path holds.
size_t winogradCacheSize();

} // namespace kiln::rt::onednn::convolution

#endif // KILN_RUNTIME_DNNL_WINOGRAD_H
