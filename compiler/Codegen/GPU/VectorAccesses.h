//===- VectorAccesses.h - Elementwise kernels with 16-byte accesses -----===//

#ifndef KILN_COMPILER_CODEGEN_GPU_VECTORACCESSES_H
#define KILN_COMPILER_CODEGEN_GPU_VECTORACCESSES_H

#include "compiler/Codegen/GPU/RowReductions.h"

namespace kiln::gpu {

/// An elementwise linalg op (every loop parallel) whose innermost loop
/// counts a multiple of four 32-bit elements, contiguous in every operand
/// that varies along it: replaced by a host check of those operands'
/// alignment choosing between a parallel loop whose iterations take four
/// elements each (vector loads and stores of 16 bytes) and the op's
/// ordinary loops. False (nothing changed) for other ops.
bool vectorizeElementwise(mlir::RewriterBase &rewriter,
                          mlir::linalg::LinalgOp op);

/// Gives every 16-byte vector load and store under `root` (LLVM dialect)
/// an alignment of 16: the kernels' only vector accesses are
/// vectorizeElementwise's, behind its alignment check.
void alignVectorAccesses(mlir::Operation *root);

} // namespace kiln::gpu

#endif // KILN_COMPILER_CODEGEN_GPU_VECTORACCESSES_H
