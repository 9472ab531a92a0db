//===- Driver.cpp - kilnc: inputs, stages, emitted artefacts --------------===//
//
// kilncMain(): the model or input file loaded, lowered stage by stage
// (--dump-stages, --mlir-timing), checked (--gradcheck) or emitted (IR,
// dot/svg, PTX, objects, libraries, executables). The flags and their
// checks are in Flags.cpp.
//
//===----------------------------------------------------------------------===//

#include "kiln/Driver.h"
#include "compiler/Driver/Flags.h"
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

#include <fmt/format.h>

#include <cstring>

namespace cl = llvm::cl;

namespace kiln::driver {
namespace {

/// The optimizer the model specifies (ModelInfo::trainStep), once built.
std::string modelTrainStep;

/// The root of --mlir-timing's report: loading the model, each stage's
/// passes, and emitting the artefact are scopes under it.
mlir::TimingScope *timingRoot = nullptr;

/// A scope of --mlir-timing's report under the root (inert without it).
mlir::TimingScope timingScope(llvm::StringRef name) {
  return timingRoot ? timingRoot->nest(name) : mlir::TimingScope();
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
    options.libraryCalls = libraryCalls;
    options.fusedAttention = fusedAttention;
    options.avx512 = avx512;
    options.streamStoreBytes = streamStoreBytes;
    if (targetIsCuda()) {
      options.target = PipelineOptions::Target::CUDA;
      options.gpuArch = gpuArch;
      options.gpuMath = gpuMath;
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
