//===- PtxEmitter.cpp - The kernels of --target=cuda as PTX ---------------===//

#include "compiler/Target/CUDA/PtxEmitter.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/IR/Location.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/TargetSelect.h"

#include <cstdlib>
#include <memory>

namespace kiln::cuda {
namespace {

constexpr const char *kTriple = "nvptx64-nvidia-cuda";

llvm::Error error(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

} // namespace

llvm::Expected<std::string> findToolkit(llvm::StringRef given) {
  std::string path = given.str();
  const char *from = "--cuda-path";
  if (path.empty()) {
    const char *env = std::getenv("CUDA_PATH");
    path = env && *env ? env : "/usr/local/cuda";
    from = env && *env ? "$CUDA_PATH" : "the default CUDA toolkit";
  }
  llvm::SmallString<256> libdevice(path);
  llvm::sys::path::append(libdevice, "nvvm", "libdevice", "libdevice.10.bc");
  if (!llvm::sys::fs::is_regular_file(libdevice))
    return error(llvm::Twine("--target=cuda links the kernels' math with "
                             "libdevice, which is not at '") +
                 libdevice + "' (" + from +
                 "): install the CUDA toolkit or give --cuda-path=DIR");
  return path;
}

llvm::Error checkGpuArch(llvm::StringRef arch) {
  LLVMInitializeNVPTXTargetInfo();
  LLVMInitializeNVPTXTarget();
  LLVMInitializeNVPTXTargetMC();
  std::string message;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(kTriple, message);
  if (!target)
    return error("this LLVM has no NVPTX back end: " + message);
  std::unique_ptr<llvm::MCSubtargetInfo> info(
      target->createMCSubtargetInfo(kTriple, arch, ""));
  if (info && info->isCPUStringValid(arch))
    return llvm::Error::success();
  std::string nearest;
  unsigned best = ~0u;
  if (info)
    for (const llvm::SubtargetSubTypeKV &known :
         info->getAllProcessorDescriptions()) {
      unsigned distance = arch.edit_distance(known.Key);
      if (distance < best) {
        best = distance;
        nearest = known.Key;
      }
    }
  return error(llvm::Twine("--gpu-arch=") + arch +
               " is not a GPU architecture LLVM's NVPTX back end knows" +
               (nearest.empty() ? "" : "; did you mean " + nearest + "?") +
               " (e.g. sm_80 for A100, sm_90 for H100)");
}

llvm::Expected<std::string> emitPtx(mlir::ModuleOp module,
                                    llvm::StringRef toolkit) {
  if (module.getOps<mlir::gpu::GPUModuleOp>().empty())
    return std::string();
  mlir::OwningOpRef<mlir::ModuleOp> copy = module.clone();
  mlir::PassManager pm(copy->getContext());
  mlir::GpuModuleToBinaryPassOptions options;
  options.toolkitPath = toolkit.str();
  options.compilationTarget = "isa";
  pm.addPass(mlir::createGpuModuleToBinaryPass(options));
  if (failed(pm.run(*copy)))
    return error("serializing the GPU kernels to PTX failed");
  std::string ptx;
  for (mlir::gpu::BinaryOp binary : copy->getOps<mlir::gpu::BinaryOp>())
    for (mlir::Attribute attr : binary.getObjects()) {
      auto object = llvm::dyn_cast<mlir::gpu::ObjectAttr>(attr);
      if (!object)
        return error("a GPU binary holds an object Kiln cannot read");
      llvm::StringRef text = object.getObject().getValue();
      // The serializer ends the text with a NUL (for the driver's JIT).
      ptx += text.rtrim(llvm::StringRef("\0", 1)).str();
    }
  return ptx;
}

llvm::Error embedKernels(mlir::ModuleOp module, llvm::StringRef toolkit) {
  // A call of the CPU's runtime (IR lowered with library calls on, which
  // --target=cuda never does itself) cannot run in a GPU artefact.
  mlir::Operation *library = nullptr;
  module.walk([&](mlir::Operation *op) {
    if (op->getName().getStringRef() != "kernel.library_call")
      return mlir::WalkResult::advance();
    library = op;
    return mlir::WalkResult::interrupt();
  });
  if (library) {
    auto callee = library->getAttrOfType<mlir::StringAttr>("callee");
    std::string where = "an unknown place";
    library->getLoc()->walk([&](mlir::Location loc) {
      auto file = llvm::dyn_cast<mlir::FileLineColLoc>(loc);
      if (!file)
        return mlir::WalkResult::advance();
      where = file.getFilename().str() + ":" + std::to_string(file.getLine());
      return mlir::WalkResult::interrupt();
    });
    return error(llvm::Twine("--target=cuda: ") +
                 (callee ? callee.getValue() : "a library call") +
                 " (at " + where +
                 ") is a call of Kiln's CPU runtime, which no GPU artefact "
                 "can make: lower the model with library calls off");
  }
  if (module.getOps<mlir::gpu::GPUModuleOp>().empty())
    return llvm::Error::success();
  mlir::PassManager pm(module.getContext());
  mlir::GpuModuleToBinaryPassOptions options;
  options.toolkitPath = toolkit.str();
  options.compilationTarget = "fatbin";
  pm.addPass(mlir::createGpuModuleToBinaryPass(options));
  if (failed(pm.run(module)))
    return error(llvm::Twine("assembling the GPU kernels into a fatbin "
                             "failed (ptxas and fatbinary of the CUDA "
                             "toolkit at '") +
                 toolkit + "')");
  return llvm::Error::success();
}

} // namespace kiln::cuda
