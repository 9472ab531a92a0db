//===- FuseElementwise.cpp - Elementwise fusion that keeps vector width ---===//
//
// linalg's elementwise fusion, with one rule more for the reshapes it folds
// into structured ops: a reshape that would split the dimension an op walks
// with its innermost loop into pieces shorter than a vector stays a reshape
// (a view after bufferization).
//
//===----------------------------------------------------------------------===//

#include "compiler/Codegen/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_KILNFUSEELEMENTWISE
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// A vector of this many elements fills one AVX-512 register of float32.
constexpr int64_t kVectorLanes = 16;

/// True if, in `map` (a structured op's loops to a tensor's dimensions),
/// the dimension its innermost loop indexes is one that `groups` splits
/// (into dimensions of sizes `expandedShape`) into more than one of size
/// above 1, the innermost of them shorter than a vector.
bool splitsInnermostLoop(AffineMap map, ArrayRef<ReassociationIndices> groups,
                         ArrayRef<int64_t> expandedShape) {
  if (map.getNumDims() == 0)
    return false;
  unsigned innermost = map.getNumDims() - 1;
  for (auto [dim, group] : llvm::enumerate(groups)) {
    auto loop = dyn_cast<AffineDimExpr>(map.getResult(dim));
    if (!loop || loop.getPosition() != innermost)
      continue;
    int64_t parts =
        llvm::count_if(group, [&](int64_t d) { return expandedShape[d] != 1; });
    int64_t last = expandedShape[group.back()];
    return parts > 1 && last != ShapedType::kDynamic && last < kVectorLanes;
  }
  return false;
}

/// Whether to fold the reshape at `operand` into a structured op by
/// expanding the op's loops: the elementwise fusion's rule (the producer
/// has no other use), and the expansion leaves the op's innermost loop at
/// least a vector long. kiln-vectorize makes vectors along that loop; split
/// into short pieces (group norm's per-channel sums seen as [N, groups,
/// channels per group], 4 or 8 of them) it would give vectors of a few
/// lanes. Attention's [B, T, heads * 16 or more] split per head still
/// folds.
bool foldsReshape(OpOperand *operand) {
  Operation *producer = operand->get().getDefiningOp();
  if (!producer || !producer->hasOneUse())
    return false;
  // A structured op's result, expanded.
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(operand->getOwner())) {
    auto op = dyn_cast<linalg::LinalgOp>(producer);
    if (!op)
      return true;
    AffineMap map =
        op.getIndexingMapMatchingResult(cast<OpResult>(operand->get()));
    return !splitsInnermostLoop(map, expand.getReassociationIndices(),
                                expand.getResultType().getShape());
  }
  // A collapsed tensor, read by a structured op.
  auto collapse = dyn_cast<tensor::CollapseShapeOp>(producer);
  auto op = dyn_cast<linalg::LinalgOp>(operand->getOwner());
  if (!collapse || !op)
    return true;
  return !splitsInnermostLoop(op.getMatchingIndexingMap(operand),
                              collapse.getReassociationIndices(),
                              collapse.getSrcType().getShape());
}

struct KilnFuseElementwise
    : kiln::impl::KilnFuseElementwiseBase<KilnFuseElementwise> {
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    RewritePatternSet patterns(context);
    linalg::ControlFusionFn singleUse = [](OpOperand *operand) {
      Operation *producer = operand->get().getDefiningOp();
      return producer && producer->hasOneUse();
    };
    linalg::populateElementwiseOpsFusionPatterns(patterns, singleUse);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, foldsReshape);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, context);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, context);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, context);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, context);
    context->getLoadedDialect<linalg::LinalgDialect>()
        ->getCanonicalizationPatterns(patterns);
    linalg::populateConstantFoldLinalgOperations(patterns, singleUse);
    GreedyRewriteConfig config;
    config.useTopDownTraversal = true;
    // As linalg-fuse-elementwise-ops: where the rewrites do not converge
    // within the driver's iterations, the function stays partly fused.
    (void)applyPatternsAndFoldGreedily(getOperation(), std::move(patterns),
                                       config);
  }
};

} // namespace
