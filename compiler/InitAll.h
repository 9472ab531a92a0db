//===- InitAll.h - Registration of Kiln's dialects and passes -------------===//

#ifndef KILN_COMPILER_INITALL_H
#define KILN_COMPILER_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace kiln {

/// Registers the dialects Kiln parses: its own and the upstream ones that
/// appear in its pipelines' input and output.
void registerAllDialects(mlir::DialectRegistry &registry);

/// Registers Kiln's passes and the upstream passes its pipelines use, so
/// `kiln-opt --pass-pipeline=...` can reproduce any pipeline.
void registerAllPasses();

} // namespace kiln

#endif // KILN_COMPILER_INITALL_H
