//===- Passes.h - Conversions between Kiln's dialects and upstream --------===//

#ifndef KILN_COMPILER_CONVERSION_PASSES_H
#define KILN_COMPILER_CONVERSION_PASSES_H

#include "compiler/Conversion/LibraryCalls.h"
#include "dialects/Kernel/IR/KernelDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace kiln {

#define GEN_PASS_DECL
#include "compiler/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/Conversion/Passes.h.inc"

/// convert-graph-to-linalg's patterns: every graph op, kernel.matmul and
/// kernel.conv2d to linalg and tensor ops on tensors, or to `library` calls
/// (the GPU's computing as `math` says).
void populateGraphToLinalgPatterns(mlir::RewritePatternSet &patterns,
                                   LibraryCalls library,
                                   GpuMath math = GpuMath::Float32,
                                   bool fusedAttention = false);

} // namespace kiln

#endif // KILN_COMPILER_CONVERSION_PASSES_H
