//===- JitSession.cpp - Compile a graph module and run it in-process ------===//

#include "compiler/Target/CPU/JitSession.h"

#include "compiler/InitAll.h"
#include "compiler/Pipelines/Pipelines.h"

#include "kiln/runtime/CodegenSupport.h"

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

#include <mutex>

using namespace mlir;

namespace kiln::jit {

struct Session::Impl {
  MLIRContext context;
  std::unique_ptr<ExecutionEngine> engine;
  explicit Impl(DialectRegistry &registry) : context(registry) {}
};

Session::Session() = default;
Session::~Session() = default;

namespace {

std::optional<rt::DType> dtypeOf(Type t) {
  if (t.isF32())
    return rt::DType::F32;
  if (t.isF64())
    return rt::DType::F64;
  if (t.isF16())
    return rt::DType::F16;
  if (t.isBF16())
    return rt::DType::BF16;
  if (t.isInteger(64))
    return rt::DType::I64;
  if (t.isInteger(32))
    return rt::DType::I32;
  if (t.isInteger(1))
    return rt::DType::Bool;
  return std::nullopt;
}

/// The entry points of a graph module, read from its public functions and
/// their graph.param / graph.buffer / graph.input / graph.output names.
LogicalResult readEntries(ModuleOp module, std::vector<rt::EntrySpec> &out) {
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isPrivate() || func.isExternal())
      continue;
    rt::EntrySpec entry;
    entry.name = func.getSymName().str();
    auto spec = [&](Type type, std::string name,
                    rt::TensorSpec &into) -> LogicalResult {
      auto tensor = llvm::dyn_cast<RankedTensorType>(type);
      std::optional<rt::DType> dtype =
          tensor ? dtypeOf(tensor.getElementType()) : std::nullopt;
      if (!dtype)
        return func.emitError("entry '")
               << entry.name << "': '" << name
               << "' must be a ranked tensor of a supported dtype, got "
               << type;
      into = {std::move(name), *dtype,
              std::vector<int64_t>(tensor.getShape().begin(),
                                   tensor.getShape().end())};
      return success();
    };
    for (unsigned i = 0; i < func.getNumArguments(); ++i) {
      rt::ArgumentSpec arg;
      arg.kind = rt::ArgKind::Input;
      std::string name = "arg" + std::to_string(i);
      if (auto a = func.getArgAttrOfType<StringAttr>(i, "graph.param")) {
        arg.kind = rt::ArgKind::Parameter;
        name = a.str();
      } else if (auto a = func.getArgAttrOfType<StringAttr>(i, "graph.buffer")) {
        arg.kind = rt::ArgKind::Buffer;
        name = a.str();
      } else if (auto a = func.getArgAttrOfType<StringAttr>(i, "graph.input")) {
        name = a.str();
      }
      if (failed(spec(func.getArgument(i).getType(), name, arg.tensor)))
        return failure();
      entry.arguments.push_back(std::move(arg));
    }
    for (unsigned i = 0; i < func.getNumResults(); ++i) {
      std::string name = "result" + std::to_string(i);
      if (auto a = func.getResultAttrOfType<StringAttr>(i, "graph.output"))
        name = a.str();
      rt::TensorSpec result;
      if (failed(spec(func.getResultTypes()[i], name, result)))
        return failure();
      entry.results.push_back(std::move(result));
    }
    out.push_back(std::move(entry));
  }
  return success();
}

} // namespace

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
  SourceMgrDiagnosticHandler handler(*sourceMgr, &context, diagnostics);

  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module || failed(readEntries(*module, session->entries_)))
    return nullptr;

  PassManager pm(&context);
  PipelineOptions pipeline;
  pipeline.fusion = options.fusion;
  pipeline.libraryCalls = options.libraryCalls;
  if (!buildPipeline(pm, Stage::LLVM, pipeline) || failed(pm.run(*module)))
    return nullptr;

  ExecutionEngineOptions engineOptions;
  engineOptions.transformer =
      makeOptimizingTransformer(options.optLevel, /*sizeLevel=*/0, nullptr);
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
    symbols[interner("memrefCopy")] = {
        llvm::orc::ExecutorAddr::fromPtr(&memrefCopy),
        llvm::JITSymbolFlags::Exported};
    return symbols;
  });
  session->impl_->engine = std::move(*engine);
  return session;
}

const rt::EntrySpec *Session::findEntry(const std::string &name) const {
  for (const rt::EntrySpec &e : entries_)
    if (e.name == name)
      return &e;
  return nullptr;
}

rt::Status Session::run(const std::string &name,
                        std::vector<rt::HostTensor> &arguments,
                        std::vector<rt::HostTensor> &results) {
  const rt::EntrySpec *entry = findEntry(name);
  if (!entry)
    return rt::Status::error("no entry point named '" + name + "'");
  auto check = [&](const rt::TensorSpec &spec, const rt::HostTensor &t,
                   const char *what) -> rt::Status {
    if (t.dtype() != spec.dtype || t.shape() != spec.shape)
      return rt::Status::error(std::string(what) + " '" + spec.name +
                               "' of entry '" + name + "': expected " +
                               rt::dtypeName(spec.dtype) +
                               rt::formatShape(spec.shape) + ", given " +
                               t.describe());
    return rt::Status::success();
  };
  if (arguments.size() != entry->arguments.size() ||
      results.size() != entry->results.size())
    return rt::Status::error("entry '" + name + "' takes " +
                             std::to_string(entry->arguments.size()) +
                             " arguments and " +
                             std::to_string(entry->results.size()) +
                             " results");
  // Bare-pointer calling convention: one pointer per argument, then one per
  // result (out-parameters).
  std::vector<void *> pointers;
  for (size_t i = 0; i < arguments.size(); ++i) {
    if (rt::Status s = check(entry->arguments[i].tensor, arguments[i],
                             "argument");
        !s.ok())
      return s;
    pointers.push_back(arguments[i].data());
  }
  for (size_t i = 0; i < results.size(); ++i) {
    if (rt::Status s = check(entry->results[i], results[i], "result"); !s.ok())
      return s;
    pointers.push_back(results[i].data());
  }
  std::vector<void *> packed;
  for (void *&p : pointers)
    packed.push_back(&p);
  if (llvm::Error e = impl_->engine->invokePacked(name, packed))
    return rt::Status::error("running '" + name +
                             "' failed: " + llvm::toString(std::move(e)));
  return rt::Status::success();
}

} // namespace kiln::jit
