//===- Pipelines.cpp - Kiln's pass pipelines ------------------------------===//

#include "compiler/Pipelines/Pipelines.h"

#include "compiler/Codegen/Passes.h"
#include "compiler/Conversion/Passes.h"
#include "dialects/Graph/Transforms/Passes.h"
#include "dialects/Kernel/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/SCFToGPU/SCFToGPUPass.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/Vector/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

#include <fstream>

namespace kiln {

bool hostHasAvx512() {
  static const bool has = llvm::sys::getHostCPUFeatures().lookup("avx512f");
  return has;
}

long long hostLastLevelCacheBytes() {
  static const long long cached = [] {
    long long bytes = 32ll << 20;
    int lastLevel = 0;
    for (int index = 0;; ++index) {
      std::string folder =
          "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
      std::ifstream levelFile(folder + "/level"), sizeFile(folder + "/size");
      int level = 0;
      long long size = 0;
      std::string unit;
      if (!(levelFile >> level) || !(sizeFile >> size))
        break;
      sizeFile >> unit; // "K" or "M" directly after the number
      size <<= unit == "M" ? 20 : unit == "K" ? 10 : 0;
      if (level > lastLevel && size > 0) {
        lastLevel = level;
        bytes = size;
      }
    }
    return bytes;
  }();
  return cached;
}

namespace {

using mlir::OpPassManager;
using mlir::func::FuncOp;

/// Reverse-mode gradients: `loss` gains `grad`, and `grad` gains
/// `train_step` with the optimizer.
mlir::LogicalResult addGraphGradPasses(OpPassManager &pm,
                                       const PipelineOptions &options,
                                       ErrorHandler errorHandler) {
  graph::GraphAutodiffOptions autodiff;
  autodiff.wrtInputs = options.wrtInputs;
  autodiff.testScaleRule = options.testScaleRule;
  autodiff.testScaleFactor = options.testScaleFactor;
  pm.addPass(graph::createGraphAutodiff(autodiff));
  // The optimizer's options are the user's text (--train-step).
  std::unique_ptr<mlir::Pass> trainStep = graph::createGraphTrainStep();
  if (failed(trainStep->initializeOptions(options.trainStep, errorHandler)))
    return mlir::failure();
  pm.addPass(std::move(trainStep));
  return mlir::success();
}

/// Simplify, then decide what runs as one kernel.
void addGraphToKernelPasses(OpPassManager &pm, const PipelineOptions &options) {
  pm.addPass(createKilnRecordManifest());
  // Unfused attention gradients are batch matmuls and a softmax.
  if (!options.fusedAttentionOn())
    pm.addNestedPass<FuncOp>(graph::createGraphDecomposeAttentionGrad());
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
  // oneDNN's convolutions run NHWC; no oneDNN on the GPU.
  if (options.channelsLast && options.libraryCalls &&
      options.target == PipelineOptions::Target::CPU) {
    pm.addNestedPass<FuncOp>(graph::createGraphChannelsLast());
    pm.addPass(mlir::createCanonicalizerPass());
    pm.addPass(mlir::createCSEPass());
  }
  graph::GraphFuseOptions fuse;
  fuse.fuseElementwise = options.fusion;
  fuse.fuseEpilogues = options.fusion;
  pm.addNestedPass<FuncOp>(graph::createGraphFuse(fuse));
}

/// One function per kernel, lowered to linalg on tensors; the generics of a
/// kernel fuse into one loop nest.
void addKernelToLinalgPasses(OpPassManager &pm,
                             const PipelineOptions &options) {
  pm.addPass(kernel::createKernelOutline());
  ConvertGraphToLinalgOptions lowering;
  // On the GPU, float32 matmuls are cuBLASLt's; convolutions are kernels
  // of their own, recurrences loops of them.
  lowering.libraryCalls = options.libraryCalls;
  lowering.cuda = options.target == PipelineOptions::Target::CUDA;
  lowering.gpuMath = options.gpuMath;
  lowering.fusedAttention = options.fusedAttentionOn();
  pm.addPass(createConvertGraphToLinalg(lowering));
  pm.addNestedPass<FuncOp>(createKilnFuseElementwise());
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
  // Updated arguments (train_step) become kernel destinations.
  pm.addPass(createKilnUpdateInPlace());
  // Repeated kernels (layers, and the forward pass every entry repeats)
  // compile once.
  pm.addPass(createKilnDedupKernels());
}

/// Buffers, for either target: one-shot bufferization across functions,
/// results become out-parameters (computed in them where possible, updated
/// arguments in place), kernels report their outputs to the numerics
/// checks if asked, temporaries are freed.
void addBufferizationPasses(OpPassManager &pm, bool numericsChecks) {
  pm.addNestedPass<FuncOp>(createKilnCopyReturnedArguments());
  mlir::bufferization::OneShotBufferizationOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.setFunctionBoundaryTypeConversion(
      mlir::bufferization::LayoutMapOption::IdentityLayoutMap);
  pm.addPass(mlir::bufferization::createOneShotBufferizePass(bufferize));
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(createKilnDropReturnedArguments());
  pm.addPass(createKilnResultsToOutParams());
  pm.addPass(createKilnForwardResultCopies());
  pm.addPass(createKilnAliasUpdatedResults());
  if (numericsChecks)
    pm.addPass(createKilnInsertNumericsChecks());
  pm.addPass(mlir::createCanonicalizerPass());
  mlir::bufferization::buildBufferDeallocationPipeline(
      pm, mlir::bufferization::BufferDeallocationPipelineOptions());
}

/// The host code's memrefs, arithmetic, calls and branches to LLVM, every
/// buffer a bare pointer (the artefact ABI); allocations call the generic
/// functions (the runtime's). With `gpuLaunches`, the launches become calls
/// of the GPU runtime's entry points, kernels taking bare pointers too.
void addHostCodeToLLVMPasses(OpPassManager &pm, bool gpuLaunches) {
  pm.addPass(mlir::memref::createExpandStridedMetadataPass());
  pm.addPass(mlir::createLowerAffinePass());
  mlir::FinalizeMemRefToLLVMConversionPassOptions memrefToLLVM;
  memrefToLLVM.useGenericFunctions = true;
  pm.addPass(mlir::createFinalizeMemRefToLLVMConversionPass(memrefToLLVM));
  pm.addPass(mlir::createArithToLLVMConversionPass());
  pm.addPass(mlir::createConvertIndexToLLVMPass());
  mlir::ConvertFuncToLLVMPassOptions funcToLLVM;
  funcToLLVM.useBarePtrCallConv = true;
  pm.addPass(mlir::createConvertFuncToLLVMPass(funcToLLVM));
  pm.addPass(mlir::createConvertControlFlowToLLVMPass());
  if (gpuLaunches) {
    mlir::GpuToLLVMConversionPassOptions launches;
    launches.hostBarePtrCallConv = true;
    launches.kernelBarePtrCallConv = true;
    pm.addPass(mlir::createGpuToLLVMConversionPass(launches));
  }
  pm.addPass(mlir::createReconcileUnrealizedCastsPass());
}

/// Static tiles, vectorized; buffers: one-shot bufferization across
/// functions, results become out-parameters, temporaries are freed;
/// library calls become C calls; then loops, vectors and math to LLVM.
void addLinalgToLLVMPasses(OpPassManager &pm, const PipelineOptions &options) {
  pm.addNestedPass<FuncOp>(createKilnStageElementwise());
  pm.addNestedPass<FuncOp>(createKilnFuseRows());
  pm.addNestedPass<FuncOp>(createKilnVectorize());
  pm.addNestedPass<FuncOp>(createKilnTreeReductions());
  pm.addNestedPass<FuncOp>(createKilnHoistInvariants());
  pm.addNestedPass<FuncOp>(createKilnReciprocalDivisions());
  pm.addNestedPass<FuncOp>(createKilnSelectBounds());
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
  addBufferizationPasses(pm, options.numericsChecks);
  // Strided reads (pooling windows) read contiguously; outputs larger than
  // the cache are written past it; while a block of rows computes, the next
  // one is fetched.
  pm.addNestedPass<FuncOp>(createKilnDeinterleaveReads());
  KilnStreamStoresOptions streamStores;
  streamStores.minBytes = options.streamStoreBytes;
  pm.addNestedPass<FuncOp>(createKilnStreamStores(streamStores));
  pm.addNestedPass<FuncOp>(createKilnPrefetch());
  pm.addPass(createKilnParallelize());
  // Kernels called once inline into their entry point, whose temporaries
  // then share one planned arena; shared kernels stay functions.
  pm.addPass(createKilnInlineKernels());
  pm.addPass(mlir::createSymbolDCEPass());
  pm.addPass(mlir::createCanonicalizerPass());
  KilnPlanMemoryOptions plan;
  plan.report = options.reportMemory;
  pm.addNestedPass<FuncOp>(createKilnPlanMemory(plan));
  pm.addNestedPass<FuncOp>(createKilnExpandAttention());
  pm.addPass(createConvertLibraryCalls());
  pm.addNestedPass<FuncOp>(mlir::createConvertLinalgToLoopsPass());
  pm.addNestedPass<FuncOp>(mlir::vector::createLowerVectorMultiReductionPass());
  pm.addPass(mlir::createConvertVectorToSCFPass(
      mlir::VectorTransferToSCFOptions().enableFullUnroll()));
  pm.addPass(mlir::createLowerAffinePass());
  pm.addPass(mlir::createConvertSCFToCFPass());
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
  // f32 transcendentals become polynomials; what LLVM has intrinsics for
  // (floor, fabs, sqrt, f64 exp) becomes them; what remains (f64 tanh, erf)
  // calls libm, unrolled from vectors before vectors lower.
  KilnApproximateMathOptions approximate;
  approximate.avx512 = options.avx512;
  pm.addNestedPass<FuncOp>(createKilnApproximateMath(approximate));
  pm.addPass(mlir::createConvertMathToLLVMPass());
  pm.addPass(mlir::createConvertMathToLibmPass());
  pm.addPass(mlir::createConvertVectorToLLVMPass());
  // Heap allocations go to the runtime's caching workspace.
  addHostCodeToLLVMPasses(pm, /*gpuLaunches=*/false);
  // Boolean buffers hold bytes; vectors of i1 are bitmasks.
  pm.addPass(createKilnByteBooleans());
  pm.addPass(createKilnAlignStreamStores());
  pm.addPass(createKilnStripGraphAttrs());
  pm.addPass(createKilnEmitAbi());
}

/// The GPU flavour of the LLVM stage: bufferized as for the CPU, each
/// linalg op becomes a parallel loop mapped to blocks and threads, then a
/// kernel of the one gpu.module, lowered to NVVM (libdevice's math, bare
/// pointers for buffers). The host code around the launches becomes LLVM
/// too: its buffers are allocated on the device by Kiln's CUDA runtime,
/// each launch a call of the runtime's `mgpu*` entry points, and the
/// entry points get the artefact ABI of the CPU's. The gpu.module stays
/// until the artefact is written (PTX, or a fatbin embedded in the host
/// code).
void addLinalgToNVVMPasses(OpPassManager &pm, const PipelineOptions &options) {
  addBufferizationPasses(pm, options.numericsChecks);
  // An entry point's temporaries share one arena on the device, planned as
  // the CPU's: the launches of one stream run in order, so bytes a buffer
  // no longer needs are free for the next kernel's.
  KilnPlanMemoryOptions plan;
  plan.report = options.reportMemory;
  pm.addNestedPass<FuncOp>(createKilnPlanMemory(plan));
  // Fused attention's loop nests, one thread per row; no canonicalization
  // from here to the launches: it would fold the one-iteration loops that
  // keep scalar work on the device.
  pm.addNestedPass<FuncOp>(createKilnExpandAttention());
  pm.addNestedPass<FuncOp>(createKilnGpuMapLoops());
  pm.addPass(mlir::createParallelLoopToGpuPass());
  pm.addPass(mlir::createGpuKernelOutliningPass());
  pm.addPass(createKilnGpuMergeModules());
  // The numerics checks stay on the host, after the launches they check:
  // calls of the runtime (kiln-gpu-device-buffers sends them to its CUDA
  // copies, which read the device buffers).
  pm.addPass(createConvertLibraryCalls());
  pm.addPass(mlir::createLowerAffinePass());
  pm.addPass(mlir::createConvertSCFToCFPass());
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
  mlir::GpuNVVMAttachTargetOptions target;
  target.chip = options.gpuArch;
  target.features = "+ptx80";
  pm.addPass(mlir::createGpuNVVMAttachTarget(target));
  mlir::ConvertGpuOpsToNVVMOpsOptions nvvm;
  nvvm.useBarePtrCallConv = true;
  pm.addNestedPass<mlir::gpu::GPUModuleOp>(
      mlir::createConvertGpuOpsToNVVMOps(nvvm));
  pm.addNestedPass<mlir::gpu::GPUModuleOp>(
      mlir::createReconcileUnrealizedCastsPass());
  pm.addNestedPass<mlir::gpu::GPUModuleOp>(createKilnGpuAlignVectors());
  pm.addNestedPass<mlir::gpu::GPUModuleOp>(mlir::createCanonicalizerPass());

  addHostCodeToLLVMPasses(pm, /*gpuLaunches=*/true);
  pm.addPass(createKilnGpuDeviceBuffers());
  pm.addPass(createKilnStripGraphAttrs());
  pm.addPass(createKilnEmitAbi());
}

mlir::LogicalResult printError(const llvm::Twine &message) {
  llvm::errs() << "error: " << message << "\n";
  return mlir::failure();
}

/// The named pipelines' options: PipelineOptions, typed, for kiln-opt.
struct PipelineCLOptions : mlir::PassPipelineOptions<PipelineCLOptions> {
  Option<bool> fusion{*this, "fusion",
                      llvm::cl::desc("Fuse kernels (off: one kernel per op)"),
                      llvm::cl::init(true)};
  Option<bool> libraryCalls{
      *this, "library-calls",
      llvm::cl::desc("Float32 matmul and convolution through oneDNN (CPU), "
                     "or cuBLASLt and cuDNN (GPU)"),
      llvm::cl::init(true)};
  Option<bool> reportMemory{*this, "report-memory",
                            llvm::cl::desc("Print each entry's memory plan"),
                            llvm::cl::init(false)};
  Option<std::string> trainStep{
      *this, "train-step",
      llvm::cl::desc("graph-train-step's options (\"optimizer=sgd lr=0.1\")"),
      llvm::cl::init("")};
  Option<bool> wrtInputs{*this, "wrt-inputs",
                         llvm::cl::desc("grad also differentiates inputs"),
                         llvm::cl::init(false)};
  Option<bool> numericsChecks{
      *this, "numerics-checks",
      llvm::cl::desc("Kernels report outputs to --check-numerics"),
      llvm::cl::init(true)};
  Option<bool> avx512{*this, "avx512",
                      llvm::cl::desc("The target CPU has AVX-512F"),
                      llvm::cl::init(hostHasAvx512())};
  Option<long long> streamStoreBytes{
      *this, "stream-store-bytes",
      llvm::cl::desc("Outputs of at least this many bytes are written with "
                     "non-temporal stores"),
      llvm::cl::init(hostLastLevelCacheBytes())};

