//===- Driver.cpp - kilnc: flags, inputs, emitted stages ------------------===//

#include "kiln/Driver.h"
#include "compiler/Driver/GradCheck.h"
#include "compiler/Driver/GraphSource.h"
#include "compiler/Driver/KernelViews.h"
#include "compiler/Driver/KinkProbe.h"
#include "compiler/Driver/Report.h"

#include "compiler/InitAll.h"
#include "compiler/Pipelines/Pipelines.h"
#include "compiler/Target/CPU/ObjectEmitter.h"
#include "compiler/Target/CUDA/PtxEmitter.h"
#include "compiler/Target/Manifest.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "llvm/ADT/ScopeExit.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace cl = llvm::cl;

namespace kiln::driver {
namespace {

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

/// The built-in models and the program's own.
std::vector<ModelInfo> allModels;

/// The optimizer the model specifies (ModelInfo::trainStep), once built.
std::string modelTrainStep;

const ModelInfo *findModel(const std::string &name) {
  for (const ModelInfo &m : allModels)
    if (m.name == name)
      return &m;
  return nullptr;
}

/// Every stage --emit accepts, in pipeline order.
constexpr const char *kStages[] = {"graph", "graph-grad", "kernel", "linalg",
                                   "llvm", "llvm-ir", "asm", "obj", "lib",
                                   "so", "exe", "dot", "svg", "ptx"};

/// --target=cuda's CUDA toolkit (cuda::findToolkit), once found.
std::string cudaToolkit;

bool targetIsCuda() { return targetName == "cuda"; }

/// The entry points to keep: --entries, and once a module holds several
/// batch sizes, their suffixed names.
std::vector<std::string> askedEntries;

/// The root of --mlir-timing's report: loading the model, each stage's
/// passes, and emitting the artefact are scopes under it.
mlir::TimingScope *timingRoot = nullptr;

/// A scope of --mlir-timing's report under the root (inert without it).
mlir::TimingScope timingScope(llvm::StringRef name) {
  return timingRoot ? timingRoot->nest(name) : mlir::TimingScope();
}

/// --stream-stores as a threshold in bytes (set in main).
long long streamStoreBytes = 0;

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

/// The IR stage an --emit value needs (later stages translate LLVM).
Stage irStageOf(llvm::StringRef name) {
  return llvm::StringSwitch<Stage>(name)
      .Case("graph", Stage::Graph)
      .Case("graph-grad", Stage::GraphGrad)
      .Case("kernel", Stage::Kernel)
      .Cases("dot", "svg", Stage::Kernel)
      .Case("linalg", Stage::Linalg)
      .Default(Stage::LLVM);
}

const char *stageName(Stage stage) {
  switch (stage) {
  case Stage::Graph:
    return "graph";
  case Stage::GraphGrad:
    return "graph-grad";
  case Stage::Kernel:
    return "kernel";
  case Stage::Linalg:
    return "linalg";
  case Stage::LLVM:
    return "llvm";
  }
  return "";
}

mlir::LogicalResult writeText(const std::string &path,
                              llvm::function_ref<void(llvm::raw_ostream &)> f) {
  std::string error;
  std::unique_ptr<llvm::ToolOutputFile> out =
      mlir::openOutputFile(path, &error);
  if (!out) {
    fail(error);
    return mlir::failure();
  }
  f(out->os());
  out->keep();
  return mlir::success();
}

void printModule(mlir::ModuleOp module, llvm::raw_ostream &os) {
  module.print(os, mlir::OpPrintingFlags());
  os << "\n";
}

mlir::LogicalResult printLLVMIR(mlir::ModuleOp module, llvm::raw_ostream &os) {
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule = mlir::translateModuleToLLVMIR(
      module, llvmContext, modelName.empty() ? "kiln" : modelName.getValue());
  if (!llvmModule) {
    fail("translation to LLVM IR failed");
    return mlir::failure();
  }
  llvmModule->print(os, nullptr);
  return mlir::success();
}

/// Writes `module` as `stage` into --dump-stages, when given.
mlir::LogicalResult dumpStage(mlir::ModuleOp module, Stage stage) {
  if (dumpStages.empty())
    return mlir::success();
  if (std::error_code ec = llvm::sys::fs::create_directories(dumpStages)) {
    fail("cannot create '" + dumpStages + "': " + ec.message());
    return mlir::failure();
  }
  llvm::SmallString<128> path(dumpStages);
  llvm::sys::path::append(path, fmt::format("{}-{}.mlir",
                                            static_cast<int>(stage),
                                            stageName(stage)));
  return writeText(path.str().str(),
                   [&](llvm::raw_ostream &os) { printModule(module, os); });
}

/// --emit=svg: the graph of printDot laid out by Graphviz's dot into
/// --o (or stdout).
int renderSvg(mlir::ModuleOp module) {
  llvm::ErrorOr<std::string> dot = llvm::sys::findProgramByName("dot");
  if (!dot)
    return fail("--emit=svg lays the graph out with Graphviz's dot, which is "
                "not on PATH (apt install graphviz), or use --emit=dot");
  llvm::SmallString<128> input;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("kiln-graph", "dot", input))
    return fail("cannot create a temporary file: " + ec.message());
  auto removeInput =
      llvm::make_scope_exit([&] { llvm::sys::fs::remove(input); });
  if (failed(writeText(input.str().str(), [&](llvm::raw_ostream &os) {
        printDot(module, os);
      })))
    return 1;
  llvm::SmallString<128> output;
  if (outputFile != "-") {
    if (std::error_code ec =
            llvm::sys::fs::createTemporaryFile("kiln-graph", "svg", output))
      return fail("cannot create a temporary file: " + ec.message());
  }
  auto removeOutput = llvm::make_scope_exit([&] {
    if (!output.empty())
      llvm::sys::fs::remove(output);
  });
  std::vector<llvm::StringRef> args{*dot, "-Tsvg", input};
  std::string outputFlag = "-o" + output.str().str();
  if (!output.empty())
    args.push_back(outputFlag);
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*dot, args, std::nullopt, {}, 0, 0,
                                     &message);
  if (rc != 0)
    return fail("Graphviz's dot failed (" + std::to_string(rc) + ")" +
                (message.empty() ? "" : ": " + message));
  if (output.empty())
    return 0;
  // Copied into place only once dot has succeeded: a failed layout leaves
  // an old file untouched.
  if (std::error_code ec = llvm::sys::fs::copy_file(output, outputFile))
    return fail("cannot write '" + outputFile + "': " + ec.message());
  return 0;
}

