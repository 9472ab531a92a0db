//===- Manifest.h - Entry points of a graph module, for artefacts ---------===//

#ifndef KILN_COMPILER_TARGET_MANIFEST_H
#define KILN_COMPILER_TARGET_MANIFEST_H

#include "kiln/runtime/Manifest.h"

#include "mlir/IR/BuiltinOps.h"

namespace kiln {

/// The entry points of a graph module: its public functions, with argument
/// and result names from graph.param / graph.buffer / graph.input /
/// graph.output (argN / resultN when absent). Emits an error and fails on a
/// type an artefact cannot carry.
mlir::LogicalResult readEntries(mlir::ModuleOp module,
                                std::vector<rt::EntrySpec> &entries);

/// The name artefact symbols are prefixed with: the module's name, or
/// "model".
std::string modelName(mlir::ModuleOp module);

} // namespace kiln

#endif // KILN_COMPILER_TARGET_MANIFEST_H
