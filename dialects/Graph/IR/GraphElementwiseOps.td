//===- GraphElementwiseOps.td - Elementwise and broadcasting ops ----------===//

#ifndef KILN_GRAPH_ELEMENTWISE_OPS
#define KILN_GRAPH_ELEMENTWISE_OPS

include "dialects/Graph/IR/GraphDialect.td"
include "dialects/Graph/IR/GraphEnums.td"

//===----------------------------------------------------------------------===//
// Constants and casts
//===----------------------------------------------------------------------===//

def Graph_ConstantOp : Graph_Op<"constant",
    [Graph_NoKernel, ConstantLike, AllTypesMatch<["value", "result"]>]> {
  let summary = "A constant tensor";
  let description = [{
    Materializes a dense constant. The result type is the attribute's type.

    ```mlir
    %zero = graph.constant dense<0.0> : tensor<4x8xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Graph_AnyTensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

def Graph_CastOp : Graph_InferredOp<"cast", [Graph_ElementwiseKernel, DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "Converts the element type of a tensor";
  let description = [{
    Converts every element to `dtype`, keeping the shape: floats round to
    nearest, floats to integers truncate toward zero, i1 gives 0 or 1.

    ```mlir
    %f = graph.cast %labels : tensor<64xi64> to f32
    ```
  }];
  let arguments = (ins Graph_AnyTensor:$input, TypeAttr:$dtype);
  let results = (outs Graph_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` $dtype";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Unary elementwise math
//===----------------------------------------------------------------------===//

class Graph_UnaryOp<string mnemonic, string formula, list<Trait> traits = []>
    : Graph_Op<mnemonic, !listconcat(traits, [SameOperandsAndResultType,
          Graph_ElementwiseKernel,
          DeclareOpInterfaceMethods<Graph_GradientOpInterface>])> {
  let summary = "Elementwise " # formula;
  let description = "Computes `" # formula # [{` for every element; the result
    has the operand's type.

    ```mlir
    %y = graph.}] # mnemonic # [{ %x : tensor<64x256xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$input);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Graph_NegOp : Graph_UnaryOp<"neg", "-x"> { let hasFolder = 1; }
def Graph_AbsOp : Graph_UnaryOp<"abs", "|x|", [Graph_Piecewise]>;
def Graph_ExpOp : Graph_UnaryOp<"exp", "exp(x)">;
def Graph_LogOp : Graph_UnaryOp<"log", "log(x)">;
def Graph_SqrtOp : Graph_UnaryOp<"sqrt", "sqrt(x)">;
def Graph_RsqrtOp : Graph_UnaryOp<"rsqrt", "1 / sqrt(x)">;
def Graph_SinOp : Graph_UnaryOp<"sin", "sin(x)">;
def Graph_CosOp : Graph_UnaryOp<"cos", "cos(x)">;
def Graph_TanhOp : Graph_UnaryOp<"tanh", "tanh(x)", [Graph_LibraryActivation<"tanh">]>;
def Graph_ErfOp : Graph_UnaryOp<"erf", "erf(x)">;
def Graph_FloorOp : Graph_UnaryOp<"floor", "floor(x)", [Graph_Piecewise]>;
def Graph_SigmoidOp : Graph_UnaryOp<"sigmoid", "1 / (1 + exp(-x))", [Graph_LibraryActivation<"sigmoid">]>;
def Graph_ReluOp : Graph_UnaryOp<"relu", "max(x, 0)", [Graph_Piecewise, Graph_LibraryActivation<"relu">]>;
def Graph_GeluOp : Graph_UnaryOp<"gelu", "x * (1 + erf(x / sqrt(2))) / 2 (exact GELU)", [Graph_LibraryActivation<"gelu">]>;
def Graph_SiluOp : Graph_UnaryOp<"silu", "x * sigmoid(x)", [Graph_LibraryActivation<"silu">]>;

def Graph_LeakyReluOp : Graph_Op<"leaky_relu", [Graph_ElementwiseKernel, Graph_LibraryActivation<"leaky_relu">, SameOperandsAndResultType, Graph_Piecewise,
    DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "Elementwise leaky ReLU";
  let description = [{
    `x` where `x >= 0`, else `alpha * x`.

    ```mlir
    %y = graph.leaky_relu %x {alpha = 2.0e-01 : f64} : tensor<64x128x7x7xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$input, F64Attr:$alpha);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Graph_ClampOp : Graph_Op<"clamp", [Graph_ElementwiseKernel, SameOperandsAndResultType, Graph_Piecewise,
    DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "Elementwise clamp to [min, max]";
  let description = [{
    `min(max(x, min), max)`; `min` must not exceed `max`.

    ```mlir
    %y = graph.clamp %x {min = -1.0 : f64, max = 1.0 : f64} : tensor<8xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$input, F64Attr:$min, F64Attr:$max);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Binary elementwise math with numpy broadcasting
//===----------------------------------------------------------------------===//

class Graph_BinaryOp<string mnemonic, string formula, Type operandType,
                     list<Trait> traits = []>
    : Graph_InferredOp<mnemonic, !listconcat(traits, [Graph_ElementwiseKernel, DeclareOpInterfaceMethods<Graph_GradientOpInterface>])> {
  let summary = "Elementwise " # formula # " with broadcasting";
  let description = "Computes `" # formula # [{` elementwise. The operands have
    the same element type; their shapes broadcast as in numpy (trailing
    dimensions aligned, size 1 stretches).

    ```mlir
    %y = graph.}] # mnemonic # [{ %x, %b : tensor<64x256xf32>, tensor<256xf32>
    ```
  }];
  let arguments = (ins operandType:$lhs, operandType:$rhs);
  let results = (outs operandType:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs)";
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *context, std::optional<::mlir::Location> loc,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      if (failed(verifyAttributes(adaptor, context, loc)))
        return ::mlir::failure();
      return inferBroadcastResult(loc, getOperationName(),
                                  adaptor.getLhs().getType(),
                                  adaptor.getRhs().getType(), types);
    }
  }];
}

