//===- GraphShapeOps.td - Concat, slice, reshape, transpose, broadcast ----===//

#ifndef KILN_GRAPH_SHAPE_OPS
#define KILN_GRAPH_SHAPE_OPS

include "dialects/Graph/IR/GraphDialect.td"

def Graph_ConcatOp : Graph_ShapeRuleOp<"concat",
    [{ shapes::concat(std::vector<shapes::Shape>(s.begin(), s.end()), static_cast<int64_t>(adaptor.getAxis())) }],
    [Graph_DataKernel, SameOperandsElementType,
    DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "Concatenation along one axis";
  let description = [{
    Joins the inputs along `axis`; every other dimension must agree.

    ```mlir
    %y = graph.concat %a, %b {axis = 1 : i64} : tensor<64x24x28x28xf32>, tensor<64x12x28x28xf32>
    ```
  }];
  let arguments = (ins Variadic<Graph_AnyTensor>:$inputs, I64Attr:$axis);
  let results = (outs Graph_AnyTensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` type($inputs)";
}

def Graph_SliceOp : Graph_ShapeRuleOp<"slice",
    [{ shapes::slice(s[0], shapeAttr(adaptor.getStarts()), shapeAttr(adaptor.getLimits()), shapeAttr(adaptor.getStrides())) }],
    [Graph_DataKernel, DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "A strided box of a tensor";
  let description = [{
    Elements `starts[d], starts[d] + strides[d], ...` below `limits[d]` in
    every dimension d (`0 <= starts <= limits <= size`, `strides >= 1`).

    ```mlir
    %q = graph.slice %qkv {starts = array<i64: 0, 0>, limits = array<i64: 2048, 128>,
                            strides = array<i64: 1, 1>} : tensor<2048x384xf32>
    ```
  }];
  let arguments = (ins Graph_AnyTensor:$input, DenseI64ArrayAttr:$starts,
                       DenseI64ArrayAttr:$limits, DenseI64ArrayAttr:$strides);
  let results = (outs Graph_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Graph_ReshapeOp : Graph_ShapeRuleOp<"reshape",
    [{ shapes::reshape(s[0], shapeAttr(adaptor.getShape())) }],
    [Graph_NoKernel, DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "Reinterprets a tensor with another shape, row-major";
  let description = [{
    Same elements, same row-major order, new `shape` with the same number of
    elements.

    ```mlir
    %flat = graph.reshape %x {shape = array<i64: 64, 3136>} : tensor<64x64x7x7xf32>
    ```
  }];
  let arguments = (ins Graph_AnyTensor:$input, DenseI64ArrayAttr:$shape);
  let results = (outs Graph_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasFolder = 1;
}

def Graph_TransposeOp : Graph_ShapeRuleOp<"transpose",
    [{ shapes::transpose(s[0], shapeAttr(adaptor.getPermutation())) }],
    [Graph_DataKernel, DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "Permutes the dimensions of a tensor";
  let description = [{
    Result dimension i is input dimension `permutation[i]`.

    ```mlir
    %t = graph.transpose %x {permutation = array<i64: 0, 2, 1, 3>} : tensor<32x64x4x32xf32>
    ```
  }];
  let arguments = (ins Graph_AnyTensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs Graph_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasFolder = 1;
}

def Graph_BroadcastToOp : Graph_ShapeRuleOp<"broadcast_to",
    [{ shapes::broadcastTo(s[0], shapeAttr(adaptor.getShape())) }],
    [Graph_ElementwiseKernel, DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "Broadcasts a tensor to a shape";
  let description = [{
    Stretches size-1 dimensions and prepends leading ones, as numpy's
    `broadcast_to`.

    ```mlir
    %b = graph.broadcast_to %x {shape = array<i64: 64, 10>} : tensor<10xf32>
    ```
  }];
  let arguments = (ins Graph_AnyTensor:$input, DenseI64ArrayAttr:$shape);
  let results = (outs Graph_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasFolder = 1;
}

def Graph_OneHotOp : Graph_InferredOp<"one_hot", [Graph_ElementwiseKernel]> {
  let summary = "One-hot encoding of integer indices";
  let description = [{
    `indices [...] -> [..., num_classes]` of `dtype`: 1 where the last index
    equals the index, 0 elsewhere (also for indices outside the range).

    ```mlir
    %h = graph.one_hot %labels {num_classes = 10 : i64, dtype = f32} : tensor<64xi64>
    ```
  }];
  let arguments = (ins Graph_IntTensor:$indices, I64Attr:$num_classes,
                       TypeAttr:$dtype);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$indices attr-dict `:` type($indices)";
}

def Graph_EmbeddingOp : Graph_ShapeRuleOp<"embedding",
    [{ shapes::embedding(s[0], s[1]) }],
    [Graph_DataKernel, DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "Gathers rows of an embedding table";
  let description = [{
    `weight[indices]`: weight `[V, D]`, integer indices of any shape, result
    `indices.shape + [D]`. Indices outside [0, V) are a runtime error.

    ```mlir
    %e = graph.embedding %table, %tokens : tensor<96x128xf32>, tensor<32x64xi64>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$weight, Graph_IntTensor:$indices);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $weight `,` $indices attr-dict `:` type($weight) `,` type($indices)
  }];
}

#endif // KILN_GRAPH_SHAPE_OPS
