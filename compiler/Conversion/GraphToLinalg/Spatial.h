//===- Spatial.h - What convolution and pooling lowerings share ---------===//
//
// NCHW and NHWC activations, their spatial padding, and the epilogue
// (bias, residual, activation) after a contraction: used by Contraction.cpp
// (convolutions, on the generated path and cuDNN's) and Pooling.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_CONVERSION_GRAPHTOLINALG_SPATIAL_H
#define KILN_COMPILER_CONVERSION_GRAPHTOLINALG_SPATIAL_H

#include "compiler/Conversion/GraphToLinalg/Common.h"

namespace kiln::graph {
enum class Activation : uint64_t;
} // namespace kiln::graph

namespace kiln::lowering {

/// A 4-D activation's sizes as [N, C, H, W], whichever its layout.
mlir::SmallVector<int64_t> nchwOf(Value v, bool channelsLast);

/// The generated path computes channels-first: a channels-last operand is
/// transposed in (nothing for a null `v`), and the result back out.
Value channelsFirst(OpBuilder &b, Location loc, Value v, bool channelsLast);
Value channelsLastAgain(OpBuilder &b, Location loc, Value v, bool channelsLast);

/// A 4-D vector with `y` and `x` at the spatial dimensions (2 and 3, or 1
/// and 2 for channels-last) and `other` at the batch and channel ones: the
/// offsets, sizes or strides of a window op's slices.
mlir::SmallVector<int64_t> atSpatial(bool channelsLast, int64_t y, int64_t x,
                                     int64_t other);

/// `x` padded at its spatial dimensions by (top, left, bottom, right) with
/// `value`.
Value padSpatial(OpBuilder &b, Location loc, Value x, int64_t top, int64_t left,
                 int64_t bottom, int64_t right, Value value,
                 bool channelsLast = false);

/// `product` with its bias (along dimension `channel`), residual and
/// activation, in one generic; `product` itself where there are none.
Value epilogue(OpBuilder &b, Location loc, Value product, Value bias,
               int64_t channel, Value residual, graph::Activation act,
               double alpha);

} // namespace kiln::lowering

#endif // KILN_COMPILER_CONVERSION_GRAPHTOLINALG_SPATIAL_H
