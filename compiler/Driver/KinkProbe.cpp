//===- KinkProbe.cpp - Which piecewise op a finite difference crossed -----===//

#include "compiler/Driver/KinkProbe.h"
#include "dialects/Graph/IR/AttributeNames.h"

#include "dialects/Graph/IR/GradientBuilder.h"
#include "dialects/Graph/IR/GraphDialect.h"
#include "dialects/Kernel/IR/KernelDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;

namespace kiln::driver {
namespace {

bool isFloatTensor(Type type) {
  auto t = llvm::dyn_cast<RankedTensorType>(type);
  return t && llvm::isa<FloatType>(t.getElementType());
}

Value onesLike(OpBuilder &b, Location loc, Value v) {
  graph::gradients::G m{b, loc};
  return m.splat(v, m.shape(v), 1.0);
}

/// Appends to `keys` what selects `op`'s branch: its local derivative (its
/// gradient rule applied to ones) where it has a rule, else its results
/// (a comparison's booleans, floor's integers).
void branchKeys(OpBuilder &b, Operation *op, SmallVectorImpl<Value> &keys) {
  if (auto rule = dyn_cast<graph::GradientOpInterface>(op)) {
    SmallVector<Value> resultGrads, operandGrads;
    for (Value r : op->getResults())
      resultGrads.push_back(isFloatTensor(r.getType())
                                ? onesLike(b, op->getLoc(), r)
                                : Value());
    if (succeeded(rule.buildGradients(b, resultGrads, operandGrads))) {
      for (Value g : operandGrads)
        if (g)
          keys.push_back(g);
      return;
    }
  }
  for (Value r : op->getResults())
    keys.push_back(r);
}

} // namespace

LogicalResult addKinkProbe(ModuleOp module, std::vector<std::string> &owners,
                           StringRef lossEntry) {
  SymbolTable symbols(module);
  auto loss = symbols.lookup<func::FuncOp>(lossEntry);
  if (!loss || loss.isExternal())
    return success(); // The gradient check says what is missing.
  OpBuilder b(module.getContext());
  b.setInsertionPointAfter(loss);
  auto probe = cast<func::FuncOp>(b.clone(*loss));
  probe.setSymName(kKinkProbeEntry);
  Block &body = probe.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());

  SmallVector<Operation *> piecewise;
  for (Operation &op : body.without_terminator())
    if (op.hasTrait<graph::OpTrait::Piecewise>())
      piecewise.push_back(&op);
  SmallVector<Value> returned{ret.getOperand(0)};
  SmallVector<std::string> names{"loss"};
  b.setInsertionPoint(ret);
  for (Operation *op : piecewise) {
    SmallVector<Value> keys;
    branchKeys(b, op, keys);
    for (Value key : keys) {
      names.push_back("kink." + std::to_string(owners.size()));
      owners.push_back(kernel::describeOrigin(op));
      returned.push_back(key);
    }
  }
  b.create<func::ReturnOp>(ret.getLoc(), returned);
  ret.erase();

  SmallVector<Type> resultTypes;
  for (Value v : returned)
    resultTypes.push_back(v.getType());
  probe.setFunctionType(
      b.getFunctionType(probe.getArgumentTypes(), resultTypes));
  SmallVector<DictionaryAttr> resultAttrs;
  for (const std::string &name : names)
    resultAttrs.push_back(b.getDictionaryAttr(
        b.getNamedAttr(kiln::attr::kOutput, b.getStringAttr(name))));
  probe.setAllResultAttrs(resultAttrs);
  return success();
}

} // namespace kiln::driver
