//===- ReciprocalDivisions.cpp - Loop-invariant divisors as reciprocals ---===//

#include "compiler/Codegen/Passes.h"


namespace kiln {
#define GEN_PASS_DEF_KILNRECIPROCALDIVISIONS
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct KilnReciprocalDivisions : kiln::impl::KilnReciprocalDivisionsBase<KilnReciprocalDivisions> {
  /// A division by a value a tile loop does not change (softmax's row sum)
  /// becomes a multiplication by its reciprocal, taken once before the
  /// loop: a vector division costs several multiplications. The quotient
  /// may differ from the correctly rounded one in the last bit, as it does
  /// in PyTorch's CPU softmax, which divides the same way; a subnormal
  /// divisor, whose reciprocal overflows, gives inf where x / d might still
  /// be finite.
  void multiplyByReciprocals(func::FuncOp func) {
    func.walk([](scf::ForOp loop) {
      for (Operation &op : llvm::make_early_inc_range(*loop.getBody())) {
        auto div = dyn_cast<arith::DivFOp>(op);
        if (!div || !loop.isDefinedOutsideOfLoop(div.getRhs()))
          continue;
        OpBuilder b(loop);
        Type type = div.getType();
        Attribute one = b.getFloatAttr(getElementTypeOrSelf(type), 1.0);
        if (auto vector = dyn_cast<VectorType>(type))
          one = SplatElementsAttr::get(vector, one);
        Value ones =
            b.create<arith::ConstantOp>(div.getLoc(), cast<TypedAttr>(one));
        Value reciprocal = b.create<arith::DivFOp>(
            div.getLoc(), ones, div.getRhs(), div.getFastmathAttr());
        b.setInsertionPoint(div);
        div.replaceAllUsesWith(b.create<arith::MulFOp>(
            div.getLoc(), div.getLhs(), reciprocal, div.getFastmathAttr())
                                   .getResult());
        div.erase();
      }
    });
  }
  void runOnOperation() override { multiplyByReciprocals(getOperation()); }
};

} // namespace
