//===- DeinterleaveReads.cpp - Strided vector reads as contiguous ones ----===//
//
// Pooling reads its windows as strided slices of the input: a 2x2, stride-2
// max pool reads every other element of a row, four times. A vector read
// with an innermost stride of 2 has no x86 instruction; LLVM makes it a
// gather (or one load per element), which is the slowest way to read a row.
// kiln-deinterleave-reads reads the row's span contiguously instead, with a
// masked load that stops at the last element wanted, and keeps every s-th
// element with one shuffle (vpermt2ps).
//
// Strided writes (max pooling's gradient adds into every other element)
// stay as they are: a masked load, a shuffle placing the new values and a
// masked store of the span measured no faster in cnn training than LLVM's
// one extract and store per element.
//
//===----------------------------------------------------------------------===//

#include "compiler/Codegen/Passes.h"

#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/Builders.h"

namespace kiln {
#define GEN_PASS_DEF_KILNDEINTERLEAVEREADS
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Largest innermost stride read contiguously: beyond it, the span read
/// grows more than the elements it gives.
constexpr int64_t kMaxStride = 4;

struct KilnDeinterleaveReads
    : kiln::impl::KilnDeinterleaveReadsBase<KilnDeinterleaveReads> {
  void runOnOperation() override {
    SmallVector<std::pair<vector::TransferReadOp, int64_t>> reads;
    getOperation().walk([&](vector::TransferReadOp read) {
      if (std::optional<int64_t> stride = innerStride(read))
        reads.emplace_back(read, *stride);
    });
    for (auto [read, stride] : reads)
      deinterleave(read, stride);
  }

  /// The static innermost stride (2 to kMaxStride) of the memref of numbers
  /// (not booleans) `read` reads a 1-D vector from, in bounds, unmasked,
  /// along its innermost dimension; nothing for other reads.
  static std::optional<int64_t> innerStride(vector::TransferReadOp read) {
    auto type = dyn_cast<MemRefType>(read.getSource().getType());
    VectorType vector = read.getVectorType();
    // Booleans (bytes in memory, bits in vectors) keep plain loads, which
    // kiln-byte-booleans rewrites.
    if (!type || !type.getElementType().isIntOrFloat() ||
        type.getElementTypeBitWidth() < 8 || vector.getRank() != 1 ||
        vector.isScalable() ||
        read.getMask() || !read.getPermutationMap().isMinorIdentity() ||
        !llvm::all_of(read.getInBoundsValues(), [](bool b) { return b; }))
      return std::nullopt;
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(getStridesAndOffset(type, strides, offset)) || strides.empty())
      return std::nullopt;
    int64_t stride = strides.back();
    if (ShapedType::isDynamic(stride) || stride < 2 || stride > kMaxStride)
      return std::nullopt;
    return stride;
  }

  /// Replaces `read` (N elements, `stride` apart) by a masked load of the
  /// stride * (N - 1) + 1 elements from the first to the last, through a
  /// contiguous view of the same buffer, and a shuffle of every
  /// stride-th element.
  static void deinterleave(vector::TransferReadOp read, int64_t stride) {
    Location loc = read.getLoc();
    OpBuilder b(read);
    VectorType vector = read.getVectorType();
    int64_t count = vector.getNumElements();
    int64_t span = stride * count;
    auto meta =
        b.create<memref::ExtractStridedMetadataOp>(loc, read.getSource());
    // The first element's position in the buffer.
    Value first = meta.getOffset();
    for (auto [index, step] : llvm::zip(read.getIndices(), meta.getStrides()))
      first = b.create<arith::AddIOp>(
          loc, first, b.create<arith::MulIOp>(loc, index, step));
    auto flatType = MemRefType::get(
        {span}, vector.getElementType(),
        StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, {1}),
        cast<MemRefType>(read.getSource().getType()).getMemorySpace());
    Value flat = b.create<memref::ReinterpretCastOp>(
        loc, flatType, meta.getBaseBuffer(), OpFoldResult(first),
        ArrayRef<OpFoldResult>{b.getIndexAttr(span)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
    auto wideType = VectorType::get({span}, vector.getElementType());
    Value mask = b.create<vector::CreateMaskOp>(
        loc, VectorType::get({span}, b.getI1Type()),
        ValueRange{b.create<arith::ConstantIndexOp>(
            loc, stride * (count - 1) + 1)});
    Value padding =
        b.create<vector::BroadcastOp>(loc, wideType, read.getPadding());
    Value wide = b.create<vector::MaskedLoadOp>(
        loc, wideType, flat,
        ValueRange{b.create<arith::ConstantIndexOp>(loc, 0)}, mask, padding);
    SmallVector<int64_t> lanes;
    for (int64_t i = 0; i < count; ++i)
      lanes.push_back(i * stride);
    Value picked = b.create<vector::ShuffleOp>(loc, wide, wide, lanes);
    read.replaceAllUsesWith(picked);
    read.erase();
  }
};

} // namespace
