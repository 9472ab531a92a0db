//===- Driver.cpp - kilnc: flags, inputs, emitted stages ------------------===//

#include "compiler/Driver/Driver.h"

#include "compiler/InitAll.h"
#include "compiler/Pipelines/Pipelines.h"
#include "frontends/models/Zoo.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>

namespace cl = llvm::cl;

namespace kiln::driver {
namespace {

cl::OptionCategory category("kilnc options");

cl::opt<std::string> inputFile(cl::Positional, cl::desc("[input.mlir]"),
                               cl::init(""), cl::cat(category));
cl::opt<std::string> modelName("model",
                               cl::desc("Compile a built-in model (see "
                                        "--list-models)"),
                               cl::init(""), cl::cat(category));
cl::opt<bool> listModels("list-models", cl::desc("List the built-in models"),
                         cl::init(false), cl::cat(category));
cl::opt<int64_t> batch("batch",
                       cl::desc("Batch size (default: the model's benchmark "
                                "batch)"),
                       cl::init(0), cl::cat(category));
cl::opt<std::string> dtypeName("dtype", cl::desc("f32 or f64"), cl::init("f32"),
                               cl::cat(category));
cl::opt<std::string> emit("emit",
                          cl::desc("Stage to emit: graph, kernel, linalg, "
                                   "llvm, llvm-ir"),
                          cl::init("graph"), cl::cat(category));
cl::opt<bool> summary("summary",
                      cl::desc("Print a summary of the model: parameters, "
                               "entry points, ops"),
                      cl::init(false), cl::cat(category));
cl::opt<std::string> outputFile("o", cl::desc("Output file (default: stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::cat(category));

/// The stages this driver can emit.
constexpr const char *kStages[] = {"graph", "kernel", "linalg", "llvm",
                                   "llvm-ir"};

int fail(const std::string &message) {
  llvm::errs() << "kilnc: error: " << message << "\n";
  return 1;
}

/// Parses `text` (a graph module) into `context`, with located errors.
mlir::OwningOpRef<mlir::ModuleOp>
parseModule(std::unique_ptr<llvm::MemoryBuffer> buffer,
            mlir::MLIRContext &context) {
  auto sourceMgr = std::make_shared<llvm::SourceMgr>();
  sourceMgr->AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  mlir::SourceMgrDiagnosticHandler handler(*sourceMgr, &context);
  return mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
}

/// The graph module of `--model` or of the input file; null after an error
/// has been printed. `summaryText` receives the model's summary.
mlir::OwningOpRef<mlir::ModuleOp> loadGraph(mlir::MLIRContext &context,
                                            std::string &summaryText) {
  if (modelName.empty()) {
    std::string error;
    std::unique_ptr<llvm::MemoryBuffer> buffer =
        mlir::openInputFile(inputFile, &error);
    if (!buffer) {
      fail(error);
      return nullptr;
    }
    return parseModule(std::move(buffer), context);
  }
  const zoo::ModelInfo *info = zoo::findModel(modelName);
  if (!info) {
    std::string names;
    for (const zoo::ModelInfo &m : zoo::models())
      names += (names.empty() ? "" : ", ") + m.name;
    fail(fmt::format("unknown model '{}'; built-in models: {}",
                     modelName.getValue(), names));
    return nullptr;
  }
  zoo::ModelOptions options;
  options.batch = batch;
  options.dtype = dtypeName == "f64" ? DType::F64 : DType::F32;
  std::string text;
  try {
    zoo::BuiltModel built = zoo::buildModel(*info, options);
    // Locations always travel with the IR; printing decides whether to show.
    text = built.program->emitGraphIR(/*debugInfo=*/true);
    summaryText = built.program->summary();
  } catch (const GraphError &e) {
    fail(e.what());
    return nullptr;
  }
  return parseModule(llvm::MemoryBuffer::getMemBufferCopy(text, modelName),
                     context);
}

/// The stage named by --emit (stages past `llvm` translate its output).
std::optional<Stage> stageNamed(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<Stage>>(name)
      .Case("graph", Stage::Graph)
      .Case("kernel", Stage::Kernel)
      .Case("linalg", Stage::Linalg)
      .Cases("llvm", "llvm-ir", Stage::LLVM)
      .Default(std::nullopt);
}

/// Runs the passes that take the module from the graph stage to `stage`.
mlir::LogicalResult lowerTo(mlir::ModuleOp module, Stage stage) {
  if (stage == Stage::Graph)
    return mlir::success();
  mlir::PassManager pm(module.getContext());
  if (failed(mlir::applyPassManagerCLOptions(pm)) || !buildPipeline(pm, stage))
    return mlir::failure();
  return pm.run(module);
}

} // namespace

int kilncMain(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  registerAllPasses();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "kilnc: compile a model to native code\n");

  if (listModels) {
    for (const zoo::ModelInfo &m : zoo::models())
      llvm::outs() << fmt::format("{:<14} batch {:<4} {}\n", m.name,
                                  m.defaultBatch, m.description);
    return 0;
  }
  if (modelName.empty() == inputFile.empty())
    return fail("give either --model=NAME or one input .mlir file");
  if (dtypeName != "f32" && dtypeName != "f64")
    return fail(fmt::format("--dtype must be f32 or f64, got '{}'",
                            dtypeName.getValue()));
  if (batch < 0)
    return fail(fmt::format("--batch must be positive, got {}",
                            static_cast<int64_t>(batch)));
  if (std::find(std::begin(kStages), std::end(kStages), emit.getValue()) ==
      std::end(kStages)) {
    std::string stages;
    for (const char *s : kStages)
      stages += (stages.empty() ? "" : ", ") + std::string(s);
    return fail(fmt::format("--emit={} is not a stage this build emits; "
                            "stages: {}",
                            emit.getValue(), stages));
  }

  mlir::DialectRegistry registry;
  registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  std::string summaryText;
  mlir::OwningOpRef<mlir::ModuleOp> module = loadGraph(context, summaryText);
  if (!module)
    return 1;
  if (failed(lowerTo(*module, *stageNamed(emit))))
    return 1; // The pass manager printed located diagnostics.

  std::string error;
  std::unique_ptr<llvm::ToolOutputFile> output =
      mlir::openOutputFile(outputFile, &error);
  if (!output)
    return fail(error);
  if (emit == "llvm-ir") {
    llvm::LLVMContext llvmContext;
    std::unique_ptr<llvm::Module> llvmModule =
        mlir::translateModuleToLLVMIR(
            *module, llvmContext,
            modelName.empty() ? std::string("kiln") : modelName.getValue());
    if (!llvmModule)
      return fail("translation to LLVM IR failed");
    llvmModule->print(output->os(), nullptr);
  } else {
    module->print(output->os(), mlir::OpPrintingFlags());
    output->os() << "\n";
  }
  output->keep();
  if (summary) {
    if (summaryText.empty())
      return fail("--summary needs --model");
    llvm::errs() << summaryText;
  }
  return 0;
}

} // namespace kiln::driver
