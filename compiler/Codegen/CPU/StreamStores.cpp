//===- StreamStores.cpp - Outputs larger than the cache bypass it ---------===//
//
// A kernel's ordinary store to a line that is not in cache first reads the
// line from memory (a read for ownership), so writing an output costs twice
// its size in memory traffic. Where the output is larger than the last-level
// cache, nothing downstream finds it there anyway: non-temporal stores
// (MOVNTPS) write whole lines past the cache without reading them. They
// took softmax from memory on one thread from 0.80 of a plain copy's
// bandwidth to 0.89-0.92, layer norm from 0.73 to 0.76-0.86, and a fused
// chain of cheap elementwise ops from 1.0 to 1.16.
//
// kiln-stream-stores makes the last pass of a row-block loop (softmax's
// scaling, layer norm's normalization) write its block of the output with
// non-temporal stores, and moves every earlier use of that block (softmax's
// exponentials) into a block-sized scratch buffer that stays in cache. In
// an elementwise kernel's tile loop, the one write of an output does so.
// kiln-align-stream-stores, on the LLVM dialect, gives those stores the
// 64-byte alignment that the first pass established and that MOVNTPS needs:
// MLIR lowers a vector store with its element's alignment, and LLVM splits
// an under-aligned non-temporal store into scalar MOVNTI.
//
//===----------------------------------------------------------------------===//

#include "compiler/Codegen/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
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

bool multipleOf(Value index, int64_t k);

/// Whether `expr`, over `operands` (dimensions, then symbols), is a multiple
/// of `k` for every value they take.
bool multipleOf(AffineExpr expr, ValueRange operands, unsigned dims,
                int64_t k) {
  if (auto constant = dyn_cast<AffineConstantExpr>(expr))
    return constant.getValue() % k == 0;
  if (auto dim = dyn_cast<AffineDimExpr>(expr))
    return multipleOf(operands[dim.getPosition()], k);
  if (auto symbol = dyn_cast<AffineSymbolExpr>(expr))
    return multipleOf(operands[dims + symbol.getPosition()], k);
  auto binary = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!binary)
    return false;
  bool lhs = multipleOf(binary.getLHS(), operands, dims, k);
  bool rhs = multipleOf(binary.getRHS(), operands, dims, k);
  if (expr.getKind() == AffineExprKind::Add)
    return lhs && rhs;
  if (expr.getKind() == AffineExprKind::Mul)
    return lhs || rhs;
  return false;
}

/// Whether the index `index` is a multiple of `k` for every value it takes:
/// a constant, a loop's induction variable from and by multiples, or sums
/// and products of such.
bool multipleOf(Value index, int64_t k) {
  if (std::optional<int64_t> constant = getConstantIntValue(index))
    return *constant % k == 0;
  if (auto arg = dyn_cast<BlockArgument>(index)) {
    auto loop = dyn_cast<scf::ForOp>(arg.getOwner()->getParentOp());
    return loop && loop.getInductionVar() == arg &&
           multipleOf(loop.getLowerBound(), k) &&
           multipleOf(loop.getStep(), k);
  }
  Operation *def = index.getDefiningOp();
  if (auto add = dyn_cast<arith::AddIOp>(def))
    return multipleOf(add.getLhs(), k) && multipleOf(add.getRhs(), k);
  if (auto mul = dyn_cast<arith::MulIOp>(def))
    return multipleOf(mul.getLhs(), k) || multipleOf(mul.getRhs(), k);
  if (auto apply = dyn_cast<affine::AffineApplyOp>(def))
    return multipleOf(apply.getAffineMap().getResult(0), apply.getOperands(),
                      apply.getAffineMap().getNumDims(), k);
  return false;
}

/// Whether a subview offset is a multiple of `k`.
bool startsAtMultiple(OpFoldResult offset, int64_t k) {
  std::optional<int64_t> constant = getConstantIntValue(offset);
  return constant ? *constant % k == 0 : multipleOf(cast<Value>(offset), k);
}

