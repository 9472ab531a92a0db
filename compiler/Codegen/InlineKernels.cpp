//===- InlineKernels.cpp - Kernels called once inline into the caller -----===//

#include "compiler/Codegen/Passes.h"

#include "mlir/Analysis/CallGraph.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/Inliner.h"
#include "mlir/Transforms/Passes.h"

namespace kiln {
#define GEN_PASS_DEF_KILNINLINEKERNELS
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct KilnInlineKernels
    : kiln::impl::KilnInlineKernelsBase<KilnInlineKernels> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Calls per function, counted before any inlines.
    llvm::DenseMap<Operation *, unsigned> calls;
    module.walk([&](func::CallOp call) {
      if (auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
              call, call.getCalleeAttr()))
        ++calls[callee];
    });
    auto once = [&](const Inliner::ResolvedCall &resolved) {
      Region *region = resolved.targetNode->getCallableRegion();
      return region && calls.lookup(region->getParentOp()) == 1;
    };
    InlinerConfig config;
    config.setDefaultPipeline([](OpPassManager &pm) {
      pm.addPass(createCanonicalizerPass());
    });
    CallGraph &graph = getAnalysis<CallGraph>();
    auto runNested = [this](Pass &, OpPassManager &pipeline, Operation *op) {
      return runPipeline(pipeline, op);
    };
    Inliner inliner(module, graph, *this, getAnalysisManager(), runNested,
                    config, once);
    if (failed(inliner.doInlining()))
      return signalPassFailure();
  }
};

} // namespace
