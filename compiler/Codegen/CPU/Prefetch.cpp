//===- Prefetch.cpp - The next block of rows, fetched during this one -----===//

#include "compiler/Codegen/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace kiln {
#define GEN_PASS_DEF_KILNPREFETCH
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using kiln::kRowBlocksAttr;
using kiln::tripCount;

namespace {

constexpr int64_t kLineBytes = 64;
/// At most this many prefetches per buffer in one iteration of a pass.
constexpr int64_t kMaxLinesPerIteration = 32;

/// What one iteration of a pass costs, roughly: the elements each op
/// computes or moves, sixteen times that for math functions, which expand
/// into polynomials; free rearrangements (extracts, broadcasts, constants)
/// count nothing.
int64_t weight(scf::ForOp loop) {
  int64_t total = 0;
  loop.getBody()->walk([&](Operation *op) {
    if (isa<vector::ExtractOp, vector::ExtractStridedSliceOp,
            vector::BroadcastOp, vector::ShapeCastOp, arith::ConstantOp,
            scf::YieldOp>(op))
      return;
    int64_t elements = 1;
    Type type = op->getNumResults() ? op->getResult(0).getType()
                : op->getNumOperands() ? op->getOperand(0).getType()
                                       : Type();
    if (auto vector = dyn_cast_or_null<VectorType>(type))
      elements = vector.getNumElements();
    total += elements * (isa<math::MathDialect>(op->getDialect()) ? 16 : 1);
  });
  return total;
}

/// Whether `accepts` holds for a use of `buffer`, or of a view of it, inside
/// `scope`; it is given the user and the buffer or view it uses.
bool anyUseIn(Value buffer, Operation *scope,
              llvm::function_ref<bool(Operation *, Value)> accepts) {
  SmallVector<Value> views{buffer};
  while (!views.empty()) {
    Value view = views.pop_back_val();
    for (OpOperand &use : view.getUses()) {
      Operation *user = use.getOwner();
      if (isa<ViewLikeOpInterface>(user))
        views.push_back(user->getResult(0));
      else if (scope->isAncestor(user) && accepts(user, view))
        return true;
    }
  }
  return false;
}

/// Whether `buffer` (or a view of it) is written inside `scope`.
bool writtenIn(Value buffer, Operation *scope) {
  return anyUseIn(buffer, scope, [](Operation *user, Value view) {
    auto effects = dyn_cast<MemoryEffectOpInterface>(user);
    return !effects || effects.getEffectOnValue<MemoryEffects::Write>(view);
  });
}

/// Whether `buffer` (or a view of it) is written inside `scope` with
/// non-temporal stores (kiln-stream-stores'), which a prefetch would only
/// slow: it fetches the lines those stores write past the cache.
bool streamedIn(Value buffer, Operation *scope) {
  return anyUseIn(buffer, scope, [](Operation *user, Value) {
    auto store = dyn_cast<vector::StoreOp>(user);
    return store && store.getNontemporal();
  });
}

struct KilnPrefetch : kiln::impl::KilnPrefetchBase<KilnPrefetch> {
  using KilnPrefetchBase::KilnPrefetchBase;

  void runOnOperation() override {
    for (scf::ForOp loop : kiln::loopsMarked(getOperation(), kRowBlocksAttr))
      prefetchNextBlock(loop);
  }

