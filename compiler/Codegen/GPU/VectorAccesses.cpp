//===- VectorAccesses.cpp - Elementwise kernels with 16-byte accesses -----===//
//
// A thread of an elementwise kernel reads and writes one 32-bit element per
// operand: four bytes per instruction. Here a thread takes four consecutive
// elements of the innermost loop instead, with one 16-byte vector load per
// operand that varies along it (ld.global.v4), four copies of the op's body
// on the lanes, and one vector store per output. Operands constant along
// the innermost loop (a bias along the rows) are read once, as scalars.
//
// A 16-byte access must be 16-byte aligned. The shapes make every row start
// at a multiple of four elements; whether the buffers' first elements are
// aligned is known only at run time (arena views, the caller's pointers),
// so the host checks it and launches the vector kernel, or the scalar one
// where any buffer is not. The NVVM lowering gives vector accesses their
// element's alignment only; kiln-gpu-align-vectors then states the 16
// bytes this check established.
//
//===----------------------------------------------------------------------===//

#include "compiler/Codegen/GPU/VectorAccesses.h"
#include "compiler/Codegen/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPUALIGNVECTORS
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln::gpu {
namespace {

constexpr int64_t kLanes = 4;
constexpr int64_t kElementBytes = 4; // the 32-bit elements vectorized
constexpr int64_t kVectorBytes = kLanes * kElementBytes;

/// How an operand is read or written along the innermost loop.
enum class Access { Vector, Scalar, Value };

/// Whether `type` is a 32-bit float or integer.
bool isWord(Type type) {
  return (isa<FloatType>(type) || type.isSignlessInteger()) &&
         type.getIntOrFloatBitWidth() == 32;
}

/// How `op` reads or writes `operand`: a vector along the innermost loop
/// `last`, a scalar constant along it, or nothing a vector can take.
std::optional<Access> accessOf(linalg::LinalgOp op, OpOperand &operand,
                               unsigned last) {
  auto type = dyn_cast<MemRefType>(operand.get().getType());
  if (!type)
    return Access::Value;
  AffineMap map = op.getMatchingIndexingMap(&operand);
  bool output = op.isDpsInit(&operand);
  if (!map.isFunctionOfDim(last))
    return output ? std::nullopt : std::optional<Access>(Access::Scalar);
  // Along the innermost loop: its last index exactly, no other one.
  if (map.getNumResults() == 0 ||
      map.getResults().back() != getAffineDimExpr(last, op.getContext()))
    return std::nullopt;
  for (AffineExpr e : map.getResults().drop_back())
    if (e.isFunctionOfDim(last))
      return std::nullopt;
  // Four consecutive 32-bit elements, and every row starting at a
  // multiple of four of them.
  SmallVector<int64_t> strides;
  int64_t offset;
  if (!isWord(type.getElementType()) ||
      failed(getStridesAndOffset(type, strides, offset)) || strides.empty() ||
      strides.back() != 1)
    return std::nullopt;
  for (int64_t stride : ArrayRef<int64_t>(strides).drop_back())
    if (ShapedType::isDynamic(stride) || stride % kLanes != 0)
      return std::nullopt;
  return Access::Vector;
}

} // namespace

bool vectorizeElementwise(RewriterBase &rewriter, linalg::LinalgOp op) {
  unsigned loops = op.getNumLoops();
  if (loops == 0 || op.getNumParallelLoops() != loops ||
      !op.hasPureBufferSemantics())
    return false;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges, ShapedType::isDynamic) ||
      ranges.back() % kLanes != 0 || ranges.back() == 0)
    return false;
  unsigned last = loops - 1;
  SmallVector<Access> accesses;
  bool anyVector = false;
  for (OpOperand &operand : op->getOpOperands()) {
    std::optional<Access> access = accessOf(op, operand, last);
    if (!access)
      return false;
    accesses.push_back(*access);
    anyVector |= *access == Access::Vector;
  }
  if (!anyVector)
    return false;

  Location loc = op.getLoc();
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  auto index = [&](int64_t v) -> Value {
    return rewriter.create<arith::ConstantIndexOp>(loc, v);
  };
  // The host's check: every vector operand's first element 16-byte aligned.
  Value aligned;
  llvm::SmallPtrSet<Value, 4> checked; // a buffer read and written in place
  for (auto [operand, access] : llvm::zip(op->getOpOperands(), accesses)) {
    if (access != Access::Vector || !checked.insert(operand.get()).second)
      continue;
    Value buffer = operand.get();
    Value base =
        rewriter.create<memref::ExtractAlignedPointerAsIndexOp>(loc, buffer);
    auto metadata =
        rewriter.create<memref::ExtractStridedMetadataOp>(loc, buffer);
    Value offsetBytes = rewriter.create<arith::MulIOp>(
        loc, metadata.getOffset(), index(kElementBytes));
    Value address = rewriter.create<arith::AddIOp>(loc, base, offsetBytes);
    Value low =
        rewriter.create<arith::RemUIOp>(loc, address, index(kVectorBytes));
    Value ok = rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq,
                                              low, index(0));
    aligned = aligned ? rewriter.create<arith::AndIOp>(loc, aligned, ok) : ok;
  }
  auto branch =
      rewriter.create<scf::IfOp>(loc, aligned, /*withElseRegion=*/true);

  // Vector kernel: the innermost loop counts groups of four.
  rewriter.setInsertionPointToStart(branch.thenBlock());
  SmallVector<Value> lower, upper, steps;
  for (unsigned d = 0; d < loops; ++d) {
    lower.push_back(index(0));
    upper.push_back(index(d == last ? ranges[d] / kLanes : ranges[d]));
    steps.push_back(index(1));
  }
  Block *body = op.getBlock();
  rewriter.create<scf::ParallelOp>(
      loc, lower, upper, steps, [&](OpBuilder &, Location, ValueRange ivs) {
        SmallVector<Value> at(ivs);
        at[last] =
            rewriter.create<arith::MulIOp>(loc, ivs[last], index(kLanes));
        // Per operand, its value on each lane.
        SmallVector<SmallVector<Value>> lanes;
        for (auto [operand, access] :
             llvm::zip(op->getOpOperands(), accesses)) {
          BlockArgument arg = bodyArgument(op, operand);
          SmallVector<Value> values;
          if (!arg || (op.isDpsInit(&operand) && arg.use_empty())) {
            lanes.push_back(values);
            continue;
          }
          AffineMap map = op.getMatchingIndexingMap(&operand);
          switch (access) {
          case Access::Value:
            values.assign(kLanes, operand.get());
            break;
          case Access::Scalar: {
            Value v = rewriter.create<memref::LoadOp>(
                loc, operand.get(), indicesOf(rewriter, loc, map, at));
            values.assign(kLanes, v);
            break;
          }
          case Access::Vector: {
            auto vectorType = VectorType::get({kLanes}, arg.getType());
            Value v = rewriter.create<vector::LoadOp>(
                loc, vectorType, operand.get(),
                indicesOf(rewriter, loc, map, at));
            for (int64_t lane = 0; lane < kLanes; ++lane)
              values.push_back(
                  rewriter.create<vector::ExtractOp>(loc, v, lane));
            break;
          }
          }
          lanes.push_back(values);
        }
        // The body once per lane.
        SmallVector<SmallVector<Value>> results(op.getNumDpsInits());
        bool indexed = !body->getOps<linalg::IndexOp>().empty();
        for (int64_t lane = 0; lane < kLanes; ++lane) {
          IRMapping mapping;
          for (OpOperand &operand : op->getOpOperands())
            if (!lanes[operand.getOperandNumber()].empty())
              mapping.map(bodyArgument(op, operand),
                          lanes[operand.getOperandNumber()][lane]);
          // The lane's loop indices, for a body that reads them.
          SmallVector<Value> laneIvs(at);
          if (indexed)
            laneIvs[last] =
                rewriter.create<arith::AddIOp>(loc, at[last], index(lane));
          for (Operation &inner : body->without_terminator()) {
            if (auto idx = dyn_cast<linalg::IndexOp>(inner))
              mapping.map(idx.getResult(), laneIvs[idx.getDim()]);
            else
              rewriter.clone(inner, mapping);
          }
          for (auto [i, v] :
               llvm::enumerate(body->getTerminator()->getOperands()))
            results[i].push_back(mapping.lookupOrDefault(v));
        }
        for (auto [i, init] : llvm::enumerate(op.getDpsInitsMutable())) {
          auto vectorType =
              VectorType::get({kLanes}, results[i].front().getType());
          // (Inserted into zeros: convert-gpu-to-nvvm lowers vector.insert
          // and constants, not vector.broadcast.)
          Value v = rewriter.create<arith::ConstantOp>(
              loc, vectorType, rewriter.getZeroAttr(vectorType));
          for (int64_t lane = 0; lane < kLanes; ++lane)
            v = rewriter.create<vector::InsertOp>(loc, results[i][lane], v,
                                                  lane);
          rewriter.create<vector::StoreOp>(
              loc, v, init.get(),
              indicesOf(rewriter, loc, op.getMatchingIndexingMap(&init), at));
        }
      });

  // Scalar kernel: the op as loops, as ever.
  rewriter.setInsertionPointToStart(branch.elseBlock());
  Operation *moved = rewriter.clone(*op);
  rewriter.eraseOp(op);
  (void)linalg::linalgOpToParallelLoops(rewriter,
                                        cast<linalg::LinalgOp>(moved));
  rewriter.eraseOp(moved);
  return true;
}

void alignVectorAccesses(Operation *root) {
  auto align = [](Operation *access, Type type) {
    auto vector = dyn_cast<VectorType>(type);
    if (!vector || !vector.getElementType().isIntOrFloat() ||
        vector.getNumElements() * vector.getElementTypeBitWidth() !=
            kVectorBytes * 8)
      return;
    if (auto load = dyn_cast<LLVM::LoadOp>(access))
      load.setAlignment(kVectorBytes);
    else
      cast<LLVM::StoreOp>(access).setAlignment(kVectorBytes);
  };
  root->walk([&](Operation *op) {
    if (auto load = dyn_cast<LLVM::LoadOp>(op))
      align(op, load.getResult().getType());
    else if (auto store = dyn_cast<LLVM::StoreOp>(op))
      align(op, store.getValue().getType());
  });
}

} // namespace kiln::gpu

namespace {
struct KilnGpuAlignVectors
    : kiln::impl::KilnGpuAlignVectorsBase<KilnGpuAlignVectors> {
  void runOnOperation() override {
    kiln::gpu::alignVectorAccesses(getOperation());
  }
};
} // namespace
