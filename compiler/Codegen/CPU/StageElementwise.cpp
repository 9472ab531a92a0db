//===- StageElementwise.cpp - Long elementwise chains in stages -----------===//
//
// A fused elementwise kernel computes its whole chain per element: a
// sigmoid, a tanh and an exp in a row are one dependent chain of some 170
// cycles per vector. The CPU overlaps several vectors' chains only as far as
// its reorder buffer reaches, and retires in order, so such a chain runs at
// its latency, not at the throughput of the FMA units. Split into stages of
// one transcendental each, computed one stage at a time over a small block
// kept in L1, the chains are short and many are independent: a hand-written
// model of the benchmark's chain ran 1.9x faster so.
//
//===----------------------------------------------------------------------===//

#include "compiler/Codegen/Passes.h"

#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_KILNSTAGEELEMENTWISE
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Ops that end a stage: transcendentals, whose polynomials (or libm calls)
/// make long dependent chains.
bool endsStage(Operation *op) {
  return isa<math::ExpOp, math::Exp2Op, math::ExpM1Op, math::LogOp,
             math::Log2Op, math::Log1pOp, math::TanhOp, math::ErfOp,
             math::SinOp, math::CosOp, math::PowFOp, math::AtanOp,
             math::Atan2Op>(op);
}

/// Tile sizes of a block of at most `budget` elements: the innermost
/// dimensions whole while they fit, then a divisor of the next one.
SmallVector<int64_t> blockTiles(ArrayRef<int64_t> ranges, int64_t budget) {
  SmallVector<int64_t> tiles(ranges.size(), 1);
  for (int64_t d = static_cast<int64_t>(ranges.size()) - 1; d >= 0; --d) {
    tiles[d] = kiln::largestDivisor(ranges[d], budget);
    budget /= tiles[d];
    if (tiles[d] < ranges[d])
      break;
  }
  return tiles;
}

/// The stage of each op of `body` (all but the terminator), or nothing if
/// the body has fewer than two stage-ending ops. The i-th stage-ending op is
/// in stage i; any other op is in the earliest stage that uses it, so that
/// cheap ops (relu of an input kept for the last stage) are computed where
/// they are needed, not carried between stages.
std::optional<DenseMap<Operation *, int64_t>> assignStages(Block &body) {
  DenseMap<Operation *, int64_t> stage;
  int64_t enders = 0;
  for (Operation &op : body.without_terminator())
    if (endsStage(&op))
      stage[&op] = enders++;
  if (enders < 2)
    return std::nullopt;
  int64_t last = enders - 1;
  for (Operation &op : llvm::reverse(body.without_terminator())) {
    if (stage.count(&op))
      continue;
    int64_t earliest = last;
    for (Operation *user : op.getUsers())
      if (user != body.getTerminator())
        earliest = std::min(earliest, stage.lookup(user));
    stage[&op] = earliest;
  }
  // Every op must come no earlier than what it reads.
  for (Operation &op : body.without_terminator())
    for (Value operand : op.getOperands())
      if (Operation *def = operand.getDefiningOp();
          def && def->getBlock() == &body && stage[def] > stage[&op])
        return std::nullopt;
  return stage;
}

