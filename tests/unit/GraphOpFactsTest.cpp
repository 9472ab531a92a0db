//===- GraphOpFactsTest.cpp - Every graph op states its facts in ODS ------===//
//
// graph-fuse, the lowering and the library calls read an op's kernel kind
// and library activation from its ODS traits; these tests make a new op
// without them fail here rather than in a pass.
//
//===----------------------------------------------------------------------===//

#include "dialects/Graph/IR/GraphDialect.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <set>

using namespace kiln::graph;

namespace {

std::vector<mlir::RegisteredOperationName> graphOps(mlir::MLIRContext &ctx) {
  ctx.getOrLoadDialect<GraphDialect>();
  std::vector<mlir::RegisteredOperationName> ops;
  for (mlir::RegisteredOperationName name : ctx.getRegisteredOperations())
    if (name.getDialectNamespace() == GraphDialect::getDialectNamespace())
      ops.push_back(name);
  return ops;
}

TEST(GraphOpFactsTest, EveryOpHasOneKernelKind) {
  mlir::MLIRContext ctx;
  std::vector<mlir::RegisteredOperationName> ops = graphOps(ctx);
  ASSERT_GT(ops.size(), 60u);
  for (mlir::RegisteredOperationName name : ops)
    EXPECT_TRUE(kernelKindOf(name).has_value())
        << name.getStringRef().str()
        << " has no Graph_KernelKind trait: graph-fuse would reject it";
}

TEST(GraphOpFactsTest, LibraryActivationsAreElementwiseAndCoverTheEnum) {
  mlir::MLIRContext ctx;
  std::set<Activation> named;
  for (mlir::RegisteredOperationName name : graphOps(ctx)) {
    std::optional<Activation> act = libraryActivationOf(name);
    if (!act)
      continue;
    EXPECT_EQ(kernelKindOf(name), KernelKind::Elementwise)
        << name.getStringRef().str();
    EXPECT_TRUE(named.insert(*act).second)
        << stringifyActivation(*act).str() << " is named by two ops";
  }
  for (uint64_t v = 1; v <= getMaxEnumValForActivation(); ++v)
    EXPECT_TRUE(named.count(static_cast<Activation>(v)))
        << stringifyActivation(static_cast<Activation>(v)).str()
        << " is an epilogue activation no graph op becomes";
}

} // namespace
