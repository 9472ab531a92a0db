//===- StripGraphAttrs.cpp - Drop graph.* annotations before LLVM ---------===//

#include "compiler/Codegen/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

namespace kiln {
#define GEN_PASS_DEF_KILNSTRIPGRAPHATTRS
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// `attrs` without the entries whose name starts with "graph.".
DictionaryAttr withoutGraphAttrs(DictionaryAttr attrs) {
  if (!attrs)
    return attrs;
  SmallVector<NamedAttribute> kept;
  for (NamedAttribute a : attrs)
    if (!a.getName().strref().starts_with("graph."))
      kept.push_back(a);
  return DictionaryAttr::get(attrs.getContext(), kept);
}

struct KilnStripGraphAttrs
    : kiln::impl::KilnStripGraphAttrsBase<KilnStripGraphAttrs> {
  void runOnOperation() override {
    getOperation().walk([](FunctionOpInterface func) {
      for (unsigned i = 0; i < func.getNumArguments(); ++i)
        func.setArgAttrs(i, withoutGraphAttrs(func.getArgAttrDict(i)));
      for (unsigned i = 0; i < func.getNumResults(); ++i)
        func.setResultAttrs(i, withoutGraphAttrs(func.getResultAttrDict(i)));
    });
  }
};

} // namespace
