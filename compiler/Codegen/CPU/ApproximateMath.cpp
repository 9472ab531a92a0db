//===- ApproximateMath.cpp - Polynomial f32 math for vector code ----------===//

#include "compiler/Codegen/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

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

/// exp on f32 vectors of whole AVX-512 registers, scaled by 2^k with
/// vscalefps: exp(x) = 2^k e^r, k = roundeven(x log2 e), r = x - k ln 2 (in
/// two parts), e^r by a polynomial (about 1 ulp). vscalefps makes 2^k e^r
/// overflow to inf and underflow through the subnormals to 0 itself, so x
/// needs only clamping to [-110, 89] (which keeps NaN): 13 instructions per
/// vector instead of the generic approximation's 21.
struct ExpWithScalef : OpRewritePattern<math::ExpOp> {
  ExpWithScalef(MLIRContext *context)
      : OpRewritePattern(context, /*benefit=*/2) {}

  LogicalResult matchAndRewrite(math::ExpOp op,
                                PatternRewriter &rewriter) const override {
    auto type = dyn_cast<VectorType>(op.getType());
    constexpr int64_t lanes = 16;
    if (!type || type.getRank() != 1 || type.isScalable() ||
        !type.getElementType().isF32() || type.getNumElements() % lanes != 0)
      return failure();
    Location loc = op.getLoc();
    auto splat = [&](double value) -> Value {
      return rewriter.create<arith::ConstantOp>(
          loc, SplatElementsAttr::get(
                   type, rewriter.getF32FloatAttr(static_cast<float>(value))));
    };
    auto fma = [&](Value a, Value b, Value c) -> Value {
      return rewriter.create<LLVM::FMAOp>(loc, a, b, c);
    };
    // Clamp, keeping NaN: a NaN compares false and passes through.
    Value x = op.getOperand();
    Value low = splat(-110.0), high = splat(89.0);
    x = rewriter.create<arith::SelectOp>(
        loc,
        rewriter.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OLT, x, low),
        low, x);
    x = rewriter.create<arith::SelectOp>(
        loc,
        rewriter.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, x, high),
        high, x);
    // k = x log2 e rounded to the nearest integer: adding 1.5 * 2^23 leaves
    // no fraction bits (|x log2 e| < 2^22 after the clamp), one FMA and a
    // subtraction where roundeven would need a multiplication and a
    // vrndscaleps on the FMA ports.
    Value magic = splat(12582912.0);
    Value k = rewriter.create<arith::SubFOp>(
        loc, fma(x, splat(M_LOG2E), magic), magic);
    Value r = fma(k, splat(-0.693359375), x);
    r = fma(k, splat(2.12194440e-4), r);
    // e^r on [-ln 2 / 2, ln 2 / 2]: a degree-6 polynomial fitted for least
    // maximum relative error (1.9e-9 with exact coefficients; 0.84 ulp in
    // f32 arithmetic), in Horner form: six FMAs.
    Value y = splat(1.3836845755577087e-3);
    for (double c : {8.374815806746483e-3, 4.166822507977486e-2,
                     1.6666419804096222e-1, 4.9999991059303284e-1, 1.0, 1.0})
      y = fma(y, r, splat(c));
    // y * 2^k, one register at a time.
    auto chunkType = VectorType::get({lanes}, rewriter.getF32Type());
    Value mask = rewriter.create<LLVM::ConstantOp>(
        loc, rewriter.getI16Type(), rewriter.getI16IntegerAttr(-1));
    Value rounding = rewriter.create<LLVM::ConstantOp>(
        loc, rewriter.getI32Type(),
        rewriter.getI32IntegerAttr(4)); // The current rounding mode.
    Value result = splat(0.0);
    for (int64_t offset = 0; offset < type.getNumElements(); offset += lanes) {
      auto chunk = [&](Value v) -> Value {
        return rewriter.create<vector::ExtractStridedSliceOp>(
            loc, v, ArrayRef<int64_t>{offset}, ArrayRef<int64_t>{lanes},
            ArrayRef<int64_t>{1});
      };
      Value yc = chunk(y);
      Value scaled =
          rewriter
              .create<LLVM::CallIntrinsicOp>(
                  loc, chunkType,
                  rewriter.getStringAttr("llvm.x86.avx512.mask.scalef.ps.512"),
                  ValueRange{yc, chunk(k), yc, mask, rounding})
              .getResult(0);
      result = rewriter.create<vector::InsertStridedSliceOp>(
          loc, scaled, result, ArrayRef<int64_t>{offset}, ArrayRef<int64_t>{1});
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct KilnApproximateMath
    : kiln::impl::KilnApproximateMathBase<KilnApproximateMath> {
  using KilnApproximateMathBase::KilnApproximateMathBase;

  /// The largest vector this pass rewrites: its rewrites work one register
  /// or one row at a time, so a huge vector (which Kiln's own tiles never
  /// make) would become millions of ops; it is refused instead.
  static constexpr int64_t kMaxVectorElements = 1 << 16;

  void runOnOperation() override {
    WalkResult huge = getOperation().walk([](Operation *op) {
      if (!isa<math::MathDialect>(op->getDialect()))
        return WalkResult::advance();
      for (Type type : op->getResultTypes())
        if (auto vector = dyn_cast<VectorType>(type);
            vector && !vector.isScalable() &&
            vector.getNumElements() > kMaxVectorElements) {
          op->emitOpError("works on ")
              << vector << " (" << vector.getNumElements()
              << " elements); kiln-approximate-math takes vectors of at most "
              << kMaxVectorElements
              << " elements (tile the computation first, as kiln-vectorize "
                 "does)";
          return WalkResult::interrupt();
        }
      return WalkResult::advance();
    });
    if (huge.wasInterrupted())
      return signalPassFailure();
    RewritePatternSet patterns(&getContext());
    if (avx512)
      patterns.add<ExpWithScalef>(&getContext());
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
