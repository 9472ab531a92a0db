//===- MergeModules.cpp - Every outlined kernel in one gpu.module ---------===//

#include "compiler/Codegen/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPUMERGEMODULES
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The gpu.module every kernel of an artefact is in.
constexpr llvm::StringLiteral kKernelModule = "kiln_kernels";

struct KilnGpuMergeModules
    : kiln::impl::KilnGpuMergeModulesBase<KilnGpuMergeModules> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> outlined(module.getOps<gpu::GPUModuleOp>());
    if (outlined.empty())
      return;
    if (SymbolTable::lookupSymbolIn(module, kKernelModule)) {
      module.emitError("kiln-gpu-merge-modules: the module already has a "
                       "symbol '")
          << kKernelModule << "'";
      return signalPassFailure();
    }
    OpBuilder b(outlined.front());
    auto merged = b.create<gpu::GPUModuleOp>(outlined.front().getLoc(),
                                             kKernelModule);
    MLIRContext *context = module.getContext();
    // The outlined modules' names are unique in the module: each kernel
    // takes its module's.
    llvm::StringMap<StringAttr> renamed;
    for (gpu::GPUModuleOp from : outlined) {
      SmallVector<Operation *> ops;
      for (Operation &op : from.getBody()->without_terminator())
        ops.push_back(&op);
      for (Operation *op : ops) {
        auto kernel = dyn_cast<gpu::GPUFuncOp>(op);
        if (!kernel || ops.size() != 1) {
          op->emitError("kiln-gpu-merge-modules: expected one gpu.func per "
                        "outlined module");
          return signalPassFailure();
        }
        renamed[from.getName()] = kernel.getNameAttr();
        kernel.setName(from.getName());
        kernel->moveBefore(merged.getBody()->getTerminator());
      }
    }
    WalkResult walked = module.walk([&](gpu::LaunchFuncOp launch) {
      SymbolRefAttr old = launch.getKernel();
      auto it = renamed.find(old.getRootReference().getValue());
      if (it == renamed.end() || old.getLeafReference() != it->second) {
        launch.emitError("kiln-gpu-merge-modules: launches a kernel of no "
                         "outlined module");
        return WalkResult::interrupt();
      }
      launch.setKernelAttr(SymbolRefAttr::get(
          StringAttr::get(context, kKernelModule),
          {FlatSymbolRefAttr::get(context, old.getRootReference())}));
      return WalkResult::advance();
    });
    if (walked.wasInterrupted())
      return signalPassFailure();
    for (gpu::GPUModuleOp from : outlined)
      from.erase();
  }
};

} // namespace
