//===- HoistInvariants.cpp - Loop-invariant code out of tile loops --------===//

#include "compiler/Codegen/Passes.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace kiln {
#define GEN_PASS_DEF_KILNHOISTINVARIANTS
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct KilnHoistInvariants : kiln::impl::KilnHoistInvariantsBase<KilnHoistInvariants> {
  /// Moves what a tile loop computes the same in every iteration (a row's
  /// mean and 1/sqrt(var + eps), broadcast to a vector) out of it. On
  /// tensors every op here is free of memory effects; the loops have static,
  /// non-zero trip counts, so even ops that are not speculatable (reads of
  /// a tensor element) run no more often than before.
  void hoistInvariants(func::FuncOp func) {
    func.walk([](scf::ForOp loop) {
      std::optional<int64_t> trips = kiln::tripCount(loop);
      if (!trips || *trips < 1)
        return;
      Region *body = &loop.getRegion();
      moveLoopInvariantCode(
          ArrayRef<Region *>(body),
          [&](Value v, Region *) { return loop.isDefinedOutsideOfLoop(v); },
          [](Operation *op, Region *) {
            return op->getNumRegions() == 0 && isMemoryEffectFree(op);
          },
          [&](Operation *op, Region *) { loop.moveOutOfLoop(op); });
    });
  }
  void runOnOperation() override { hoistInvariants(getOperation()); }
};

} // namespace
