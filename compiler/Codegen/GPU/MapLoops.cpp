//===- MapLoops.cpp - Bufferized linalg as GPU-shaped parallel loops ------===//

#include "compiler/Codegen/GPU/RowReductions.h"
#include "compiler/Codegen/GPU/VectorAccesses.h"
#include "compiler/Codegen/Passes.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/FoldUtils.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/TypeSwitch.h"

#include <algorithm>
#include <functional>
#include <numeric>

namespace kiln {
#define GEN_PASS_DEF_KILNGPUMAPLOOPS
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using kiln::gpu::delinearize;
using kiln::gpu::indicesOf;
using kiln::gpu::kRowPerBlock;
using kiln::gpu::matchRowReduction;
using kiln::gpu::RowReduction;

namespace {

/// Maps each dimension of `loop` (at most one, here) to `processor`.
void mapTo(scf::ParallelOp loop, gpu::Processor processor) {
  MLIRContext *context = loop.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, context);
  SmallVector<gpu::ParallelLoopDimMappingAttr> mapping(
      loop.getNumLoops(),
      gpu::ParallelLoopDimMappingAttr::get(context, gpu::Processor::Sequential,
                                           identity, identity));
  mapping.front() =
      gpu::ParallelLoopDimMappingAttr::get(context, processor, identity, identity);
  (void)gpu::setMappingAttr(loop, mapping);
}

/// Whether `op` reads or writes a buffer's elements itself or in its
/// regions, outside parallel loops (which become kernels): work the host
/// must not do.
bool touchesBuffers(Operation *op) {
  return op
      ->walk<WalkOrder::PreOrder>([&](Operation *inner) {
        if (isa<scf::ParallelOp>(inner))
          return WalkResult::skip();
        if (isa<memref::LoadOp, memref::StoreOp, memref::AtomicRMWOp,
                memref::GenericAtomicRMWOp, affine::AffineLoadOp,
                affine::AffineStoreOp, vector::TransferReadOp,
                vector::TransferWriteOp, vector::LoadOp, vector::StoreOp,
                vector::MaskedLoadOp, vector::MaskedStoreOp,
                vector::GatherOp, vector::ScatterOp>(inner))
          return WalkResult::interrupt();
        return WalkResult::advance();
      })
      .wasInterrupted();
}

/// The parallel loops of `func` not inside another (the kernels to be).
SmallVector<scf::ParallelOp> outermostParallelLoops(func::FuncOp func) {
  SmallVector<scf::ParallelOp> outermost;
  func.walk([&](scf::ParallelOp loop) {
    if (!loop->getParentOfType<scf::ParallelOp>())
      outermost.push_back(loop);
  });
  return outermost;
}

/// Whether `op` holds a parallel loop (a kernel to be).
bool holdsParallelLoop(Operation *op) {
  return op->walk([](scf::ParallelOp) { return WalkResult::interrupt(); })
      .wasInterrupted();
}

struct KilnGpuMapLoops : kiln::impl::KilnGpuMapLoopsBase<KilnGpuMapLoops> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    if (threadsPerBlock < 1 || threadsPerBlock > 1024) {
      func.emitError("kiln-gpu-map-loops: threads-per-block must be in "
                     "[1, 1024], got ")
          << threadsPerBlock;
      return signalPassFailure();
    }
    IRRewriter rewriter(func.getContext());
    copiesToLinalg(rewriter, func);
    kiln::gpu::formRowPrograms(rewriter, func, blockReductionMinLength,
                               threadsPerBlock);
    if (failed(toParallelLoops(rewriter, func)) ||
        failed(shapeLoops(rewriter, func)) ||
        failed(wrapHostWork(rewriter, func)))
      return signalPassFailure();
    sinkViews(func);
    // The bounds and steps collapsing and tiling computed (products of
    // constants) become constants; nothing else is folded here, since the
    // canonicalizer would fold the one-iteration loops away.
    OperationFolder folder(func.getContext());
    SmallVector<Operation *> arithmetic;
    func.walk([&](Operation *op) {
      if (isa<arith::MulIOp, arith::AddIOp, arith::SubIOp>(op))
        arithmetic.push_back(op);
    });
    for (Operation *op : arithmetic)
      (void)folder.tryToFold(op);
  }

  /// A kernel takes each buffer as a bare pointer, which a view with a
  /// layout of its own (a recurrence step's slice, at an offset known only
  /// at run time) cannot be: such views are made again inside each
  /// outermost parallel loop that uses them, from the buffer they view and
  /// their offsets, which the kernel then takes instead.
  void sinkViews(func::FuncOp func) {
    for (scf::ParallelOp loop : outermostParallelLoops(func)) {
      llvm::SetVector<Value> captured;
      getUsedValuesDefinedAbove(loop.getRegion(), captured);
      OpBuilder b = OpBuilder::atBlockBegin(loop.getBody());
      IRMapping inside;
      std::function<Value(Value)> sink = [&](Value v) -> Value {
        if (Value done = inside.lookupOrNull(v))
          return done;
        auto type = dyn_cast<MemRefType>(v.getType());
        Operation *def = v.getDefiningOp();
        if (!type || type.getLayout().isIdentity() || !def ||
            !isa<ViewLikeOpInterface>(def))
          return v;
        for (Value operand : def->getOperands())
          if (isa<MemRefType>(operand.getType()))
            inside.map(operand, sink(operand));
        Operation *copy = b.clone(*def, inside);
        Value result = copy->getResult(cast<OpResult>(v).getResultNumber());
        inside.map(v, result);
        return result;
      };
      for (Value v : captured) {
        Value replacement = sink(v);
        if (replacement != v)
          v.replaceUsesWithIf(replacement, [&](OpOperand &use) {
            return loop->isProperAncestor(use.getOwner());
          });
      }
    }
  }

  /// memref.copy as linalg.copy (a row program's stage, or loops).
  void copiesToLinalg(IRRewriter &rewriter, func::FuncOp func) {
    SmallVector<memref::CopyOp> copies;
    func.walk([&](memref::CopyOp copy) { copies.push_back(copy); });
    for (memref::CopyOp copy : copies) {
      rewriter.setInsertionPoint(copy);
      rewriter.create<linalg::CopyOp>(copy.getLoc(), copy.getSource(),
                                      copy.getTarget());
      rewriter.eraseOp(copy);
    }
  }

  /// Every linalg op as loops.
  LogicalResult toParallelLoops(IRRewriter &rewriter, func::FuncOp func) {
    SmallVector<linalg::LinalgOp> ops;
    func.walk([&](linalg::LinalgOp op) { ops.push_back(op); });
    for (linalg::LinalgOp op : ops) {
      if (!op.hasPureBufferSemantics())
        return op->emitError("kiln-gpu-map-loops: the op is not bufferized");
      FailureOr<linalg::LinalgOp> ordered = parallelFirst(rewriter, op);
      if (failed(ordered))
        return failure();
      op = *ordered;
      if (std::optional<RowReduction> rows =
              matchRowReduction(op, blockReductionMinLength);
          rows && threadsPerBlock >= 32) {
        rowPerBlock(rewriter, *rows);
        continue;
      }
      if (kiln::gpu::vectorizeElementwise(rewriter, op))
        continue;
      rewriter.setInsertionPoint(op);
      if (failed(linalg::linalgOpToParallelLoops(rewriter, op)))
        return op->emitError("kiln-gpu-map-loops: cannot lower to loops");
      rewriter.eraseOp(op);
    }
    return success();
  }

  /// A row reduction as one block per row: the grid loop runs over the
  /// rows, the threads stride along the row (consecutive threads,
  /// consecutive elements) folding partial values from the combiner's
  /// identity, gpu.all_reduce combines them, and thread 0 combines the
  /// row's value into the output. Every thread reaches the all-reduce: the
  /// thread loop's bound is a constant, the launch's block size.
  void rowPerBlock(IRRewriter &rewriter, const RowReduction &match) {
    linalg::GenericOp op = match.op;
    Location loc = op.getLoc();
    auto index = [&](OpBuilder &b, int64_t v) -> Value {
      return b.create<arith::ConstantIndexOp>(loc, v);
    };
    int64_t rows = 1;
    for (int64_t size : match.rows)
      rows *= size;
    int64_t threads = kiln::gpu::threadsForRows(match.length, threadsPerBlock);
    rewriter.setInsertionPoint(op);
    Value zero = index(rewriter, 0), one = index(rewriter, 1);
    auto grid = rewriter.create<scf::ParallelOp>(
        loc, ValueRange{zero}, ValueRange{index(rewriter, rows)},
        ValueRange{one});
    grid->setAttr(kRowPerBlock, rewriter.getUnitAttr());
    // The row's indices, from its position in the grid.
    rewriter.setInsertionPointToStart(grid.getBody());
    SmallVector<Value> ivs =
        delinearize(rewriter, loc, grid.getInductionVars().front(), match.rows);
    auto block = rewriter.create<scf::ParallelOp>(
        loc, ValueRange{zero}, ValueRange{index(rewriter, threads)},
        ValueRange{one});
    rewriter.setInsertionPointToStart(block.getBody());
    Value thread = block.getInductionVars().front();
    Block &body = op.getRegion().front();
    // The row's indices and the reductions', zero: what the maps of the
    // operands that do not vary along the row read.
    SmallVector<Value> rowIvs(ivs);
    rowIvs.append(match.reduced.size(), zero);
    IRMapping mapping;
    // Inputs that do not vary along the row are read once.
    SmallVector<OpOperand *> alongRow;
    for (OpOperand *input : op.getDpsInputOperands()) {
      BlockArgument arg = body.getArgument(input->getOperandNumber());
      AffineMap map = op.getMatchingIndexingMap(input);
      if (!isa<MemRefType>(input->get().getType()))
        mapping.map(arg, input->get());
      else if (llvm::any_of(
                   llvm::seq<unsigned>(match.rows.size(), map.getNumDims()),
                   [&](unsigned d) { return map.isFunctionOfDim(d); }))
        alongRow.push_back(input);
      else
        mapping.map(
            arg, rewriter.create<memref::LoadOp>(
                     loc, input->get(), indicesOf(rewriter, loc, map, rowIvs)));
    }
    SmallVector<Value> identities;
    for (Operation *combiner : match.combiners)
      identities.push_back(rewriter.create<arith::ConstantOp>(
          loc, *arith::getNeutralElement(combiner)));
    auto partial = rewriter.create<scf::ForOp>(
        loc, thread, index(rewriter, match.length), index(rewriter, threads),
        identities,
        [&](OpBuilder &b, Location loc, Value position, ValueRange partials) {
          SmallVector<Value> all(ivs);
          llvm::append_range(all, delinearize(b, loc, position, match.reduced));
          IRMapping inside = mapping;
          for (OpOperand *input : alongRow)
            inside.map(
                body.getArgument(input->getOperandNumber()),
                b.create<memref::LoadOp>(
                    loc, input->get(),
                    indicesOf(b, loc, op.getMatchingIndexingMap(input), all)));
          for (auto [arg, value] :
               llvm::zip(op.getRegionOutputArgs(), partials))
            inside.map(arg, value);
          for (Operation &inner : body.without_terminator()) {
            if (auto linalgIndex = dyn_cast<linalg::IndexOp>(inner))
              inside.map(linalgIndex.getResult(), all[linalgIndex.getDim()]);
            else
              b.clone(inner, inside);
          }
          SmallVector<Value> next;
          for (Value v : body.getTerminator()->getOperands())
            next.push_back(inside.lookupOrDefault(v));
          b.create<scf::YieldOp>(loc, next);
        });
    SmallVector<Value> reduced;
    for (auto [value, kind] : llvm::zip(partial.getResults(), match.kinds))
      reduced.push_back(rewriter.create<gpu::AllReduceOp>(
          loc, value.getType(), value,
          gpu::AllReduceOperationAttr::get(op.getContext(), kind),
          rewriter.getUnitAttr()));
    Value first = rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq,
                                                 thread, zero);
    auto once =
        rewriter.create<scf::IfOp>(loc, first, /*withElseRegion=*/false);
    rewriter.setInsertionPointToStart(once.thenBlock());
    for (unsigned i = 0; i < match.combiners.size(); ++i) {
      OpOperand *init = op.getDpsInitOperand(i);
      SmallVector<Value> indices =
          indicesOf(rewriter, loc, op.getMatchingIndexingMap(init), rowIvs);
      IRMapping combine;
      combine.map(op.getRegionOutputArgs()[i],
                  rewriter.create<memref::LoadOp>(loc, init->get(), indices));
      combine.map(match.contributions[i], reduced[i]);
      Operation *combined = rewriter.clone(*match.combiners[i], combine);
      rewriter.create<memref::StoreOp>(loc, combined->getResult(0), init->get(),
                                       indices);
    }
    rewriter.eraseOp(op);
  }

  /// `op` with its parallel dimensions first, so that its loops are one
  /// scf.parallel (the threads) around the scf.for of its reductions: each
  /// thread reduces its own outputs, and no reduction dimension is left to
  /// the host as a loop of launches.
  FailureOr<linalg::LinalgOp> parallelFirst(IRRewriter &rewriter,
                                            linalg::LinalgOp op) {
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    SmallVector<unsigned> order;
    for (unsigned i = 0; i < iterators.size(); ++i)
      if (iterators[i] == utils::IteratorType::parallel)
        order.push_back(i);
    for (unsigned i = 0; i < iterators.size(); ++i)
      if (iterators[i] != utils::IteratorType::parallel)
        order.push_back(i);
    bool inOrder = llvm::all_of(llvm::enumerate(order), [](auto entry) {
      return entry.index() == entry.value();
    });
    if (inOrder)
      return op;
    rewriter.setInsertionPoint(op);
    auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
    if (!generic) {
      FailureOr<linalg::GenericOp> general =
          linalg::generalizeNamedOp(rewriter, op);
      if (failed(general))
        return op->emitError("kiln-gpu-map-loops: cannot reorder the loops "
                             "of this op");
      generic = *general;
    }
    FailureOr<linalg::GenericOp> interchanged =
        linalg::interchangeGenericOp(rewriter, generic, order);
    if (failed(interchanged))
      return generic->emitError("kiln-gpu-map-loops: cannot put the parallel "
                                "loops of this op first");
    return cast<linalg::LinalgOp>(interchanged->getOperation());
  }

  /// Each outermost scf.parallel: its dimensions collapsed into one, tiled
  /// by the block's threads; tiles map to blocks, the tile's elements to
  /// threads (consecutive threads, consecutive innermost elements, so loads
  /// and stores coalesce).
  LogicalResult shapeLoops(IRRewriter &rewriter, func::FuncOp func) {
    for (scf::ParallelOp loop : outermostParallelLoops(func)) {
      if (loop->removeAttr(kRowPerBlock)) {
        mapTo(loop, gpu::Processor::BlockX);
        loop.walk([&](scf::ParallelOp inner) {
          if (inner != loop)
            mapTo(inner, gpu::Processor::ThreadX);
        });
        continue;
      }
      int64_t count = 1;
      for (auto [lower, upper, step] :
           llvm::zip(loop.getLowerBound(), loop.getUpperBound(),
                     loop.getStep())) {
        std::optional<int64_t> lo = getConstantIntValue(lower),
                               hi = getConstantIntValue(upper),
                               st = getConstantIntValue(step);
        if (!lo || !hi || !st || *st <= 0)
          return loop.emitError("kiln-gpu-map-loops: a parallel loop without "
                                "constant bounds and a positive step");
        int64_t trips = *hi > *lo ? (*hi - *lo + *st - 1) / *st : 0;
        if (llvm::MulOverflow(count, trips, count))
          return loop.emitError("kiln-gpu-map-loops: too many iterations");
      }
      if (loop.getNumLoops() > 1) {
        std::vector<unsigned> all(loop.getNumLoops());
        std::iota(all.begin(), all.end(), 0u);
        Block *block = loop->getBlock();
        Operation *next = loop->getNextNode();
        rewriter.setInsertionPoint(loop);
        collapseParallelLoops(rewriter, loop, {all});
        loop = cast<scf::ParallelOp>(next ? next->getPrevNode()
                                          : &block->back());
      }
      int64_t threads = std::min<int64_t>(std::max<int64_t>(count, 1),
                                          threadsPerBlock);
      rewriter.setInsertionPoint(loop);
      auto [grid, block] =
          scf::tileParallelLoop(loop, {threads}, /*noMinMaxBounds=*/false);
      preciseTileBound(rewriter, grid, block, count, threads);
      mapTo(grid, gpu::Processor::BlockX);
      mapTo(block, gpu::Processor::ThreadX);
      // Parallel loops nested deeper run sequentially in their thread.
      block.walk([&](scf::ParallelOp inner) {
        if (inner != block)
          mapTo(inner, gpu::Processor::Sequential);
      });
    }
    return success();
  }

  /// The tile's trip count, min(threads, count - start), with its constants
  /// in the map: the block size of the launch is then known (`threads`);
  /// where every tile is full it is that constant.
  void preciseTileBound(IRRewriter &rewriter, scf::ParallelOp grid,
                        scf::ParallelOp block, int64_t count,
                        int64_t threads) {
    Value bound = block.getUpperBound().front();
    auto min = bound.getDefiningOp<affine::AffineMinOp>();
    // The tiles of a normalized loop (from 0, step 1) only: the grid's
    // index then counts iterations.
    if (!min || getConstantIntValue(grid.getLowerBound().front()) != 0 ||
        getConstantIntValue(block.getStep().front()) != 1)
      return;
    rewriter.setInsertionPoint(min);
    Value replacement;
    if (count % threads == 0) {
      replacement =
          rewriter.create<arith::ConstantIndexOp>(min.getLoc(), threads);
    } else {
      MLIRContext *context = min.getContext();
      AffineExpr start = getAffineDimExpr(0, context);
      AffineMap map = AffineMap::get(
          1, 0,
          {getAffineConstantExpr(threads, context),
           getAffineConstantExpr(count, context) - start},
          context);
      replacement = rewriter.create<affine::AffineMinOp>(
          min.getLoc(), map, ValueRange{grid.getInductionVars().front()});
    }
    rewriter.replaceOp(min, replacement);
  }

  /// Loads and stores outside any parallel loop (a reduction to one value,
  /// a scalar's update) move, with the computations between them, into a
  /// one-thread parallel loop: the host never touches a buffer's elements.
  LogicalResult wrapHostWork(IRRewriter &rewriter, func::FuncOp func) {
    SmallVector<SmallVector<Operation *>> runs;
    for (Block &block : func.getBody()) {
      SmallVector<Operation *> run;
      auto finish = [&] {
        while (!run.empty() && !touchesBuffers(run.back()))
          run.pop_back();
        if (!run.empty())
          runs.push_back(run);
        run.clear();
      };
      for (Operation &op : block) {
        bool device = !isa<scf::ParallelOp>(op) && touchesBuffers(&op);
        bool movable = !device && op.getNumRegions() == 0 &&
                       isMemoryEffectFree(&op) && !op.hasTrait<OpTrait::IsTerminator>();
        if (device || (movable && !run.empty()))
          run.push_back(&op);
        else
          finish();
      }
      finish();
    }
    for (SmallVector<Operation *> &run : runs) {
      llvm::SmallPtrSet<Operation *, 16> inRun(run.begin(), run.end());
      // A value computed in the run and used after it: pure computations of
      // values from before the run (a constant, a view of the arena, and
      // what they use of the run) stay on the host, before it.
      SmallVector<Operation *> device, host;
      std::function<bool(Operation *)> hoist = [&](Operation *op) {
        if (touchesBuffers(op) || op->getNumRegions() > 0 ||
            !isMemoryEffectFree(op))
          return false;
        for (Value v : op->getOperands()) {
          Operation *def = v.getDefiningOp();
          if (def && inRun.count(def) && !hoist(def))
            return false;
        }
        inRun.erase(op);
        device.erase(std::remove(device.begin(), device.end(), op),
                     device.end());
        host.push_back(op);
        return true;
      };
      for (Operation *op : run) {
        if (!inRun.count(op))
          continue; // hoisted already, with a user
        bool escapes = llvm::any_of(op->getUsers(), [&](Operation *user) {
          Operation *ancestor = user;
          while (ancestor && !inRun.count(ancestor))
            ancestor = ancestor->getParentOp();
          return !ancestor;
        });
        if (!escapes) {
          device.push_back(op);
          continue;
        }
        if (!hoist(op))
          return op->emitError("kiln-gpu-map-loops: a value computed from a "
                               "buffer's elements is used by the host");
      }
      for (Operation *op : host)
        op->moveBefore(device.front());
      for (Operation *op : device)
        if (holdsParallelLoop(op))
          return op->emitError("kiln-gpu-map-loops: host code around a "
                               "parallel loop reads or writes a buffer");
      Location loc = device.front()->getLoc();
      rewriter.setInsertionPoint(device.front());
      Value zero = rewriter.create<arith::ConstantIndexOp>(loc, 0);
      Value one = rewriter.create<arith::ConstantIndexOp>(loc, 1);
      auto single = rewriter.create<scf::ParallelOp>(
          loc, ValueRange{zero}, ValueRange{one}, ValueRange{one});
      for (Operation *op : device)
        op->moveBefore(single.getBody()->getTerminator());
      mapTo(single, gpu::Processor::BlockX);
    }
    return success();
  }
};

} // namespace
