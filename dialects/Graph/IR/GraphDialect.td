//===- GraphDialect.td - The graph dialect and its base classes -----------===//

#ifndef KILN_GRAPH_DIALECT
#define KILN_GRAPH_DIALECT

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "dialects/Graph/IR/GraphInterfaces.td"

def Graph_Dialect : Dialect {
  let name = "graph";
  let cppNamespace = "::kiln::graph";
  let summary = "Model-level tensor dataflow with static shapes";
  let description = [{
    The `graph` dialect holds a model as value-semantic tensor dataflow: one
    op per model-level operation (a convolution, a layer norm, a
    cross-entropy), every shape static and inferred from the operands, every
    parameter a function argument named by its PyTorch `state_dict` key.
    Autodiff, fusion and code generation start from here.
  }];
  let hasConstantMaterializer = 1;
  // Attributes live in the attribute dictionary: result types are inferred
  // while parsing, before properties exist, and the inference reads them.
  let usePropertiesForAttributes = 0;
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

// Type constraints. Every tensor has a static shape.
def Graph_FloatTensor : StaticShapeTensorOf<[F16, BF16, F32, F64]>;
def Graph_IntTensor : StaticShapeTensorOf<[I32, I64]>;
def Graph_BoolTensor : StaticShapeTensorOf<[I1]>;
def Graph_NumericTensor : StaticShapeTensorOf<[F16, BF16, F32, F64, I32, I64]>;
def Graph_AnyTensor : StaticShapeTensorOf<[F16, BF16, F32, F64, I1, I32, I64]>;
def Graph_SeedTensor : 0DTensorOf<[I64]> {
  let builderCall = "::mlir::RankedTensorType::get({}, $_builder.getI64Type())";
}

// An op differentiable everywhere except where an operand crosses a branch
// point: ReLU's 0, a tie of a maximum, floor's integers, a comparison's
// boundary. Finite differences across such a point see a kink, not the
// derivative; the gradient check asks for these ops to name a kink's owner.
def Graph_Piecewise : NativeOpTrait<"Piecewise"> {
  let cppNamespace = "::kiln::graph::OpTrait";
}

// Base class of every graph op: pure value semantics.
class Graph_Op<string mnemonic, list<Trait> traits = []>
    : Op<Graph_Dialect, mnemonic, !listconcat(traits, [Pure])>;

// An op whose result types come from `inferReturnTypes` (in C++, backed by
// the shape rules of GraphShapes.h), so IR never spells result types.
class Graph_InferredOp<string mnemonic, list<Trait> traits = []>
    : Graph_Op<mnemonic, !listconcat(traits, [InferTypeOpAdaptor])>;

#endif // KILN_GRAPH_DIALECT
