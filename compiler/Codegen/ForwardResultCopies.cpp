//===- ForwardResultCopies.cpp - Results computed in their out-parameters -===//
//
// buffer-results-to-out-params copies each result of an entry point into its
// out-parameter at the end; when the result was computed into a buffer of
// the entry's own, that buffer can be the out-parameter itself, which saves
// a full read and write of the result and its place in the arena.
//
//===----------------------------------------------------------------------===//

#include "compiler/Codegen/Passes.h"
#include "dialects/Graph/IR/AttributeNames.h"

namespace kiln {
#define GEN_PASS_DEF_KILNFORWARDRESULTCOPIES
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

memref::CopyOp kiln::soleCopyInto(BlockArgument out) {
  if (!out.hasOneUse())
    return nullptr;
  auto copy = dyn_cast<memref::CopyOp>(*out.getUsers().begin());
  if (!copy || copy.getTarget() != out || copy->getBlock() != out.getOwner())
    return nullptr;
  return copy;
}

namespace {

/// The final copy into out-parameter `out`, if `out` is used by nothing
/// else and the copy's source is an allocation of the same block that
/// nothing uses after the copy.
memref::CopyOp forwardableCopy(BlockArgument out) {
  memref::CopyOp copy = kiln::soleCopyInto(out);
  if (!copy)
    return nullptr;
  auto alloc = copy.getSource().getDefiningOp<memref::AllocOp>();
  if (!alloc || alloc->getBlock() != out.getOwner() ||
      alloc.getType() != out.getType())
    return nullptr;
  for (Operation *user : alloc->getUsers()) {
    if (user == copy)
      continue;
    Operation *inBlock = out.getOwner()->findAncestorOpInBlock(*user);
    if (!inBlock || !inBlock->isBeforeInBlock(copy))
      return nullptr;
  }
  return copy;
}

struct KilnForwardResultCopies
    : kiln::impl::KilnForwardResultCopiesBase<KilnForwardResultCopies> {
  void runOnOperation() override {
    for (auto entry : getOperation().getOps<func::FuncOp>()) {
      if (entry.isPrivate() || entry.isExternal())
        continue;
      for (BlockArgument out : entry.getArguments()) {
        // Only out-parameters, and not those the caller may alias with the
        // argument they update (kiln-alias-updated-results orders those).
        unsigned i = out.getArgNumber();
        if (!entry.getArgAttr(i, kiln::attr::kOutput) ||
            entry.getArgAttr(i, kiln::attr::kUpdate))
          continue;
        memref::CopyOp copy = forwardableCopy(out);
        if (!copy)
          continue;
        Operation *alloc = copy.getSource().getDefiningOp();
        copy->erase();
        alloc->getResult(0).replaceAllUsesWith(out);
        alloc->erase();
      }
    }
  }
};

} // namespace
