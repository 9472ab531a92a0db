//===- GraphTrainStep.cpp - Forward, backward and optimizer in one entry --===//

#include "dialects/Graph/Transforms/Passes.h"
#include "dialects/Graph/IR/AttributeNames.h"
#include "dialects/Graph/IR/GraphShapes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/CSE.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>
#include <limits>
#include <tuple>

namespace kiln::graph {
#define GEN_PASS_DEF_GRAPHTRAINSTEP
#include "dialects/Graph/Transforms/Passes.h.inc"
} // namespace kiln::graph

using namespace mlir;
using namespace kiln::graph;

namespace {

/// Graph-op arithmetic at one location (scalars are 0-d constants).
struct Math {
  OpBuilder &b;
  Location loc;
  Type elt;

  Value c(double v) {
    auto type = RankedTensorType::get({}, elt);
    return b.create<ConstantOp>(
        loc, type, DenseElementsAttr::get(type, b.getFloatAttr(elt, v)));
  }
  Value add(Value x, Value y) { return b.create<AddOp>(loc, x, y); }
  Value sub(Value x, Value y) { return b.create<SubOp>(loc, x, y); }
  Value mul(Value x, Value y) { return b.create<MulOp>(loc, x, y); }
  Value div(Value x, Value y) { return b.create<DivOp>(loc, x, y); }
  Value sqrt(Value x) { return b.create<SqrtOp>(loc, x); }
  Value sumAll(Value x) {
    auto type = llvm::cast<RankedTensorType>(x.getType());
    SmallVector<int64_t> dims;
    for (int64_t d = 0; d < type.getRank(); ++d)
      dims.push_back(d);
    return dims.empty() ? x : b.create<ReduceSumOp>(loc, x, dims, false).getResult();
  }
};

struct GraphTrainStep : kiln::graph::impl::GraphTrainStepBase<GraphTrainStep> {
  using GraphTrainStepBase::GraphTrainStepBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    // grad -> train_step; for alternating steps, grad_<step> ->
    // train_step_<step>, each with an optimizer of its own.
    SmallVector<std::pair<func::FuncOp, std::string>> work;
    for (auto f : module.getOps<func::FuncOp>()) {
      StringRef name = f.getSymName();
      if (f.isExternal() || (name != "grad" && !name.starts_with("grad_")))
        continue;
      std::string step = "train_step" + name.drop_front(4).str();
      if (!symbols.lookup(step))
        work.push_back({f, step});
    }
    if (work.empty())
      return;
    if (optimizer != "sgd" && optimizer != "adam" && optimizer != "adamw") {
      module.emitError("optimizer must be sgd, adam or adamw, got '")
          << optimizer << "'";
      return signalPassFailure();
    }
    if (schedule != "constant" && schedule != "step" && schedule != "cosine") {
      module.emitError("schedule must be constant, step or cosine, got '")
          << schedule << "'";
      return signalPassFailure();
    }
    if (failed(checkNumbers(module)))
      return signalPassFailure();
    for (auto &[grad, step] : work)
      if (failed(build(grad, step)))
        return signalPassFailure();
    // Alternating steps also run as one train_step, in the order of the
    // train_step_<s> entries (the order a training run calls them).
    SmallVector<func::FuncOp> steps;
    for (auto f : module.getOps<func::FuncOp>())
      if (f.getSymName().starts_with("train_step_") && !f.isExternal())
        steps.push_back(f);
    if (steps.size() > 1 && !symbols.lookup("train_step") &&
        failed(chain(steps)))
      return signalPassFailure();
  }

  /// Every numeric option in its range: NaN, infinities and negative rates
  /// would train nothing, silently.
  LogicalResult checkNumbers(ModuleOp module) {
    auto number = [&](const char *name, double value, double low,
                      bool lowOpen, double high,
                      bool highOpen) -> LogicalResult {
      bool above = lowOpen ? value > low : value >= low;
      bool below = highOpen ? value < high : value <= high;
      if (above && below && std::isfinite(value))
        return success();
      using kiln::shapes::number;
      return module.emitError("graph-train-step: ")
             << name << " must be in " << (lowOpen ? "(" : "[") << number(low)
             << ", " << number(high) << (highOpen ? ")" : "]") << ", got "
             << number(value);
    };
    constexpr double inf = std::numeric_limits<double>::infinity();
    if (failed(number("lr", lr, 0, /*lowOpen=*/true, inf, true)) ||
        failed(number("momentum", momentum, 0, false, 1, true)) ||
        failed(number("weight-decay", weightDecay, 0, false, inf, true)) ||
        failed(number("beta1", beta1, 0, false, 1, true)) ||
        failed(number("beta2", beta2, 0, false, 1, true)) ||
        failed(number("epsilon", epsilon, 0, true, inf, true)) ||
        failed(number("gamma", gamma, 0, true, inf, true)) ||
        failed(number("clip-norm", clipNorm, 0, false, inf, true)))
      return failure();
    for (auto [name, value, low] :
         {std::tuple{"step-size", int64_t(stepSize), int64_t(1)},
          std::tuple{"warmup-steps", int64_t(warmupSteps), int64_t(0)},
          std::tuple{"total-steps", int64_t(totalSteps), int64_t(1)}})
      if (value < low)
        return module.emitError("graph-train-step: ")
               << name << " must be at least " << low << ", got " << value;
    return success();
  }

