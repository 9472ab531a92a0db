//===- JitSession.cpp - Compile a graph module and run it in-process ------===//

#include "compiler/Target/CPU/JitSession.h"

#include "compiler/InitAll.h"
#include "compiler/ParseScreen.h"
#include "compiler/Pipelines/Pipelines.h"
#include "compiler/Target/CPU/ObjectEmitter.h"
#include "compiler/Target/Manifest.h"

#include "kiln/runtime/Artefact.h"

#include "kiln/runtime/CodegenSupport.h"
#include "kiln/runtime/Library.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <functional>
#include <mutex>

using namespace mlir;

namespace kiln::jit {

struct Session::Impl {
  MLIRContext context;
  /// The host's target machine, for the optimizer's cost model.
  std::unique_ptr<llvm::TargetMachine> machine;
  std::unique_ptr<ExecutionEngine> engine;
  /// The packed function of each entry, in the order of entries_.
  std::vector<void (*)(void **)> functions;
  explicit Impl(DialectRegistry &registry) : context(registry) {}
};

Session::Session() = default;
Session::~Session() = default;

std::unique_ptr<Session> Session::compile(const std::string &graphIR,
                                          const Options &options,
                                          std::string &error) {
  static std::once_flag initOnce;
  std::call_once(initOnce, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    registerAllPasses();
  });

  DialectRegistry registry;
  registerAllDialects(registry);
  std::unique_ptr<Session> session(new Session());
  session->impl_ = std::make_unique<Impl>(registry);
  MLIRContext &context = session->impl_->context;

  llvm::raw_string_ostream diagnostics(error);
  auto sourceMgr = std::make_shared<llvm::SourceMgr>();
  sourceMgr->AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(graphIR, "module"), llvm::SMLoc());
  if (reportParseHazard(*sourceMgr, diagnostics))
    return nullptr;
  SourceMgrDiagnosticHandler handler(*sourceMgr, &context, diagnostics);

  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return nullptr;
  PipelineOptions pipeline;
  pipeline.fusion = options.fusion;
  pipeline.libraryCalls = options.libraryCalls;
  pipeline.channelsLast = options.channelsLast;
  pipeline.fusedAttention = options.fusedAttention;
  pipeline.trainStep = options.trainStep;
  pipeline.wrtInputs = options.wrtInputs;
  pipeline.testScaleRule = options.testScaleRule;
  pipeline.testScaleFactor = options.testScaleFactor;
  // Entry points are read once autodiff has added `grad`.
  PassManager gradients(&context);
  if (!buildPipeline(gradients, Stage::Graph, Stage::GraphGrad, pipeline) ||
      failed(gradients.run(*module)))
    return nullptr;
  if (!options.entries.empty()) {
    std::string message;
    if (failed(keepEntries(*module, options.entries, message))) {
      diagnostics << "error: " << message << "\n";
      return nullptr;
    }
  }
  if (failed(readEntries(*module, session->entries_)))
    return nullptr;
  PassManager pm(&context);
  if (!buildPipeline(pm, Stage::GraphGrad, Stage::LLVM, pipeline) ||
      failed(pm.run(*module)))
    return nullptr;

  // LLVM's optimizer needs the target's cost model to vectorize what the
  // lowering leaves scalar, as kilnc's ahead-of-time path does.
  auto machine = aot::createTargetMachine(aot::TargetOptions());
  if (!machine) {
    diagnostics << llvm::toString(machine.takeError()) << "\n";
    return nullptr;
  }
  session->impl_->machine = std::move(*machine);
  // ExecutionEngineOptions holds the transformer as a function_ref: the
  // function it refers to must live until ExecutionEngine::create returns.
  std::function<llvm::Error(llvm::Module *)> optimize =
      makeOptimizingTransformer(options.optLevel, /*sizeLevel=*/0,
                                session->impl_->machine.get());
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = optimize;
  engineOptions.jitCodeGenOptLevel =
      options.optLevel >= 3 ? llvm::CodeGenOptLevel::Aggressive
                            : llvm::CodeGenOptLevel::Default;
  auto engine = ExecutionEngine::create(*module, engineOptions);
  if (!engine) {
    diagnostics << "JIT compilation failed: "
                << llvm::toString(engine.takeError()) << "\n";
    return nullptr;
  }
  // The runtime functions generated code calls.
  (*engine)->registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap symbols;
    auto add = [&](const char *name, auto *function) {
      symbols[interner(name)] = {llvm::orc::ExecutorAddr::fromPtr(function),
                                 llvm::JITSymbolFlags::Exported};
    };
#define KILN_JIT_SYMBOL(name) add(#name, &name);
    KILN_CODEGEN_SUPPORT_FUNCTIONS(KILN_JIT_SYMBOL)
    KILN_LIBRARY_FUNCTIONS(KILN_JIT_SYMBOL)
#undef KILN_JIT_SYMBOL
    return symbols;
  });
  session->impl_->engine = std::move(*engine);

  // The same ABI as compiled artefacts: the entry table names each packed
  // entry function.
  auto table = session->impl_->engine->lookup("kiln_entry_table");
  auto count = session->impl_->engine->lookup("kiln_num_entries");
  if (!table || !count) {
    if (!table)
      diagnostics << llvm::toString(table.takeError()) << "\n";
    if (!count)
      diagnostics << llvm::toString(count.takeError()) << "\n";
    return nullptr;
  }
  auto *records =
      reinterpret_cast<const KilnEntryRecord *(*)()>(*table)();
  int64_t n = reinterpret_cast<int64_t (*)()>(*count)();
  for (const rt::EntrySpec &entry : session->entries_) {
    void (*fn)(void **) = nullptr;
    for (int64_t i = 0; i < n; ++i)
      if (entry.name == records[i].name)
        fn = records[i].packed;
    if (!fn) {
      diagnostics << "entry '" << entry.name << "' is missing from the "
                  << "compiled entry table\n";
      return nullptr;
    }
    session->impl_->functions.push_back(fn);
  }
  return session;
}

const rt::EntrySpec *Session::findEntry(const std::string &name) const {
  return rt::findEntry(entries_, name);
}

rt::Status Session::run(const std::string &name,
                        std::vector<rt::HostTensor> &arguments,
                        std::vector<rt::HostTensor> &results) {
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].name != name)
      continue;
    rt::StatusOr<std::vector<void *>> pointers =
        rt::packPointers(entries_[i], arguments, results);
    if (!pointers.ok())
      return pointers.status();
    impl_->functions[i](pointers.value().data());
    return rt::Status::success();
  }
  return rt::Status::error("no entry point named '" + name + "'");
}

} // namespace kiln::jit
