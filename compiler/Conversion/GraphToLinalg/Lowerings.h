//===- Lowerings.h - Graph-op lowerings to linalg, by family --------------===//
//
// Each function lowers the ops of one family and returns their results, or
// std::nullopt when `op` belongs to another family.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_CONVERSION_GRAPHTOLINALG_LOWERINGS_H
#define KILN_COMPILER_CONVERSION_GRAPHTOLINALG_LOWERINGS_H

#include "compiler/Conversion/LibraryCalls.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Operation.h"

#include <optional>

namespace kiln::graph {
enum class Activation : uint64_t;
} // namespace kiln::graph

namespace kiln::lowering {

using Results = std::optional<mlir::SmallVector<mlir::Value>>;

/// The scalar formula of a library call's activation (float `x`).
mlir::Value scalarActivation(mlir::OpBuilder &b, mlir::Location loc,
                             graph::Activation act, double alpha,
                             mlir::Value x);

/// Unary and binary math, comparisons, select, casts, constants, broadcasts.
Results lowerElementwise(mlir::OpBuilder &b, mlir::Operation *op);
/// Reductions, argmax, softmax, losses.
Results lowerReduction(mlir::OpBuilder &b, mlir::Operation *op);
/// Layer, batch and group norms and their gradients.
Results lowerNormalization(mlir::OpBuilder &b, mlir::Operation *op);
/// Matmuls, convolutions, and the kernel dialect's library calls:
/// float32 ones become calls of `library` where it has them (the GPU's
/// computing as `math` says), the rest take the generated path.
Results lowerContraction(mlir::OpBuilder &b, mlir::Operation *op,
                         LibraryCalls library, GpuMath math);
/// Max, average and global average pooling, and max pooling's gradient.
Results lowerPooling(mlir::OpBuilder &b, mlir::Operation *op);
/// Reshape, transpose, slice, concat, embedding.
Results lowerShape(mlir::OpBuilder &b, mlir::Operation *op);
/// Attention, recurrences and random numbers; without library calls,
/// recurrences are loops of linalg ops (lowerRecurrenceLoops). With
/// `fusedAttention`, attention and its gradient are kiln.attention_* calls
/// (kiln-expand-attention's loop nests); without, attention's scores are
/// tensors and graph.attention_grad is an error (it is decomposed before).
Results lowerModel(mlir::OpBuilder &b, mlir::Operation *op, bool libraryCalls,
                   bool fusedAttention);
/// graph.recurrence and its gradient as an scf.for of linalg ops.
Results lowerRecurrenceLoops(mlir::OpBuilder &b, mlir::Operation *op);

} // namespace kiln::lowering

#endif // KILN_COMPILER_CONVERSION_GRAPHTOLINALG_LOWERINGS_H
