//===- GraphContractionOps.td - Matmul, convolution and pooling -----------===//

#ifndef KILN_GRAPH_CONTRACTION_OPS
#define KILN_GRAPH_CONTRACTION_OPS

include "dialects/Graph/IR/GraphDialect.td"

def Graph_MatmulOp : Graph_ShapeRuleOp<"matmul",
    [{ shapes::matmul(s[0], s[1], adaptor.getTransposeLhs(), adaptor.getTransposeRhs()) }],
    [Graph_LibraryKernel, SameOperandsElementType,
    DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "Matrix product of two rank-2 tensors";
  let description = [{
    `[M, K] x [K, N] -> [M, N]`. `transpose_lhs` / `transpose_rhs` read an
    operand transposed without materializing it, so a PyTorch `Linear`
    (`x W^T`, weight `[out, in]`) is one op.

    ```mlir
    %h = graph.matmul %x, %w {transpose_rhs} : tensor<128x784xf32>, tensor<256x784xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$lhs, Graph_FloatTensor:$rhs,
                       UnitAttr:$transpose_lhs, UnitAttr:$transpose_rhs);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs)";
}

def Graph_BatchMatmulOp : Graph_ShapeRuleOp<"batch_matmul",
    [{ shapes::batchMatmul(s[0], s[1], adaptor.getTransposeLhs(), adaptor.getTransposeRhs()) }],
    [Graph_ContractionKernel, SameOperandsElementType, DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "Batched matrix product";
  let description = [{
    `[..., M, K] x [..., K, N] -> [..., M, N]` with equal leading (batch)
    dimensions; either operand may be read transposed in its last two
    dimensions, as attention's `q k^T` needs.

    ```mlir
    %s = graph.batch_matmul %q, %k {transpose_rhs} : tensor<32x4x64x32xf32>, tensor<32x4x64x32xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$lhs, Graph_FloatTensor:$rhs,
                       UnitAttr:$transpose_lhs, UnitAttr:$transpose_rhs);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs)";
}

def Graph_Conv2DOp : Graph_ShapeRuleOp<"conv2d",
    [{ shapes::conv2d(s[0], s[1], s.size() > 2 ? &s[2] : nullptr, shapeAttrOr(adaptor.getStridesAttr(), {1, 1}), shapeAttrOr(adaptor.getPaddingAttr(), {0, 0}), shapeAttrOr(adaptor.getDilationAttr(), {1, 1}), intAttrOr(adaptor.getGroupsAttr(), 1), static_cast<bool>(adaptor.getChannelsLastAttr())) }],
    [Graph_LibraryKernel, SameOperandsElementType,
    DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "2-D convolution, NCHW, PyTorch weight layout";
  let description = [{
    Cross-correlation of an `[N, C, H, W]` input with an `[O, C/groups, KH,
    KW]` weight, plus an optional `[O]` bias. `padding` is symmetric, as in
    PyTorch; `strides`, `padding` and `dilation` have one value per spatial
    dimension. Output size: `(H + 2p - d(K - 1) - 1) / s + 1`. With
    `channels_last`, input and result are `[N, H, W, C]` (graph-channels-last
    sets it after autodiff; such an op has no gradient rule).

    ```mlir
    %y = graph.conv2d %x, %w, %b {padding = array<i64: 1, 1>}
        : tensor<64x1x28x28xf32>, tensor<32x1x3x3xf32>, tensor<32xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$weight,
      Optional<Graph_FloatTensor>:$bias,
      DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$strides,
      DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0}">:$padding,
      DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$dilation,
      DefaultValuedAttr<I64Attr, "1">:$groups, UnitAttr:$channels_last);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,`
    type($weight) (`,` type($bias)^)?
  }];
}

def Graph_ConvTranspose2DOp : Graph_ShapeRuleOp<"conv_transpose2d",
    [{ shapes::convTranspose2d(s[0], s[1], s.size() > 2 ? &s[2] : nullptr, shapeAttrOr(adaptor.getStridesAttr(), {1, 1}), shapeAttrOr(adaptor.getPaddingAttr(), {0, 0}), shapeAttrOr(adaptor.getOutputPaddingAttr(), {0, 0}), shapeAttrOr(adaptor.getDilationAttr(), {1, 1}), intAttrOr(adaptor.getGroupsAttr(), 1), static_cast<bool>(adaptor.getChannelsLastAttr())) }],
    [Graph_ContractionKernel, SameOperandsElementType, DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "2-D transposed convolution, NCHW, PyTorch weight layout";
  let description = [{
    The gradient of `graph.conv2d` with respect to its input, used as a
    layer: input `[N, C, H, W]`, weight `[C, O/groups, KH, KW]`, optional
    bias `[O]`. Output size: `(H - 1)s - 2p + d(K - 1) + output_padding + 1`.
    With `channels_last`, input and result are `[N, H, W, C]`.

    ```mlir
    %y = graph.conv_transpose2d %x, %w {strides = array<i64: 2, 2>, padding = array<i64: 1, 1>}
        : tensor<64x128x7x7xf32>, tensor<128x64x4x4xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$weight,
      Optional<Graph_FloatTensor>:$bias,
      DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$strides,
      DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0}">:$padding,
      DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0}">:$output_padding,
      DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$dilation,
      DefaultValuedAttr<I64Attr, "1">:$groups, UnitAttr:$channels_last);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,`
    type($weight) (`,` type($bias)^)?
  }];
}

