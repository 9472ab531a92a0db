//===- Passes.h - Code generation passes ----------------------------------===//

#ifndef KILN_COMPILER_CODEGEN_PASSES_H
#define KILN_COMPILER_CODEGEN_PASSES_H

#include "dialects/Kernel/IR/KernelDialect.h"

#include "dialects/Graph/IR/AttributeNames.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

#include <functional>

namespace kiln {

#define GEN_PASS_DECL
#include "compiler/Codegen/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/Codegen/Passes.h.inc"

/// On a tile loop whose iterations may run on several threads
/// (kiln-vectorize marks it, kiln-parallelize outlines it).
inline constexpr llvm::StringLiteral kParallelAttr = attr::kParallel;
/// On a loop over blocks of rows (kiln-vectorize marks it, kiln-prefetch
/// prefetches the next block in it).
inline constexpr llvm::StringLiteral kRowBlocksAttr = attr::kRowBlocks;

/// Combines two values of a vector reduction.
using ReductionCombine = llvm::function_ref<mlir::Value(mlir::Value, mlir::Value)>;

/// Rewrites a vector multi-reduction that reduces to one value, or reduces
/// one dimension with only unit dimensions before it, into a balanced tree
/// of `combine`s (kiln-tree-reductions); fails on any other reduction.
mlir::LogicalResult reduceAsTree(mlir::RewriterBase &rewriter,
                                 mlir::vector::MultiDimReductionOp op,
                                 ReductionCombine combine);

/// kiln-tree-reductions' pattern: reduceAsTree with each reduction's own
/// combining kind.
void populateTreeReductionPatterns(mlir::RewritePatternSet &patterns);

/// The `scf.for` loops in `root` that carry the unit attribute `mark`, in
/// pre-order: collected first, so the caller may rewrite them.
inline llvm::SmallVector<mlir::scf::ForOp> loopsMarked(mlir::Operation *root,
                                                       llvm::StringRef mark) {
  llvm::SmallVector<mlir::scf::ForOp> loops;
  root->walk<mlir::WalkOrder::PreOrder>([&](mlir::scf::ForOp loop) {
    if (loop->hasAttr(mark))
      loops.push_back(loop);
  });
  return loops;
}

/// The largest divisor of `n` not above `limit` (1 if none is).
inline int64_t largestDivisor(int64_t n, int64_t limit) {
  for (int64_t d = std::min(n, limit); d > 1; --d)
    if (n % d == 0)
      return d;
  return 1;
}

/// Tiles `consumer` by `tiles` (0: a dimension stays whole), fuses into the
/// loops the producers of the slices `fuse` accepts (never the
/// destination's), replaces the consumer's uses and marks the outermost loop
/// `kiln.parallel`. Returns that loop (null when every tile is whole), or
/// failure when tiling fails.
mlir::FailureOr<mlir::Operation *>
tileAndFuseParallel(mlir::RewriterBase &rewriter, mlir::Operation *consumer,
                    llvm::ArrayRef<int64_t> tiles,
                    std::function<bool(mlir::tensor::ExtractSliceOp)> fuse);

/// The number of iterations of `loop`, if its bounds and step are constant.
inline std::optional<int64_t> tripCount(mlir::scf::ForOp loop) {
  return mlir::constantTripCount(mlir::getAsOpFoldResult(loop.getLowerBound()),
                                 mlir::getAsOpFoldResult(loop.getUpperBound()),
                                 mlir::getAsOpFoldResult(loop.getStep()));
}

/// The `memref.copy` into out-parameter `out` in its function's body, if
/// that copy is `out`'s only use (after buffer-results-to-out-params).
mlir::memref::CopyOp soleCopyInto(mlir::BlockArgument out);

} // namespace kiln

#endif // KILN_COMPILER_CODEGEN_PASSES_H
