//===- EmitAbi.cpp - The artefact ABI on an LLVM-dialect module -----------===//

#include "compiler/Codegen/Passes.h"
#include "dialects/Graph/IR/AttributeNames.h"
#include "compiler/Target/Manifest.h"

#include "kiln/runtime/Artefact.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/AttrTypeSubElements.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

namespace kiln {
#define GEN_PASS_DEF_KILNEMITABI
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// A private constant holding `text` and a terminating NUL.
LLVM::GlobalOp stringGlobal(OpBuilder &b, Location loc, StringRef name,
                            StringRef text) {
  auto type = LLVM::LLVMArrayType::get(b.getI8Type(), text.size() + 1);
  return b.create<LLVM::GlobalOp>(loc, type, /*isConstant=*/true,
                                  LLVM::Linkage::Internal, name,
                                  b.getStringAttr(text.str() + '\0'));
}

/// A public function returning `value` built by `body`.
void accessor(OpBuilder &b, Location loc, StringRef name, Type type,
              llvm::function_ref<Value(OpBuilder &)> body) {
  auto fn = b.create<LLVM::LLVMFuncOp>(loc, name,
                                       LLVM::LLVMFunctionType::get(type, {}));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(fn.addEntryBlock(b));
  b.create<LLVM::ReturnOp>(loc, body(b));
}

struct KilnEmitAbi : kiln::impl::KilnEmitAbiBase<KilnEmitAbi> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    auto manifestAttr = module->getAttrOfType<StringAttr>(kiln::attr::kManifest);
    if (!manifestAttr) {
      module.emitError("no kiln.manifest attribute: run kiln-record-manifest "
                       "on the graph module");
      return signalPassFailure();
    }
    auto entries = kiln::rt::parseManifest(manifestAttr.str());
    if (!entries.ok()) {
      module.emitError(entries.status().message());
      return signalPassFailure();
    }
    std::string model = kiln::modelName(module);
    SymbolTable symbols(module);
    Location loc = module.getLoc();
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    Type i64 = IntegerType::get(ctx, 64);
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());

    // Runtime functions declared once per call site ("kiln_parallel_for.3":
    // their function-pointer argument had a type of its own) become one C
    // symbol: in LLVM every such declaration has the same type.
    // Every use is renamed in one walk of the module: one walk per call
    // site would make this pass quadratic in the model's size.
    SmallVector<LLVM::LLVMFuncOp> perSite;
    for (auto fn : module.getOps<LLVM::LLVMFuncOp>())
      if (fn.isExternal() && fn.getSymName().contains('.'))
        perSite.push_back(fn);
    llvm::DenseMap<Attribute, Attribute> mergedName;
    for (LLVM::LLVMFuncOp fn : perSite) {
      std::string name = fn.getSymName().split('.').first.str();
      auto merged = symbols.lookup<LLVM::LLVMFuncOp>(name);
      if (!merged) {
        OpBuilder top = OpBuilder::atBlockBegin(module.getBody());
        merged = top.create<LLVM::LLVMFuncOp>(fn.getLoc(), name,
                                              fn.getFunctionType());
        symbols.insert(merged);
      } else if (merged.getFunctionType() != fn.getFunctionType()) {
        fn.emitError("declares '") << name << "' with another type";
        return signalPassFailure();
      }
      mergedName[FlatSymbolRefAttr::get(fn.getSymNameAttr())] =
          FlatSymbolRefAttr::get(merged.getSymNameAttr());
    }
    if (!mergedName.empty()) {
      AttrTypeReplacer replacer;
      replacer.addReplacement(
          [&](SymbolRefAttr ref) -> std::optional<Attribute> {
            auto it = mergedName.find(ref);
            if (it == mergedName.end())
              return std::nullopt;
            return it->second;
          });
      module.walk([&](Operation *op) {
        if (!isa<LLVM::LLVMFuncOp>(op))
          replacer.replaceElementsIn(op);
      });
      for (LLVM::LLVMFuncOp fn : perSite)
        symbols.erase(fn);
    }

    // Kernels and helpers are internal: two models link into one program
    // without clashing. Entry points are renamed below and stay public.
    for (auto fn : module.getOps<LLVM::LLVMFuncOp>())
      if (!fn.isExternal() &&
          llvm::none_of(entries.value(), [&](const kiln::rt::EntrySpec &e) {
            return e.name == fn.getSymName();
          }))
        fn.setLinkage(LLVM::Linkage::Internal);

    SmallVector<std::pair<std::string, std::string>> table; // name, wrapper
    for (const kiln::rt::EntrySpec &entry : entries.value()) {
      auto fn = symbols.lookup<LLVM::LLVMFuncOp>(entry.name);
      size_t arity = entry.arguments.size() + entry.results.size();
      if (!fn || fn.getNumArguments() != arity) {
        module.emitError("entry '")
            << entry.name << "' of the manifest has no function taking "
            << arity << " pointers";
        return signalPassFailure();
      }
      std::string symbol = model + "_" + entry.name;
      if (failed(symbols.rename(fn, b.getStringAttr(symbol)))) {
        fn.emitError("cannot rename to ") << symbol;
        return signalPassFailure();
      }
      // void kiln_packed_E(void **args): args[i] points at argument i.
      std::string wrapper = "kiln_packed_" + symbol;
      auto packed = b.create<LLVM::LLVMFuncOp>(
          loc, wrapper,
          LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptr}),
          LLVM::Linkage::Internal);
      {
        OpBuilder::InsertionGuard guard(b);
        Block *body = packed.addEntryBlock(b);
        b.setInsertionPointToStart(body);
        SmallVector<Value> args;
        for (size_t i = 0; i < arity; ++i) {
          Value slot = b.create<LLVM::GEPOp>(
              loc, ptr, ptr, body->getArgument(0),
              ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
          args.push_back(b.create<LLVM::LoadOp>(loc, ptr, slot));
        }
        b.create<LLVM::CallOp>(loc, fn, args);
        b.create<LLVM::ReturnOp>(loc, ValueRange{});
      }
      std::string nameGlobal =
          "kiln_entry_name_" + std::to_string(table.size());
      stringGlobal(b, loc, nameGlobal, entry.name);
      table.push_back({nameGlobal, wrapper});
    }

    stringGlobal(b, loc, "kiln_manifest_text", manifestAttr.getValue());
    accessor(b, loc, "kiln_manifest", ptr, [&](OpBuilder &nb) {
      return nb.create<LLVM::AddressOfOp>(loc, ptr, "kiln_manifest_text");
    });
    accessor(b, loc, "kiln_num_entries", i64, [&](OpBuilder &nb) {
      return nb.create<LLVM::ConstantOp>(loc, i64,
                                         nb.getI64IntegerAttr(table.size()));
    });
    // struct { const char *name; void (*packed)(void **); } table[n].
    auto record = LLVM::LLVMStructType::getLiteral(ctx, {ptr, ptr});
    auto tableType = LLVM::LLVMArrayType::get(record, table.size());
    auto global = b.create<LLVM::GlobalOp>(loc, tableType, /*isConstant=*/true,
                                           LLVM::Linkage::Internal,
                                           "kiln_entry_records", Attribute());
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&global.getInitializerRegion().emplaceBlock());
      Value value = b.create<LLVM::UndefOp>(loc, tableType);
      for (auto [i, names] : llvm::enumerate(table)) {
        Value name = b.create<LLVM::AddressOfOp>(loc, ptr, names.first);
        Value fn = b.create<LLVM::AddressOfOp>(loc, ptr, names.second);
        int64_t index = static_cast<int64_t>(i);
        value = b.create<LLVM::InsertValueOp>(loc, value, name,
                                              ArrayRef<int64_t>{index, 0});
        value = b.create<LLVM::InsertValueOp>(loc, value, fn,
                                              ArrayRef<int64_t>{index, 1});
      }
      b.create<LLVM::ReturnOp>(loc, value);
    }
    accessor(b, loc, "kiln_entry_table", ptr, [&](OpBuilder &nb) {
      return nb.create<LLVM::AddressOfOp>(loc, ptr, "kiln_entry_records");
    });
    module->removeAttr(kiln::attr::kManifest);
  }
};

} // namespace