struct KilnStageElementwise
    : kiln::impl::KilnStageElementwiseBase<KilnStageElementwise> {
  using KilnStageElementwiseBase::KilnStageElementwiseBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.getBody().empty())
      return;
    SmallVector<linalg::GenericOp> candidates;
    for (auto generic : func.getBody().front().getOps<linalg::GenericOp>())
      candidates.push_back(generic);
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp generic : candidates)
      stage(rewriter, generic);
    // A stage read by two later ones is fused into the block loop twice;
    // once is enough.
    DominanceInfo dominance(func);
    eliminateCommonSubExpressions(rewriter, dominance, func);
    RewritePatternSet patterns(&getContext());
    // A block's slice of a stage's tensor.empty becomes a block-sized one.
    tensor::populateFoldTensorEmptyPatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(func, std::move(patterns))))
      return signalPassFailure();
  }

  /// Splits `generic` into one generic per stage, then computes the stages
  /// block by block: the last stage is tiled into blocks of up to
  /// `blockElements` elements and the earlier ones fused into its loop.
  void stage(IRRewriter &rewriter, linalg::GenericOp generic) {
    if (!generic.hasPureTensorSemantics() || generic.getNumDpsInits() != 1 ||
        generic.getNumReductionLoops() != 0 ||
        !generic.getMatchingIndexingMap(generic.getDpsInitOperand(0))
             .isIdentity() ||
        generic.payloadUsesValueFromOperand(generic.getDpsInitOperand(0)))
      return;
    SmallVector<int64_t> ranges = generic.getStaticLoopRanges();
    if (llvm::any_of(ranges, ShapedType::isDynamic))
      return;
    // A kernel that combines rows' reductions elementwise (softmax) is
    // kiln-vectorize's to tile by blocks of rows.
    for (Value input : generic.getDpsInputs())
      if (auto producer = input.getDefiningOp<linalg::LinalgOp>();
          producer && producer.getNumReductionLoops() > 0)
        return;
    Block &body = generic.getRegion().front();
    // Ops with regions could read values of other stages inside them.
    if (llvm::any_of(body, [](Operation &op) { return op.getNumRegions(); }))
      return;
    std::optional<DenseMap<Operation *, int64_t>> stages = assignStages(body);
    if (!stages)
      return;
    int64_t count = 0;
    for (auto [op, s] : *stages)
      count = std::max(count, s + 1);

    // Values of one stage that later stages (or the result) read.
    auto stageOf = [&](Value v) -> std::optional<int64_t> {
      Operation *def = v.getDefiningOp();
      if (!def || def->getBlock() != &body)
        return std::nullopt;
      return stages->lookup(def);
    };
    SmallVector<SmallVector<Value>> carried(count);
    auto carry = [&](Value v, int64_t reader) -> bool {
      std::optional<int64_t> s = stageOf(v);
      if (!s || *s >= reader)
        return true;
      // Only numbers travel between stages in tensors.
      if (!v.getType().isIntOrFloat() || v.getType().isInteger(1))
        return false;
      if (!llvm::is_contained(carried[*s], v))
        carried[*s].push_back(v);
      return true;
    };
    for (Operation &op : body.without_terminator())
      for (Value operand : op.getOperands())
        if (!carry(operand, stages->lookup(&op)))
          return;
    Value yielded = body.getTerminator()->getOperand(0);
    if (!carry(yielded, count - 1))
      return;
    // A stage nothing later reads (a dead transcendental) has no result.
    for (int64_t s = 0; s + 1 < count; ++s)
      if (carried[s].empty())
        return;

    Location loc = generic.getLoc();
    AffineMap identity = generic.getMatchingIndexingMap(
        generic.getDpsInitOperand(0));
    SmallVector<utils::IteratorType> iterators =
        generic.getIteratorTypesArray();
    auto shaped = cast<RankedTensorType>(generic.getResult(0).getType());
    rewriter.setInsertionPoint(generic);
    // The tensor holding each carried value.
    DenseMap<Value, Value> tensors;
    linalg::GenericOp lastStage;
    for (int64_t s = 0; s < count; ++s) {
      // Inputs: the original operands this stage reads, then the carried
      // values of earlier stages.
      SmallVector<Value> inputs, outputs, readArgs, readCarried;
      SmallVector<AffineMap> maps;
      auto reads = [&](Value v) {
        for (Operation &op : body.without_terminator())
          if (stages->lookup(&op) == s && llvm::is_contained(op.getOperands(), v))
            return true;
        return s == count - 1 && yielded == v;
      };
      for (OpOperand *input : generic.getDpsInputOperands()) {
        Value arg = body.getArgument(input->getOperandNumber());
        if (!reads(arg))
          continue;
        inputs.push_back(input->get());
        maps.push_back(generic.getMatchingIndexingMap(input));
        readArgs.push_back(arg);
      }
      for (int64_t earlier = 0; earlier < s; ++earlier)
        for (Value v : carried[earlier])
          if (reads(v)) {
            inputs.push_back(tensors.lookup(v));
            maps.push_back(identity);
            readCarried.push_back(v);
          }
      SmallVector<Value> results =
          s == count - 1 ? SmallVector<Value>{yielded} : carried[s];
      SmallVector<Type> resultTypes;
      for (Value v : results) {
        if (s == count - 1) {
          outputs.push_back(generic.getDpsInits()[0]);
        } else {
          outputs.push_back(rewriter.create<tensor::EmptyOp>(
              loc, shaped.getShape(), v.getType()));
        }
        resultTypes.push_back(outputs.back().getType());
        maps.push_back(identity);
      }
      auto stageOp = rewriter.create<linalg::GenericOp>(
          loc, resultTypes, inputs, outputs, maps, iterators,
          [&](OpBuilder &b, Location, ValueRange args) {
            IRMapping mapping;
            for (auto [i, arg] : llvm::enumerate(readArgs))
              mapping.map(arg, args[i]);
            for (auto [i, v] : llvm::enumerate(readCarried))
              mapping.map(v, args[readArgs.size() + i]);
            for (Operation &op : body.without_terminator())
              if (stages->lookup(&op) == s)
                b.clone(op, mapping);
            SmallVector<Value> yields;
            for (Value v : results)
              yields.push_back(mapping.lookupOrDefault(v));
            b.create<linalg::YieldOp>(loc, yields);
          });
      stageOp->setDiscardableAttrs(generic->getDiscardableAttrDictionary());
      for (auto [i, v] : llvm::enumerate(results))
        if (s < count - 1)
          tensors[v] = stageOp.getResult(i);
      lastStage = stageOp;
    }
    rewriter.replaceOp(generic, lastStage.getResults());

    // Block by block: tile the last stage, fuse the others into its loop.
    SmallVector<int64_t> tiles = blockTiles(ranges, blockElements);
    if (tiles == ranges)
      return;
    (void)kiln::tileAndFuseParallel(rewriter, lastStage, tiles,
                                    [](tensor::ExtractSliceOp) { return true; });
  }
};

} // namespace
