//===- FuseRows.cpp - Row-block loops for kernels that reduce rows --------===//

#include "compiler/Codegen/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_KILNFUSEROWS
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using kiln::kRowBlocksAttr;
using kiln::largestDivisor;

namespace {

struct KilnFuseRows : kiln::impl::KilnFuseRowsBase<KilnFuseRows> {
  using KilnFuseRowsBase::KilnFuseRowsBase;

  /// In a kernel whose result is computed row by row from values its other
  /// ops reduce per row (softmax, layer norm, their gradients), the result's
  /// op is tiled along its first, parallel loop and the ops producing its
  /// row slices are fused into that loop: every pass over a block of rows
  /// then reads it from cache, not memory. Blocks hold up to
  /// `rowBlockElements` elements. Producers whose slice does not depend on
  /// the row (a reduction over all rows) stay outside the loop.
  void fuseRows(IRRewriter &rewriter, func::FuncOp func) {
    if (!func.isPrivate() || func.getBody().empty())
      return;
    auto ret = dyn_cast<func::ReturnOp>(func.getBody().front().getTerminator());
    if (!ret)
      return;
    for (Value result : ret.getOperands()) {
      auto consumer = result.getDefiningOp<linalg::LinalgOp>();
      if (!consumer || !consumer.hasPureTensorSemantics() ||
          consumer.getNumLoops() < 2 ||
          consumer.getIteratorTypesArray().front() !=
              utils::IteratorType::parallel ||
          !llvm::isa<TilingInterface>(consumer.getOperation()))
        continue;
      // Only worth it when a producer also reads whole rows.
      bool rowProducer = llvm::any_of(consumer->getOperands(), [](Value v) {
        auto producer = v.getDefiningOp<linalg::LinalgOp>();
        return producer && producer.getNumReductionLoops() > 0;
      });
      if (!rowProducer)
        continue;
      SmallVector<int64_t> ranges = consumer.getStaticLoopRanges();
      if (llvm::any_of(ranges, ShapedType::isDynamic) ||
          llvm::is_contained(ranges, 0))
        continue;
      int64_t rowElements = 1;
      for (int64_t r : ArrayRef<int64_t>(ranges).drop_front())
        rowElements *= r;
      int64_t rows = largestDivisor(
          ranges.front(), std::max<int64_t>(1, rowBlockElements / rowElements));
      if (rows == ranges.front())
        continue;
      SmallVector<int64_t> tiles(ranges.size(), 0);
      tiles.front() = rows;
      // Fuse a producer only where its slice moves with the row block.
      FailureOr<Operation *> blocks = kiln::tileAndFuseParallel(
          rewriter, consumer, tiles, [](tensor::ExtractSliceOp slice) {
            return llvm::any_of(slice.getMixedOffsets(), [](OpFoldResult o) {
              return !getConstantIntValue(o).has_value();
            });
          });
      if (succeeded(blocks) && *blocks)
        (*blocks)->setAttr(kRowBlocksAttr, rewriter.getUnitAttr());
    }
  }

  /// In a row-block loop, an op whose result the block's last op reads only
  /// at the element it writes computes into the block's output slice, and
  /// the last op updates it there: softmax's exponentials are scaled in
  /// place in the output, so a block's passes touch two buffers instead of
  /// three. Bufferization keeps a temporary wherever sharing would conflict.
  void computeIntoOutputSlices(RewriterBase &rewriter, func::FuncOp func) {
    SmallVector<linalg::GenericOp> lasts;
    func.walk([&](tensor::InsertSliceOp insert) {
      auto loop = dyn_cast<scf::ForOp>(insert->getParentOp());
      auto last = insert.getSource().getDefiningOp<linalg::GenericOp>();
      if (loop && loop->hasAttr(kRowBlocksAttr) && last &&
          last->getBlock() == insert->getBlock())
        lasts.push_back(last);
    });
    for (linalg::GenericOp last : lasts)
      (void)updateProducerInPlace(rewriter, last);
  }

  /// Rewrites `last` (ins(..., %p, ...) outs(%slice)) into
  /// ins(...) outs(%p), with %p's producer computing into %slice.
  LogicalResult updateProducerInPlace(RewriterBase &rewriter,
                                      linalg::GenericOp last) {
    if (last.getNumDpsInits() != 1)
      return failure();
    OpOperand *output = last.getDpsInitOperand(0);
    auto slice = output->get().getDefiningOp<tensor::ExtractSliceOp>();
    if (!slice || last.payloadUsesValueFromOperand(output))
      return failure();
    AffineMap outputMap = last.getMatchingIndexingMap(output);
    for (OpOperand *input : last.getDpsInputOperands()) {
      auto producer = input->get().getDefiningOp<linalg::GenericOp>();
      if (!producer || producer->getBlock() != last->getBlock() ||
          producer.getNumDpsInits() != 1 ||
          input->get().getType() != output->get().getType() ||
          last.getMatchingIndexingMap(input) != outputMap)
        continue;
      // The producer's output must be a temporary: a slice of an empty
      // tensor.
      OpOperand *temporary = producer.getDpsInitOperand(0);
      Value empty = temporary->get();
      if (auto tile = empty.getDefiningOp<tensor::ExtractSliceOp>())
        empty = tile.getSource();
      if (!empty.getDefiningOp<tensor::EmptyOp>() ||
          producer.payloadUsesValueFromOperand(temporary))
        continue;
      if (producer->isBeforeInBlock(slice)) {
        if (slice->getBlock() != producer->getBlock() ||
            llvm::any_of(slice->getOperands(), [&](Value v) {
              Operation *def = v.getDefiningOp();
              return def && def->getBlock() == producer->getBlock() &&
                     !def->isBeforeInBlock(producer);
            }))
          continue;
        rewriter.moveOpBefore(slice, producer);
      }
      rewriter.modifyOpInPlace(producer,
                               [&] { temporary->set(slice.getResult()); });

      // The last op reads the producer's value through its output.
      unsigned position = input->getOperandNumber();
      SmallVector<Value> inputs;
      SmallVector<AffineMap> maps;
      for (OpOperand *other : last.getDpsInputOperands())
        if (other != input) {
          inputs.push_back(other->get());
          maps.push_back(last.getMatchingIndexingMap(other));
        }
      maps.push_back(outputMap);
      rewriter.setInsertionPoint(last);
      auto updated = rewriter.create<linalg::GenericOp>(
          last.getLoc(), last->getResultTypes(), inputs,
          ValueRange{input->get()}, maps, last.getIteratorTypesArray());
      updated->setDiscardableAttrs(last->getDiscardableAttrDictionary());
      Block &body = last.getRegion().front();
      body.getArgument(position).replaceAllUsesWith(
          body.getArgument(last.getNumDpsInputs()));
      body.eraseArgument(position);
      updated.getRegion().takeBody(last.getRegion());
      rewriter.replaceOp(last, updated->getResults());
      return success();
    }
    return failure();
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    IRRewriter rewriter(&getContext());
    fuseRows(rewriter, func);
    // A producer fused once per use (softmax's exp feeds both the row sum
    // and the quotient) is computed once; producers now computed inside the
    // row loops are dead outside.
    DominanceInfo dominance(func);
    eliminateCommonSubExpressions(rewriter, dominance, func);
    computeIntoOutputSlices(rewriter, func);
    RewritePatternSet cleanup(&getContext());
    if (failed(applyPatternsAndFoldGreedily(func, std::move(cleanup))))
      return signalPassFailure();
  }
};

} // namespace