  Option<std::string> target{
      *this, "target",
      llvm::cl::desc("kiln-linalg-to-llvm's target: cpu, or cuda (NVVM "
                     "kernels in a gpu.module)"),
      llvm::cl::init("cpu")};
  Option<std::string> gpuArch{*this, "gpu-arch",
                              llvm::cl::desc("The GPU's architecture (cuda)"),
                              llvm::cl::init("sm_90")};
  Option<bool> fusedAttention{
      *this, "fused-attention",
      llvm::cl::desc("Attention and its gradient as loop nests over rows, "
                     "without the score matrix (always on with cuda)"),
      llvm::cl::init(false)};
  Option<std::string> gpuMath{
      *this, "gpu-math",
      llvm::cl::desc("How cuBLASLt and cuDNN compute float32 (cuda): fp32, "
                     "tf32 or bf16"),
      llvm::cl::init("fp32")};

  PipelineOptions get() const {
    PipelineOptions o;
    o.fusion = fusion;
    o.libraryCalls = libraryCalls;
    o.reportMemory = reportMemory;
    o.trainStep = trainStep;
    o.wrtInputs = wrtInputs;
    o.numericsChecks = numericsChecks;
    o.avx512 = avx512;
    o.streamStoreBytes = streamStoreBytes;
    o.target = target == "cuda" ? PipelineOptions::Target::CUDA
                                : PipelineOptions::Target::CPU;
    o.gpuArch = gpuArch;
    o.gpuMath = gpuMath;
    o.fusedAttention = fusedAttention;
    return o;
  }
};

} // namespace

mlir::LogicalResult addPassesInto(OpPassManager &pm, Stage stage,
                                  const PipelineOptions &options,
                                  ErrorHandler errorHandler) {
  switch (stage) {
  case Stage::Graph:
    return mlir::success();
  case Stage::GraphGrad:
    return addGraphGradPasses(pm, options, errorHandler);
  case Stage::Kernel:
    addGraphToKernelPasses(pm, options);
    return mlir::success();
  case Stage::Linalg:
    addKernelToLinalgPasses(pm, options);
    return mlir::success();
  case Stage::LLVM:
    if (options.target == PipelineOptions::Target::CUDA)
      addLinalgToNVVMPasses(pm, options);
    else
      addLinalgToLLVMPasses(pm, options);
    return mlir::success();
  }
  return mlir::success();
}

bool buildPipeline(OpPassManager &pm, Stage from, Stage to,
                   const PipelineOptions &options) {
  for (Stage s : {Stage::GraphGrad, Stage::Kernel, Stage::Linalg, Stage::LLVM}) {
    if (static_cast<int>(s) <= static_cast<int>(from))
      continue;
    if (static_cast<int>(s) > static_cast<int>(to))
      break;
    if (failed(addPassesInto(pm, s, options, printError)))
      return false;
  }
  return true;
}

void registerPipelines() {
  auto add = [](const char *name, const char *summary, Stage stage) {
    mlir::registerPassPipeline(
        name, summary,
        [stage](OpPassManager &pm, llvm::StringRef text,
                ErrorHandler errorHandler) -> mlir::LogicalResult {
          PipelineCLOptions options;
          if (failed(options.parseFromString(text)))
            return mlir::failure();
          if (options.target != "cpu" && options.target != "cuda")
            return errorHandler("target=" + options.target.getValue() +
                                " is not a target; targets: cpu, cuda");
          return addPassesInto(pm, stage, options.get(), errorHandler);
        },
        [](llvm::function_ref<void(const mlir::detail::PassOptions &)> print) {
          print(PipelineCLOptions());
        });
  };
  add("kiln-graph-grad", "Add the gradient entry point of `loss`",
      Stage::GraphGrad);
  add("kiln-graph-to-kernel",
      "Simplify a graph module and partition it into kernels", Stage::Kernel);
  add("kiln-kernel-to-linalg",
      "Outline kernels and lower them to linalg on tensors", Stage::Linalg);
  add("kiln-linalg-to-llvm",
      "Bufferize and lower linalg to the LLVM dialect (CPU)", Stage::LLVM);
}

mlir::LogicalResult keepEntries(mlir::ModuleOp module,
                                const std::vector<std::string> &names,
                                std::string &error) {
  for (const std::string &name : names)
    if (!module.lookupSymbol<FuncOp>(name)) {
      error = "no entry point '" + name + "'; entry points: ";
      bool first = true;
      for (auto fn : module.getOps<FuncOp>())
        if (fn.isPublic()) {
          error += (first ? "" : ", ") + fn.getSymName().str();
          first = false;
        }
      return mlir::failure();
    }
  llvm::SmallVector<FuncOp> unwanted;
  for (auto fn : module.getOps<FuncOp>())
    if (fn.isPublic() && !llvm::is_contained(names, fn.getSymName()))
      unwanted.push_back(fn);
  for (FuncOp fn : unwanted)
    fn.erase();
  return mlir::success();
}

} // namespace kiln
