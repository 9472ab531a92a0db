//===- PlanMemory.cpp - One arena per entry point, planned from lifetimes -===//

#include "compiler/Codegen/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>

namespace kiln {
#define GEN_PASS_DEF_KILNPLANMEMORY
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

constexpr int64_t kAlignment = 64;

struct Buffer {
  memref::AllocOp alloc;
  MemRefType type;
  SmallVector<memref::DeallocOp> deallocs;
  int64_t bytes = 0;
  int64_t start = 0, end = 0; // lifetime, in entry-block op indices
  int64_t offset = -1;
};

/// The op of `block` that contains `op`, or null.
Operation *ancestorIn(Block &block, Operation *op) {
  while (op && op->getBlock() != &block)
    op = op->getParentOp();
  return op;
}

/// Every use of `value` or of a view of it, through view-like ops.
void collectUses(Value value, SmallVectorImpl<Operation *> &uses) {
  for (Operation *user : value.getUsers()) {
    uses.push_back(user);
    if (auto view = dyn_cast<ViewLikeOpInterface>(user))
      if (view.getViewSource() == value)
        for (Value result : user->getResults())
          collectUses(result, uses);
    if (isa<memref::CollapseShapeOp, memref::ExpandShapeOp, memref::CastOp,
            memref::ReinterpretCastOp>(user))
      for (Value result : user->getResults())
        collectUses(result, uses);
  }
}

std::string humanBytes(int64_t bytes) {
  if (bytes >= (1 << 20))
    return fmt::format("{:.2f} MiB", bytes / double(1 << 20));
  if (bytes >= (1 << 10))
    return fmt::format("{:.1f} KiB", bytes / double(1 << 10));
  return fmt::format("{} B", bytes);
}

struct KilnPlanMemory : kiln::impl::KilnPlanMemoryBase<KilnPlanMemory> {
  using KilnPlanMemoryBase::KilnPlanMemoryBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    Block &block = func.getBody().front();
    DenseMap<Operation *, int64_t> index;
    for (auto [i, op] : llvm::enumerate(block))
      index[&op] = i;

    std::vector<Buffer> buffers;
    for (Operation &op : block) {
      auto alloc = dyn_cast<memref::AllocOp>(op);
      if (!alloc)
        continue;
      MemRefType type = alloc.getType();
      if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
          !alloc.getDynamicSizes().empty() ||
          !type.getElementType().isIntOrFloat())
        continue;
      Buffer buffer;
      buffer.alloc = alloc;
      buffer.type = type;
      buffer.start = index[alloc];
      buffer.end = buffer.start;
      SmallVector<Operation *> uses;
      collectUses(alloc.getResult(), uses);
      bool escapes = false;
      for (Operation *use : uses) {
        if (auto dealloc = dyn_cast<memref::DeallocOp>(use);
            dealloc && dealloc->getBlock() == &block) {
          buffer.deallocs.push_back(dealloc);
          continue;
        }
        if (isa<func::ReturnOp>(use)) {
          escapes = true;
          break;
        }
        // Once its address is taken, a buffer may be used by anything that
        // follows: keep it alive to the end.
        if (isa<memref::ExtractAlignedPointerAsIndexOp>(use)) {
          buffer.end = index[block.getTerminator()];
          continue;
        }
        Operation *top = ancestorIn(block, use);
        if (!top) {
          escapes = true;
          break;
        }
        buffer.end = std::max(buffer.end, index[top]);
      }
      // Only buffers freed here, exactly once, are this function's to plan.
      if (escapes || buffer.deallocs.size() != 1)
        continue;
      int64_t bytes =
          type.getNumElements() * ((type.getElementTypeBitWidth() + 7) / 8);
      buffer.bytes = (bytes + kAlignment - 1) / kAlignment * kAlignment;
      buffers.push_back(std::move(buffer));
    }
    if (buffers.empty())
      return;

    // First fit, largest buffers first, among the placed buffers whose
    // lifetimes overlap.
    std::vector<Buffer *> order;
    for (Buffer &b : buffers)
      order.push_back(&b);
    llvm::stable_sort(order, [](Buffer *a, Buffer *b) {
      return a->bytes > b->bytes;
    });
    std::vector<Buffer *> placed;
    int64_t arenaBytes = 0, naiveBytes = 0;
    for (Buffer *b : order) {
      naiveBytes += b->bytes;
      std::vector<std::pair<int64_t, int64_t>> taken;
      for (Buffer *p : placed)
        if (p->start <= b->end && b->start <= p->end)
          taken.push_back({p->offset, p->offset + p->bytes});
      llvm::sort(taken);
      int64_t offset = 0;
      for (auto [lo, hi] : taken) {
        if (offset + b->bytes <= lo)
          break;
        offset = std::max(offset, hi);
      }
      b->offset = offset;
      arenaBytes = std::max(arenaBytes, offset + b->bytes);
      placed.push_back(b);
    }

    OpBuilder builder = OpBuilder::atBlockBegin(&block);
    Location loc = func.getLoc();
    auto arenaType = MemRefType::get({arenaBytes}, builder.getI8Type());
    Value arena = builder.create<memref::AllocOp>(
        loc, arenaType, builder.getI64IntegerAttr(kAlignment));
    for (Buffer &b : buffers) {
      builder.setInsertionPoint(b.alloc);
      Value offset = builder.create<arith::ConstantIndexOp>(loc, b.offset);
      Value view = builder.create<memref::ViewOp>(
          b.alloc.getLoc(), b.alloc.getType(), arena, offset, ValueRange{});
      b.alloc.replaceAllUsesWith(view);
      for (memref::DeallocOp d : b.deallocs)
        d.erase();
      b.alloc.erase();
    }
    builder.setInsertionPoint(block.getTerminator());
    builder.create<memref::DeallocOp>(loc, arena);

    if (report) {
      std::string text = fmt::format(
          "memory plan of '{}': arena {} for {} buffers ({} without reuse)\n",
          func.getSymName().str(), humanBytes(arenaBytes), buffers.size(),
          humanBytes(naiveBytes));
      for (size_t i = 0; i < std::min<size_t>(order.size(), 5); ++i) {
        std::string type;
        llvm::raw_string_ostream os(type);
        os << order[i]->type;
        text += fmt::format("  {:>10}  at offset {:>9}  live ops {}..{}  {}\n",
                            humanBytes(order[i]->bytes), order[i]->offset,
                            order[i]->start, order[i]->end, type);
      }
      llvm::errs() << text;
    }
  }
};

} // namespace
