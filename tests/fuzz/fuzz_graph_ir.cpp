// kiln-opt's front half on any text: its screen for the spellings MLIR 19's
// parser misreads (ParseScreen.h), then MLIR's parser with Kiln's graph and
// kernel dialects (their parsers, verifiers and shape inference compiled
// here with the sanitizers and coverage), then, for what verifies, the
// printer and a second parse of its output, and the canonicalizer (Kiln's
// folders and patterns). MLIR itself is Debian's, not instrumented.
#include "compiler/ParseScreen.h"
#include "dialects/Graph/IR/GraphDialect.h"
#include "dialects/Kernel/IR/KernelDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

namespace {

std::unique_ptr<mlir::MLIRContext> makeContext() {
  mlir::DialectRegistry registry;
  registry.insert<kiln::graph::GraphDialect, kiln::kernel::KernelDialect,
                  mlir::func::FuncDialect>();
  auto c = std::make_unique<mlir::MLIRContext>(registry);
  c->loadAllAvailableDialects();
  c->disableMultithreading();
  // Diagnostics of bad input are expected: keep them quiet.
  c->getDiagEngine().registerHandler([](mlir::Diagnostic &) {});
  return c;
}

/// A context keeps every type and attribute it has seen: a fresh one every
/// 20,000 inputs keeps the fuzzer's memory bounded.
mlir::MLIRContext &context() {
  static std::unique_ptr<mlir::MLIRContext> ctx;
  static int uses = 0;
  if (!ctx || ++uses % 20000 == 0)
    ctx = makeContext();
  return *ctx;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // Deeply nested regions overflow MLIR's recursive parser's stack, as any
  // recursive-descent parser's (kiln-opt parses on a thread with a large
  // stack for that); the fuzzer keeps to inputs of a few kilobytes.
  if (size > 8192)
    return 0;
  std::string text(reinterpret_cast<const char *>(data), size);
  // The tools reject what the screen finds before parsing.
  if (kiln::findParseHazard(text))
    return 0;
  mlir::MLIRContext &ctx = context();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  if (!module || mlir::failed(mlir::verify(*module)))
    return 0;
  std::string printed;
  llvm::raw_string_ostream os(printed);
  module->print(os);
  os.flush();
  mlir::OwningOpRef<mlir::ModuleOp> again =
      mlir::parseSourceString<mlir::ModuleOp>(printed, &ctx);
  if (!again) {
    // What the printer writes, the parser must read.
    llvm::errs() << "printed IR does not parse again:\n" << printed << "\n";
    std::abort();
  }
  mlir::PassManager pm(&ctx);
  pm.addPass(mlir::createCanonicalizerPass());
  (void)pm.run(*module);
  return 0;
}
