//===- InitAll.cpp - Registration of Kiln's dialects and passes -----------===//

#include "compiler/InitAll.h"

#include "compiler/Pipelines/Pipelines.h"

#include "dialects/Graph/IR/GraphDialect.h"
#include "dialects/Graph/Transforms/Passes.h"
#include "dialects/Kernel/IR/KernelDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Transforms/Passes.h"

void kiln::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<kiln::graph::GraphDialect, kiln::kernel::KernelDialect,
                  mlir::func::FuncDialect>();
}

void kiln::registerAllPasses() {
  // Upstream: canonicalize, cse, inline, symbol-dce, ...
  mlir::registerTransformsPasses();
  kiln::graph::registerGraphPasses();
  kiln::registerPipelines();
}
