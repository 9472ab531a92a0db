//===- Flags.cpp - kilnc's command-line flags and their checks ------------===//
//
// Every flag kilnc (and a model program of one's own) takes, in the order
// they register, and checkFlags(), which checks their values and how they
// combine before any work and derives what the driver reads from them: the
// model by default, the entry points to keep, the CUDA toolkit and
// --stream-stores in bytes.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/Flags.h"
#include "compiler/Conversion/LibraryCalls.h"
#include "compiler/Driver/GradCheck.h"
#include "compiler/Driver/GraphSource.h"
#include "compiler/Driver/Report.h"

#include "compiler/Target/CPU/ObjectEmitter.h"
#include "compiler/Target/CUDA/PtxEmitter.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Target/TargetMachine.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace cl = llvm::cl;

namespace kiln::driver {

cl::OptionCategory category("kilnc options");

cl::opt<std::string> inputFile(cl::Positional,
                               cl::desc("[input.mlir | model.onnx]"),
                               cl::init(""), cl::cat(category));
cl::opt<std::string> modelName("model",
                               cl::desc("Compile a built-in model (see "
                                        "--list-models)"),
                               cl::init(""), cl::cat(category));
cl::opt<bool> listModels("list-models", cl::desc("List the built-in models"),
                         cl::init(false), cl::cat(category));
cl::list<int64_t> batch("batch",
                        cl::desc("Batch size (default: the model's benchmark "
                                 "batch); several, e.g. --batch=1,64, compile "
                                 "each entry once per size (forward_b1, "
                                 "forward_b64)"),
                        cl::CommaSeparated, cl::cat(category));
cl::opt<std::string> dtypeName("dtype", cl::desc("f32 or f64"), cl::init("f32"),
                               cl::cat(category));
cl::opt<std::string> emit("emit",
                          cl::desc("Stage to emit: graph, graph-grad, kernel, "
                                   "linalg, llvm, llvm-ir, asm, obj (+ .h), "
                                   "lib (a static archive + .h), so, exe; "
                                   "dot, svg (the kernels, drawn); ptx (the "
                                   "GPU kernels of --target=cuda)"),
                          cl::init("graph"), cl::cat(category));
cl::opt<std::string> dumpStages("dump-stages",
                                cl::desc("Also write every stage's IR into "
                                         "this directory"),
                                cl::value_desc("dir"), cl::init(""),
                                cl::cat(category));
cl::opt<std::string> cpu("cpu",
                         cl::desc("Target CPU: host (default) or an LLVM CPU "
                                  "name such as x86-64-v3, skylake-avx512"),
                         cl::init("host"), cl::cat(category));
cl::opt<std::string> features("cpu-features",
                              cl::desc("Extra LLVM target features, e.g. "
                                       "+avx512f"),
                              cl::init(""), cl::cat(category));
cl::opt<std::string> targetName(
    "target",
    cl::desc("Where the code runs: cpu (default), or cuda: NVIDIA GPUs "
             "(so, exe, obj and lib launch their kernels through Kiln's "
             "CUDA runtime; --emit=ptx writes the kernels)"),
    cl::init("cpu"), cl::cat(category));
cl::opt<std::string> gpuArch("gpu-arch",
                             cl::desc("--target=cuda: the GPU architecture "
                                      "(default sm_90, the H100)"),
                             cl::init("sm_90"), cl::cat(category));
cl::opt<std::string> gpuMath(
    "gpu-math",
    cl::desc("--target=cuda: how cuBLASLt and cuDNN compute float32 "
             "products and convolutions: fp32 (default, float32 as on the "
             "CPU), tf32 (TF32 tensor cores) or bf16 (bfloat16 tensor cores "
             "for products; convolutions as tf32)"),
    cl::init("fp32"), cl::cat(category));
cl::opt<std::string> cudaPath(
    "cuda-path",
    cl::desc("--target=cuda: the CUDA toolkit whose libdevice the kernels' "
             "math links (default: $CUDA_PATH, else /usr/local/cuda)"),
    cl::value_desc("dir"), cl::init(""), cl::cat(category));
cl::opt<std::string> report("report",
                            cl::desc("Print a report while compiling: memory "
                                     "(each entry point's arena plan) or "
                                     "kernels (each kernel's ops, sources, "
                                     "FLOPs and bytes)"),
                            cl::init(""), cl::cat(category));
cl::opt<std::string> streamStores(
    "stream-stores",
    cl::desc("Softmax, norms and other row-block kernels write outputs of at "
             "least this many bytes with non-temporal stores, past the "
             "cache: auto (default: this machine's last-level cache), off, "
             "or a number of bytes"),
    cl::value_desc("auto|off|bytes"), cl::init("auto"), cl::cat(category));
cl::opt<std::string> trainStep(
    "train-step",
    cl::desc("Optimizer of the train_step entries, as graph-train-step "
             "options: \"optimizer=sgd lr=0.1 momentum=0.9\" (default: "
             "the zoo model's own, e.g. gan's Adam lr 2e-4 beta1 0.5; "
             "else Adam, lr 1e-3)"),
    cl::init(""), cl::cat(category));
cl::list<std::string> entries(
    "entries",
    cl::desc("Compile only these entry points, e.g. --entries=forward for "
             "inference without gradient or optimizer code (default: all: "
             "forward, loss, grad, train_step)"),
    cl::CommaSeparated, cl::cat(category));
cl::opt<bool> wrtInputs("wrt-inputs",
                        cl::desc("The grad entry also returns the gradients "
                                 "of float inputs (grad.<input>)"),
                        cl::init(false), cl::cat(category));
cl::opt<bool> channelsLast(
    "channels-last",
    cl::desc("Keep float32 activations channels-last (NHWC) between oneDNN "
             "convolutions, batch norms and elementwise ops, so convolutions "
             "reorder no activations (default on; CPU target)"),
    cl::init(true), cl::cat(category));
cl::opt<bool> libraryCalls(
    "library-calls",
    cl::desc("Float32 matrix products and convolutions as calls of the "
             "runtime's library: oneDNN on the CPU, cuBLASLt (matrix products) "
             "on the GPU (default on; off: generated kernels)"),
    cl::init(true), cl::cat(category));
cl::opt<bool> fusedAttention(
    "fused-attention",
    cl::desc("Attention and its gradient as loop nests over rows that "
             "recompute the scores and never hold the [..., Tq, Tk] matrix "
             "(always on with --target=cuda; on the CPU they run one row "
             "after another, slower than the default's oneDNN products)"),
    cl::init(false), cl::cat(category));
cl::opt<bool> numericsChecks(
    "numerics-checks",
    cl::desc("Compile in the calls that let `--check-numerics` name the first "
             "kernel writing a NaN or Inf (default on; they cost one call per "
             "kernel while checks are off)"),
    cl::init(true), cl::cat(category));
cl::opt<bool> gradcheck(
    "gradcheck",
    cl::desc("Compare every gradient of the model (compiled in float64) with "
             "central finite differences of its loss"),
    cl::init(false), cl::cat(category));
cl::opt<int64_t> gradcheckSamples(
    "gradcheck-samples",
    cl::desc("Smooth elements checked per parameter (elements on a kink are "
             "replaced by others)"),
    cl::init(8), cl::cat(category));
cl::opt<double> gradcheckStep(
    "gradcheck-step",
    cl::desc("Relative finite-difference step: an element x moves by "
             "STEP * max(|x|, 1)"),
    cl::init(GradCheckOptions().step), cl::cat(category));
cl::opt<double> gradcheckTol(
    "gradcheck-tol",
    cl::desc("Relative tolerance of the gradient check, on top of the "
             "rounding noise of the finite differences"),
    cl::init(GradCheckOptions().tolerance), cl::cat(category));
cl::opt<uint64_t> gradcheckSeed(
    "gradcheck-seed",
    cl::desc("Seed of the parameters, inputs and elements the gradient check "
             "draws"),
    cl::init(0), cl::cat(category));
// Testing only: a gradient rule made wrong on purpose, so that a test can
// show the gradient check catching it.
cl::opt<std::string> testScaleGradientRule(
    "test-scale-gradient-rule",
    cl::desc("Testing only: scale the gradient rule of this op (e.g. "
             "graph.relu) by --test-scale-gradient-factor"),
    cl::init(""), cl::Hidden, cl::cat(category));
cl::opt<double> testScaleGradientFactor(
    "test-scale-gradient-factor",
    cl::desc("Testing only: see --test-scale-gradient-rule"), cl::init(1.01),
    cl::Hidden, cl::cat(category));
cl::opt<bool> summary("summary",
                      cl::desc("Print a summary of the model: parameters, "
                               "entry points, ops"),
                      cl::init(false), cl::cat(category));
cl::opt<std::string> outputFile("o", cl::desc("Output file (default: stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::cat(category));

cl::list<std::string> inputShapes(
    "input-shape",
    cl::desc("An .onnx input's shape where the file leaves dimensions "
             "symbolic, e.g. --input-shape=x=1x3x224x224 (repeat per input)"),
    cl::value_desc("NAME=AxBx..."), cl::cat(category));
cl::opt<std::string> onnxLoss(
    "loss",
    cl::desc("For an .onnx model: add a `loss` entry (cross_entropy over "
             "logits [B, C] and integer labels y, or mse against a target y "
             "of the output's shape), so that grad and train_step are "
             "derived and the executable trains; the input is then called x "
             "and the output logits"),
    cl::value_desc("cross_entropy|mse"), cl::init(""), cl::cat(category));
cl::opt<std::string> paramsOut(
    "save-params",
    cl::desc("For an .onnx model: write its initializers (the parameters "
             "and buffers, state_dict names) to this safetensors file, for "
             "kiln-run --params and the executable's --init-params"),
    cl::value_desc("file.safetensors"), cl::init(""), cl::cat(category));

std::vector<ModelInfo> allModels;

const ModelInfo *findModel(const std::string &name) {
  for (const ModelInfo &m : allModels)
    if (m.name == name)
      return &m;
  return nullptr;
}

std::string cudaToolkit;

bool targetIsCuda() { return targetName == "cuda"; }

std::vector<std::string> askedEntries;

long long streamStoreBytes = 0;

namespace {

/// Every stage --emit accepts, in pipeline order.
constexpr const char *kStages[] = {"graph", "graph-grad", "kernel", "linalg",
                                   "llvm", "llvm-ir", "asm", "obj", "lib",
                                   "so", "exe", "dot", "svg", "ptx"};

/// Parses --stream-stores into streamStoreBytes; false if it is not auto,
/// off or a non-negative number.
bool parseStreamStores() {
  const std::string &value = streamStores.getValue();
  if (value == "auto") {
    streamStoreBytes = hostLastLevelCacheBytes();
    return true;
  }
  if (value == "off") {
    streamStoreBytes = std::numeric_limits<long long>::max();
    return true;
  }
  return !llvm::StringRef(value).getAsInteger(10, streamStoreBytes) &&
         streamStoreBytes >= 0;
}

} // namespace

Stage irStageOf(llvm::StringRef name) {
  return llvm::StringSwitch<Stage>(name)
      .Case("graph", Stage::Graph)
      .Case("graph-grad", Stage::GraphGrad)
      .Case("kernel", Stage::Kernel)
      .Cases("dot", "svg", Stage::Kernel)
      .Case("linalg", Stage::Linalg)
      .Default(Stage::LLVM);
}

int checkFlags(std::vector<int64_t> &batchSizes) {
  // A program with exactly one model of its own compiles it by default.
  if (modelName.empty() && inputFile.empty() && allModels.size() == 1)
    modelName = allModels.front().name;
  if (modelName.empty() == inputFile.empty())
    return fail("give either --model=NAME or one input file (.mlir or "
                ".onnx)");
  if (!modelName.empty() && !findModel(modelName)) {
    std::string names;
    for (const ModelInfo &m : allModels)
      names += (names.empty() ? "" : ", ") + m.name;
    return fail(fmt::format("unknown model '{}'; built-in models: {}",
                            modelName.getValue(), names));
  }
  if (!isOnnxFile(inputFile) &&
      (!inputShapes.empty() || !onnxLoss.empty() || !paramsOut.empty()))
    return fail("--input-shape, --loss and --save-params apply to an .onnx "
                "input");
  if (dtypeName != "f32" && dtypeName != "f64")
    return fail(fmt::format("--dtype must be f32 or f64, got '{}'",
                            dtypeName.getValue()));
  batchSizes.assign(batch.begin(), batch.end());
  for (size_t i = 0; i < batchSizes.size(); ++i) {
    if (batchSizes[i] < 1)
      return fail(fmt::format("--batch must be positive, got {}",
                              batchSizes[i]));
    if (std::find(batchSizes.begin(), batchSizes.begin() + i, batchSizes[i]) !=
        batchSizes.begin() + i)
      return fail(fmt::format("--batch lists {} twice", batchSizes[i]));
  }
  if (batchSizes.empty())
    batchSizes.push_back(0);
  if (batchSizes.size() > 1) {
    if (modelName.empty())
      return fail("several batch sizes need --model: the shapes of an .mlir "
                  "file are its own");
    if (emit == "exe")
      return fail("an executable trains at one batch size; several go into "
                  "--emit=obj, lib, so or asm (entry points forward_b1, "
                  "forward_b64, ...)");
    if (gradcheck)
      return fail("--gradcheck checks one batch size at a time");
  }
  askedEntries.assign(entries.begin(), entries.end());
  if (std::find(std::begin(kStages), std::end(kStages), emit.getValue()) ==
      std::end(kStages)) {
    std::string stages;
    for (const char *s : kStages)
      stages += (stages.empty() ? "" : ", ") + std::string(s);
    return fail(fmt::format("--emit={} is not a stage; stages: {}",
                            emit.getValue(), stages));
  }
  if (targetName != "cpu" && targetName != "cuda")
    return fail(fmt::format("--target={} is not a target; targets: cpu, cuda",
                            targetName.getValue()));
  if (emit == "ptx" && !targetIsCuda())
    return fail("--emit=ptx writes GPU kernels: add --target=cuda");
  if (targetIsCuda()) {
    if (gradcheck)
      return fail("--gradcheck runs on the CPU: drop --target=cuda");
    if (llvm::Error e = cuda::checkGpuArch(gpuArch))
      return fail(llvm::toString(std::move(e)));
    if (GpuMath math; !parseGpuMath(gpuMath.c_str(), math))
      return fail(fmt::format(
          "--gpu-math={} is not a GPU math mode; modes: fp32, tf32, bf16",
          gpuMath.getValue()));
    if (irStageOf(emit) == Stage::LLVM) {
      llvm::Expected<std::string> toolkit = cuda::findToolkit(cudaPath);
      if (!toolkit)
        return fail(llvm::toString(toolkit.takeError()));
      cudaToolkit = *toolkit;
    }
  } else if (gpuArch.getNumOccurrences() || cudaPath.getNumOccurrences() ||
             gpuMath.getNumOccurrences()) {
    return fail("--gpu-arch, --gpu-math and --cuda-path are for "
                "--target=cuda");
  }
  if (gradcheckSamples < 1)
    return fail(fmt::format("--gradcheck-samples must be at least 1, got {}",
                            static_cast<int64_t>(gradcheckSamples)));
  if (!(gradcheckStep > 0 && gradcheckStep < 1))
    return fail(fmt::format("--gradcheck-step must be in (0, 1), got {}",
                            static_cast<double>(gradcheckStep)));
  if (!(gradcheckTol > 0 && std::isfinite(gradcheckTol)))
    return fail(fmt::format("--gradcheck-tol must be a positive number, got {}",
                            static_cast<double>(gradcheckTol)));
  // --gradcheck: float64 throughout, the model rebuilt in double precision.
  if (gradcheck && !modelName.empty())
    dtypeName = "f64";
  if (!parseStreamStores())
    return fail(fmt::format("--stream-stores={} is not auto, off or a number "
                            "of bytes",
                            streamStores.getValue()));
  if (!gradcheck) {
    if (!report.empty() && report != "memory" && report != "kernels")
      return fail(fmt::format("--report={} is not a report; reports: memory, "
                              "kernels",
                              report.getValue()));
    if (report == "kernels" && irStageOf(emit) == Stage::Graph)
      return fail("--report=kernels lists the kernels of the kernel stage: "
                  "use it with --emit=kernel or a later stage");
    if (report == "memory" && irStageOf(emit) != Stage::LLVM)
      return fail("--report=memory plans memory while lowering to LLVM: use "
                  "it with --emit=llvm or a later stage");
    bool binary =
        emit == "obj" || emit == "lib" || emit == "so" || emit == "exe";
    if (binary && outputFile == "-")
      return fail(fmt::format("--emit={} writes a file: give -o FILE",
                              emit.getValue()));
  }

  // A CPU name LLVM does not know, or one without 64-bit mode, is found
  // before compiling, not by an abort inside LLVM.
  if (cpu != "host" || !features.empty())
    if (auto machine = aot::createTargetMachine({cpu, features}); !machine)
      return fail(llvm::toString(machine.takeError()));
  // An output in a folder that does not exist is found before compiling.
  if (!gradcheck && outputFile != "-") {
    llvm::StringRef folder = llvm::sys::path::parent_path(outputFile);
    if (!folder.empty() && !llvm::sys::fs::is_directory(folder))
      return fail(fmt::format("cannot write '{}': the folder '{}' does not "
                              "exist",
                              outputFile.getValue(), folder.str()));
  }
  return 0;
}

} // namespace kiln::driver