/// Whether `write` stores a 1-D vector of whole lines, in bounds, unmasked,
/// along its memref's innermost dimension, which is contiguous.
bool writesLines(vector::TransferWriteOp write) {
  VectorType vector = write.getVectorType();
  auto type = dyn_cast<MemRefType>(write.getShapedType());
  SmallVector<int64_t> strides;
  int64_t offset;
  if (!type || failed(getStridesAndOffset(type, strides, offset)) ||
      strides.empty() || strides.back() != 1)
    return false;
  int64_t elementBytes = type.getElementTypeBitWidth() / 8;
  return !write.getMask() && vector.getRank() == 1 &&
         write.getPermutationMap().isMinorIdentity() &&
         llvm::all_of(write.getInBoundsValues(), [](bool b) { return b; }) &&
         (vector.getNumElements() * elementBytes) % kLineBytes == 0;
}

/// Places a sequentially consistent fence after `loop`, unless one is
/// there: non-temporal stores are weakly ordered and complete for other
/// threads only after a fence.
void fenceAfter(Operation *loop) {
  if (isa_and_nonnull<LLVM::FenceOp>(loop->getNextNode()))
    return;
  OpBuilder b(loop->getContext());
  b.setInsertionPointAfter(loop);
  b.create<LLVM::FenceOp>(loop->getLoc(), LLVM::AtomicOrdering::seq_cst);
}

/// Versions `loop` on the 64-byte alignment of `output`: where it is
/// aligned, a clone of `loop` runs in which `write` (inside `loop`) is a
/// non-temporal store; elsewhere `loop` as it was.
void streamWhereAligned(scf::ForOp loop, Value output,
                        vector::TransferWriteOp write) {
  Location loc = loop.getLoc();
  OpBuilder b(loop);
  Value address =
      b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, output);
  Value misalignment = b.create<arith::AndIOp>(
      loc, address, b.create<arith::ConstantIndexOp>(loc, kLineBytes - 1));
  Value aligned =
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, misalignment,
                              b.create<arith::ConstantIndexOp>(loc, 0));
  auto version = b.create<scf::IfOp>(loc, aligned, /*withElseRegion=*/true);
  b.setInsertionPointToStart(version.thenBlock());
  IRMapping mapping;
  b.clone(*loop, mapping);
  loop->moveBefore(version.elseBlock()->getTerminator());
  auto streamed = cast<vector::TransferWriteOp>(mapping.lookup(write.getOperation()));
  b.setInsertionPoint(streamed);
  b.create<vector::StoreOp>(streamed.getLoc(), streamed.getVector(),
                            streamed.getSource(), streamed.getIndices(),
                            /*nontemporal=*/true);
  streamed.erase();
}