  /// The optimizer's update of `params` (with their optimizer `state_`,
  /// kind by kind, and the step count) by `gradients`, at the builder's
  /// insertion point: the new parameters and state.
  void emitUpdate(OpBuilder &b, Location loc, Type elt, ArrayRef<Value> params,
                  ArrayRef<Value> state_, Value stepCount,
                  SmallVector<Value> gradients, ArrayRef<std::string> names,
                  SmallVector<Value> &newParams, SmallVector<Value> newState[2]) {
    Math m{b, loc, elt};
    size_t n = params.size();
    auto param = [&](size_t k) { return params[k]; };
    auto state = [&](size_t kind, size_t k) { return state_[kind * n + k]; };
    Value t = b.create<CastOp>(loc, stepCount, TypeAttr::get(elt));

    // Learning rate at step t.
    Value rate = m.c(lr);
    if (schedule == "step") {
      Value k = b.create<FloorOp>(loc, m.div(t, m.c(double(stepSize))));
      rate = m.mul(rate, b.create<PowOp>(loc, m.c(gamma), k));
    } else if (schedule == "cosine") {
      double warm = double(std::max<int64_t>(warmupSteps, 0));
      double span = std::max(1.0, double(totalSteps) - warm);
      Value warmFactor = m.div(m.add(t, m.c(1)), m.c(std::max(warm, 1.0)));
      Value progress = b.create<MinimumOp>(
          loc, m.div(m.sub(t, m.c(warm)), m.c(span)), m.c(1));
      Value cosine = m.mul(
          m.c(0.5), m.add(m.c(1), b.create<CosOp>(loc, m.mul(progress, m.c(M_PI)))));
      Value warming = b.create<CompareOp>(loc, ComparePredicate::lt, t, m.c(warm));
      rate = m.mul(rate, b.create<SelectOp>(loc, warming, warmFactor, cosine));
    }

    // Global-norm clipping.
    if (clipNorm > 0) {
      Value total = m.c(0);
      for (Value g : gradients)
        total = m.add(total, m.sumAll(m.mul(g, g)));
      Value coef = m.div(m.c(clipNorm), m.add(m.sqrt(total), m.c(1e-6)));
      coef = b.create<MinimumOp>(loc, coef, m.c(1));
      for (Value &g : gradients)
        g = m.mul(g, coef);
    }

    Value rateOfLoss = rate, tOfLoss = t;
    for (size_t k = 0; k < n; ++k) {
      Value p = param(k), g = gradients[k];
      // Each parameter updates in its own precision.
      Type pElt = llvm::cast<RankedTensorType>(p.getType()).getElementType();
      // Located as "<optimizer> update of <param>", so messages about the
      // update's kernels name the parameter.
      Location updateLoc = NameLoc::get(
          b.getStringAttr(optimizer + " update of " + names[k]),
          loc);
      Math m{b, updateLoc, pElt};
      Value rate = pElt == elt ? rateOfLoss
                               : b.create<CastOp>(loc, rateOfLoss,
                                                  TypeAttr::get(pElt))
                                     .getResult();
      Value t = pElt == elt ? tOfLoss
                            : b.create<CastOp>(loc, tOfLoss, TypeAttr::get(pElt))
                                  .getResult();
      if (optimizer == "sgd") {
        if (weightDecay != 0)
          g = m.add(g, m.mul(p, m.c(weightDecay)));
        if (momentum != 0) {
          Value buffer = m.add(m.mul(state(0, k), m.c(momentum)), g);
          newState[0].push_back(buffer);
          g = nesterov ? m.add(g, m.mul(buffer, m.c(momentum))) : buffer;
        }
        newParams.push_back(m.sub(p, m.mul(g, rate)));
        continue;
      }
      if (optimizer == "adam" && weightDecay != 0)
        g = m.add(g, m.mul(p, m.c(weightDecay)));
      if (optimizer == "adamw" && weightDecay != 0)
        p = m.mul(p, m.sub(m.c(1), m.mul(rate, m.c(weightDecay))));
      Value mt = m.add(m.mul(state(0, k), m.c(beta1)), m.mul(g, m.c(1 - beta1)));
      Value vt = m.add(m.mul(state(1, k), m.c(beta2)),
                       m.mul(m.mul(g, g), m.c(1 - beta2)));
      Value t1 = m.add(t, m.c(1));
      Value bias1 = m.sub(m.c(1), b.create<PowOp>(loc, m.c(beta1), t1));
      Value bias2 = m.sub(m.c(1), b.create<PowOp>(loc, m.c(beta2), t1));
      // p - lr * (m / bias1) / (sqrt(v / bias2) + eps), as torch.optim.Adam.
      Value denom = m.add(m.sqrt(m.div(vt, bias2)), m.c(epsilon));
      newParams.push_back(m.sub(p, m.div(m.mul(m.div(mt, bias1), rate), denom)));
      newState[0].push_back(mt);
      newState[1].push_back(vt);
    }
  }

