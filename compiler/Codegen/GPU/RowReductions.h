//===- RowReductions.h - Row reductions as GPU blocks, shared -----------===//
//
// What kiln-gpu-map-loops knows of reductions along rows: which generics
// are ones (matchRowReduction), the all-reduce of their combiners, and the
// index helpers that one block per row needs; used by its one-block-per-row
// reductions and by its row programs (RowPrograms.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_CODEGEN_GPU_ROWREDUCTIONS_H
#define KILN_COMPILER_CODEGEN_GPU_ROWREDUCTIONS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"

#include <optional>

namespace kiln::gpu {

/// Marks the grid loop of a row reduction made one block per row (or of a
/// row program), which shapeLoops maps as it is (not tiled). Removed there.
inline constexpr llvm::StringLiteral kRowPerBlock = "kiln.row_per_block";

/// The all-reduce of the op that combines a row's values into an output.
std::optional<mlir::gpu::AllReduceOperation>
allReduceOf(mlir::Operation *combiner);

/// A generic that reduces rows: its parallel loops (the rows; none for a
/// reduction to one value) first, then its reduction loops, whose
/// iterations are the row's elements.
struct RowReduction {
  mlir::linalg::GenericOp op;
  llvm::SmallVector<int64_t> rows;    // the parallel loops' sizes
  llvm::SmallVector<int64_t> reduced; // the reduction loops'
  int64_t length = 1;                 // their product
  /// Per output: the value the row contributes, the op combining it into
  /// the output, and that op's all-reduce.
  llvm::SmallVector<mlir::Value> contributions;
  llvm::SmallVector<mlir::Operation *> combiners;
  llvm::SmallVector<mlir::gpu::AllReduceOperation> kinds;
};

/// `op` as a RowReduction of rows at least `minLength` long, if it is one:
/// every input that varies along the row reads the innermost reduction
/// loop along its last, contiguous dimension (consecutive threads then read
/// consecutive elements).
std::optional<RowReduction> matchRowReduction(mlir::linalg::LinalgOp linalgOp,
                                              int64_t minLength);

/// The block argument of `op`'s body that holds `operand`'s element, or
/// null where it has none (linalg.map's outputs).
inline mlir::BlockArgument bodyArgument(mlir::linalg::LinalgOp op,
                                        mlir::OpOperand &operand) {
  mlir::Block *body = op.getBlock();
  unsigned number = operand.getOperandNumber();
  return number < body->getNumArguments() ? body->getArgument(number)
                                          : mlir::BlockArgument();
}

/// The indices of `sizes`' iteration `linear` (the last fastest).
llvm::SmallVector<mlir::Value> delinearize(mlir::OpBuilder &b,
                                           mlir::Location loc,
                                           mlir::Value linear,
                                           llvm::ArrayRef<int64_t> sizes);

/// The indices `map` gives for the loop indices `ivs`.
llvm::SmallVector<mlir::Value> indicesOf(mlir::OpBuilder &b, mlir::Location loc,
                                         mlir::AffineMap map,
                                         mlir::ValueRange ivs);

/// The threads of a block that strides along rows of `length` elements:
/// whole warps, about four elements a thread, at most `threadsPerBlock`.
int64_t threadsForRows(int64_t length, int64_t threadsPerBlock);

/// Row programs: each run of bufferized linalg ops in a block that reduce
/// and map the same rows (a softmax's maximum, exponentials, sum and
/// division; a layer norm's passes) becomes one parallel loop, marked
/// kRowPerBlock, of one block per row whose threads take every op in turn
/// (RowPrograms.cpp). Runs that do not qualify are left as they are.
void formRowPrograms(mlir::RewriterBase &rewriter, mlir::func::FuncOp func,
                     int64_t minLength, int64_t threadsPerBlock);

} // namespace kiln::gpu

#endif // KILN_COMPILER_CODEGEN_GPU_ROWREDUCTIONS_H
