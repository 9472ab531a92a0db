//===- Vectorize.cpp - Static tiles, then linalg's vectorizer -------------===//

#include "compiler/Codegen/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <optional>

namespace kiln {
#define GEN_PASS_DEF_KILNVECTORIZE
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The largest divisor of `n` not above `limit`.
int64_t largestDivisor(int64_t n, int64_t limit) {
  for (int64_t d = std::min(n, limit); d > 1; --d)
    if (n % d == 0)
      return d;
  return 1;
}

/// Tile sizes: the innermost loop gets up to `width` elements, outer
/// reduction loops fill the remaining budget, outer parallel loops get 1.
/// Every size divides its range, so every tile is static.
SmallVector<int64_t> chooseTiles(ArrayRef<int64_t> ranges,
                                 ArrayRef<utils::IteratorType> iterators,
                                 int64_t width, int64_t budget) {
  SmallVector<int64_t> tiles(ranges.size(), 1);
  if (ranges.empty())
    return tiles;
  int64_t volume = 1;
  for (int64_t i = ranges.size() - 1; i >= 0; --i) {
    bool innermost = i == static_cast<int64_t>(ranges.size()) - 1;
    if (!innermost && iterators[i] != utils::IteratorType::reduction)
      continue;
    int64_t limit = std::min(innermost ? width : budget / volume, budget / volume);
    tiles[i] = largestDivisor(ranges[i], std::max<int64_t>(limit, 1));
    volume *= tiles[i];
  }
  return tiles;
}

struct KilnVectorize : kiln::impl::KilnVectorizeBase<KilnVectorize> {
  using KilnVectorizeBase::KilnVectorizeBase;

  /// Splits a generic's innermost reduction loop of range K into [K / w, w]
  /// with the w-wide loop parallel (w the vector width), when that divides
  /// and the partial results stay small.
  std::optional<linalg::SplitReductionResult>
  splitInnermostReduction(IRRewriter &rewriter, linalg::LinalgOp op) {
    auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
    if (!generic || generic.getNumDpsInits() != 1 ||
        op.getNumReductionLoops() != 1)
      return std::nullopt;
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    int64_t k = ranges.back();
    if (iterators.back() != utils::IteratorType::reduction ||
        k <= vectorWidth || k % vectorWidth != 0)
      return std::nullopt;
    auto resultType =
        dyn_cast<RankedTensorType>(generic.getDpsInits()[0].getType());
    if (!resultType || !isa<FloatType>(resultType.getElementType()) ||
        resultType.getNumElements() * vectorWidth > (int64_t(1) << 22))
      return std::nullopt;
    rewriter.setInsertionPoint(op);
    FailureOr<linalg::SplitReductionResult> split = linalg::splitReduction(
        rewriter, op, [&](linalg::LinalgOp) {
          return linalg::SplitReductionOptions{
              vectorWidth, static_cast<unsigned>(resultType.getRank()),
              /*innerParallel=*/true};
        });
    if (failed(split))
      return std::nullopt;
    return *split;
  }

  void vectorizeOne(IRRewriter &rewriter, linalg::LinalgOp op) {
    MLIRContext *ctx = &getContext();
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    if (llvm::any_of(ranges, ShapedType::isDynamic))
      return;
    // Booleans stay scalar: an i1 vector in memory is a packed bitmask,
    // while i1 tensors hold one byte per element.
    if (llvm::any_of(op->getOperandTypes(), [](Type t) {
          auto shaped = llvm::dyn_cast<ShapedType>(t);
          return shaped && shaped.getElementType().isInteger(1);
        })) {
      if (report)
        op.emitRemark("reads or writes i1; stays scalar");
      return;
    }
    // Ops the vectorizer cannot take (windows and reversals in their maps)
    // stay whole: tiling them gains nothing and not every map tiles.
    if (failed(linalg::vectorizeOpPrecondition(op, {}, {},
                                               /*vectorizeNDExtract=*/true))) {
      if (report)
        op.emitRemark("not vectorizable; stays scalar");
      return;
    }
    // A row reduction over the innermost loop first folds whole vectors
    // into a vector of partial results, and only then reduces each vector
    // horizontally: one shuffle tree per row instead of one per tile.
    if (auto split = splitInnermostReduction(rewriter, op)) {
      vectorizeOne(rewriter, split->splitLinalgOp);
      vectorizeOne(rewriter, split->resultCombiningLinalgOp);
      return;
    }
    SmallVector<int64_t> tiles = chooseTiles(
        ranges, op.getIteratorTypesArray(), vectorWidth, maxTileElements);
    Operation *target = op;
    auto tileable = dyn_cast<TilingInterface>(op.getOperation());
    if (tiles != ranges && tileable) {
      scf::SCFTilingOptions options;
      options.setTileSizes(getAsIndexOpFoldResult(ctx, tiles));
      rewriter.setInsertionPoint(op);
      FailureOr<scf::SCFTilingResult> tiled =
          scf::tileUsingSCF(rewriter, tileable, options);
      if (failed(tiled) || tiled->tiledOps.size() != 1) {
        if (report)
          op.emitRemark("not tiled; stays scalar");
        return;
      }
      rewriter.replaceOp(op, tiled->replacements);
      target = tiled->tiledOps.front();
    }
    if (failed(linalg::vectorizeOpPrecondition(target, {}, {},
                                               /*vectorizeNDExtract=*/true))) {
      if (report)
        target->emitRemark("not vectorizable; stays scalar");
      return;
    }
    rewriter.setInsertionPoint(target);
    if (failed(linalg::vectorize(rewriter, target, {}, {},
                                 /*vectorizeNDExtract=*/true)) &&
        report)
      target->emitRemark("vectorization failed; stays scalar");
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<linalg::LinalgOp> ops;
    func.walk([&](linalg::LinalgOp op) {
      if (op.hasPureTensorSemantics())
        ops.push_back(op);
    });
    IRRewriter rewriter(ctx);
    for (linalg::LinalgOp op : ops)
      vectorizeOne(rewriter, op);

    // Clean up: fold transfers into their tensors, canonicalize loops.
    RewritePatternSet patterns(ctx);
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::populateVectorReductionToContractPatterns(patterns);
    // Tiles are 1 x ... x N: work on 1-D vectors, which every later lowering
    // (libm calls, LLVM vectors) takes directly.
    vector::populateCastAwayVectorLeadingOneDimPatterns(patterns);
    tensor::populateFoldTensorSubsetIntoVectorTransferPatterns(patterns);
    scf::ForOp::getCanonicalizationPatterns(patterns, ctx);
    vector::TransferReadOp::getCanonicalizationPatterns(patterns, ctx);
    vector::TransferWriteOp::getCanonicalizationPatterns(patterns, ctx);
    if (failed(applyPatternsAndFoldGreedily(func, std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
