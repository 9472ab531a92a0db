//===- InitAll.cpp - Registration of Kiln's dialects and passes -----------===//

#include "compiler/InitAll.h"

#include "dialects/Graph/IR/GraphDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Transforms/Passes.h"

void kiln::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<kiln::graph::GraphDialect, mlir::func::FuncDialect>();
}

void kiln::registerAllPasses() {
  // Upstream: canonicalize, cse, inline, symbol-dce, ...
  mlir::registerTransformsPasses();
}
