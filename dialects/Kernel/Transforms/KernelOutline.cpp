//===- KernelOutline.cpp - kernel.fused regions to private functions ------===//

#include "dialects/Kernel/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

namespace kiln::kernel {
#define GEN_PASS_DEF_KERNELOUTLINE
#include "dialects/Kernel/Transforms/Passes.h.inc"
} // namespace kiln::kernel

using namespace mlir;
using namespace kiln::kernel;

namespace {

struct KernelOutline : kiln::kernel::impl::KernelOutlineBase<KernelOutline> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> entries(module.getOps<func::FuncOp>());
    for (func::FuncOp entry : entries) {
      SmallVector<FusedOp> kernels;
      entry.walk([&](FusedOp op) { kernels.push_back(op); });
      // Library calls carry their cost through lowering (the profiler
      // reports achieved rates); a fused kernel's goes on its call below.
      // Contractions outside kernels are the ops lowered to library calls
      // (matmul, convolutions and their gradients, recurrences).
      for (Operation &op : entry.getBody().getOps()) {
        if (contractionFlops(&op) > 0) {
          Cost cost = estimateCost(&op);
          op.setAttr(kCostAttr, DenseI64ArrayAttr::get(
                                    op.getContext(), {cost.flops, cost.bytes}));
        }
      }
      for (auto [index, fused] : llvm::enumerate(kernels)) {
        OpBuilder b(module.getBodyRegion());
        b.setInsertionPointAfter(entry);
        std::string name = (entry.getSymName() + "_kernel" +
                            std::to_string(index) + "_" + fused.getKind())
                               .str();
        auto func = b.create<func::FuncOp>(
            fused.getLoc(), name,
            b.getFunctionType(fused.getInputs().getTypes(),
                              fused.getResultTypes()));
        func.setPrivate();
        func->setAttr("kernel.kind", fused.getKindAttr());
        // Where each result comes from, for messages about its values
        // (kiln-insert-numerics-checks names the kernel that wrote a NaN).
        // They belong to the call: kernels of equal bodies merge
        // (kiln-dedup-kernels), their calls stay apart.
        // A kernel around a library call (a convolution's gradients): the
        // call carries its cost, reported when it returns; otherwise the
        // kernel's call carries the kernel's.
        bool inner = false;
        fused.getBody().walk([&](Operation *op) {
          if (contractionFlops(op) > 0) {
            Cost cost = estimateCost(op);
            op->setAttr(kCostAttr,
                        b.getDenseI64ArrayAttr({cost.flops, cost.bytes}));
            inner = true;
          }
        });
        Cost cost = estimateCost(fused);
        auto yield0 = cast<YieldOp>(fused.getBody().front().getTerminator());
        SmallVector<Attribute> origins;
        for (Value v : yield0.getValues()) {
          Operation *producer = v.getDefiningOp();
          origins.push_back(b.getStringAttr(
              describeOrigin(producer ? producer : fused.getOperation())));
        }
        symbols.insert(func);
        func.getBody().takeBody(fused.getBody());
        Block &body = func.getBody().front();
        auto yield = cast<YieldOp>(body.getTerminator());
        b.setInsertionPoint(yield);
        b.create<func::ReturnOp>(yield.getLoc(), yield.getValues());
        yield.erase();

        b.setInsertionPoint(fused);
        auto call = b.create<func::CallOp>(fused.getLoc(), func,
                                           fused.getInputs());
        call->setAttr("kernel.origins", b.getArrayAttr(origins));
        if (!inner)
          call->setAttr(kCostAttr,
                        b.getDenseI64ArrayAttr({cost.flops, cost.bytes}));
        fused.replaceAllUsesWith(call.getResults());
        fused.erase();
      }
    }
  }
};

} // namespace