  LogicalResult build(func::FuncOp grad, StringRef stepName) {
    Location loc = grad.getLoc();
    OpBuilder b(grad);
    b.setInsertionPointAfter(grad);

    auto paramName = [&](unsigned i) {
      return grad.getArgAttrOfType<StringAttr>(i, kiln::attr::kParam).str();
    };
    // Trained parameters, and the result of grad holding each one's
    // gradient (grad.<param>). Without graph.trains every parameter is
    // trained; with it, those without a gradient are constants here.
    bool partial = static_cast<bool>(grad->getAttr(kiln::attr::kTrains));
    SmallVector<unsigned> params, gradResults;
    for (unsigned i = 0; i < grad.getNumArguments(); ++i) {
      if (!grad.getArgAttrOfType<StringAttr>(i, kiln::attr::kParam))
        continue;
      unsigned found = 0;
      for (unsigned r = 1; r < grad.getNumResults(); ++r)
        if (auto name = grad.getResultAttrOfType<StringAttr>(r, kiln::attr::kOutput);
            name && name.str() == "grad." + paramName(i))
          found = r;
      if (!found && partial)
        continue;
      if (!found)
        return grad.emitError() << grad.getSymName()
                                << " returns no gradient for parameter '"
                                << paramName(i) << "'";
      params.push_back(i);
      gradResults.push_back(found);
    }
    // train_step counts its steps in optimizer.step, train_step_<s> in
    // optimizer.<s>.step.
    std::string counter =
        stepName == "train_step"
            ? std::string("optimizer.step")
            : "optimizer." + stepName.drop_front(11).str() + ".step";
    Type elt =
        llvm::cast<RankedTensorType>(grad.getResultTypes()[0]).getElementType();

    // Signature: parameters, optimizer state, step, then the other arguments.
    SmallVector<std::string> stateKinds;
    if (optimizer == "sgd" && momentum != 0)
      stateKinds = {"sgd.momentum."};
    if (optimizer != "sgd")
      stateKinds = {"adam.m.", "adam.v."};
    SmallVector<Type> argTypes, resultTypes{grad.getResultTypes()[0]};
    SmallVector<std::pair<std::string, std::string>> argNames; // attr, name
    for (unsigned i : params) {
      argTypes.push_back(grad.getArgument(i).getType());
      argNames.push_back({kiln::attr::kParam.str(), paramName(i)});
    }
    for (const std::string &kind : stateKinds)
      for (unsigned i : params) {
        argTypes.push_back(grad.getArgument(i).getType());
        argNames.push_back({kiln::attr::kBuffer.str(), kind + paramName(i)});
      }
    auto stepType = RankedTensorType::get({}, b.getI64Type());
    argTypes.push_back(stepType);
    argNames.push_back({kiln::attr::kBuffer.str(), counter});
    unsigned firstOther = argTypes.size();
    SmallVector<unsigned> others;
    for (unsigned i = 0; i < grad.getNumArguments(); ++i)
      if (!llvm::is_contained(params, i)) {
        others.push_back(i);
        argTypes.push_back(grad.getArgument(i).getType());
      }
    // Results: the loss, then every parameter and state, updated, then the
    // model's buffers that grad updates (batch norm's running statistics).
    for (size_t i = 0; i < argNames.size(); ++i)
      resultTypes.push_back(argTypes[i]);
    SmallVector<unsigned> updateResults;
    for (unsigned r = 1; r < grad.getNumResults(); ++r) {
      auto buffer = grad.getResultAttrOfType<StringAttr>(r, kiln::attr::kUpdate);
      if (!buffer)
        continue;
      bool found = llvm::any_of(others, [&](unsigned i) {
        auto name = grad.getArgAttrOfType<StringAttr>(i, kiln::attr::kBuffer);
        return name == buffer &&
               grad.getArgument(i).getType() == grad.getResultTypes()[r];
      });
      if (!found)
        return grad.emitError("grad updates '")
               << buffer.getValue() << "', which is not a buffer argument of "
               << "the same type";
      updateResults.push_back(r);
      resultTypes.push_back(grad.getResultTypes()[r]);
    }

    auto step = b.create<func::FuncOp>(
        loc, stepName, b.getFunctionType(argTypes, resultTypes));
    for (auto [i, names] : llvm::enumerate(argNames))
      step.setArgAttr(i, names.first, b.getStringAttr(names.second));
    for (auto [k, i] : llvm::enumerate(params))
      if (auto init = grad.getArgAttrOfType<StringAttr>(i, kiln::attr::kInit))
        step.setArgAttr(k, kiln::attr::kInit, init);
    for (auto [k, i] : llvm::enumerate(others))
      step.setArgAttrs(firstOther + k, grad.getArgAttrDict(i));
    step.setResultAttr(0, kiln::attr::kOutput, b.getStringAttr("loss"));
    // Each updated parameter and state may be updated in place.
    for (auto [i, names] : llvm::enumerate(argNames)) {
      step.setResultAttr(i + 1, kiln::attr::kOutput, b.getStringAttr(names.second));
      step.setResultAttr(i + 1, kiln::attr::kUpdate, b.getStringAttr(names.second));
    }
    for (auto [k, r] : llvm::enumerate(updateResults))
      step.setResultAttrs(1 + argNames.size() + k, grad.getResultAttrDict(r));

    // Forward and backward: grad's body on train_step's arguments.
    Block *body = step.addEntryBlock();
    b.setInsertionPointToStart(body);
    IRMapping mapping;
    for (auto [k, i] : llvm::enumerate(params))
      mapping.map(grad.getArgument(i), body->getArgument(k));
    for (auto [k, i] : llvm::enumerate(others))
      mapping.map(grad.getArgument(i), body->getArgument(firstOther + k));
    for (Operation &op : grad.getBody().front().without_terminator())
      b.clone(op, mapping);
    auto gradReturn = llvm::cast<func::ReturnOp>(
        grad.getBody().front().getTerminator());
    SmallVector<Value> gradients;
    for (unsigned r : gradResults)
      gradients.push_back(mapping.lookup(gradReturn.getOperand(r)));
    Value loss = mapping.lookup(gradReturn.getOperand(0));

    size_t n = params.size();
    SmallVector<Value> paramValues, stateValues;
    for (size_t k = 0; k < n; ++k)
      paramValues.push_back(body->getArgument(k));
    for (size_t k = 0; k < n * stateKinds.size(); ++k)
      stateValues.push_back(body->getArgument(n + k));
    Value stepCount = body->getArgument(n * (1 + stateKinds.size()));
    SmallVector<std::string> names;
    for (unsigned i : params)
      names.push_back(paramName(i));
    SmallVector<Value> newParams, newState[2];
    emitUpdate(b, loc, elt, paramValues, stateValues, stepCount, gradients,
               names, newParams, newState);
    Value one = b.create<ConstantOp>(
        loc, stepType, DenseElementsAttr::get(stepType, b.getI64IntegerAttr(1)));
    SmallVector<Value> returned{loss};
    returned.append(newParams);
    for (size_t kind = 0; kind < stateKinds.size(); ++kind)
      returned.append(newState[kind]);
    returned.push_back(b.create<AddOp>(loc, stepCount, one));
    for (unsigned r : updateResults)
      returned.push_back(mapping.lookup(gradReturn.getOperand(r)));
    b.create<func::ReturnOp>(loc, returned);

    // apply_step (apply_step_<s>): the optimizer alone, on gradients given
    // as inputs grad.<param>. A data-parallel run calls grad, averages the
    // gradients across its processes, then calls this.
    std::string applyName = "apply_step" + stepName.drop_front(10).str();
    b.setInsertionPointAfter(step);
    SmallVector<Type> applyArgs(argTypes.begin(), argTypes.begin() + firstOther);
    for (unsigned i : params)
      applyArgs.push_back(grad.getArgument(i).getType());
    SmallVector<Type> applyResults(argTypes.begin(),
                                   argTypes.begin() + firstOther);
    auto apply = b.create<func::FuncOp>(
        loc, applyName, b.getFunctionType(applyArgs, applyResults));
    for (auto [i, names] : llvm::enumerate(argNames)) {
      apply.setArgAttr(i, names.first, b.getStringAttr(names.second));
      apply.setResultAttr(i, kiln::attr::kOutput, b.getStringAttr(names.second));
      apply.setResultAttr(i, kiln::attr::kUpdate, b.getStringAttr(names.second));
    }
    for (auto [k, i] : llvm::enumerate(params)) {
      if (auto init = grad.getArgAttrOfType<StringAttr>(i, kiln::attr::kInit))
        apply.setArgAttr(k, kiln::attr::kInit, init);
      apply.setArgAttr(firstOther + k, kiln::attr::kInput,
                       b.getStringAttr("grad." + paramName(i)));
    }
    Block *applyBody = apply.addEntryBlock();
    b.setInsertionPointToStart(applyBody);
    SmallVector<Value> applyParams, applyState, applyGradients;
    for (size_t k = 0; k < n; ++k) {
      applyParams.push_back(applyBody->getArgument(k));
      applyGradients.push_back(applyBody->getArgument(firstOther + k));
    }
    for (size_t k = 0; k < n * stateKinds.size(); ++k)
      applyState.push_back(applyBody->getArgument(n + k));
    Value applyCount = applyBody->getArgument(n * (1 + stateKinds.size()));
    SmallVector<Value> appliedParams, appliedState[2];
    emitUpdate(b, loc, elt, applyParams, applyState, applyCount,
               applyGradients, names, appliedParams, appliedState);
    SmallVector<Value> applied(appliedParams);
    for (size_t kind = 0; kind < stateKinds.size(); ++kind)
      applied.append(appliedState[kind]);
    Value applyOne = b.create<ConstantOp>(
        loc, stepType, DenseElementsAttr::get(stepType, b.getI64IntegerAttr(1)));
    applied.push_back(b.create<AddOp>(loc, applyCount, applyOne));
    b.create<func::ReturnOp>(loc, applied);
    return success();
  }

