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
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/IR/Dominance.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

#include <optional>

namespace kiln {
#define GEN_PASS_DEF_KILNVECTORIZE
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using kiln::kParallelAttr;
using kiln::kRowBlocksAttr;
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

/// A vector multi-reduction becomes a balanced tree of elementwise
/// combinations when it reduces to one value (every kept dimension is 1) or
/// reduces one dimension with only unit dimensions before it. Lowered as
/// upstream does it, such a reduction is one chain: each of a tile's vectors
/// (an outer reduction) or lanes (an inner one) waits for the previous
/// combination, so a row's reduction runs at the combination's latency, not
/// its throughput. A tree combines a tile's vectors pairwise and a vector's
/// lanes by halves (shuffles); only the combination with the accumulator
/// stays on the loop's chain. Float sums and products are reassociated: they
/// are already, since reductions are split into per-lane partial results.
/// `combine` combines two values of the reduction.
using Combine = llvm::function_ref<Value(Value, Value)>;
LogicalResult reduceAsTree(RewriterBase &rewriter,
                           vector::MultiDimReductionOp op, Combine combine) {
  rewriter.setInsertionPoint(op);
  VectorType sourceType = op.getSourceVectorType();
  ArrayRef<int64_t> shape = sourceType.getShape();
  SmallVector<bool> reduced = op.getReductionMask();
  if (sourceType.isScalable() ||
      cast<vector::MaskableOpInterface>(op.getOperation()).isMasked())
    return failure();
  int64_t rank = sourceType.getRank();
  bool toScalar = llvm::all_of(llvm::seq<int64_t>(0, rank), [&](int64_t d) {
    return reduced[d] || shape[d] == 1;
  });
  // Otherwise: one reduced dimension, only unit dimensions before it.
  int64_t outer = -1;
  if (!toScalar) {
    if (llvm::count(reduced, true) != 1)
      return failure();
    outer = llvm::find(reduced, true) - reduced.begin();
    if (llvm::any_of(shape.take_front(outer), [](int64_t d) { return d != 1; }))
      return failure();
  }

  Location loc = op.getLoc();
  auto extract = [&](Value v, int64_t i) -> Value {
    return rewriter.create<vector::ExtractOp>(loc, v, i);
  };
  // The rows of the leading dimension of `v`, combined pairwise.
  auto combineRows = [&](Value v) {
    SmallVector<Value> level;
    int64_t rows = cast<VectorType>(v.getType()).getDimSize(0);
    for (int64_t i = 0; i < rows; ++i)
      level.push_back(extract(v, i));
    while (level.size() > 1) {
      SmallVector<Value> next;
      for (size_t i = 0; i + 1 < level.size(); i += 2)
        next.push_back(combine(level[i], level[i + 1]));
      if (level.size() % 2)
        next.push_back(level.back());
      level = std::move(next);
    }
    return level.front();
  };
  // `v` without its first `count` dimensions, all of them 1.
  auto dropUnitDims = [&](Value v, int64_t count) {
    for (int64_t i = 0; i < count; ++i)
      v = extract(v, 0);
    return v;
  };

  Value source = op.getSource(), reducedValue, acc;
  if (toScalar) {
    for (int64_t d = 0; d + 1 < rank; ++d)
      source = reduced[d] ? combineRows(source) : extract(source, 0);
    if (reduced[rank - 1]) {
      // Halves of the lanes, combined, until one lane is left; the last
      // lane of an odd count joins at the end.
      SmallVector<Value> leftovers;
      for (int64_t n = shape[rank - 1]; n > 1;) {
        if (n % 2) {
          leftovers.push_back(extract(source, n - 1));
          --n;
        }
        int64_t half = n / 2;
        auto slice = [&](int64_t offset) -> Value {
          return rewriter.create<vector::ExtractStridedSliceOp>(
              loc, source, ArrayRef<int64_t>{offset}, ArrayRef<int64_t>{half},
              ArrayRef<int64_t>{1});
        };
        Value low = slice(0), high = slice(half);
        source = combine(low, high);
        n = half;
      }
      reducedValue = extract(source, 0);
      for (Value leftover : leftovers)
        reducedValue = combine(reducedValue, leftover);
    } else {
      reducedValue = extract(source, 0);
    }
    auto accType = dyn_cast<VectorType>(op.getAcc().getType());
    acc = dropUnitDims(op.getAcc(), accType ? accType.getRank() : 0);
  } else {
    reducedValue = combineRows(dropUnitDims(source, outer));
    acc = dropUnitDims(op.getAcc(), outer);
  }
  Value result = combine(reducedValue, acc);
  if (result.getType() != op.getType())
    result = rewriter.create<vector::BroadcastOp>(loc, op.getType(), result);
  rewriter.replaceOp(op, result);
  return success();
}

/// reduceAsTree with the reduction's own combining kind.
struct ReduceAsTree : OpRewritePattern<vector::MultiDimReductionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(vector::MultiDimReductionOp op,
                                PatternRewriter &rewriter) const override {
    return reduceAsTree(rewriter, op, [&](Value a, Value b) {
      return vector::makeArithReduction(rewriter, op.getLoc(), op.getKind(),
                                        a, b);
    });
  }
};

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
      (void)reduceAsTree(rewriter, reduction, [&](Value a, Value b) {
        return nanAgnosticMaximum(rewriter, reduction.getLoc(), a, b);
      });
    }
  }

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
      if (llvm::any_of(ranges, ShapedType::isDynamic))
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
    MLIRContext *ctx = &getContext();
    {
      IRRewriter rewriter(ctx);
      fuseRows(rewriter, func);
      // A producer fused once per use (softmax's exp feeds both the row sum
      // and the quotient) is computed once; producers now computed inside
      // the row loops are dead outside.
      DominanceInfo dominance(func);
      eliminateCommonSubExpressions(rewriter, dominance, func);
      computeIntoOutputSlices(rewriter, func);
      RewritePatternSet cleanup(ctx);
      if (failed(applyPatternsAndFoldGreedily(func, std::move(cleanup))))
        return signalPassFailure();
    }
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
    RewritePatternSet trees(ctx);
    trees.add<ReduceAsTree>(ctx);
    if (failed(applyPatternsAndFoldGreedily(func, std::move(trees))))
      return signalPassFailure();
    hoistInvariants(func);
    multiplyByReciprocals(func);
    compareWithConstants(func);
  }

  /// maximumf and minimumf against a constant that is not NaN (relu's 0, a
  /// clamp's bounds) become a comparison and a select with the same
  /// results, NaN and signed zeros included: x86 has no instruction for the
  /// NaN-propagating maximum, and LLVM expands it into six.
  void compareWithConstants(func::FuncOp func) {
    func.walk([](Operation *op) {
      bool isMax = isa<arith::MaximumFOp>(op);
      if (!isMax && !isa<arith::MinimumFOp>(op))
        return;
      Value x = op->getOperand(0), c = op->getOperand(1);
      FloatAttr bound;
      auto constantBound = [&](Value v) {
        Attribute attr;
        if (!matchPattern(v, m_Constant(&attr)))
          return false;
        if (auto splat = dyn_cast<SplatElementsAttr>(attr))
          attr = splat.getSplatValue<Attribute>();
        bound = dyn_cast<FloatAttr>(attr);
        return bound && !bound.getValue().isNaN();
      };
      if (!constantBound(c)) {
        std::swap(x, c);
        if (!constantBound(c))
          return;
      }
      // max(x, c) is c where x <= c, except that max(+0, -0) is +0: with
      // c = -0, take c only where x < c. A NaN x compares false and stays.
      // min(x, c) mirrors it.
      bool negativeZero = bound.getValue().isNegZero();
      bool positiveZero = bound.getValue().isPosZero();
      arith::CmpFPredicate takeBound =
          isMax ? (negativeZero ? arith::CmpFPredicate::OLT
                                : arith::CmpFPredicate::OLE)
                : (positiveZero ? arith::CmpFPredicate::OGT
                                : arith::CmpFPredicate::OGE);
      OpBuilder b(op);
      Value compare = b.create<arith::CmpFOp>(op->getLoc(), takeBound, x, c);
      op->getResult(0).replaceAllUsesWith(
          b.create<arith::SelectOp>(op->getLoc(), compare, c, x).getResult());
      op->erase();
    });
  }

  /// A division by a value a tile loop does not change (softmax's row sum)
  /// becomes a multiplication by its reciprocal, taken once before the
  /// loop: a vector division costs several multiplications. The quotient
  /// may differ from the correctly rounded one in the last bit, as it does
  /// in PyTorch's CPU softmax, which divides the same way; a subnormal
  /// divisor, whose reciprocal overflows, gives inf where x / d might still
  /// be finite.
  void multiplyByReciprocals(func::FuncOp func) {
    func.walk([](scf::ForOp loop) {
      for (Operation &op : llvm::make_early_inc_range(*loop.getBody())) {
        auto div = dyn_cast<arith::DivFOp>(op);
        if (!div || !loop.isDefinedOutsideOfLoop(div.getRhs()))
          continue;
        OpBuilder b(loop);
        Type type = div.getType();
        Attribute one = b.getFloatAttr(getElementTypeOrSelf(type), 1.0);
        if (auto vector = dyn_cast<VectorType>(type))
          one = SplatElementsAttr::get(vector, one);
        Value ones =
            b.create<arith::ConstantOp>(div.getLoc(), cast<TypedAttr>(one));
        Value reciprocal = b.create<arith::DivFOp>(
            div.getLoc(), ones, div.getRhs(), div.getFastmathAttr());
        b.setInsertionPoint(div);
        div.replaceAllUsesWith(b.create<arith::MulFOp>(
            div.getLoc(), div.getLhs(), reciprocal, div.getFastmathAttr())
                                   .getResult());
        div.erase();
      }
    });
  }

  /// Moves what a tile loop computes the same in every iteration (a row's
  /// mean and 1/sqrt(var + eps), broadcast to a vector) out of it. On
  /// tensors every op here is free of memory effects; the loops have static,
  /// non-zero trip counts, so even ops that are not speculatable (reads of
  /// a tensor element) run no more often than before.
  void hoistInvariants(func::FuncOp func) {
    func.walk([](scf::ForOp loop) {
      std::optional<int64_t> trips = kiln::tripCount(loop);
      if (!trips || *trips < 1)
        return;
      Region *body = &loop.getRegion();
      moveLoopInvariantCode(
          ArrayRef<Region *>(body),
          [&](Value v, Region *) { return loop.isDefinedOutsideOfLoop(v); },
          [](Operation *op, Region *) {
            return op->getNumRegions() == 0 && isMemoryEffectFree(op);
          },
          [&](Operation *op, Region *) { loop.moveOutOfLoop(op); });
    });
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