def Graph_AddOp : Graph_BinaryOp<"add", "lhs + rhs", Graph_NumericTensor,
                                 [Commutative]> { let hasFolder = 1; }
def Graph_SubOp : Graph_BinaryOp<"sub", "lhs - rhs", Graph_NumericTensor> {
  let hasFolder = 1;
}
def Graph_MulOp : Graph_BinaryOp<"mul", "lhs * rhs", Graph_NumericTensor,
                                 [Commutative]> { let hasFolder = 1; }
def Graph_DivOp : Graph_BinaryOp<"div", "lhs / rhs", Graph_FloatTensor> {
  let hasFolder = 1;
}
def Graph_PowOp : Graph_BinaryOp<"pow", "lhs ^ rhs", Graph_FloatTensor>;
def Graph_MaximumOp : Graph_BinaryOp<"maximum", "max(lhs, rhs)",
                                     Graph_NumericTensor, [Commutative, Graph_Piecewise]>;
def Graph_MinimumOp : Graph_BinaryOp<"minimum", "min(lhs, rhs)",
                                     Graph_NumericTensor, [Commutative, Graph_Piecewise]>;

def Graph_CompareOp : Graph_InferredOp<"compare", [Graph_ElementwiseKernel, Graph_Piecewise]> {
  let summary = "Elementwise comparison with broadcasting";
  let description = [{
    Compares elementwise with the predicate (`eq`, `ne`, `lt`, `le`, `gt`,
    `ge`); shapes broadcast as in `graph.add`; the result is `i1`.

    ```mlir
    %m = graph.compare lt, %u, %p : tensor<64x128xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins Graph_ComparePredicate:$predicate,
                       Graph_NumericTensor:$lhs, Graph_NumericTensor:$rhs);
  let results = (outs Graph_BoolTensor:$result);
  let assemblyFormat = [{
    $predicate `,` $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs)
  }];
}

def Graph_SelectOp : Graph_InferredOp<"select", [Graph_ElementwiseKernel, DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "Elementwise choice between two tensors";
  let description = [{
    `cond ? lhs : rhs` elementwise; all three shapes broadcast together.

    ```mlir
    %y = graph.select %m, %x, %zero : tensor<64x128xi1>, tensor<64x128xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins Graph_BoolTensor:$condition, Graph_AnyTensor:$lhs,
                       Graph_AnyTensor:$rhs);
  let results = (outs Graph_AnyTensor:$result);
  let assemblyFormat = [{
    $condition `,` $lhs `,` $rhs attr-dict `:` type($condition) `,` type($lhs)
    `,` type($rhs)
  }];
}

#endif // KILN_GRAPH_ELEMENTWISE_OPS