struct KilnStreamStores
    : kiln::impl::KilnStreamStoresBase<KilnStreamStores> {
  using KilnStreamStoresBase::KilnStreamStoresBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    for (scf::ForOp loop : kiln::loopsMarked(func, kRowBlocksAttr))
      streamLastPass(loop);
    if (func.getBody().empty())
      return;
    for (auto loop : llvm::make_early_inc_range(
             func.getBody().front().getOps<scf::ForOp>()))
      if (loop->hasAttr(kiln::kParallelAttr) && !loop->hasAttr(kRowBlocksAttr))
        streamTileWrites(loop);
  }

  /// Whether `value` is an argument of the function, a buffer too large to
  /// stay in cache whose rows are whole lines.
  bool largeOutput(Value value) {
    auto arg = dyn_cast<BlockArgument>(value);
    if (!arg || arg.getOwner() != &getOperation().getBody().front())
      return false;
    auto type = dyn_cast<MemRefType>(arg.getType());
    // Elements of 1 to 64 bytes, a power of two, so lines hold whole ones.
    if (!type || !type.hasStaticShape() || !type.getLayout().isIdentity() ||
        type.getRank() == 0 || !type.getElementType().isIntOrFloat() ||
        type.getElementTypeBitWidth() < 8 ||
        type.getElementTypeBitWidth() > 8 * kLineBytes ||
        !llvm::isPowerOf2_64(type.getElementTypeBitWidth()))
      return false;
    int64_t elementBytes = type.getElementTypeBitWidth() / 8;
    return type.getNumElements() * elementBytes >= minBytes &&
           (type.getDimSize(type.getRank() - 1) * elementBytes) % kLineBytes ==
               0;
  }

  /// In a parallel tile loop (an elementwise kernel's), each large output
  /// argument the loop only writes, with one write of whole lines at
  /// line-aligned positions (directly or through unit-stride subviews made
  /// in the loop), is written with non-temporal stores where it is aligned:
  /// the loop around the write is versioned. A fence follows the tile loop.
  void streamTileWrites(scf::ForOp tiles) {
    llvm::SmallPtrSet<Operation *, 4> versioned;
    for (BlockArgument output : getOperation().getArguments()) {
      if (!largeOutput(output))
        continue;
      auto type = cast<MemRefType>(output.getType());
      int64_t lineElements = kLineBytes / (type.getElementTypeBitWidth() / 8);
      // The output's uses in the loop: subviews starting at a line, and
      // one write.
      vector::TransferWriteOp write;
      bool other = false;
      SmallVector<Value> views{output};
      while (!views.empty() && !other) {
        Value view = views.pop_back_val();
        for (OpOperand &use : view.getUses()) {
          Operation *user = use.getOwner();
          if (!tiles->isAncestor(user))
            continue;
          if (auto subview = dyn_cast<memref::SubViewOp>(user)) {
            if (!startsAtMultiple(subview.getMixedOffsets().back(),
                                  lineElements) ||
                !llvm::all_of(subview.getStaticStrides(),
                                            [](int64_t s) { return s == 1; }))
              other = true;
            views.push_back(subview.getResult());
            continue;
          }
          auto store = dyn_cast<vector::TransferWriteOp>(user);
          if (!store || store.getSource() != view || write)
            other = true;
          write = store;
        }
      }
      if (other || !write || !writesLines(write) ||
          !multipleOf(write.getIndices().back(), lineElements))
        continue;
      auto loop = dyn_cast<scf::ForOp>(write->getParentOp());
      if (!loop || loop == tiles || loop.getNumResults() ||
          versioned.contains(loop))
        continue;
      versioned.insert(loop);
      streamWhereAligned(loop, output, write);
    }
    if (!versioned.empty())
      fenceAfter(tiles);
  }

  /// The write of `pass` if it qualifies: its only write, a transfer of
  /// whole lines into `block`, covering the whole block once, directly in
  /// one loop per dimension (no conditions, no other loops). Null
  /// otherwise.
  vector::TransferWriteOp blockWrite(scf::ForOp pass, Value block) {
    SmallVector<vector::TransferWriteOp> writes;
    bool other = false;
    pass.getBody()->walk([&](Operation *op) {
      if (auto write = dyn_cast<vector::TransferWriteOp>(op)) {
        writes.push_back(write);
        return;
      }
      auto effects = dyn_cast<MemoryEffectOpInterface>(op);
      if (op->getNumRegions() ? !isa<scf::ForOp>(op)
                              : !effects ||
                                    effects.hasEffect<MemoryEffects::Write>())
        other = true;
    });
    if (other || writes.size() != 1 || writes.front().getSource() != block ||
        !writesLines(writes.front()))
      return {};
    vector::TransferWriteOp write = writes.front();
    auto type = cast<MemRefType>(block.getType());
    int64_t rank = type.getRank();
    // The loops from the write out to `pass` are exactly one per
    // dimension, each covering its dimension.
    int64_t loops = 0;
    for (Operation *p = write->getParentOp(); p != pass->getParentOp();
         p = p->getParentOp())
      ++loops;
    if (loops != rank)
      return {};
    llvm::SmallPtrSet<Value, 4> indices;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t width =
          d == rank - 1 ? write.getVectorType().getNumElements() : 1;
      Value index = write.getIndices()[d];
      if (!indices.insert(index).second ||
          !coversDimension(index, type.getDimSize(d), width, pass))
        return {};
    }
    return write;
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
    memref::SubViewOp block;
    pass.getBody()->walk([&](vector::TransferWriteOp write) {
      block = write.getSource().getDefiningOp<memref::SubViewOp>();
    });
    if (!block || block->getBlock() != body || !largeOutput(block.getSource()))
      return;
    Value output = block.getSource();
    auto outputType = cast<MemRefType>(output.getType());
    auto blockType = cast<MemRefType>(block.getType());
    int64_t rank = outputType.getRank();
    if (!blockType.hasStaticShape() || rank != blockType.getRank())
      return;
    for (int64_t d = 1; d < rank; ++d)
      if (blockType.getDimSize(d) != outputType.getDimSize(d))
        return;
    int64_t lineElements =
        kLineBytes / (outputType.getElementTypeBitWidth() / 8);
    if (!llvm::all_of(block.getStaticStrides(),
                      [](int64_t s) { return s == 1; }) ||
        !startsAtMultiple(block.getMixedOffsets().back(), lineElements) ||
        pass.getNumResults())
      return;
    // The output is reached in the loop only through the block.
    for (Operation *user : output.getUsers())
      if (blocks->isAncestor(user) && user != block)
        return;
    vector::TransferWriteOp write = blockWrite(pass, block);
    if (!write)
      return;
    // The block's uses, through views made outside the pass: vector
    // transfers, which work the same on the scratch buffer. In the pass,
    // only reads of the element about to be written, before the write.
    SmallVector<Operation *> users;
    SmallVector<Value> views{block.getResult()};
    while (!views.empty()) {
      Value view = views.pop_back_val();
      for (Operation *user : view.getUsers()) {
        bool inPass = pass->isAncestor(user);
        if (isa<ViewLikeOpInterface>(user) && !inPass) {
          views.push_back(user->getResult(0));
          continue;
        }
        if (!isa<vector::TransferReadOp, vector::TransferWriteOp>(user))
          return;
        users.push_back(user);
        if (!inPass || user == write)
          continue;
        auto read = dyn_cast<vector::TransferReadOp>(user);
        if (!read || view != block.getResult() ||
            read->getBlock() != write->getBlock() ||
            !read->isBeforeInBlock(write) ||
            !llvm::equal(read.getIndices(), write.getIndices()))
          return;
      }
    }
    // With other uses, the first op of the body that uses the block must
    // write all of it first, and nothing else there: the scratch then holds
    // whatever the block would have.
    bool scratchNeeded = users.size() > 1;
    auto scratchType =
        MemRefType::get(blockType.getShape(), blockType.getElementType(),
                        MemRefLayoutAttrInterface(), blockType.getMemorySpace());
    if (scratchNeeded) {
      Operation *first = nullptr;
      for (Operation &op : *body)
        if (llvm::any_of(users, [&](Operation *u) { return op.isAncestor(u); })) {
          first = &op;
          break;
        }
      auto producer = dyn_cast_or_null<scf::ForOp>(first);
      vector::TransferWriteOp init =
          producer && producer != pass ? blockWrite(producer, block)
                                       : vector::TransferWriteOp();
      if (!init || llvm::any_of(users, [&](Operation *u) {
            return producer->isAncestor(u) && u != init;
          }))
        return;
      if (!memref::CastOp::areCastCompatible(scratchType, blockType))
        return;
    }

    fenceAfter(blocks);
    // Scratch for the block's other uses, allocated around the loop
    // (kiln-parallelize gives each thread its own), seen through the
    // block's type.
    if (scratchNeeded) {
      Location loc = blocks.getLoc();
      OpBuilder b(blocks);
      auto scratch = b.create<memref::AllocOp>(
          loc, scratchType, b.getI64IntegerAttr(kLineBytes));
      b.setInsertionPointAfter(blocks->getNextNode());
      b.create<memref::DeallocOp>(loc, scratch);
      b.setInsertionPointAfter(block);
      Value scratchBlock =
          b.create<memref::CastOp>(loc, blockType, scratch).getResult();
      for (OpOperand &use : llvm::make_early_inc_range(block->getUses()))
        if (use.getOwner() != write)
          use.set(scratchBlock);
    }
    streamWhereAligned(pass, output, write);
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
