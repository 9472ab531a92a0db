//===- AttributeNames.h - Attribute names passed between passes -----------===//
//
// Every discardable attribute one pass sets and another reads, named once.
// graph.* attributes mark a function's arguments and results (the entry
// points' contract, read into the manifest); kiln.* attributes carry facts
// between compiler passes and never reach an artefact.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECTS_GRAPH_IR_ATTRIBUTENAMES_H
#define KILN_DIALECTS_GRAPH_IR_ATTRIBUTENAMES_H

#include "llvm/ADT/StringRef.h"

namespace kiln::attr {

// On entry-point arguments: what each one is, with its PyTorch name.
/// A trained parameter ("fc1.weight").
inline constexpr llvm::StringLiteral kParam = "graph.param";
/// State that is not trained: running statistics, optimizer state.
inline constexpr llvm::StringLiteral kBuffer = "graph.buffer";
/// A per-call input (a batch, labels).
inline constexpr llvm::StringLiteral kInput = "graph.input";
/// How a parameter or buffer starts ("uniform:0.1", "ones").
inline constexpr llvm::StringLiteral kInit = "graph.init";
// On a loss function.
/// The submodules (module paths) whose parameters its train step trains;
/// the other parameters are constants there (DSL: Graph::trains).
inline constexpr llvm::StringLiteral kTrains = "graph.trains";
/// On a function: the inputs to differentiate it by (DSL:
/// Graph::differentiateInputs); graph-autodiff adds `<name>_grad`.
inline constexpr llvm::StringLiteral kWrt = "graph.wrt";
// On entry-point results.
/// The result's name ("loss", "grad.fc1.weight").
inline constexpr llvm::StringLiteral kOutput = "graph.output";
/// The argument (by name) the result is the new value of.
inline constexpr llvm::StringLiteral kUpdate = "graph.update";

// Between compiler passes.
/// On the module: the entry points' manifest, JSON (kiln-record-manifest ->
/// kiln-emit-abi).
inline constexpr llvm::StringLiteral kManifest = "kiln.manifest";
/// On a kiln_parallel_for call: the outlined loop body
/// (kiln-parallelize -> convert-library-calls).
inline constexpr llvm::StringLiteral kParallelBody = "kiln.body";
/// On a maximum that may ignore NaN ordering (the lowering -> kiln-vectorize).
inline constexpr llvm::StringLiteral kNanAgnosticMax = "kiln.nan_agnostic_max";
/// On a loop kiln-parallelize may split across threads.
inline constexpr llvm::StringLiteral kParallel = "kiln.parallel";
/// On a row-block loop (kiln-vectorize -> kiln-stream-stores, kiln-prefetch).
inline constexpr llvm::StringLiteral kRowBlocks = "kiln.row_blocks";
/// On a kernel argument: the result it is updated into (kiln-update-in-place).
inline constexpr llvm::StringLiteral kUpdates = "kiln.updates";

} // namespace kiln::attr

#endif // KILN_DIALECTS_GRAPH_IR_ATTRIBUTENAMES_H
