//===- ConvertGraphToLinalg.cpp - The convert-graph-to-linalg pass --------===//

#include "compiler/Conversion/GraphToLinalg/Lowerings.h"
#include "compiler/Conversion/Passes.h"

#include "dialects/Graph/IR/GraphDialect.h"
#include "dialects/Kernel/IR/KernelDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace kiln {
#define GEN_PASS_DEF_CONVERTGRAPHTOLINALG
#include "compiler/Conversion/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct ConvertGraphToLinalg
    : kiln::impl::ConvertGraphToLinalgBase<ConvertGraphToLinalg> {
  using ConvertGraphToLinalgBase::ConvertGraphToLinalgBase;

  void runOnOperation() override {
    WalkResult outlined = getOperation().walk([](kiln::kernel::FusedOp op) {
      op.emitOpError("must be outlined into a function (kernel-outline) "
                     "before lowering to linalg");
      return WalkResult::interrupt();
    });
    if (outlined.wasInterrupted())
      return signalPassFailure();
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<kiln::graph::GraphDialect, kiln::kernel::KernelDialect>(
              op->getDialect()))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      OpBuilder b(op);
      using namespace kiln::lowering;
      Results results = lowerElementwise(b, op);
      if (!results)
        results = lowerReduction(b, op);
      if (!results)
        results = lowerContraction(b, op, libraryCalls);
      if (!results)
        results = lowerShape(b, op);
      if (!results)
        results = lowerModel(b, op);
      if (!results) {
        op->emitOpError("has no lowering to linalg");
        return signalPassFailure();
      }
      op->replaceAllUsesWith(*results);
      op->erase();
    }
  }
};

} // namespace
