//===- ConvertGraphToLinalg.cpp - The convert-graph-to-linalg pass --------===//

#include "compiler/Conversion/GraphToLinalg/Lowerings.h"
#include "compiler/Conversion/Passes.h"

#include "dialects/Graph/IR/GraphDialect.h"
#include "dialects/Kernel/IR/KernelDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Transforms/DialectConversion.h"

#include <functional>

namespace kiln {
#define GEN_PASS_DEF_CONVERTGRAPHTOLINALG
#include "compiler/Conversion/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

using LowerFamily =
    std::function<kiln::lowering::Results(OpBuilder &, Operation *)>;

/// Lowers the ops of one family (elementwise, reductions, ...) with that
/// family's lowering function; fails to match ops of other families.
struct LowerFamilyPattern : ConversionPattern {
  LowerFamilyPattern(MLIRContext *ctx, LowerFamily lower)
      : ConversionPattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx),
        lower(std::move(lower)) {}

  LogicalResult
  matchAndRewrite(Operation *op, ArrayRef<Value> operands,
                  ConversionPatternRewriter &rewriter) const override {
    if (!isa<kiln::graph::GraphDialect, kiln::kernel::KernelDialect>(
            op->getDialect()))
      return failure();
    // The lowerings read the op's operands: give it the already lowered
    // values, so that they see the producers' lowered forms.
    if (!llvm::equal(op->getOperands(), operands))
      rewriter.modifyOpInPlace(op, [&] { op->setOperands(operands); });
    Operation *before = op->getPrevNode();
    kiln::lowering::Results results = lower(rewriter, op);
    if (!results)
      return failure();
    // The library calls made for the op carry its cost to the profiler.
    if (Attribute cost = op->getAttr(kiln::kernel::kCostAttr))
      for (Operation *made = before ? before->getNextNode()
                                    : &op->getBlock()->front();
           made && made != op; made = made->getNextNode())
        if (isa<kiln::kernel::LibraryCallOp>(made))
          made->setAttr(kiln::kernel::kCostAttr, cost);
    rewriter.replaceOp(op, *results);
    return success();
  }

  LowerFamily lower;
};

struct ConvertGraphToLinalg
    : kiln::impl::ConvertGraphToLinalgBase<ConvertGraphToLinalg> {
  using ConvertGraphToLinalgBase::ConvertGraphToLinalgBase;

  void runOnOperation() override {
    WalkResult outlined = getOperation().walk([](kiln::kernel::FusedOp op) {
      op.emitOpError("must be outlined into a function (kernel-outline) "
                     "before lowering to linalg");
      return WalkResult::interrupt();
    });
    if (outlined.wasInterrupted())
      return signalPassFailure();
    MLIRContext *ctx = &getContext();
    // Every graph op and every kernel op but the library calls the lowering
    // makes must go: one left over is an error that names it.
    ConversionTarget target(*ctx);
    target.addIllegalDialect<kiln::graph::GraphDialect,
                             kiln::kernel::KernelDialect>();
    target.addLegalOp<kiln::kernel::LibraryCallOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    kiln::GpuMath math;
    if (!kiln::parseGpuMath(gpuMath.c_str(), math)) {
      getOperation().emitError("gpu-math=")
          << gpuMath << " is not a GPU math mode; modes: fp32, tf32, bf16";
      return signalPassFailure();
    }
    RewritePatternSet patterns(ctx);
    kiln::LibraryCalls library = !libraryCalls ? kiln::LibraryCalls::None
                                 : cuda        ? kiln::LibraryCalls::Cuda
                                               : kiln::LibraryCalls::OneDnn;
    kiln::populateGraphToLinalgPatterns(patterns, library, math,
                                        fusedAttention);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void kiln::populateGraphToLinalgPatterns(RewritePatternSet &patterns,
                                         LibraryCalls library, GpuMath math,
                                         bool fusedAttention) {
  MLIRContext *ctx = patterns.getContext();
  using namespace kiln::lowering;
  LowerFamily contraction = [library, math](OpBuilder &b, Operation *op) {
    return lowerContraction(b, op, library, math);
  };
  LowerFamily model = [library, fusedAttention](OpBuilder &b, Operation *op) {
    return lowerModel(b, op, library == LibraryCalls::OneDnn, fusedAttention);
  };
  for (LowerFamily lower :
       {LowerFamily(&lowerElementwise), LowerFamily(&lowerReduction),
        LowerFamily(&lowerNormalization), contraction,
        LowerFamily(&lowerPooling), LowerFamily(&lowerShape), model})
    patterns.add<LowerFamilyPattern>(ctx, std::move(lower));
}