def Graph_Conv2DWeightGradOp : Graph_ShapeRuleOp<"conv2d_weight_grad",
    [{ shapes::conv2dWeightGrad(s[0], s[1], shapeAttr(adaptor.getKernel()), shapeAttrOr(adaptor.getStridesAttr(), {1, 1}), shapeAttrOr(adaptor.getPaddingAttr(), {0, 0}), shapeAttrOr(adaptor.getDilationAttr(), {1, 1}), intAttrOr(adaptor.getGroupsAttr(), 1), static_cast<bool>(adaptor.getChannelsLastAttr())) }],
                                                [Graph_ContractionKernel, SameOperandsElementType]> {
  let summary = "The gradient of 2-D convolution with respect to its weight";
  let description = [{
    For `graph.conv2d` of an `[N, C, H, W]` input with an `[O, C/groups, KH,
    KW]` weight (`kernel` holds `[KH, KW]`), the weight's gradient given
    `result_grad`, the `[N, O, OH, OW]` gradient of the convolution's
    result: each weight tap summed over the batch and the output positions,
    input times output gradient. The other attributes are those of the
    convolution. The autodiff pass creates it; it has no gradient of its own.
    With `channels_last`, the input and `result_grad` are `[N, H, W, C]`.

    ```mlir
    %dw = graph.conv2d_weight_grad %x, %dy {kernel = array<i64: 3, 3>, padding = array<i64: 1, 1>}
        : tensor<64x16x28x28xf32>, tensor<64x32x28x28xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$result_grad,
      DenseI64ArrayAttr:$kernel,
      DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$strides,
      DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0}">:$padding,
      DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$dilation,
      DefaultValuedAttr<I64Attr, "1">:$groups, UnitAttr:$channels_last);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $result_grad attr-dict `:` type($input) `,` type($result_grad)
  }];
}

def Graph_MaxPool2DOp : Graph_ShapeRuleOp<"max_pool2d",
    [{ shapes::pool2d(s[0], shapeAttr(adaptor.getKernel()), shapeAttr(adaptor.getStrides()), shapeAttrOr(adaptor.getPaddingAttr(), {0, 0}), static_cast<bool>(adaptor.getChannelsLastAttr())) }],
    [Graph_WindowKernel, Graph_Piecewise, DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "2-D max pooling, NCHW";
  let description = [{
    Maximum over `kernel` windows moved by `strides`; `padding` (at most half
    the kernel) counts as -infinity. With `channels_last` (set by
    graph-channels-last) input and result are `[N, H, W, C]`, as for the
    other window ops here.

    ```mlir
    %y = graph.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}
        : tensor<64x32x28x28xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$input, DenseI64ArrayAttr:$kernel,
      DenseI64ArrayAttr:$strides,
      DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0}">:$padding,
      UnitAttr:$channels_last);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Graph_AvgPool2DOp : Graph_ShapeRuleOp<"avg_pool2d",
    [{ shapes::pool2d(s[0], shapeAttr(adaptor.getKernel()), shapeAttr(adaptor.getStrides()), shapeAttrOr(adaptor.getPaddingAttr(), {0, 0}), static_cast<bool>(adaptor.getChannelsLastAttr())) }],
    [Graph_WindowKernel, DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "2-D average pooling, NCHW";
  let description = [{
    Mean over `kernel` windows moved by `strides`. With `count_include_pad`
    (PyTorch's default) padded zeros count in the divisor.

    ```mlir
    %y = graph.avg_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}
        : tensor<64x36x28x28xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$input, DenseI64ArrayAttr:$kernel,
      DenseI64ArrayAttr:$strides,
      DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0}">:$padding,
      DefaultValuedAttr<BoolAttr, "true">:$count_include_pad,
      UnitAttr:$channels_last);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Graph_MaxPool2DGradOp : Graph_ShapeRuleOp<"max_pool2d_grad",
    [{ shapes::poolGrad(s[0], s[1], shapeAttr(adaptor.getKernel()), shapeAttr(adaptor.getStrides()), shapeAttrOr(adaptor.getPaddingAttr(), {0, 0}), static_cast<bool>(adaptor.getChannelsLastAttr())) }],
                                             [Graph_WindowKernel, SameOperandsElementType]> {
  let summary = "The gradient of 2-D max pooling with respect to its input";
  let description = [{
    Routes each element of `result_grad` (the pooled shape) to the first
    maximum of its window in `input`, as PyTorch does, adding where windows
    overlap. Attributes as in `graph.max_pool2d`.

    ```mlir
    %dx = graph.max_pool2d_grad %x, %dy {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}
        : tensor<64x32x28x28xf32>, tensor<64x32x14x14xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$result_grad,
      DenseI64ArrayAttr:$kernel, DenseI64ArrayAttr:$strides,
      DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0}">:$padding,
      UnitAttr:$channels_last);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $result_grad attr-dict `:` type($input) `,` type($result_grad)
  }];
}

def Graph_GlobalAvgPool2DOp : Graph_ShapeRuleOp<"global_avg_pool2d",
    [{ shapes::globalPool2d(s[0], static_cast<bool>(adaptor.getChannelsLastAttr())) }],
    [Graph_WindowKernel, DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "Mean over the spatial dimensions, NCHW";
  let description = [{
    `[N, C, H, W] -> [N, C, 1, 1]`, PyTorch's `AdaptiveAvgPool2d(1)`;
    `[N, H, W, C] -> [N, 1, 1, C]` with `channels_last`.

    ```mlir
    %y = graph.global_avg_pool2d %x : tensor<64x64x7x7xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$input, UnitAttr:$channels_last);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

#endif // KILN_GRAPH_CONTRACTION_OPS
