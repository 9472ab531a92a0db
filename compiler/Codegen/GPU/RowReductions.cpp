//===- RowReductions.cpp - Row reductions as GPU blocks, shared ---------===//

#include "compiler/Codegen/GPU/RowReductions.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/AffineExpr.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

namespace kiln::gpu {

/// The all-reduce of the op that combines a row's values into an output.
std::optional<mlir::gpu::AllReduceOperation> allReduceOf(Operation *combiner) {
  using Kind = mlir::gpu::AllReduceOperation;
  return llvm::TypeSwitch<Operation *, std::optional<Kind>>(combiner)
      .Case<arith::AddFOp, arith::AddIOp>([](auto) { return Kind::ADD; })
      .Case<arith::MulFOp, arith::MulIOp>([](auto) { return Kind::MUL; })
      .Case([](arith::MaximumFOp) { return Kind::MAXIMUMF; })
      .Case([](arith::MinimumFOp) { return Kind::MINIMUMF; })
      .Case([](arith::MaxNumFOp) { return Kind::MAXNUMF; })
      .Case([](arith::MinNumFOp) { return Kind::MINNUMF; })
      .Case([](arith::MaxSIOp) { return Kind::MAXSI; })
      .Case([](arith::MinSIOp) { return Kind::MINSI; })
      .Case([](arith::MaxUIOp) { return Kind::MAXUI; })
      .Case([](arith::MinUIOp) { return Kind::MINUI; })
      .Default([](Operation *) { return std::nullopt; });
}

/// `op` as a RowReduction of rows at least `minLength` long, if it is one:
/// every input that varies along the row reads the innermost reduction
/// loop along its last, contiguous dimension (consecutive threads then read
/// consecutive elements).
std::optional<RowReduction> matchRowReduction(linalg::LinalgOp linalgOp,
                                              int64_t minLength) {
  auto op = dyn_cast<linalg::GenericOp>(linalgOp.getOperation());
  if (!op || minLength <= 0)
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  unsigned loops = iterators.size();
  if (loops == 0 || op.getNumDpsInits() == 0 ||
      iterators.back() != utils::IteratorType::reduction)
    return std::nullopt;
  // Parallel loops first (parallelFirst put them there), then reductions.
  unsigned parallel = 0;
  while (iterators[parallel] == utils::IteratorType::parallel)
    ++parallel;
  for (unsigned i = parallel; i < loops; ++i)
    if (iterators[i] != utils::IteratorType::reduction)
      return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges, ShapedType::isDynamic))
    return std::nullopt;
  RowReduction match;
  match.op = op;
  match.rows.assign(ranges.begin(), ranges.begin() + parallel);
  match.reduced.assign(ranges.begin() + parallel, ranges.end());
  for (int64_t size : match.reduced)
    if (llvm::MulOverflow(match.length, size, match.length))
      return std::nullopt;
  if (match.length < minLength)
    return std::nullopt;
  unsigned innermost = loops - 1;
  AffineExpr along = getAffineDimExpr(innermost, op.getContext());
  // Whether `map` reads a reduction loop.
  auto alongRow = [&](AffineMap map) {
    return llvm::any_of(llvm::seq<unsigned>(parallel, loops),
                        [&](unsigned d) { return map.isFunctionOfDim(d); });
  };
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    if (!alongRow(map))
      continue;
    auto type = dyn_cast<MemRefType>(input->get().getType());
    if (!type || map.getNumResults() == 0 || map.getResults().back() != along ||
        !isLastMemrefDimUnitStride(type))
      return std::nullopt;
    for (AffineExpr e : map.getResults().drop_back())
      if (e.isFunctionOfDim(innermost))
        return std::nullopt;
  }
  SmallVector<BlockArgument> outputs(op.getRegionOutputArgs());
  for (unsigned i = 0; i < outputs.size(); ++i) {
    OpOperand *init = op.getDpsInitOperand(i);
    if (!isa<MemRefType>(init->get().getType()) ||
        alongRow(op.getMatchingIndexingMap(init)))
      return std::nullopt;
    // The all-reduce's shuffles move 32- and 64-bit values only.
    Type element = outputs[i].getType();
    if (!element.isF32() && !element.isF64() && !element.isInteger(32) &&
        !element.isInteger(64))
      return std::nullopt;
    SmallVector<Operation *> combiners;
    Value contribution = matchReduction(outputs, i, combiners);
    if (!contribution || combiners.size() != 1)
      return std::nullopt;
    std::optional<mlir::gpu::AllReduceOperation> kind =
        allReduceOf(combiners[0]);
    if (!kind || !arith::getNeutralElement(combiners[0]))
      return std::nullopt;
    match.contributions.push_back(contribution);
    match.combiners.push_back(combiners[0]);
    match.kinds.push_back(*kind);
  }
  return match;
}

/// The indices of `sizes`' iteration `linear` (the last fastest).
SmallVector<Value> delinearize(OpBuilder &b, Location loc, Value linear,
                               ArrayRef<int64_t> sizes) {
  SmallVector<Value> indices(sizes.size());
  for (size_t d = sizes.size(); d-- > 1;) {
    Value size = b.create<arith::ConstantIndexOp>(loc, sizes[d]);
    indices[d] = b.create<arith::RemUIOp>(loc, linear, size);
    linear = b.create<arith::DivUIOp>(loc, linear, size);
  }
  if (!sizes.empty())
    indices[0] = linear;
  return indices;
}

/// The indices `map` gives for the loop indices `ivs`.
SmallVector<Value> indicesOf(OpBuilder &b, Location loc, AffineMap map,
                             ValueRange ivs) {
  SmallVector<Value> indices;
  for (unsigned i = 0; i < map.getNumResults(); ++i) {
    AffineExpr e = map.getResult(i);
    if (auto dim = dyn_cast<AffineDimExpr>(e))
      indices.push_back(ivs[dim.getPosition()]);
    else if (auto constant = dyn_cast<AffineConstantExpr>(e))
      indices.push_back(
          b.create<arith::ConstantIndexOp>(loc, constant.getValue()));
    else
      indices.push_back(
          b.create<affine::AffineApplyOp>(loc, map.getSubMap({i}), ivs));
  }
  return indices;
}

int64_t threadsForRows(int64_t length, int64_t threadsPerBlock) {
  int64_t threads = 32;
  while (threads * 4 < length && threads * 2 <= threadsPerBlock)
    threads *= 2;
  return threads;
}

} // namespace kiln::gpu
