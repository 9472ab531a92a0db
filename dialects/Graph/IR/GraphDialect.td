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

// What graph-fuse makes of an op; every graph op has exactly one (graph-fuse
// rejects an op without). Elementwise ops fuse with their elementwise
// neighbours; a library op becomes kernel.matmul / kernel.conv2d with its
// epilogue; reductions (norms, softmax, losses), windows (pooling), data
// movement, attention, random numbers and contractions each get a kernel of
// their own; None: no kernel (constants, reshapes).
class Graph_KernelKind<string kind>
    : ParamNativeOpTrait<"KernelKindIs", "::kiln::graph::KernelKind::" # kind> {
  let cppNamespace = "::kiln::graph::OpTrait";
}
def Graph_ElementwiseKernel : Graph_KernelKind<"Elementwise">;
def Graph_LibraryKernel : Graph_KernelKind<"Library">;
def Graph_ReductionKernel : Graph_KernelKind<"Reduction">;
def Graph_WindowKernel : Graph_KernelKind<"Window">;
def Graph_DataKernel : Graph_KernelKind<"Data">;
def Graph_AttentionKernel : Graph_KernelKind<"Attention">;
def Graph_RandomKernel : Graph_KernelKind<"Random">;
def Graph_ContractionKernel : Graph_KernelKind<"Contraction">;
def Graph_NoKernel : Graph_KernelKind<"None">;

// The activation an elementwise op becomes when graph-fuse folds it into a
// library call's epilogue (oneDNN post-op); the lowering computes the op
// with the same formula (scalarActivation).
class Graph_LibraryActivation<string activation>
    : ParamNativeOpTrait<"LibraryActivationIs",
                         "::kiln::graph::Activation::" # activation> {
  let cppNamespace = "::kiln::graph::OpTrait";
}

// Base class of every graph op: pure value semantics.
class Graph_Op<string mnemonic, list<Trait> traits = []>
    : Op<Graph_Dialect, mnemonic, !listconcat(traits, [Pure])>;

// An op whose result types come from `inferReturnTypes` (in C++, backed by
// the shape rules of GraphShapes.h), so IR never spells result types.
class Graph_InferredOp<string mnemonic, list<Trait> traits = []>
    : Graph_Op<mnemonic, !listconcat(traits, [InferTypeOpAdaptor])>;

// An op whose one result has its first operand's element type and the shape
// `rule` gives: a GraphShapes.h call (the rules the DSL checks with) over
// `s`, the operands' shapes, and `adaptor`, the op's operands and
// attributes. Its `inferReturnTypes` is generated: attributes are checked
// first, operands must be statically shaped, and the rule's error is the
// op's. For example `[{ shapes::reshape(s[0], shapeAttr(adaptor.getShape())) }]`.
class Graph_ShapeRuleOp<string mnemonic, code rule, list<Trait> traits = []>
    : Graph_InferredOp<mnemonic, traits> {
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *context, std::optional<::mlir::Location> loc,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      if (failed(verifyAttributes(adaptor, context, loc)))
        return ::mlir::failure();
      return inferWithShapeRule(
          loc, getOperationName(), adaptor.getOperands(), types,
          [&](::llvm::ArrayRef<::kiln::shapes::Shape> s) {
            return }] # rule # [{;
          });
    }
  }];
}

#endif // KILN_GRAPH_DIALECT
