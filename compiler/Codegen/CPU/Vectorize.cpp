//===- Vectorize.cpp - Static tiles, then linalg's vectorizer -------------===//

#include "compiler/Codegen/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <optional>

namespace kiln {
#define GEN_PASS_DEF_KILNVECTORIZE
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using kiln::kParallelAttr;
using kiln::largestDivisor;

namespace {

/// On a maximum reduction whose result, where its input holds NaN, may be
/// NaN or the maximum of the other elements (set by convert-graph-to-linalg
/// on softmax's shift).
constexpr llvm::StringLiteral kNanAgnosticMaxAttr = kiln::attr::kNanAgnosticMax;

/// The vector reductions a rewrite creates (and does not erase again).
struct ReductionCollector : RewriterBase::Listener {
  llvm::SetVector<Operation *> reductions;
  void notifyOperationInserted(Operation *op,
                               OpBuilder::InsertPoint) override {
    if (isa<vector::MultiDimReductionOp>(op))
      reductions.insert(op);
  }
  void notifyOperationErased(Operation *op) override {
    reductions.remove(op);
  }
};

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
    int64_t limit =
        std::min(innermost ? width : budget / volume, budget / volume);
    tiles[i] = largestDivisor(ranges[i], std::max<int64_t>(limit, 1));
    volume *= tiles[i];
  }
  return tiles;
}

/// The maximum of `x` and `y`, or `y` where either is NaN: one vmaxps on
/// x86 (LLVM matches the compare and select).
Value nanAgnosticMaximum(OpBuilder &b, Location loc, Value x, Value y) {
  Value greater = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, x, y);
  return b.create<arith::SelectOp>(loc, greater, x, y);
}

struct KilnVectorize : kiln::impl::KilnVectorizeBase<KilnVectorize> {
  using KilnVectorizeBase::KilnVectorizeBase;

