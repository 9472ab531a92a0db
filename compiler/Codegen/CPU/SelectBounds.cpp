//===- SelectBounds.cpp - min/max against constants as selects ------------===//

#include "compiler/Codegen/Passes.h"

#include "mlir/IR/Matchers.h"

namespace kiln {
#define GEN_PASS_DEF_KILNSELECTBOUNDS
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct KilnSelectBounds : kiln::impl::KilnSelectBoundsBase<KilnSelectBounds> {
  /// maximumf and minimumf against a constant that is not NaN (relu's 0, a
  /// clamp's bounds) become a comparison and a select with the same
  /// results, NaN and signed zeros included: x86 has no instruction for the
  /// NaN-propagating maximum, and LLVM expands it into six.
  void compareWithConstants(func::FuncOp func) {
    func.walk([](Operation *op) {
      bool isMax = isa<arith::MaximumFOp>(op);
      if (!isMax && !isa<arith::MinimumFOp>(op))
        return;
      Value x = op->getOperand(0), c = op->getOperand(1);
      FloatAttr bound;
      auto constantBound = [&](Value v) {
        Attribute attr;
        if (!matchPattern(v, m_Constant(&attr)))
          return false;
        if (auto splat = dyn_cast<SplatElementsAttr>(attr))
          attr = splat.getSplatValue<Attribute>();
        bound = dyn_cast<FloatAttr>(attr);
        return bound && !bound.getValue().isNaN();
      };
      if (!constantBound(c)) {
        std::swap(x, c);
        if (!constantBound(c))
          return;
      }
      // max(x, c) is c where x <= c, except that max(+0, -0) is +0: with
      // c = -0, take c only where x < c. A NaN x compares false and stays.
      // min(x, c) mirrors it.
      bool negativeZero = bound.getValue().isNegZero();
      bool positiveZero = bound.getValue().isPosZero();
      arith::CmpFPredicate takeBound =
          isMax ? (negativeZero ? arith::CmpFPredicate::OLT
                                : arith::CmpFPredicate::OLE)
                : (positiveZero ? arith::CmpFPredicate::OGT
                                : arith::CmpFPredicate::OGE);
      OpBuilder b(op);
      Value compare = b.create<arith::CmpFOp>(op->getLoc(), takeBound, x, c);
      op->getResult(0).replaceAllUsesWith(
          b.create<arith::SelectOp>(op->getLoc(), compare, c, x).getResult());
      op->erase();
    });
  }
  void runOnOperation() override { compareWithConstants(getOperation()); }
};

} // namespace
