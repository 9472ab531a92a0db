//===- PtxEmitter.h - The kernels of --target=cuda as PTX -----------------===//
//
// From a module lowered with --target=cuda (host code around gpu.launch_func,
// one gpu.module of NVVM kernels) to PTX text, which ptxas assembles and a
// CUDA driver loads or compiles for a newer GPU.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_TARGET_CUDA_PTXEMITTER_H
#define KILN_COMPILER_TARGET_CUDA_PTXEMITTER_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace kiln::cuda {

/// The CUDA toolkit whose libdevice (nvvm/libdevice/libdevice.10.bc) the
/// kernels' math links: `given`, else $CUDA_PATH, else /usr/local/cuda. An
/// error says where libdevice was looked for.
llvm::Expected<std::string> findToolkit(llvm::StringRef given);

/// Checks a GPU architecture ("sm_90") against LLVM's NVPTX back end; the
/// error names the nearest known one.
llvm::Error checkGpuArch(llvm::StringRef arch);

/// The PTX of `module`'s gpu.module (none: an empty module's PTX is not
/// made, and the result is empty), serialized from a copy: `module` is left
/// as it is.
llvm::Expected<std::string> emitPtx(mlir::ModuleOp module,
                                    llvm::StringRef toolkit);

/// Replaces `module`'s gpu.module with a gpu.binary holding a fatbin of its
/// kernels: the cubin ptxas assembles for the module's architecture, and
/// the PTX, which the driver compiles for newer GPUs. The host code's
/// launches then embed it (translation to LLVM IR).
llvm::Error embedKernels(mlir::ModuleOp module, llvm::StringRef toolkit);

} // namespace kiln::cuda

#endif // KILN_COMPILER_TARGET_CUDA_PTXEMITTER_H