/// Appends `suffix` to the name of every symbol in `module` (its functions),
/// and to every use of it.
void suffixSymbols(mlir::ModuleOp module, llvm::StringRef suffix) {
  for (mlir::Operation &op : *module.getBody()) {
    auto name = op.getAttrOfType<mlir::StringAttr>(
        mlir::SymbolTable::getSymbolAttrName());
    if (!name)
      continue;
    auto renamed = mlir::StringAttr::get(module.getContext(),
                                         name.getValue() + suffix);
    if (succeeded(mlir::SymbolTable::replaceAllSymbolUses(name, renamed,
                                                          module)))
      mlir::SymbolTable::setSymbolName(&op, renamed);
  }
}

/// Lowers `module` stage by stage from `from` up to `target`, writing each
/// stage into --dump-stages when given and `dumping`.
mlir::LogicalResult lowerTo(mlir::ModuleOp module, Stage from, Stage target,
                            bool dumping = true) {
  auto dump = [&](Stage stage) -> mlir::LogicalResult {
    return dumping ? dumpStage(module, stage) : mlir::success();
  };
  if (from == Stage::Graph && failed(dump(Stage::Graph)))
    return mlir::failure();
  // --entries: after autodiff, which derives grad and train_step from loss;
  // at once if autodiff has run or will not.
  auto keepAskedEntries = [&]() -> mlir::LogicalResult {
    if (askedEntries.empty())
      return mlir::success();
    std::string error;
    if (succeeded(keepEntries(module, askedEntries, error)))
      return mlir::success();
    fail("--entries: " + error);
    return mlir::failure();
  };
  if ((from != Stage::Graph || target == Stage::Graph) &&
      failed(keepAskedEntries()))
    return mlir::failure();
  // Only the LLVM stage needs the target's features (and a target machine).
  bool avx512 = static_cast<int>(target) >= static_cast<int>(Stage::LLVM) &&
                aot::targetHasFeature({cpu, features}, "avx512f");
  for (Stage stage :
       {Stage::GraphGrad, Stage::Kernel, Stage::Linalg, Stage::LLVM}) {
    if (static_cast<int>(stage) <= static_cast<int>(from))
      continue;
    if (static_cast<int>(stage) > static_cast<int>(target))
      break;
    mlir::PassManager pm(module.getContext());
    PipelineOptions options;
    options.reportMemory = report == "memory";
    // The user's optimizer, else the model's own.
    options.trainStep =
        trainStep.getNumOccurrences() > 0 ? trainStep.getValue() : modelTrainStep;
    options.wrtInputs = wrtInputs;
    options.numericsChecks = numericsChecks;
    options.channelsLast = channelsLast;
    options.avx512 = avx512;
    options.streamStoreBytes = streamStoreBytes;
    if (targetIsCuda()) {
      options.target = PipelineOptions::Target::CUDA;
      options.gpuArch = gpuArch;
    }
    mlir::TimingScope stageTiming =
        timingScope(std::string("stage: ") + stageName(stage));
    pm.enableTiming(stageTiming);
    if (failed(mlir::applyPassManagerCLOptions(pm)) ||
        failed(addPassesInto(pm, stage, options,
                             [](const llvm::Twine &message) {
                               fail("--train-step: " + message.str());
                               return mlir::failure();
                             })))
      return mlir::failure();
    if (failed(pm.run(module)))
      return mlir::failure();
    if (stage == Stage::Kernel && report == "kernels")
      printKernelReport(module, llvm::errs());
    if (stage == Stage::GraphGrad && failed(keepAskedEntries()))
      return mlir::failure();
    if (failed(dump(stage)))
      return mlir::failure();
  }
  if (!dumpStages.empty() && target == Stage::LLVM && targetIsCuda()) {
    llvm::SmallString<128> path(dumpStages);
    llvm::sys::path::append(path, "5-kernels.ptx");
    llvm::Expected<std::string> ptx = cuda::emitPtx(module, cudaToolkit);
    if (!ptx) {
      fail(llvm::toString(ptx.takeError()));
      return mlir::failure();
    }
    return writeText(path.str().str(),
                     [&](llvm::raw_ostream &os) { os << *ptx; });
  }
  if (!dumpStages.empty() && target == Stage::LLVM) {
    llvm::SmallString<128> path(dumpStages);
    llvm::sys::path::append(path, "5-llvm-ir.ll");
    mlir::LogicalResult written = mlir::success();
    if (failed(writeText(path.str().str(), [&](llvm::raw_ostream &os) {
          written = printLLVMIR(module, os);
        })))
      return mlir::failure();
    return written;
  }
  return mlir::success();
}

