//===- Pipelines.cpp - Kiln's pass pipelines ------------------------------===//

#include "compiler/Pipelines/Pipelines.h"

#include "dialects/Graph/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

void kiln::buildGraphToKernelPipeline(mlir::OpPassManager &pm) {
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
  pm.addNestedPass<mlir::func::FuncOp>(graph::createGraphFuse());
}

void kiln::registerPipelines() {
  mlir::PassPipelineRegistration<>(
      "kiln-graph-to-kernel",
      "Simplify a graph module and partition it into kernels",
      buildGraphToKernelPipeline);
}
