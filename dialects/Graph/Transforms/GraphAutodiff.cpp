//===- GraphAutodiff.cpp - Reverse-mode differentiation of graph functions ===//

#include "dialects/Graph/Transforms/Passes.h"
#include "dialects/Graph/IR/GradientBuilder.h"
#include "dialects/Graph/IR/AttributeNames.h"
#include "dialects/Kernel/IR/KernelDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

namespace kiln::graph {
#define GEN_PASS_DEF_GRAPHAUTODIFF
#include "dialects/Graph/Transforms/Passes.h.inc"
} // namespace kiln::graph

using namespace mlir;
using namespace kiln::graph;

namespace {

bool isFloat(Value v) {
  auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
  return t && llvm::isa<FloatType>(t.getElementType());
}

/// Collects the ops a builder inserts.
struct InsertedOps : OpBuilder::Listener {
  SmallVector<Operation *> ops;
  void notifyOperationInserted(Operation *op, OpBuilder::InsertPoint) override {
    ops.push_back(op);
  }
};

Value zerosLike(OpBuilder &b, Location loc, Value v) {
  auto type = llvm::cast<RankedTensorType>(v.getType());
  return b.create<ConstantOp>(
      loc, type,
      DenseElementsAttr::get(type, b.getFloatAttr(type.getElementType(), 0)));
}

/// A deliberately wrong gradient rule, for tests of the gradient check: the
/// operand gradients of every op named `op` are scaled by `factor`.
struct PlantedError {
  std::string op;
  double factor = 1.0;
};

/// `g` times `factor`.
Value scaled(OpBuilder &b, Location loc, Value g, double factor) {
  gradients::G m{b, loc};
  return m.mul(g, m.splat(g, m.shape(g), factor));
}

/// Whether `param` belongs to one of the module paths `parts` (a
/// graph.trains list); every parameter does without the list.
bool isTrained(ArrayAttr parts, StringRef param) {
  if (!parts)
    return true;
  return llvm::any_of(parts, [&](Attribute a) {
    StringRef part = llvm::cast<StringAttr>(a).getValue();
    return param == part ||
           (param.starts_with(part) && param.drop_front(part.size()).starts_with("."));
  });
}

/// Adds the gradient function of `loss`, named `gradName`, to the module:
/// by its parameters (those of graph.trains where given) and, with
/// `wrtInputs`, its float inputs; or, where `inputsOnly` is given, by
/// exactly those inputs.
LogicalResult differentiate(func::FuncOp loss, StringRef gradName,
                            bool wrtInputs, const PlantedError &planted,
                            ArrayAttr inputsOnly = {}) {
  Location loc = loss.getLoc();
  auto resultType = loss.getNumResults() >= 1
                        ? llvm::dyn_cast<RankedTensorType>(loss.getResultTypes()[0])
                        : RankedTensorType();
  if (!resultType || resultType.getRank() != 0 ||
      !llvm::isa<FloatType>(resultType.getElementType()))
    return loss.emitError("can only differentiate a function whose first "
                          "result is a scalar float, '")
           << loss.getSymName() << "' returns " << loss.getResultTypes();
  // Further results are buffer updates (batch norm's running statistics):
  // grad passes them through, after the gradients.
  for (unsigned r = 1; r < loss.getNumResults(); ++r)
    if (!loss.getResultAttrOfType<StringAttr>(r, kiln::attr::kUpdate))
      return loss.emitError("can only differentiate a function with one "
                            "scalar float result and buffer updates "
                            "(graph.update); result ")
             << r << " of '" << loss.getSymName() << "' is neither";

  OpBuilder b(loss);
  b.setInsertionPointAfter(loss);
  // Arguments to differentiate: parameters, and float inputs on request.
  // Parameters outside the loss's graph.trains parts are constants.
  auto parts = loss->getAttrOfType<ArrayAttr>(kiln::attr::kTrains);
  if (parts && !llvm::all_of(parts, [](Attribute a) {
        return llvm::isa<StringAttr>(a);
      }))
    return loss.emitError(kiln::attr::kTrains)
           << " must be an array of module paths (strings)";
  SmallVector<std::pair<unsigned, std::string>> wrt;
  for (unsigned i = 0; inputsOnly && i < loss.getNumArguments(); ++i)
    if (auto name = loss.getArgAttrOfType<StringAttr>(i, kiln::attr::kInput);
        name && llvm::is_contained(inputsOnly, name)) {
      if (!isFloat(loss.getArgument(i)))
        return loss.emitError("cannot differentiate by the integer input '")
               << name.getValue() << "'";
      wrt.push_back({i, name.str()});
    }
  if (inputsOnly && wrt.size() != inputsOnly.size())
    return loss.emitError(kiln::attr::kWrt)
           << " names an input that '" << loss.getSymName() << "' lacks";
  for (unsigned i = 0; !inputsOnly && i < loss.getNumArguments(); ++i) {
    if (auto name = loss.getArgAttrOfType<StringAttr>(i, kiln::attr::kParam)) {
      if (isTrained(parts, name.getValue()))
        wrt.push_back({i, name.str()});
    }
    else if (auto name = loss.getArgAttrOfType<StringAttr>(i, kiln::attr::kInput);
             name && wrtInputs && isFloat(loss.getArgument(i)))
      wrt.push_back({i, name.str()});
  }
  SmallVector<Type> results{loss.getResultTypes()[0]};
  for (auto [i, name] : wrt)
    results.push_back(loss.getArgument(i).getType());
  for (unsigned r = 1; r < loss.getNumResults(); ++r)
    results.push_back(loss.getResultTypes()[r]);
  auto grad = b.create<func::FuncOp>(
      loc, gradName, b.getFunctionType(loss.getArgumentTypes(), results));
  grad.setAllArgAttrs(loss.getAllArgAttrs());
  if (parts)
    grad->setAttr(kiln::attr::kTrains, parts);
  // The first result keeps its name (loss; energy).
  auto firstName = loss.getResultAttrOfType<StringAttr>(0, kiln::attr::kOutput);
  grad.setResultAttr(0, kiln::attr::kOutput,
                     firstName ? firstName : b.getStringAttr("loss"));
  for (auto [k, entry] : llvm::enumerate(wrt))
    grad.setResultAttr(k + 1, kiln::attr::kOutput,
                       b.getStringAttr("grad." + entry.second));
  for (unsigned r = 1; r < loss.getNumResults(); ++r)
    grad.setResultAttrs(wrt.size() + r, loss.getResultAttrDict(r));

  // Forward: a copy of the loss function's body.
  IRMapping mapping;
  loss.getBody().cloneInto(&grad.getBody(), mapping);
  Block &body = grad.getBody().front();
  auto ret = llvm::cast<func::ReturnOp>(body.getTerminator());
  Value lossValue = ret.getOperand(0);
  b.setInsertionPoint(ret);

  // Backward, in reverse program order.
  DenseMap<Value, Value> gradients;
  auto accumulate = [&](Value v, Value g) {
    auto [it, inserted] = gradients.try_emplace(v, g);
    if (!inserted)
      it->second = b.create<AddOp>(loc, it->second, g);
  };
  auto lossType = llvm::cast<RankedTensorType>(lossValue.getType());
  accumulate(lossValue,
             b.create<ConstantOp>(
                 loc, lossType,
                 DenseElementsAttr::get(
                     lossType, b.getFloatAttr(lossType.getElementType(), 1))));
  // Values that depend on a differentiated argument: only their gradients
  // matter (constants and integer computations are leaves).
  DenseSet<Value> active;
  for (auto [i, name] : wrt)
    active.insert(body.getArgument(i));
  SmallVector<Operation *> forward;
  for (Operation &op : body.without_terminator()) {
    forward.push_back(&op);
    if (llvm::any_of(op.getOperands(), [&](Value v) { return active.contains(v); }))
      for (Value r : op.getResults())
        if (isFloat(r))
          active.insert(r);
  }
  for (Operation *op : llvm::reverse(forward)) {
    SmallVector<Value> resultGrads;
    bool any = false;
    for (Value r : op->getResults()) {
      resultGrads.push_back(gradients.lookup(r));
      any |= static_cast<bool>(resultGrads.back());
    }
    if (!any || llvm::none_of(op->getOperands(), [&](Value v) {
          return active.contains(v);
        }))
      continue;
    auto differentiable = dyn_cast<GradientOpInterface>(op);
    if (!differentiable)
      return op->emitOpError("has no gradient rule, but the loss depends on "
                             "its result");
    // Results without a gradient (e.g. running statistics) count as zero.
    for (auto [r, g] : llvm::zip(op->getResults(), resultGrads))
      if (!g && isFloat(r))
        g = zerosLike(b, op->getLoc(), r);
    SmallVector<Value> operandGrads;
    OpBuilder::InsertionGuard guard(b);
    // The gradient's ops are located at `op`, tagged as its gradient, so
    // messages about them name the forward op and its module.
    InsertedOps inserted;
    b.setListener(&inserted);
    LogicalResult built =
        differentiable.buildGradients(b, resultGrads, operandGrads);
    bool plant = !planted.op.empty() &&
                 op->getName().getStringRef() == planted.op;
    if (succeeded(built))
      for (auto [operand, g] : llvm::zip(op->getOperands(), operandGrads))
        if (g && active.contains(operand))
          accumulate(operand, plant ? scaled(b, op->getLoc(), g, planted.factor)
                                    : g);
    b.setListener(nullptr);
    if (failed(built))
      return failure();
    Location gradientLoc = kiln::kernel::gradientLocation(op);
    for (Operation *created : inserted.ops)
      created->setLoc(gradientLoc);
  }

  SmallVector<Value> returned{lossValue};
  for (auto [i, name] : wrt) {
    Value arg = body.getArgument(i);
    Value g = gradients.lookup(arg);
    returned.push_back(g ? g : zerosLike(b, loc, arg));
  }
  for (unsigned r = 1; r < ret.getNumOperands(); ++r)
    returned.push_back(ret.getOperand(r));
  b.create<func::ReturnOp>(ret.getLoc(), returned);
  ret.erase();
  return success();
}

struct GraphAutodiff : kiln::graph::impl::GraphAutodiffBase<GraphAutodiff> {
  using GraphAutodiffBase::GraphAutodiffBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    PlantedError planted{testScaleRule, testScaleFactor};
    // Entries differentiated by their inputs (graph.wrt): <name>_grad.
    SmallVector<func::FuncOp> byInputs;
    for (auto f : module.getOps<func::FuncOp>())
      if (f->hasAttr(kiln::attr::kWrt) && !f.isExternal())
        byInputs.push_back(f);
    for (func::FuncOp f : byInputs) {
      auto inputs = f->getAttrOfType<ArrayAttr>(kiln::attr::kWrt);
      std::string gradName = f.getSymName().str() + "_grad";
      if (!inputs || inputs.empty() ||
          !llvm::all_of(inputs, [](Attribute a) { return isa<StringAttr>(a); })) {
        f.emitError(kiln::attr::kWrt) << " must be a non-empty array of input "
                                      << "names";
        return signalPassFailure();
      }
      if (symbols.lookup(gradName))
        continue;
      if (failed(differentiate(f, gradName, false, planted, inputs)))
        return signalPassFailure();
    }
    // A model trained in alternating steps has loss_<step> entries, each
    // differentiated into grad_<step>; its `loss` is then only evaluated.
    SmallVector<func::FuncOp> steps;
    if (entry == "loss")
      for (auto f : module.getOps<func::FuncOp>())
        if (f.getSymName().starts_with("loss_") && !f.isExternal() &&
            f.isPublic())
          steps.push_back(f);
    for (func::FuncOp loss : steps) {
      std::string gradName =
          "grad_" + loss.getSymName().drop_front(5).str();
      if (symbols.lookup(gradName))
        continue;
      if (failed(differentiate(loss, gradName, wrtInputs, planted)))
        return signalPassFailure();
    }
    if (!steps.empty())
      return;
    auto loss = symbols.lookup<func::FuncOp>(entry);
    if (!loss || loss.isExternal() || symbols.lookup("grad"))
      return;
    if (failed(differentiate(loss, "grad", wrtInputs, planted)))
      return signalPassFailure();
  }
};

} // namespace
