//===- Pipelines.h - Kiln's pass pipelines, in one place ------------------===//
//
// The order of passes is written here once and registered under names, so
// `kiln-opt --pass-pipeline='builtin.module(kiln-graph-to-kernel)'`
// reproduces what `kilnc --emit=kernel` runs.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_PIPELINES_PIPELINES_H
#define KILN_COMPILER_PIPELINES_PIPELINES_H

namespace mlir {
class OpPassManager;
} // namespace mlir

namespace kiln {

/// graph -> kernel: simplify the graph, then partition it into kernels.
void buildGraphToKernelPipeline(mlir::OpPassManager &pm);

/// Registers the pipelines above by name.
void registerPipelines();

} // namespace kiln

#endif // KILN_COMPILER_PIPELINES_PIPELINES_H