  /// In the costliest pass over a block of rows, prefetches the next
  /// block's rows of every large buffer the block loop reads or writes, a
  /// share of the lines in each of the pass's iterations: the misses of the
  /// next block then overlap this block's arithmetic instead of stalling
  /// its first pass (reads) and its last (writes, which must first fetch
  /// their lines).
  void prefetchNextBlock(scf::ForOp blocks) {
    std::optional<int64_t> lb = getConstantIntValue(blocks.getLowerBound());
    std::optional<int64_t> rows = getConstantIntValue(blocks.getUpperBound());
    std::optional<int64_t> step = getConstantIntValue(blocks.getStep());
    if (!lb || *lb != 0 || !rows || !step || *step <= 0)
      return;

    // The pass: an innermost loop with the most work per block, reached
    // from the block loop through loops alone, all with constant, non-zero
    // trip counts; `nest` holds those loops, outermost first, and
    // `iterations` the pass's iterations per block.
    SmallVector<scf::ForOp> nest;
    int64_t iterations = 0, passWeight = -1;
    blocks.getBody()->walk([&](scf::ForOp loop) {
      if (loop.getBody()
              ->walk([](scf::ForOp) { return WalkResult::interrupt(); })
              .wasInterrupted())
        return;
      SmallVector<scf::ForOp> loops;
      int64_t trips = 1;
      for (Operation *p = loop; p != blocks; p = p->getParentOp()) {
        auto parent = dyn_cast<scf::ForOp>(p);
        std::optional<int64_t> count =
            parent ? tripCount(parent) : std::nullopt;
        if (!count || *count < 1)
          return;
        loops.insert(loops.begin(), parent);
        trips *= *count;
      }
      int64_t w = weight(loop) * trips;
      if (w > passWeight) {
        nest = std::move(loops);
        iterations = trips;
        passWeight = w;
      }
    });
    if (nest.empty())
      return;
    scf::ForOp pass = nest.back();

    // Buffers from the kernel's arguments, with a row per block row.
    auto func = blocks->getParentOfType<func::FuncOp>();
    SmallVector<BlockArgument> buffers;
    for (BlockArgument arg : func.getArguments()) {
      auto type = dyn_cast<MemRefType>(arg.getType());
      if (!type || !type.hasStaticShape() || !type.getLayout().isIdentity() ||
          type.getRank() == 0 || type.getDimSize(0) != *rows ||
          !type.getElementType().isIntOrFloat() ||
          type.getElementTypeBitWidth() < 8 ||
          type.getNumElements() * type.getElementTypeBitWidth() / 8 <
              minBytes)
        continue;
      bool used = llvm::any_of(arg.getUsers(), [&](Operation *user) {
        return blocks->isAncestor(user);
      });
      if (used && !streamedIn(arg, blocks))
        buffers.push_back(arg);
    }
    if (buffers.empty())
      return;

    // Flat views of the buffers, made once per block.
    Location loc = pass.getLoc();
    OpBuilder b = OpBuilder::atBlockBegin(blocks.getBody());
    SmallVector<Value> flats;
    for (BlockArgument buffer : buffers) {
      auto type = cast<MemRefType>(buffer.getType());
      SmallVector<ReassociationIndices> all(1);
      for (int64_t d = 0; d < type.getRank(); ++d)
        all.front().push_back(d);
      flats.push_back(type.getRank() == 1
                          ? Value(buffer)
                          : b.create<memref::CollapseShapeOp>(loc, buffer, all)
                                .getResult());
    }

    // The pass's iteration within the block: 0 to iterations - 1.
    b.setInsertionPointToStart(pass.getBody());
    auto constant = [&](int64_t v) -> Value {
      return b.create<arith::ConstantIndexOp>(loc, v);
    };
    auto add = [&](Value x, Value y) {
      return b.createOrFold<arith::AddIOp>(loc, x, y);
    };
    auto mul = [&](Value x, int64_t y) {
      return b.createOrFold<arith::MulIOp>(loc, x, constant(y));
    };
    Value iteration;
    for (scf::ForOp loop : nest) {
      Value index = b.createOrFold<arith::DivUIOp>(
          loc,
          b.createOrFold<arith::SubIOp>(loc, loop.getInductionVar(),
                                        loop.getLowerBound()),
          loop.getStep());
      iteration =
          iteration ? add(mul(iteration, *tripCount(loop)), index) : index;
    }

    // The next block's first row.
    Value nextRow = add(blocks.getInductionVar(), blocks.getStep());
    for (auto [buffer, flat] : llvm::zip(buffers, flats)) {
      auto type = cast<MemRefType>(buffer.getType());
      int64_t elementBytes = type.getElementTypeBitWidth() / 8;
      int64_t lineElements = std::max<int64_t>(1, kLineBytes / elementBytes);
      int64_t rowElements = type.getNumElements() / *rows;
      int64_t blockLines =
          (*step * rowElements + lineElements - 1) / lineElements;
      int64_t linesPerIteration = (blockLines + iterations - 1) / iterations;
      if (linesPerIteration > kMaxLinesPerIteration)
        continue;
      bool write = writtenIn(buffer, blocks);
      // Element (i + step) * rowElements onwards: the next block.
      Value nextBlock = mul(nextRow, rowElements);
      Value firstLine = mul(iteration, linesPerIteration);
      // Where the iterations have more prefetches than the block has lines,
      // the surplus ones repeat the block's last line.
      bool surplus = linesPerIteration * iterations != blockLines;
      // The last block prefetches the buffer's last line instead.
      Value last = constant(type.getNumElements() - 1);
      for (int64_t line = 0; line < linesPerIteration; ++line) {
        Value blockLine = add(firstLine, constant(line));
        if (surplus)
          blockLine = b.create<arith::MinUIOp>(loc, blockLine,
                                               constant(blockLines - 1));
        Value element = b.create<arith::MinUIOp>(
            loc, add(nextBlock, mul(blockLine, lineElements)), last);
        b.create<memref::PrefetchOp>(loc, flat, ValueRange{element}, write,
                                     /*localityHint=*/3, /*isDataCache=*/true);
      }
    }
  }
};

} // namespace
