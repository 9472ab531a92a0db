//===- GraphInterfaces.td - Interfaces of graph ops -----------------------===//

#ifndef KILN_GRAPH_INTERFACES
#define KILN_GRAPH_INTERFACES

include "mlir/IR/OpBase.td"

def Graph_GradientOpInterface : OpInterface<"GradientOpInterface"> {
  let cppNamespace = "::kiln::graph";
  let description = [{
    An op that knows its vector-Jacobian product: given the gradients of the
    loss with respect to its results, it builds graph ops computing the
    gradients with respect to its operands. The rules are kept together by
    op family, one short function each: ElementwiseGradients.cpp,
    ReductionGradients.cpp, ContractionGradients.cpp, ShapeGradients.cpp and
    ModelGradients.cpp.
  }];
  let methods = [
    InterfaceMethod<[{
        Builds the gradient of every operand from `resultGradients` (one per
        result; null where a result does not reach the loss). Fills
        `operandGradients` with one value per operand, null for operands
        that are not differentiable (integers, masks, running statistics).
      }], "::llvm::LogicalResult", "buildGradients",
      (ins "::mlir::OpBuilder &":$builder,
           "::mlir::ValueRange":$resultGradients,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGradients)>,
  ];
}

#endif // KILN_GRAPH_INTERFACES
