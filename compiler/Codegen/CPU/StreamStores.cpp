//===- StreamStores.cpp - Outputs larger than the cache bypass it ---------===//
//
// A kernel's ordinary store to a line that is not in cache first reads the
// line from memory (a read for ownership), so writing an output costs twice
// its size in memory traffic. Where the output is larger than the last-level
// cache, nothing downstream finds it there anyway: non-temporal stores
// (MOVNTPS) write whole lines past the cache without reading them. On a
// hand-written model of softmax they took the kernel from about 0.8 of a
// plain copy's bandwidth to 0.94-1.0.
//
// kiln-stream-stores makes the last pass of a row-block loop (softmax's
// scaling, layer norm's normalization) write its block of the output with
// non-temporal stores, and moves every earlier use of that block (softmax's
// exponentials) into a block-sized scratch buffer that stays in cache.
// kiln-align-stream-stores, on the LLVM dialect, gives those stores the
// 64-byte alignment that the first pass established and that MOVNTPS needs:
// MLIR lowers a vector store with its element's alignment, and LLVM splits
// an under-aligned non-temporal store into scalar MOVNTI.
//
//===----------------------------------------------------------------------===//

#include "compiler/Codegen/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

namespace kiln {
#define GEN_PASS_DEF_KILNSTREAMSTORES
#define GEN_PASS_DEF_KILNALIGNSTREAMSTORES
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using kiln::kRowBlocksAttr;

namespace {

/// Bytes per line, and the alignment MOVNTPS needs for a 64-byte vector.
constexpr int64_t kLineBytes = 64;

/// Whether `index`, inside `pass`, takes every value of [0, size) in steps of
/// `width` exactly once per run of `pass`: it is the induction variable of a
/// loop between the write and `pass` (inclusive) from 0 to `size` by `width`.
bool coversDimension(Value index, int64_t size, int64_t width,
                     scf::ForOp pass) {
  auto arg = dyn_cast<BlockArgument>(index);
  auto loop = arg ? dyn_cast<scf::ForOp>(arg.getOwner()->getParentOp())
                  : scf::ForOp();
  if (!loop || loop.getInductionVar() != arg ||
      (loop != pass && !pass->isProperAncestor(loop)))
    return false;
  std::optional<int64_t> lb = getConstantIntValue(loop.getLowerBound());
  std::optional<int64_t> ub = getConstantIntValue(loop.getUpperBound());
  std::optional<int64_t> step = getConstantIntValue(loop.getStep());
  return lb == 0 && ub == size && step == width;
}

struct KilnStreamStores
    : kiln::impl::KilnStreamStoresBase<KilnStreamStores> {
  using KilnStreamStoresBase::KilnStreamStoresBase;

  void runOnOperation() override {
    for (scf::ForOp loop : kiln::loopsMarked(getOperation(), kRowBlocksAttr))
      streamLastPass(loop);
  }

  /// The writes of `pass` if they qualify: in-bounds 1-D transfer writes,
  /// all into `block`, each covering its row with whole aligned lines and
  /// together covering the whole block once, directly in loops (no
  /// conditions). Empty otherwise.
  SmallVector<vector::TransferWriteOp> blockWrites(scf::ForOp pass,
                                                   Value block) {
    auto type = cast<MemRefType>(block.getType());
    int64_t elementBytes = type.getElementTypeBitWidth() / 8;
    SmallVector<vector::TransferWriteOp> writes;
    bool other = false;
    pass.getBody()->walk([&](Operation *op) {
      auto write = dyn_cast<vector::TransferWriteOp>(op);
      if (!write) {
        auto effects = dyn_cast<MemoryEffectOpInterface>(op);
        if (op->getNumRegions() == 0 &&
            (!effects || effects.hasEffect<MemoryEffects::Write>()))
          other = true;
        else if (op->getNumRegions() && !isa<scf::ForOp>(op))
          other = true;
        return;
      }
      writes.push_back(write);
    });
    if (other || writes.size() != 1)
      return {};
    vector::TransferWriteOp write = writes.front();
    VectorType vector = write.getVectorType();
    int64_t rank = type.getRank();
    if (write.getSource() != block || write.getMask() ||
        vector.getRank() != 1 || !write.getPermutationMap().isMinorIdentity() ||
        llvm::any_of(write.getInBoundsValues(), [](bool b) { return !b; }) ||
        (vector.getNumElements() * elementBytes) % kLineBytes)
      return {};
    for (int64_t d = 0; d < rank; ++d) {
      int64_t width = d == rank - 1 ? vector.getNumElements() : 1;
      if (!coversDimension(write.getIndices()[d], type.getDimSize(d), width,
                           pass))
        return {};
    }
    return writes;
  }

  /// In a row-block loop whose last op is a pass writing the block of a
  /// large output argument, the pass writes it with non-temporal stores
  /// where the output is 64-byte aligned; every other use of the block in
  /// the loop moves to a block-sized scratch buffer.
  void streamLastPass(scf::ForOp blocks) {
    // The last pass: the body's last loop, followed only by frees of the
    // iteration's scratch buffers.
    Block *body = blocks.getBody();
    Operation *last = body->getTerminator()->getPrevNode();
    while (last && isa<memref::DeallocOp>(last))
      last = last->getPrevNode();
    auto pass = dyn_cast_or_null<scf::ForOp>(last);
    if (!pass)
      return;

    // The block: a subview, made in the loop, of an argument large enough
    // that it cannot stay in cache, with rows of whole lines and the
    // subview's rows whole.
    auto func = blocks->getParentOfType<func::FuncOp>();
    memref::SubViewOp block;
    pass.getBody()->walk([&](vector::TransferWriteOp write) {
      block = write.getSource().getDefiningOp<memref::SubViewOp>();
    });
    if (!block || block->getBlock() != body)
      return;
    auto output = dyn_cast<BlockArgument>(block.getSource());
    if (!output || output.getOwner() != &func.getBody().front())
      return;
    auto outputType = cast<MemRefType>(output.getType());
    auto blockType = cast<MemRefType>(block.getType());
    int64_t rank = outputType.getRank();
    if (!outputType.hasStaticShape() || !outputType.getLayout().isIdentity() ||
        !outputType.getElementType().isIntOrFloat() ||
        outputType.getElementTypeBitWidth() < 8 ||
        !blockType.hasStaticShape() || rank != blockType.getRank())
      return;
    int64_t elementBytes = outputType.getElementTypeBitWidth() / 8;
    if (outputType.getNumElements() * elementBytes < minBytes ||
        (outputType.getDimSize(rank - 1) * elementBytes) % kLineBytes)
      return;
    for (int64_t d = 1; d < rank; ++d)
      if (blockType.getDimSize(d) != outputType.getDimSize(d))
        return;
    if (!llvm::all_of(block.getStaticStrides(),
                      [](int64_t s) { return s == 1; }))
      return;
    // The output is reached in the loop only through the block.
    for (Operation *user : output.getUsers())
      if (blocks->isAncestor(user) && user != block)
        return;
    SmallVector<vector::TransferWriteOp> writes = blockWrites(pass, block);
    if (writes.empty())
      return;
    // The block's other uses: views and vector transfers, which work the
    // same on the scratch buffer. In the pass, only reads of the element
    // about to be written: each is then read before it changes.
    for (OpOperand &use : block->getUses()) {
      Operation *user = use.getOwner();
      if (!isa<vector::TransferReadOp, vector::TransferWriteOp,
               ViewLikeOpInterface>(user))
        return;
      if (!pass->isAncestor(user) || user == writes.front())
        continue;
      auto read = dyn_cast<vector::TransferReadOp>(user);
      if (!read || read->getBlock() != writes.front()->getBlock() ||
          !llvm::equal(read.getIndices(), writes.front().getIndices()))
        return;
    }

    // Non-temporal stores are weakly ordered: they are complete for other
    // threads only after a fence.
    Location loc = blocks.getLoc();
    OpBuilder b(blocks);
    b.setInsertionPointAfter(blocks);
    b.create<LLVM::FenceOp>(loc, LLVM::AtomicOrdering::seq_cst);
    // Scratch for the block's other uses, allocated around the loop
    // (kiln-parallelize gives each thread its own), seen through the
    // block's type.
    if (!block->hasOneUse()) {
      b.setInsertionPoint(blocks);
      auto scratchType = MemRefType::get(blockType.getShape(),
                                         blockType.getElementType());
      auto scratch = b.create<memref::AllocOp>(
          loc, scratchType, b.getI64IntegerAttr(kLineBytes));
      b.setInsertionPointAfter(blocks->getNextNode());
      b.create<memref::DeallocOp>(loc, scratch);
      b.setInsertionPointAfter(block);
      Value scratchBlock =
          b.create<memref::CastOp>(loc, blockType, scratch).getResult();
      for (OpOperand &use : llvm::make_early_inc_range(block->getUses()))
        if (use.getOwner() != writes.front())
          use.set(scratchBlock);
    }

    // Versioned on the output's alignment: aligned, the pass stores
    // non-temporally; otherwise as before.
    b.setInsertionPoint(pass);
    Value address = b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, output);
    Value misalignment = b.create<arith::AndIOp>(
        loc, address, b.create<arith::ConstantIndexOp>(loc, kLineBytes - 1));
    Value aligned = b.create<arith::CmpIOp>(
        loc, arith::CmpIPredicate::eq, misalignment,
        b.create<arith::ConstantIndexOp>(loc, 0));
    auto version = b.create<scf::IfOp>(loc, aligned, /*withElseRegion=*/true);
    b.setInsertionPointToStart(version.thenBlock());
    IRMapping mapping;
    auto streaming = cast<scf::ForOp>(b.clone(*pass, mapping));
    pass->moveBefore(version.elseBlock()->getTerminator());
    streaming.getBody()->walk([&](vector::TransferWriteOp write) {
      OpBuilder at(write);
      at.create<vector::StoreOp>(write.getLoc(), write.getVector(),
                                 write.getSource(), write.getIndices(),
                                 /*nontemporal=*/true);
      write.erase();
    });
  }
};

/// Non-temporal vector stores get the alignment of a line: Kiln writes them
/// only where kiln-stream-stores checked that the buffer is 64-byte aligned
/// and that every store starts at a whole line.
struct KilnAlignStreamStores
    : kiln::impl::KilnAlignStreamStoresBase<KilnAlignStreamStores> {
  void runOnOperation() override {
    getOperation().walk([](LLVM::StoreOp store) {
      auto vector = dyn_cast<VectorType>(store.getValue().getType());
      if (!store.getNontemporal() || !vector ||
          !vector.getElementType().isIntOrFloat())
        return;
      int64_t bytes =
          vector.getNumElements() * vector.getElementTypeBitWidth() / 8;
      if (bytes % kLineBytes == 0 &&
          store.getAlignment().value_or(0) < static_cast<uint64_t>(kLineBytes))
        store.setAlignment(kLineBytes);
    });
  }
};

} // namespace
