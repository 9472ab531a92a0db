//===- Pipelines.h - Kiln's pass pipelines, in one place ------------------===//
//
// The order of passes is written here once, in C++ (each pass created with
// its typed options), and registered under names with typed options, so
// `kiln-opt --kiln-graph-to-kernel` (and the others) reproduce exactly what
// `kilnc --emit=STAGE` runs.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_PIPELINES_PIPELINES_H
#define KILN_COMPILER_PIPELINES_PIPELINES_H

#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/Twine.h"

#include <string>

#include <vector>

namespace mlir {
class ModuleOp;
class OpPassManager;
} // namespace mlir

namespace kiln {

/// The stages of compilation, in order; each names the IR after it.
enum class Stage { Graph, GraphGrad, Kernel, Linalg, LLVM };

/// This machine's CPU has AVX-512F.
bool hostHasAvx512();

/// This machine's last-level cache in bytes, as Linux describes it to this
/// process (sysfs; CPUID-based sysconf can report the host's cache inside a
/// virtual machine); 32 MiB where it says nothing. Read once.
long long hostLastLevelCacheBytes();

struct PipelineOptions {
  /// Fuse kernels (off: every op its own kernel, no library epilogues).
  bool fusion = true;
  /// Float32 matmul and convolution through runtime calls: oneDNN on the
  /// CPU, cuBLASLt (matmul only) on the GPU (off: generated code, as
  /// float64 always is).
  bool libraryCalls = true;
  /// Float32 convolutions, with library calls on the CPU, take and keep
  /// channels-last activations (graph-channels-last).
  bool channelsLast = true;
  /// Print each entry point's memory plan (arena size, largest buffers).
  bool reportMemory = false;
  /// Options of graph-train-step ("optimizer=sgd lr=0.1 momentum=0.9");
  /// empty: Adam, lr 1e-3.
  std::string trainStep;
  /// `grad` also returns the gradients of float inputs (grad.<input>).
  bool wrtInputs = false;
  /// Testing only (graph-autodiff's test-scale-rule): the op whose gradient
  /// rule is scaled by testScaleFactor, to show that the gradient check
  /// catches a wrong rule. Empty: none.
  std::string testScaleRule;
  double testScaleFactor = 1.0;
  /// Every kernel reports its outputs to the runtime's NaN/Inf scan (which
  /// runs only when asked for: `--check-numerics`).
  bool numericsChecks = true;
  /// The target CPU has AVX-512F (kiln-approximate-math's exp scales with
  /// vscalefps); by default, this machine's CPU.
  bool avx512 = hostHasAvx512();
  /// Row-block kernels write outputs of at least this many bytes with
  /// non-temporal stores (kiln-stream-stores); by default, this machine's
  /// last-level cache.
  long long streamStoreBytes = hostLastLevelCacheBytes();
  /// Where the generated code runs: the host's CPU, or an NVIDIA GPU (the
  /// LLVM stage then holds the host code and a gpu.module of NVVM kernels).
  enum class Target { CPU, CUDA } target = Target::CPU;
  /// The GPU's architecture, for the NVVM target (--gpu-arch).
  std::string gpuArch = "sm_90";
  /// How cuBLASLt and cuDNN compute float32 on the GPU: fp32, tf32 or bf16
  /// (--gpu-math).
  std::string gpuMath = "fp32";
  /// Attention and its gradient as loop nests over rows that recompute the
  /// scores and never hold the [..., Tq, Tk] matrix (kiln-expand-attention);
  /// off: the scores and probabilities in memory, batch matmuls (oneDNN)
  /// for the gradient. Always on for the GPU.
  bool fusedAttention = false;
  bool fusedAttentionOn() const {
    return fusedAttention || target == Target::CUDA;
  }
};

/// Reports an error in a pipeline's options (the user's --train-step text).
using ErrorHandler = llvm::function_ref<mlir::LogicalResult(const llvm::Twine &)>;

/// Appends the passes (on builtin.module) that take IR from the stage before
/// `stage` to `stage`, built in C++ with typed options. Fails, through
/// `errorHandler`, only on options the user wrote (--train-step).
mlir::LogicalResult addPassesInto(mlir::OpPassManager &pm, Stage stage,
                                  const PipelineOptions &options,
                                  ErrorHandler errorHandler);

/// Appends the passes that take a module from stage `from` to stage `to`
/// onto `pm`. Returns false, with the error on stderr, if the user's
/// options (--train-step) do not parse.
bool buildPipeline(mlir::OpPassManager &pm, Stage from, Stage to,
                   const PipelineOptions &options = {});

/// Registers the named pipelines: kiln-graph-grad, kiln-graph-to-kernel,
/// kiln-kernel-to-linalg, kiln-linalg-to-llvm.
void registerPipelines();

/// Keeps only the entry points (public functions) named in `names`, after
/// autodiff has added grad and train_step; the kernels and manifest then
/// hold only what they need. A name the module lacks fails with an error
/// listing the entry points.
mlir::LogicalResult keepEntries(mlir::ModuleOp module,
                                const std::vector<std::string> &names,
                                std::string &error);

} // namespace kiln

#endif // KILN_COMPILER_PIPELINES_PIPELINES_H