  /// The name an entry's argument has in the manifest (its parameter,
  /// buffer or input name); empty if it has none.
  static std::string argumentName(func::FuncOp f, unsigned i) {
    for (StringRef attr :
         {kiln::attr::kParam, kiln::attr::kBuffer, kiln::attr::kInput})
      if (auto name = f.getArgAttrOfType<StringAttr>(i, attr))
        return name.str();
    return "";
  }

  /// `train_step` of a model trained in alternating steps (gan's
  /// discriminator, then generator): the steps in turn, each on the
  /// parameters, state and buffers the steps before it updated, so it
  /// computes what calling them one after the other computes. Its arguments
  /// are the steps' by name, its loss their losses' sum, its results every
  /// value a step updates (the last step's, where several do).
  ///
  /// In one function, what the steps compute alike is computed once: the
  /// generator's forward pass on the batch's latents, which the
  /// discriminator's step needs as its fake images and the generator's
  /// step differentiates.
  LogicalResult chain(ArrayRef<func::FuncOp> steps) {
    func::FuncOp first = steps.front(), last = steps.back();
    OpBuilder b(last);
    b.setInsertionPointAfter(last);
    Location loc = first.getLoc();

    SmallVector<std::string> argNames;
    SmallVector<Type> argTypes;
    SmallVector<DictionaryAttr> argAttrs;
    llvm::StringMap<unsigned> argIndex;
    for (func::FuncOp step : steps)
      for (unsigned i = 0; i < step.getNumArguments(); ++i) {
        std::string name = argumentName(step, i);
        if (name.empty())
          return step.emitError()
                 << step.getSymName() << "'s argument #" << i << " has no name";
        Type type = step.getArgument(i).getType();
        auto [it, added] = argIndex.try_emplace(name, argNames.size());
        if (added) {
          argNames.push_back(name);
          argTypes.push_back(type);
          argAttrs.push_back(step.getArgAttrDict(i));
        } else if (argTypes[it->second] != type) {
          return step.emitError()
                 << step.getSymName() << "'s argument '" << name
                 << "' has type " << type << " where an earlier step's has "
                 << argTypes[it->second];
        }
      }
    Type lossType = first.getResultTypes()[0];
    auto whole = b.create<func::FuncOp>(loc, "train_step",
                                        b.getFunctionType(argTypes, {}));
    for (auto [i, attrs] : llvm::enumerate(argAttrs))
      whole.setArgAttrs(i, attrs);
    Block *body = whole.addEntryBlock();
    b.setInsertionPointToStart(body);

    // Each name's value so far; the names updated, in first-update order,
    // with the attributes of their last update's result.
    llvm::StringMap<Value> current;
    for (auto [i, name] : llvm::enumerate(argNames))
      current[name] = body->getArgument(i);
    SmallVector<std::string> updated;
    llvm::StringMap<DictionaryAttr> updateAttrs;
    Value loss;
    for (func::FuncOp step : steps) {
      if (step.getResultTypes()[0] != lossType)
        return step.emitError() << step.getSymName() << "'s loss has type "
                                << step.getResultTypes()[0] << ", "
                                << first.getSymName() << "'s " << lossType;
      IRMapping mapping;
      for (unsigned i = 0; i < step.getNumArguments(); ++i)
        mapping.map(step.getArgument(i), current[argumentName(step, i)]);
      for (Operation &op : step.getBody().front().without_terminator())
        b.clone(op, mapping);
      auto ret = cast<func::ReturnOp>(step.getBody().front().getTerminator());
      Value stepLoss = mapping.lookup(ret.getOperand(0));
      loss = loss ? b.create<AddOp>(loc, loss, stepLoss).getResult() : stepLoss;
      for (unsigned r = 1; r < ret.getNumOperands(); ++r) {
        auto name =
            step.getResultAttrOfType<StringAttr>(r, kiln::attr::kUpdate);
        if (!name || !current.count(name.getValue()))
          return step.emitError() << step.getSymName() << "'s result #" << r
                                  << " updates no argument";
        if (!updateAttrs.count(name.getValue()))
          updated.push_back(name.str());
        updateAttrs[name.getValue()] = step.getResultAttrDict(r);
        current[name.getValue()] = mapping.lookup(ret.getOperand(r));
      }
    }
    SmallVector<Value> returned{loss};
    SmallVector<Type> resultTypes{lossType};
    for (const std::string &name : updated) {
      returned.push_back(current[name]);
      resultTypes.push_back(current[name].getType());
    }
    b.create<func::ReturnOp>(loc, returned);
    whole.setType(b.getFunctionType(argTypes, resultTypes));
    whole.setResultAttr(0, kiln::attr::kOutput, b.getStringAttr("loss"));
    for (auto [k, name] : llvm::enumerate(updated))
      whole.setResultAttrs(k + 1, updateAttrs[name]);

    // Share what the steps compute alike. A later step's batch norm whose
    // running statistics nobody reads (the generator's step keeps them)
    // computes the earlier one's result: in training mode it normalizes by
    // the batch's statistics alone, whatever running statistics it is
    // given. Each merge lets the ops after it merge in turn.
    IRRewriter rewriter(b.getContext());
    for (bool merged = true; merged;) {
      DominanceInfo dominance(whole);
      eliminateCommonSubExpressions(rewriter, dominance, whole);
      merged = false;
      SmallVector<BatchNormTrainingOp> seen;
      for (auto norm :
           llvm::make_early_inc_range(body->getOps<BatchNormTrainingOp>())) {
        auto same = llvm::find_if(seen, [&](BatchNormTrainingOp earlier) {
          return earlier.getInput() == norm.getInput() &&
                 earlier.getWeight() == norm.getWeight() &&
                 earlier.getBias() == norm.getBias() &&
                 earlier.getEpsilon() == norm.getEpsilon() &&
                 earlier.getChannelsLast() == norm.getChannelsLast();
        });
        if (same == seen.end() || !norm.getNewRunningMean().use_empty() ||
            !norm.getNewRunningVar().use_empty()) {
          seen.push_back(norm);
          continue;
        }
        rewriter.replaceAllUsesWith(norm.getResult(), same->getResult());
        rewriter.eraseOp(norm);
        merged = true;
      }
    }
    return success();
  }
};

} // namespace
