//===- EmitGraphIR.cpp - DSL graphs to the graph dialect ------------------===//
//
// The only file of the DSL that sees MLIR. Every node becomes the op it
// names, with attributes converted one to one; locations carry the module
// path and the user's file and line. The result is verified.
//
//===----------------------------------------------------------------------===//

#include "kiln/Program.h"

#include "dialects/Graph/IR/GraphDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>

using namespace mlir;

namespace kiln {
namespace {

class Emitter {
public:
  explicit Emitter(MLIRContext &context) : context_(context), b_(&context) {}

  Type elementType(DType dtype) {
    switch (dtype) {
    case DType::F32:
      return b_.getF32Type();
    case DType::F64:
      return b_.getF64Type();
    case DType::I1:
      return b_.getI1Type();
    case DType::I32:
      return b_.getI32Type();
    case DType::I64:
      return b_.getI64Type();
    }
    return {};
  }

  RankedTensorType tensorType(const Graph::Value &v) {
    return RankedTensorType::get(v.shape, elementType(v.dtype));
  }

  Attribute elementAttr(Type element, double value) {
    if (llvm::isa<FloatType>(element))
      return b_.getFloatAttr(element, value);
    return b_.getIntegerAttr(element, static_cast<int64_t>(value));
  }

  Attribute convert(const AttrValue &attr, RankedTensorType resultType) {
    return std::visit(
        [&](const auto &v) -> Attribute {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, UnitAttr>)
            return b_.getUnitAttr();
          else if constexpr (std::is_same_v<T, bool>)
            return b_.getBoolAttr(v);
          else if constexpr (std::is_same_v<T, int64_t>)
            return b_.getI64IntegerAttr(v);
          else if constexpr (std::is_same_v<T, double>)
            return b_.getF64FloatAttr(v);
          else if constexpr (std::is_same_v<T, Shape>)
            return b_.getDenseI64ArrayAttr(v);
          else if constexpr (std::is_same_v<T, DType>)
            return TypeAttr::get(elementType(v));
          else if constexpr (std::is_same_v<T, EnumAttr>)
            return b_.getI64IntegerAttr(v.value);
          else {
            Type element = resultType.getElementType();
            if (v.values.size() == 1)
              return DenseElementsAttr::get(resultType,
                                            elementAttr(element, v.values[0]));
            SmallVector<Attribute> elements;
            for (double x : v.values)
              elements.push_back(elementAttr(element, x));
            return DenseElementsAttr::get(resultType, elements);
          }
        },
        attr);
  }

  Location location(const Graph &graph, const Node &node) {
    Location file = FileLineColLoc::get(&context_, node.loc.file,
                                        node.loc.line, 0);
    return NameLoc::get(
        b_.getStringAttr(node.scope.empty() ? graph.name() : node.scope),
        file);
  }

  void emit(ModuleOp module, const Graph &graph) {
    SmallVector<Type> argTypes, resultTypes;
    for (const Graph::Argument &a : graph.arguments())
      argTypes.push_back(tensorType(graph.value(a.value)));
    // Results: the entry point's outputs, then the buffers it updates.
    std::vector<const Graph::Output *> results;
    for (bool updates : {false, true})
      for (const Graph::Output &o : graph.outputs())
        if (o.update == updates)
          results.push_back(&o);
    for (const Graph::Output *o : results)
      resultTypes.push_back(tensorType(graph.value(o->value)));

    b_.setInsertionPointToEnd(module.getBody());
    auto func = b_.create<func::FuncOp>(
        NameLoc::get(b_.getStringAttr(graph.name())), graph.name(),
        b_.getFunctionType(argTypes, resultTypes));
    if (!graph.trainedParts().empty()) {
      SmallVector<Attribute> parts;
      for (const std::string &p : graph.trainedParts())
        parts.push_back(b_.getStringAttr(p));
      func->setAttr("graph.trains", b_.getArrayAttr(parts));
    }
    if (!graph.differentiatedInputs().empty()) {
      SmallVector<Attribute> inputs;
      for (const std::string &name : graph.differentiatedInputs())
        inputs.push_back(b_.getStringAttr(name));
      func->setAttr("graph.wrt", b_.getArrayAttr(inputs));
    }
    for (auto [i, a] : llvm::enumerate(graph.arguments())) {
      const char *kind = a.kind == ArgKind::Parameter ? "graph.param"
                         : a.kind == ArgKind::Buffer  ? "graph.buffer"
                                                      : "graph.input";
      func.setArgAttr(i, kind, b_.getStringAttr(a.name));
      if (!a.init.empty())
        func.setArgAttr(i, "graph.init", b_.getStringAttr(a.init));
    }
    for (auto [i, o] : llvm::enumerate(results)) {
      func.setResultAttr(i, "graph.output", b_.getStringAttr(o->name));
      if (o->update)
        func.setResultAttr(i, "graph.update", b_.getStringAttr(o->name));
    }

    Block *body = func.addEntryBlock();
    b_.setInsertionPointToEnd(body);
    std::vector<Value> values(graph.values().size());
    for (auto [i, a] : llvm::enumerate(graph.arguments()))
      values[a.value] = body->getArgument(i);

    for (const Node &node : graph.nodes()) {
      OperationState state(location(graph, node), node.op);
      for (int operand : node.operands)
        state.addOperands(values[operand]);
      for (int result : node.results)
        state.addTypes(tensorType(graph.value(result)));
      RankedTensorType first = tensorType(graph.value(node.results.front()));
      for (const auto &[name, attr] : node.attrs)
        state.addAttribute(name, convert(attr, first));
      Operation *op = b_.create(state);
      for (auto [i, result] : llvm::enumerate(node.results))
        values[result] = op->getResult(i);
    }
    SmallVector<Value> returned;
    for (const Graph::Output *o : results)
      returned.push_back(values[o->value]);
    b_.create<func::ReturnOp>(func.getLoc(), returned);
  }

private:
  MLIRContext &context_;
  OpBuilder b_;
};

} // namespace

std::string Program::emitGraphIR(bool debugInfo) const {
  MLIRContext context;
  context.loadDialect<graph::GraphDialect, func::FuncDialect>();
  std::string diagnostics;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    llvm::raw_string_ostream os(diagnostics);
    os << d.getLocation() << ": " << d << "\n";
    return success();
  });

  Emitter emitter(context);
  OwningOpRef<ModuleOp> module =
      ModuleOp::create(NameLoc::get(StringAttr::get(&context, name_)), name_);
  for (const auto &entry : entries_)
    emitter.emit(*module, *entry);
  if (failed(verify(*module)))
    throw GraphError(fmt::format("program '{}' does not verify (a bug in the "
                                 "DSL's checks):\n{}",
                                 name_, diagnostics));

  std::string text;
  llvm::raw_string_ostream os(text);
  OpPrintingFlags flags;
  if (debugInfo)
    flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false);
  module->print(os, flags);
  return text;
}

} // namespace kiln
