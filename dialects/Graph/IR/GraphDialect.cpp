//===- GraphDialect.cpp - Registration of the graph dialect ---------------===//

#include "dialects/Graph/IR/GraphDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"

using namespace mlir;
using namespace kiln::graph;

#include "dialects/Graph/IR/GraphEnums.cpp.inc"
#include "dialects/Graph/IR/GraphInterfaces.cpp.inc"
#include "dialects/Graph/IR/GraphOpsDialect.cpp.inc"

void GraphDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Graph/IR/GraphOps.cpp.inc"
      >();
}

Operation *GraphDialect::materializeConstant(OpBuilder &builder,
                                             Attribute value, Type type,
                                             Location loc) {
  auto elements = llvm::dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return builder.create<ConstantOp>(loc, type, elements);
}

//===----------------------------------------------------------------------===//
// Op facts read by the passes
//===----------------------------------------------------------------------===//

const char *kiln::graph::kernelKindName(KernelKind kind) {
  switch (kind) {
  case KernelKind::Elementwise:
    return "elementwise";
  case KernelKind::Library:
    return "library";
  case KernelKind::Reduction:
    return "reduction";
  case KernelKind::Window:
    return "window";
  case KernelKind::Data:
    return "data";
  case KernelKind::Attention:
    return "attention";
  case KernelKind::Random:
    return "random";
  case KernelKind::Contraction:
    return "contraction";
  case KernelKind::None:
    return "none";
  }
  return "";
}

namespace {
template <KernelKind Kind> bool hasKind(OperationName name) {
  return name.hasTrait<kiln::graph::OpTrait::KernelKindIs<Kind>::template Impl>();
}
template <Activation Act> bool isActivation(OperationName name) {
  return name.hasTrait<
      kiln::graph::OpTrait::LibraryActivationIs<Act>::template Impl>();
}
} // namespace

llvm::SmallVector<int64_t> kiln::graph::allDimsBut(int64_t rank, int64_t keep) {
  llvm::SmallVector<int64_t> dims;
  for (int64_t d = 0; d < rank; ++d)
    if (d != keep)
      dims.push_back(d);
  return dims;
}

std::optional<KernelKind> kiln::graph::kernelKindOf(Operation *op) {
  return kernelKindOf(op->getName());
}

std::optional<KernelKind> kiln::graph::kernelKindOf(OperationName name) {
  for (auto [has, kind] :
       {std::pair{&hasKind<KernelKind::Elementwise>, KernelKind::Elementwise},
        std::pair{&hasKind<KernelKind::Library>, KernelKind::Library},
        std::pair{&hasKind<KernelKind::Reduction>, KernelKind::Reduction},
        std::pair{&hasKind<KernelKind::Window>, KernelKind::Window},
        std::pair{&hasKind<KernelKind::Data>, KernelKind::Data},
        std::pair{&hasKind<KernelKind::Attention>, KernelKind::Attention},
        std::pair{&hasKind<KernelKind::Random>, KernelKind::Random},
        std::pair{&hasKind<KernelKind::Contraction>, KernelKind::Contraction},
        std::pair{&hasKind<KernelKind::None>, KernelKind::None}})
    if (has(name))
      return kind;
  return std::nullopt;
}

std::optional<std::pair<Activation, double>>
kiln::graph::libraryActivationOf(Operation *op) {
  std::optional<Activation> act = libraryActivationOf(op->getName());
  if (!act)
    return std::nullopt;
  auto alpha = op->getAttrOfType<FloatAttr>("alpha");
  return std::pair{*act, alpha ? alpha.getValueAsDouble() : 0.0};
}

std::optional<Activation> kiln::graph::libraryActivationOf(OperationName name) {
  for (auto [is, act] :
       {std::pair{&isActivation<Activation::relu>, Activation::relu},
        std::pair{&isActivation<Activation::leaky_relu>, Activation::leaky_relu},
        std::pair{&isActivation<Activation::gelu>, Activation::gelu},
        std::pair{&isActivation<Activation::silu>, Activation::silu},
        std::pair{&isActivation<Activation::sigmoid>, Activation::sigmoid},
        std::pair{&isActivation<Activation::tanh>, Activation::tanh}})
    if (is(name))
      return act;
  return std::nullopt;
}
