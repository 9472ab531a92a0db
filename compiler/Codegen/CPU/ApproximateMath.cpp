//===- ApproximateMath.cpp - Polynomial f32 math for vector code ----------===//

#include "compiler/Codegen/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_KILNAPPROXIMATEMATH
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// math.fma as the LLVM intrinsic, which becomes one vfmadd per vector.
struct FmaToIntrinsic : OpRewritePattern<math::FmaOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::FmaOp op,
                                PatternRewriter &rewriter) const override {
    auto type = dyn_cast<VectorType>(op.getType());
    if (!type || type.getRank() <= 1) {
      rewriter.replaceOpWithNewOp<LLVM::FMAOp>(op, op.getA(), op.getB(),
                                               op.getC());
      return success();
    }
    // The intrinsic takes 1-D vectors: one per row of an n-D vector.
    Location loc = op.getLoc();
    ArrayRef<int64_t> shape = type.getShape();
    Value result = rewriter.create<arith::ConstantOp>(
        loc, type, rewriter.getZeroAttr(type));
    SmallVector<int64_t> index(shape.size() - 1, 0);
    int64_t rows = 1;
    for (int64_t d : shape.drop_back())
      rows *= d;
    for (int64_t r = 0; r < rows; ++r) {
      auto row = [&](Value v) {
        return rewriter.create<vector::ExtractOp>(loc, v, index);
      };
      Value fma = rewriter.create<LLVM::FMAOp>(loc, row(op.getA()),
                                               row(op.getB()), row(op.getC()));
      result = rewriter.create<vector::InsertOp>(loc, fma, result, index);
      for (int64_t d = static_cast<int64_t>(index.size()) - 1; d >= 0; --d) {
        if (++index[d] < shape[d])
          break;
        index[d] = 0;
      }
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct KilnApproximateMath
    : kiln::impl::KilnApproximateMathBase<KilnApproximateMath> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    MathPolynomialApproximationOptions options;
    options.enableAvx2 = false;
    populateMathPolynomialApproximationPatterns(patterns, options);
    if (failed(applyPatternsAndFoldGreedily(getOperation(),
                                            std::move(patterns))))
      return signalPassFailure();
    RewritePatternSet fma(&getContext());
    fma.add<FmaToIntrinsic>(&getContext());
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(fma))))
      return signalPassFailure();
  }
};

} // namespace
