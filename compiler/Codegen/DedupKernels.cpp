//===- DedupKernels.cpp - Kernels with equal bodies become one ------------===//

#include "compiler/Codegen/Passes.h"

#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/Hashing.h"

#include <vector>

namespace kiln {
#define GEN_PASS_DEF_KILNDEDUPKERNELS
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// A kernel's structure as a sequence of words: for each op, in pre-order,
/// its name, its attributes and properties (uniqued, so compared by
/// identity), its operands (numbered by definition order), result types,
/// regions, blocks and block argument types. Two kernels compute the same
/// thing exactly when their keys are equal; locations and the kernel's own
/// name are not part of it. Linear in the kernel's size.
using Key = std::vector<uintptr_t>;

Key structuralKey(func::FuncOp kernel) {
  Key key;
  llvm::DenseMap<Value, uintptr_t> values;
  llvm::DenseMap<Block *, uintptr_t> blocks;
  auto word = [&](const void *p) {
    key.push_back(reinterpret_cast<uintptr_t>(p));
  };
  auto numberRegion = [&](Region &region) {
    key.push_back(region.getBlocks().size());
    for (Block &block : region) {
      blocks.try_emplace(&block, blocks.size());
      key.push_back(block.getNumArguments());
      for (BlockArgument arg : block.getArguments()) {
        values.try_emplace(arg, values.size());
        word(arg.getType().getAsOpaquePointer());
      }
    }
  };
  word(kernel.getFunctionType().getAsOpaquePointer());
  numberRegion(kernel.getBody());
  kernel.getBody().walk<WalkOrder::PreOrder>([&](Operation *op) {
    word(op->getName().getAsOpaquePointer());
    word(op->getRawDictionaryAttrs().getAsOpaquePointer());
    word(op->getPropertiesAsAttribute().getAsOpaquePointer());
    key.push_back(op->getNumOperands());
    for (Value operand : op->getOperands()) {
      auto it = values.find(operand);
      // A value defined outside the kernel cannot occur; keep keys apart.
      key.push_back(it == values.end() ? ~uintptr_t(0) : it->second);
    }
    key.push_back(op->getNumResults());
    for (OpResult result : op->getResults()) {
      values.try_emplace(result, values.size());
      word(result.getType().getAsOpaquePointer());
    }
    key.push_back(op->getNumSuccessors());
    for (Block *successor : op->getSuccessors())
      key.push_back(blocks.lookup(successor));
    key.push_back(op->getNumRegions());
    for (Region &region : op->getRegions())
      numberRegion(region);
  });
  return key;
}

struct KeyInfo {
  static Key getEmptyKey() { return {~uintptr_t(0)}; }
  static Key getTombstoneKey() { return {~uintptr_t(0) - 1}; }
  static unsigned getHashValue(const Key &key) {
    return static_cast<unsigned>(llvm::hash_combine_range(key.begin(), key.end()));
  }
  static bool isEqual(const Key &a, const Key &b) { return a == b; }
};

struct KilnDedupKernels : kiln::impl::KilnDedupKernelsBase<KilnDedupKernels> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::DenseMap<Key, func::FuncOp, KeyInfo> first;
    llvm::DenseMap<StringAttr, func::FuncOp> replacement;
    SmallVector<func::FuncOp> duplicates;
    for (auto kernel : module.getOps<func::FuncOp>()) {
      if (!kernel.isPrivate() || kernel.isExternal() ||
          !kernel->hasAttr("kernel.kind"))
        continue;
      auto [it, inserted] = first.try_emplace(structuralKey(kernel), kernel);
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
    // One walk finds the references left (checking each duplicate on its
    // own would walk the module once per duplicate).
    llvm::DenseSet<StringAttr> referenced;
    if (std::optional<SymbolTable::UseRange> uses =
            SymbolTable::getSymbolUses(&module.getBodyRegion()))
      for (const SymbolTable::SymbolUse &use : *uses)
        referenced.insert(use.getSymbolRef().getRootReference());
    for (func::FuncOp kernel : duplicates) {
      if (referenced.contains(kernel.getSymNameAttr())) {
        kernel.emitError("kernel is still referenced other than by calls");
        return signalPassFailure();
      }
      kernel.erase();
    }
  }
};

} // namespace
