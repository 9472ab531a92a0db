//===- FuseElementwise.cpp - Elementwise fusion that keeps vector width ---===//
//
// linalg's elementwise fusion, with one rule more for the reshapes it folds
// into generics: a reshape that would split the dimension a generic walks
// with its innermost loop stays a reshape (a view after bufferization).
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

/// True if, in `map` (a generic's loops to a tensor's dimensions), a
/// dimension that `reassociation` splits into more than one dimension of
/// size above 1 (sizes `expandedShape`) is indexed by the innermost loop.
bool splitsInnermostLoop(AffineMap map, ArrayRef<ReassociationIndices> groups,
                         ArrayRef<int64_t> expandedShape) {
  unsigned innermost = map.getNumDims() - 1;
  for (auto [dim, group] : llvm::enumerate(groups)) {
    int64_t parts =
        llvm::count_if(group, [&](int64_t d) { return expandedShape[d] != 1; });
    auto loop = dyn_cast<AffineDimExpr>(map.getResult(dim));
    if (parts > 1 && loop && loop.getPosition() == innermost)
      return true;
  }
  return false;
}

/// Whether to fold the reshape at `operand` into its generic by expanding
/// the generic's loops: the elementwise fusion's rule (the producer has no
/// other use), and the expansion keeps the generic's innermost loop whole.
/// kiln-vectorize makes vectors along that loop; split (group norm's
/// per-channel sums seen as [N, groups, channels per group]) it would give
/// vectors of a few lanes.
bool foldsReshape(OpOperand *operand) {
  Operation *producer = operand->get().getDefiningOp();
  if (!producer || !producer->hasOneUse())
    return false;
  // A generic's result, expanded.
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(operand->getOwner())) {
    auto generic = dyn_cast<linalg::GenericOp>(producer);
    if (!generic)
      return true;
    AffineMap map =
        generic.getIndexingMapMatchingResult(cast<OpResult>(operand->get()));
    return !splitsInnermostLoop(map, expand.getReassociationIndices(),
                                expand.getResultType().getShape());
  }
  // A collapsed tensor, read by a generic.
  auto collapse = dyn_cast<tensor::CollapseShapeOp>(producer);
  auto generic = dyn_cast<linalg::GenericOp>(operand->getOwner());
  if (!collapse || !generic)
    return true;
  return !splitsInnermostLoop(generic.getMatchingIndexingMap(operand),
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
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns),
                                            config)))
      signalPassFailure();
  }
};

} // namespace