/// Checks the flags' values and how they combine, before any work; sets
/// --model's default and `batchSizes` (one 0 for the model's default).
/// Returns 0, or 1 after printing the error.
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
    if (irStageOf(emit) == Stage::LLVM) {
      llvm::Expected<std::string> toolkit = cuda::findToolkit(cudaPath);
      if (!toolkit)
        return fail(llvm::toString(toolkit.takeError()));
      cudaToolkit = *toolkit;
    }
  } else if (gpuArch.getNumOccurrences() || cudaPath.getNumOccurrences()) {
    return fail("--gpu-arch and --cuda-path are for --target=cuda");
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

/// --gradcheck: each loss entry's gradients against finite differences
/// (a model trained in alternating steps step by step: loss_<s> against
/// grad_<s>). Returns the exit status.
int runGradChecks(mlir::ModuleOp module) {
  GradCheckOptions options;
  options.program = programName();
  options.samples = gradcheckSamples;
  options.step = gradcheckStep;
  options.tolerance = gradcheckTol;
  options.seed = gradcheckSeed;
  options.wrtInputs = wrtInputs;
  options.testScaleRule = testScaleGradientRule;
  options.testScaleFactor = testScaleGradientFactor;
  std::vector<std::string> steps;
  for (auto f : module.getOps<mlir::func::FuncOp>())
    if (f.getSymName().starts_with("loss_") && !f.isExternal())
      steps.push_back(f.getSymName().drop_front(5).str());
  if (steps.empty())
    steps.push_back("");
  int status = 0;
  for (const std::string &step : steps) {
    GradCheckOptions stepOptions = options;
    if (!step.empty()) {
      stepOptions.lossEntry = "loss_" + step;
      stepOptions.gradEntry = "grad_" + step;
      std::printf("step %s: %s against %s\n", step.c_str(),
                  stepOptions.gradEntry.c_str(),
                  stepOptions.lossEntry.c_str());
    }
    mlir::OwningOpRef<mlir::ModuleOp> copy = module.clone();
    if (failed(addKinkProbe(*copy, stepOptions.kinkOwners,
                            stepOptions.lossEntry)))
      return 1;
    std::string text;
    llvm::raw_string_ostream os(text);
    copy->print(os, mlir::OpPrintingFlags().enableDebugInfo());
    status |= gradCheck(text, stepOptions);
  }
  return status;
}

} // namespace

