//===- GraphEnums.td - Enumerations of the graph dialect ------------------===//

#ifndef KILN_GRAPH_ENUMS
#define KILN_GRAPH_ENUMS

include "mlir/IR/EnumAttr.td"

def Graph_ComparePredicate : I64EnumAttr<"ComparePredicate",
    "elementwise comparison", [
  I64EnumAttrCase<"eq", 0>, I64EnumAttrCase<"ne", 1>,
  I64EnumAttrCase<"lt", 2>, I64EnumAttrCase<"le", 3>,
  I64EnumAttrCase<"gt", 4>, I64EnumAttrCase<"ge", 5>]> {
  let cppNamespace = "::kiln::graph";
}

// Values match kiln::shapes::Reduction.
def Graph_LossReduction : I64EnumAttr<"LossReduction",
    "how a loss reduces over the batch", [
  I64EnumAttrCase<"none", 0>, I64EnumAttrCase<"sum", 1>,
  I64EnumAttrCase<"mean", 2>]> {
  let cppNamespace = "::kiln::graph";
}

// The activation a library call (oneDNN matmul or convolution) applies in its
// epilogue. The values are the runtime's KILN_ACTIVATION_* codes
// (runtime/include/kiln/runtime/Library.h; a static_assert checks them).
def Graph_Activation : I64EnumAttr<"Activation",
    "activation applied in a library call's epilogue", [
  I64EnumAttrCase<"none", 0>, I64EnumAttrCase<"relu", 1>,
  I64EnumAttrCase<"leaky_relu", 2>, I64EnumAttrCase<"gelu", 3>,
  I64EnumAttrCase<"silu", 4>, I64EnumAttrCase<"sigmoid", 5>,
  I64EnumAttrCase<"tanh", 6>]> {
  let cppNamespace = "::kiln::graph";
}

// The cell of a graph.recurrence. Values match kiln::shapes::Cell and the
// runtime's KILN_CELL_* codes (runtime/include/kiln/runtime/Library.h).
def Graph_RecurrentCell : I64EnumAttr<"RecurrentCell",
    "the cell a recurrence applies at each step", [
  I64EnumAttrCase<"tanh", 0>, I64EnumAttrCase<"lstm", 1>,
  I64EnumAttrCase<"gru", 2>]> {
  let cppNamespace = "::kiln::graph";
}

#endif // KILN_GRAPH_ENUMS
