//===- KernelViews.h - What a model compiled into, drawn and listed -------===//
//
// `kilnc --emit=dot` (and `--emit=svg`, through Graphviz's dot): the module
// at the kernel stage as a graph. Each entry point is a box; in it each
// fused kernel is a cluster of the graph ops it computes, each library call
// (matmul, convolution with their fused epilogues; recurrences) a shaded
// node, and each node names its op, the module path and source line that
// built it, and its result's shape. Parameters, inputs and outputs are the
// graph's sources and sinks.
//
// `kilnc --report=kernels`: the same kernels as a table, each with its ops,
// source lines, floating-point operations and bytes moved.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_DRIVER_KERNELVIEWS_H
#define KILN_COMPILER_DRIVER_KERNELVIEWS_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln::driver {

/// Writes `module` (kernel stage) as a Graphviz digraph.
void printDot(mlir::ModuleOp module, llvm::raw_ostream &os);

/// Lists `module`'s kernels (kernel stage), entry by entry: kind, ops,
/// module paths and source lines, FLOPs and bytes read and written.
void printKernelReport(mlir::ModuleOp module, llvm::raw_ostream &os);

} // namespace kiln::driver

#endif // KILN_COMPILER_DRIVER_KERNELVIEWS_H