int kilncMain(int argc, char **argv, const std::vector<ModelInfo> &models,
              const char *runtimeLibraryDir) {
  if (runtimeLibraryDir && *runtimeLibraryDir)
    aot::setRuntimeLibraryDir(runtimeLibraryDir);
  allModels = models;
  llvm::InitLLVM init(argc, argv);
  if (argc > 0 && argv[0] && *argv[0])
    setProgramName(llvm::sys::path::filename(argv[0]).str());
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  registerAllPasses();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "kilnc: compile a model to native code\n");

  if (listModels) {
    for (const ModelInfo &m : allModels)
      llvm::outs() << fmt::format("{:<14} batch {:<4} {}\n", m.name,
                                  m.defaultBatch, m.description);
    return 0;
  }
  std::vector<int64_t> batchSizes;
  if (int status = checkFlags(batchSizes))
    return status;
  bool severalBatches = batchSizes.size() > 1;

  // --mlir-timing: one report for the whole compilation.
  mlir::DefaultTimingManager timing;
  mlir::applyDefaultTimingManagerCLOptions(timing);
  mlir::TimingScope root = timing.getRootScope();
  timingRoot = &root;
  auto stopTiming = llvm::make_scope_exit([] { timingRoot = nullptr; });

  mlir::DialectRegistry registry;
  registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  GraphSource source;
  if (!modelName.empty()) {
    source.model = findModel(modelName);
    modelTrainStep = source.model->trainStep;
  }
  source.modelOptions.batch = batchSizes.front();
  source.modelOptions.dtype = dtypeName == "f64" ? DType::F64 : DType::F32;
  source.inputFile = inputFile;
  source.inputShapes.assign(inputShapes.begin(), inputShapes.end());
  source.onnxLoss = onnxLoss;
  source.paramsOut = paramsOut;
  std::string summaryText;
  mlir::TimingScope loading = timingScope("build or parse the graph");
  mlir::OwningOpRef<mlir::ModuleOp> module =
      loadGraph(source, context, summaryText);
  loading.stop();
  if (!module)
    return 1;
  // Entry points are read once autodiff has added `grad`.
  Stage target = irStageOf(emit);
  Stage first = target == Stage::Graph ? Stage::Graph : Stage::GraphGrad;
  // Several batch sizes: the model built and differentiated at each, its
  // symbols suffixed (forward_b64), all in one module.
  if (severalBatches) {
    for (size_t i = 0; i < batchSizes.size(); ++i) {
      mlir::OwningOpRef<mlir::ModuleOp> sized;
      if (i > 0) {
        source.modelOptions.batch = batchSizes[i];
        sized = loadGraph(source, context, summaryText);
        if (!sized)
          return 1;
      }
      mlir::ModuleOp m = i > 0 ? *sized : *module;
      if (failed(lowerTo(m, Stage::Graph, first, /*dumping=*/false)))
        return 1;
      suffixSymbols(m, fmt::format("_b{}", batchSizes[i]));
      if (i > 0)
        for (mlir::Operation &op :
             llvm::make_early_inc_range(*sized->getBody()))
          op.moveBefore(module->getBody(), module->getBody()->end());
    }
    std::vector<std::string> suffixed;
    for (const std::string &name : askedEntries)
      for (int64_t b : batchSizes)
        suffixed.push_back(fmt::format("{}_b{}", name, b));
    askedEntries = suffixed;
    if (failed(dumpStage(*module, first)))
      return 1;
  }
  if (gradcheck)
    return runGradChecks(*module);
  if (summary) {
    if (summaryText.empty())
      return fail("--summary needs --model");
    llvm::errs() << summaryText;
  }
  std::vector<rt::EntrySpec> entries;
  std::string model = kiln::modelName(*module);
  if ((!severalBatches && failed(lowerTo(*module, Stage::Graph, first))) ||
      failed(readEntries(*module, entries)) ||
      failed(lowerTo(*module, first, target)))
    return 1; // The pass manager printed located diagnostics.

  if (emit == "dot")
    return succeeded(writeText(outputFile, [&](llvm::raw_ostream &os) {
             printDot(*module, os);
           }))
               ? 0
               : 1;
  if (emit == "svg")
    return renderSvg(*module);
  if (emit == "ptx") {
    llvm::Expected<std::string> ptx = cuda::emitPtx(*module, cudaToolkit);
    if (!ptx)
      return fail(llvm::toString(ptx.takeError()));
    return succeeded(writeText(outputFile,
                               [&](llvm::raw_ostream &os) { os << *ptx; }))
               ? 0
               : 1;
  }
  if (emit == "graph" || emit == "graph-grad" || emit == "kernel" ||
      emit == "linalg" || emit == "llvm")
    return succeeded(writeText(outputFile, [&](llvm::raw_ostream &os) {
             printModule(*module, os);
           }))
               ? 0
               : 1;
  // An executable trains through train_step, which autodiff derives from
  // `loss`: without one it only runs and lists its entry points.
  if (emit == "exe" &&
      llvm::none_of(entries, [](const rt::EntrySpec &e) {
        return llvm::StringRef(e.name).starts_with("train_step");
      }))
    llvm::errs() << programName() << ": note: '" << model
                 << "' has no `loss` entry (with training on), so its "
                    "executable cannot `train`: it runs and lists its entry "
                    "points\n";
  // The host code's launches carry the kernels as a fatbin.
  if (targetIsCuda())
    if (llvm::Error e = cuda::embedKernels(*module, cudaToolkit))
      return fail(llvm::toString(std::move(e)));
  if (emit == "llvm-ir") {
    mlir::LogicalResult printed = mlir::success();
    if (failed(writeText(outputFile, [&](llvm::raw_ostream &os) {
          printed = printLLVMIR(*module, os);
        })))
      return 1;
    return succeeded(printed) ? 0 : 1;
  }
  aot::Artefact kind = llvm::StringSwitch<aot::Artefact>(emit)
                           .Case("asm", aot::Artefact::Assembly)
                           .Case("obj", aot::Artefact::Object)
                           .Case("lib", aot::Artefact::Library)
                           .Case("so", aot::Artefact::SharedLibrary)
                           .Default(aot::Artefact::Executable);
  aot::TargetOptions targetOptions{cpu, features};
  mlir::TimingScope emitting = timingScope(
      "LLVM: translate, optimize, emit " + emit.getValue());
  if (llvm::Error e =
          aot::emitArtefact(*module, kind, targetOptions, outputFile, model,
                            entries))
    return fail(llvm::toString(std::move(e)));
  return 0;
}

} // namespace kiln::driver