  /// Splits a generic's innermost reduction loop of range K into [K / w, w]
  /// with the w-wide loop parallel (w the vector width), when that divides
  /// and the partial results stay small.
  std::optional<linalg::SplitReductionResult>
  splitInnermostReduction(IRRewriter &rewriter, linalg::LinalgOp op) {
    auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
    // linalg::splitReduction does not renumber linalg.index in the split
    // loops (a column index would become the chunk's index): ops that read
    // their indices (cross-entropy's label match) reduce unsplit.
    if (!generic || generic.getNumDpsInits() != 1 ||
        op.getNumReductionLoops() != 1 || generic.hasIndexSemantics())
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
    // Empty loops have nothing to tile (and no tile size divides 0).
    if (llvm::any_of(ranges, ShapedType::isDynamic) ||
        llvm::is_contained(ranges, 0))
      return;
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
    bool nanAgnosticMax = op->hasAttr(kNanAgnosticMaxAttr);
    if (auto split = splitInnermostReduction(rewriter, op)) {
      if (nanAgnosticMax) {
        split->splitLinalgOp->setAttr(kNanAgnosticMaxAttr,
                                      rewriter.getUnitAttr());
        split->resultCombiningLinalgOp->setAttr(kNanAgnosticMaxAttr,
                                                rewriter.getUnitAttr());
      }
      vectorizeOne(rewriter, split->splitLinalgOp);
      vectorizeOne(rewriter, split->resultCombiningLinalgOp);
      return;
    }
    // Without reductions, several vectors per tile: their independent
    // chains overlap.
    int64_t width = op.getNumReductionLoops() == 0 ? parallelVectorWidth
                                                   : vectorWidth;
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    SmallVector<int64_t> tiles =
        chooseTiles(ranges, iterators, width, maxTileElements);
    Operation *target = op;
    auto tileable = dyn_cast<TilingInterface>(op.getOperation());
    if (tiles != ranges && tileable) {
      scf::SCFTilingOptions options;
      options.setTileSizes(getAsIndexOpFoldResult(ctx, tiles));
      // A reduction over the first dimension (batch norm's statistics over
      // the batch, a bias gradient) iterates its tiled parallel dimensions
      // outermost instead, so that their loop can run on several threads.
      int64_t rank = tiles.size();
      SmallVector<int64_t> order;
      for (int64_t d = 0; d < rank; ++d)
        if (iterators[d] == utils::IteratorType::parallel &&
            tiles[d] < ranges[d])
          order.push_back(d);
      if (iterators.front() == utils::IteratorType::reduction &&
          !order.empty()) {
        for (int64_t d = 0; d < rank; ++d)
          if (!llvm::is_contained(order, d))
            order.push_back(d);
        options.setInterchange(order);
      } else {
        order.clear();
      }
      rewriter.setInsertionPoint(op);
      FailureOr<scf::SCFTilingResult> tiled =
          scf::tileUsingSCF(rewriter, tileable, options);
      if (failed(tiled) || tiled->tiledOps.size() != 1) {
        if (report)
          op.emitRemark("not tiled; stays scalar");
        return;
      }
      // The outermost loop may run its iterations on several threads when
      // its dimension is parallel (kiln-parallelize).
      bool firstParallel =
          iterators[order.empty() ? 0 : order.front()] ==
          utils::IteratorType::parallel;
      rewriter.replaceOp(op, tiled->replacements);
      target = tiled->tiledOps.front();
      if (!tiled->loops.empty() && firstParallel)
        tiled->loops.front()->setAttr(kParallelAttr, rewriter.getUnitAttr());
    }
    if (failed(linalg::vectorizeOpPrecondition(target, {}, {},
                                               /*vectorizeNDExtract=*/true))) {
      if (report)
        target->emitRemark("not vectorizable; stays scalar");
      return;
    }
    rewriter.setInsertionPoint(target);
    ReductionCollector collector;
    if (nanAgnosticMax)
      rewriter.setListener(&collector);
    if (failed(linalg::vectorize(rewriter, target, {}, {},
                                 /*vectorizeNDExtract=*/true)) &&
        report)
      target->emitRemark("vectorization failed; stays scalar");
    rewriter.setListener(nullptr);
    // Where the maximum may be NaN or ignore it, a tree of single vmaxps:
    // maximumf costs six instructions on x86, maxnumf three.
    for (Operation *inserted : collector.reductions) {
      auto reduction = cast<vector::MultiDimReductionOp>(inserted);
      if (reduction.getKind() != vector::CombiningKind::MAXIMUMF)
        continue;
      (void)kiln::reduceAsTree(rewriter, reduction, [&](Value a, Value b) {
        return nanAgnosticMaximum(rewriter, reduction.getLoc(), a, b);
      });
    }
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

FailureOr<Operation *>
kiln::tileAndFuseParallel(RewriterBase &rewriter, Operation *consumer,
                          ArrayRef<int64_t> tiles,
                          std::function<bool(tensor::ExtractSliceOp)> fuse) {
  scf::SCFTileAndFuseOptions options;
  options.tilingOptions.setTileSizes(
      getAsIndexOpFoldResult(rewriter.getContext(), tiles));
  options.setFusionControlFn([fuse](tensor::ExtractSliceOp slice, OpResult,
                                    bool isDestination) {
    return std::make_tuple(!isDestination && fuse(slice), false);
  });
  rewriter.setInsertionPoint(consumer);
  FailureOr<scf::SCFTileAndFuseResult> fused =
      scf::tileConsumerAndFuseProducersUsingSCF(
          rewriter, cast<TilingInterface>(consumer), options);
  if (failed(fused))
    return failure();
  for (auto [original, replacement] : fused->replacements)
    rewriter.replaceAllUsesWith(original, replacement);
  if (fused->loops.empty())
    return static_cast<Operation *>(nullptr);
  Operation *outermost = fused->loops.front();
  outermost->setAttr(kParallelAttr, rewriter.getUnitAttr());
  return outermost;
}
