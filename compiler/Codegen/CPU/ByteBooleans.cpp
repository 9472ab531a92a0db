//===- ByteBooleans.cpp - i1 vectors read and written as bytes ------------===//
//
// A boolean tensor holds one byte (0 or 1) per element: that is how LLVM
// stores a scalar i1. A vector of i1 in memory, though, is a packed
// bitmask, so vector code reading or writing boolean buffers (comparison
// masks kept for the backward pass) would misread them. kiln-byte-booleans
// makes every such vector access go through bytes.
//
//===----------------------------------------------------------------------===//

#include "compiler/Codegen/Passes.h"

namespace kiln {
#define GEN_PASS_DEF_KILNBYTEBOOLEANS
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// vector<N x i1> -> vector<N x i8>; null for other types.
VectorType byteVectorOf(Type type) {
  auto vector = dyn_cast<VectorType>(type);
  if (!vector || !vector.getElementType().isInteger(1))
    return nullptr;
  return vector.clone(IntegerType::get(type.getContext(), 8));
}

struct KilnByteBooleans
    : kiln::impl::KilnByteBooleansBase<KilnByteBooleans> {
  void runOnOperation() override {
    WalkResult result = getOperation().walk([&](Operation *op) {
      if (auto load = dyn_cast<LLVM::LoadOp>(op)) {
        VectorType bytes = byteVectorOf(load.getType());
        if (!bytes)
          return WalkResult::advance();
        OpBuilder b(load);
        Value loaded = b.create<LLVM::LoadOp>(load.getLoc(), bytes,
                                              load.getAddr(), /*alignment=*/1);
        load.replaceAllUsesWith(
            b.create<LLVM::TruncOp>(load.getLoc(), load.getType(), loaded)
                .getResult());
        load.erase();
        return WalkResult::advance();
      }
      if (auto store = dyn_cast<LLVM::StoreOp>(op)) {
        VectorType bytes = byteVectorOf(store.getValue().getType());
        if (!bytes)
          return WalkResult::advance();
        OpBuilder b(store);
        Value widened =
            b.create<LLVM::ZExtOp>(store.getLoc(), bytes, store.getValue());
        b.create<LLVM::StoreOp>(store.getLoc(), widened, store.getAddr(),
                                /*alignment=*/1);
        store.erase();
        return WalkResult::advance();
      }
      // Masked loads and stores, gathers and scatters of boolean data are
      // not generated (their mask operand is an i1 vector by design); refuse
      // them rather than misread a bitmask.
      Type data;
      if (isa<LLVM::MaskedLoadOp, LLVM::masked_gather>(op))
        data = op->getResult(0).getType();
      else if (isa<LLVM::MaskedStoreOp, LLVM::masked_scatter>(op))
        data = op->getOperand(0).getType();
      if (data && byteVectorOf(data)) {
        op->emitError("kiln-byte-booleans: masked or gathered access to a "
                      "boolean buffer");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
