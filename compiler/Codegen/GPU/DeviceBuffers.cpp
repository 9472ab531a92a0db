//===- DeviceBuffers.cpp - Host code's buffers in the GPU's memory --------===//

#include "compiler/Codegen/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/SymbolTable.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPUDEVICEBUFFERS
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// finalize-memref-to-llvm's generic allocation functions, and the numerics
/// checks' scans of host memory, with the CUDA runtime's functions of the
/// same signatures.
constexpr std::pair<llvm::StringLiteral, llvm::StringLiteral> kRenames[] = {
    {"_mlir_memref_to_llvm_alloc", "kiln_cuda_alloc"},
    {"_mlir_memref_to_llvm_aligned_alloc", "kiln_cuda_aligned_alloc"},
    {"_mlir_memref_to_llvm_free", "kiln_cuda_free"},
    {"kiln_check_finite_f32", "kiln_cuda_check_finite_f32"},
    {"kiln_check_finite_f64", "kiln_cuda_check_finite_f64"},
};

struct KilnGpuDeviceBuffers
    : kiln::impl::KilnGpuDeviceBuffersBase<KilnGpuDeviceBuffers> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    for (auto [from, to] : kRenames) {
      auto fn = symbols.lookup<LLVM::LLVMFuncOp>(from);
      if (!fn)
        continue;
      if (!fn.isExternal()) {
        fn.emitError("kiln-gpu-device-buffers: '")
            << from << "' is defined here; it must be the runtime's";
        return signalPassFailure();
      }
      if (symbols.lookup(to)) {
        module.emitError("kiln-gpu-device-buffers: the module already has a "
                         "symbol '")
            << to << "'";
        return signalPassFailure();
      }
      if (failed(symbols.rename(fn, StringAttr::get(&getContext(), to)))) {
        fn.emitError("kiln-gpu-device-buffers: cannot rename to ") << to;
        return signalPassFailure();
      }
    }
  }
};

} // namespace
