//===- GraphDecomposeAttentionGrad.cpp - Unfused attention gradients ------===//

#include "dialects/Graph/IR/GraphDialect.h"
#include "dialects/Graph/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

namespace kiln::graph {
#define GEN_PASS_DEF_GRAPHDECOMPOSEATTENTIONGRAD
#include "dialects/Graph/Transforms/Passes.h.inc"
} // namespace kiln::graph

using namespace mlir;
using namespace kiln::graph;

namespace {

struct GraphDecomposeAttentionGrad
    : kiln::graph::impl::GraphDecomposeAttentionGradBase<
          GraphDecomposeAttentionGrad> {
  void runOnOperation() override {
    SmallVector<AttentionGradOp> grads;
    getOperation().walk([&](AttentionGradOp op) { grads.push_back(op); });
    for (AttentionGradOp op : grads) {
      OpBuilder builder(op);
      SmallVector<Value> parts = op.decompose(builder);
      op->replaceAllUsesWith(parts);
      op->erase();
    }
  }
};

} // namespace
