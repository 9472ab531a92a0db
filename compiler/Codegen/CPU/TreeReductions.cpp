//===- TreeReductions.cpp - Vector reductions as balanced trees -----------===//

#include "compiler/Codegen/Passes.h"

#include "mlir/Dialect/Vector/Utils/VectorUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_KILNTREEREDUCTIONS
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

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
LogicalResult kiln::reduceAsTree(RewriterBase &rewriter,
                                 vector::MultiDimReductionOp op,
                                 ReductionCombine combine) {
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

namespace {

/// reduceAsTree with the reduction's own combining kind.
struct ReduceAsTree : OpRewritePattern<vector::MultiDimReductionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(vector::MultiDimReductionOp op,
                                PatternRewriter &rewriter) const override {
    return kiln::reduceAsTree(rewriter, op, [&](Value a, Value b) {
      return vector::makeArithReduction(rewriter, op.getLoc(), op.getKind(),
                                        a, b);
    });
  }
};

struct KilnTreeReductions
    : kiln::impl::KilnTreeReductionsBase<KilnTreeReductions> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    kiln::populateTreeReductionPatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(getOperation(),
                                            std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void kiln::populateTreeReductionPatterns(RewritePatternSet &patterns) {
  patterns.add<ReduceAsTree>(patterns.getContext());
}
