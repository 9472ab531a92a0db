//===- RecordManifest.cpp - The manifest of a graph module ----------------===//

#include "compiler/Codegen/Passes.h"
#include "dialects/Graph/IR/AttributeNames.h"
#include "compiler/Target/Manifest.h"

#include "kiln/runtime/Artefact.h"

namespace kiln {
#define GEN_PASS_DEF_KILNRECORDMANIFEST
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct KilnRecordManifest
    : kiln::impl::KilnRecordManifestBase<KilnRecordManifest> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::vector<kiln::rt::EntrySpec> entries;
    if (failed(kiln::readEntries(module, entries)))
      return signalPassFailure();
    module->setAttr(kiln::attr::kManifest,
                    StringAttr::get(&getContext(),
                                    kiln::rt::manifestToJson(
                                        kiln::modelName(module), entries)));
  }
};

} // namespace
