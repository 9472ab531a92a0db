//===- Pipelines.cpp - Kiln's pass pipelines ------------------------------===//

#include "compiler/Pipelines/Pipelines.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
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

std::string pipelineInto(Stage stage, const PipelineOptions &options) {
  switch (stage) {
  case Stage::Graph:
    return "";
  case Stage::GraphGrad:
    // Reverse-mode gradients: `loss` gains `grad`, and `grad` gains
    // `train_step` with the optimizer.
    return "graph-autodiff{wrt-inputs=" +
           std::string(options.wrtInputs ? "true" : "false") +
           (options.testScaleRule.empty()
                ? std::string()
                : " test-scale-rule=" + options.testScaleRule +
                      " test-scale-factor=" +
                      std::to_string(options.testScaleFactor)) +
           "}" +
           ",graph-train-step" +
           (options.trainStep.empty() ? std::string()
                                      : "{" + options.trainStep + "}");
  case Stage::Kernel:
    // Simplify, then decide what runs as one kernel.
    return options.fusion
               ? "kiln-record-manifest,canonicalize,cse,func.func(graph-fuse)"
               : "kiln-record-manifest,canonicalize,cse,func.func(graph-fuse{"
                 "fuse-elementwise=false fuse-epilogues=false})";
  case Stage::Linalg:
    // One function per kernel, lowered to linalg on tensors; the generics of
    // a kernel fuse into one loop nest.
    return std::string("kernel-outline,convert-graph-to-linalg") +
           (options.libraryCalls ? "" : "{library-calls=false}") +
           ",func.func(linalg-fuse-elementwise-ops),canonicalize,cse,"
           // Updated arguments (train_step) become kernel destinations.
           "kiln-update-in-place";
  case Stage::LLVM:
    // Static tiles, vectorized; buffers: one-shot bufferization across
    // functions, results become out-parameters, temporaries are freed;
    // library calls become C calls; then loops, vectors and math to LLVM.
    return std::string("func.func(kiln-stage-elementwise,kiln-vectorize),"
                       "canonicalize,cse,"
                       "func.func(kiln-copy-returned-arguments),") +
           "one-shot-bufferize{bufferize-function-boundaries "
           "function-boundary-type-conversion=identity-layout-map},"
           "canonicalize,kiln-drop-returned-arguments,"
           "buffer-results-to-out-params{hoist-static-allocs},"
           // Results are computed in their out-parameters where possible.
           "kiln-forward-result-copies,kiln-alias-updated-results," +
           std::string(options.numericsChecks ? "kiln-insert-numerics-checks,"
                                              : "") +
           "canonicalize,buffer-deallocation-pipeline,"
           // While a block of rows computes, the next one is fetched.
           // Strided reads (pooling windows) read contiguously.
           "func.func(kiln-deinterleave-reads),"
           // Outputs larger than the cache are written past it.
           "func.func(kiln-stream-stores{min-bytes=" +
           std::to_string(options.streamStoreBytes) +
           "}),"
           "func.func(kiln-prefetch),kiln-parallelize,"
           // Kernels inline into their entry point, whose temporaries then
           // share one planned arena.
           "inline,symbol-dce,canonicalize," +
           std::string(options.reportMemory
                           ? "func.func(kiln-plan-memory{report=true}),"
                           : "func.func(kiln-plan-memory),") +
           "convert-library-calls,"
           "func.func(convert-linalg-to-loops),"
           "func.func(lower-vector-multi-reduction),"
           "convert-vector-to-scf{full-unroll=true},"
           "lower-affine,convert-scf-to-cf,canonicalize,cse," +
           // f32 transcendentals become polynomials; what LLVM has
           // intrinsics for (floor, fabs, sqrt, f64 exp) becomes them; what
           // remains (f64 tanh, erf) calls libm, unrolled from vectors
           // before vectors lower.
           std::string(options.avx512
                           ? "func.func(kiln-approximate-math{avx512=true}),"
                           : "func.func(kiln-approximate-math),") +
           "convert-math-to-llvm,"
           "convert-math-to-libm,convert-vector-to-llvm,"
           "expand-strided-metadata,lower-affine,"
           // Heap allocations go to the runtime's caching workspace.
           "finalize-memref-to-llvm{use-generic-functions=true},"
           "convert-arith-to-llvm,convert-index-to-llvm,"
           "convert-func-to-llvm{use-bare-ptr-memref-call-conv},"
           "convert-cf-to-llvm,reconcile-unrealized-casts,"
           // Boolean buffers hold bytes; vectors of i1 are bitmasks.
           "kiln-byte-booleans,kiln-align-stream-stores,"
           "kiln-strip-graph-attrs,kiln-emit-abi";
  }
  return "";
}

bool buildPipeline(mlir::OpPassManager &pm, Stage from, Stage to,
                   const PipelineOptions &options) {
  for (Stage s : {Stage::GraphGrad, Stage::Kernel, Stage::Linalg, Stage::LLVM}) {
    if (static_cast<int>(s) <= static_cast<int>(from))
      continue;
    if (static_cast<int>(s) > static_cast<int>(to))
      break;
    if (failed(mlir::parsePassPipeline(pipelineInto(s, options), pm,
                                       llvm::errs())))
      return false;
  }
  return true;
}

void registerPipelines() {
  auto add = [](const char *name, const char *summary, Stage stage) {
    mlir::PassPipelineRegistration<>(
        name, summary, [stage](mlir::OpPassManager &pm) {
          (void)mlir::parsePassPipeline(pipelineInto(stage), pm, llvm::errs());
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

} // namespace kiln
