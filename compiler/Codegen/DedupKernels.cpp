//===- DedupKernels.cpp - Kernels with equal bodies become one ------------===//

#include "compiler/Codegen/Passes.h"

#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln {
#define GEN_PASS_DEF_KILNDEDUPKERNELS
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The kernel's text under a fixed name: equal for kernels that compute
/// the same thing (locations are not printed).
std::string fingerprint(func::FuncOp kernel) {
  StringAttr name = kernel.getSymNameAttr();
  kernel.setSymName("kernel");
  std::string text;
  llvm::raw_string_ostream os(text);
  kernel->print(os, OpPrintingFlags().useLocalScope());
  kernel.setSymNameAttr(name);
  return text;
}

struct KilnDedupKernels : kiln::impl::KilnDedupKernelsBase<KilnDedupKernels> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::StringMap<func::FuncOp> first;
    llvm::DenseMap<StringAttr, func::FuncOp> replacement;
    SmallVector<func::FuncOp> duplicates;
    for (auto kernel : module.getOps<func::FuncOp>()) {
      if (!kernel.isPrivate() || kernel.isExternal() ||
          !kernel->hasAttr("kernel.kind"))
        continue;
      auto [it, inserted] = first.try_emplace(fingerprint(kernel), kernel);
      if (inserted)
        continue;
      replacement[kernel.getSymNameAttr()] = it->second;
      duplicates.push_back(kernel);
    }
    if (duplicates.empty())
      return;
    module.walk([&](func::CallOp call) {
      auto it = replacement.find(call.getCalleeAttr().getAttr());
      if (it != replacement.end())
        call.setCalleeAttr(FlatSymbolRefAttr::get(it->second.getSymNameAttr()));
    });
    for (func::FuncOp kernel : duplicates) {
      if (!SymbolTable::symbolKnownUseEmpty(kernel, module)) {
        kernel.emitError("kernel is still referenced other than by calls");
        return signalPassFailure();
      }
      kernel.erase();
    }
  }
};

} // namespace
