//===- GraphReductionOps.td - Reductions, softmax and normalization -------===//

#ifndef KILN_GRAPH_REDUCTION_OPS
#define KILN_GRAPH_REDUCTION_OPS

include "dialects/Graph/IR/GraphDialect.td"

class Graph_ReduceOp<string mnemonic, string what, list<Trait> traits = []>
    : Graph_InferredOp<mnemonic, !listconcat(traits, [Graph_ReductionKernel, DeclareOpInterfaceMethods<Graph_GradientOpInterface>])> {
  let summary = "The " # what # " over some dimensions";
  let description = "Reduces `dims` (each in [-rank, rank), no repeats) by "
    # what # [{; with `keep_dims` they stay as size 1.

    ```mlir
    %s = graph.}] # mnemonic # [{ %x {dims = array<i64: 1>, keep_dims} : tensor<64x10xf32>
    ```
  }];
  let arguments = (ins Graph_NumericTensor:$input, DenseI64ArrayAttr:$dims,
                       UnitAttr:$keep_dims);
  let results = (outs Graph_NumericTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *context, std::optional<::mlir::Location> loc,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      if (failed(verifyAttributes(adaptor, context, loc)))
        return ::mlir::failure();
      return inferReduceResult(loc, getOperationName(), adaptor.getInput(),
                               adaptor.getDims(), adaptor.getKeepDims(), types);
    }
  }];
}

def Graph_ReduceSumOp : Graph_ReduceOp<"reduce_sum", "sum">;
def Graph_ReduceMeanOp : Graph_ReduceOp<"reduce_mean", "mean">;
def Graph_ReduceMaxOp : Graph_ReduceOp<"reduce_max", "maximum", [Graph_Piecewise]>;
def Graph_ReduceMinOp : Graph_ReduceOp<"reduce_min", "minimum", [Graph_Piecewise]>;

def Graph_ArgmaxOp : Graph_InferredOp<"argmax", [Graph_ReductionKernel]> {
  let summary = "Index of the largest element along a dimension";
  let description = [{
    The first index of the maximum along `dim`, as `i64`.

    ```mlir
    %pred = graph.argmax %logits {dim = 1 : i64} : tensor<64x10xf32>
    ```
  }];
  let arguments = (ins Graph_NumericTensor:$input, I64Attr:$dim,
                       UnitAttr:$keep_dims);
  let results = (outs StaticShapeTensorOf<[I64]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

class Graph_SoftmaxLikeOp<string mnemonic, string formula>
    : Graph_Op<mnemonic, [SameOperandsAndResultType, Graph_ReductionKernel, DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = formula # " along one axis";
  let description = "Computes " # formula # [{ along `axis` (default -1) in a
    numerically stable form (the maximum is subtracted first).

    ```mlir
    %p = graph.}] # mnemonic # [{ %scores {axis = -1 : i64} : tensor<32x4x64x64xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$input,
                       DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Graph_SoftmaxOp : Graph_SoftmaxLikeOp<"softmax", "softmax">;
def Graph_LogSoftmaxOp : Graph_SoftmaxLikeOp<"log_softmax", "log-softmax">;

def Graph_LayerNormOp : Graph_ShapeRuleOp<"layer_norm",
    [{ shapes::layerNorm(s[0], s[1], s[2]) }],
                                         [Graph_ReductionKernel, SameOperandsElementType, DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "Layer normalization over the trailing dimensions";
  let description = [{
    Normalizes over the trailing dimensions that `weight` spans (PyTorch's
    `normalized_shape`), with biased variance, then scales and shifts.

    ```mlir
    %y = graph.layer_norm %x, %g, %b {epsilon = 1.0e-05 : f64}
        : tensor<32x64x128xf32>, tensor<128xf32>, tensor<128xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$weight,
                       Graph_FloatTensor:$bias,
                       DefaultValuedAttr<F64Attr, "1e-5">:$epsilon);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias attr-dict `:` type($input) `,` type($weight)
    `,` type($bias)
  }];
}

def Graph_BatchNormTrainingOp : Graph_InferredOp<"batch_norm_training",
                                                 [Graph_ReductionKernel, SameOperandsElementType, DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "Batch normalization with batch statistics";
  let description = [{
    Normalizes `[N, C, ...]` per channel with the batch mean and biased
    variance, scales by `weight` and shifts by `bias`, and returns the updated
    running statistics: `(1 - momentum) * running + momentum * batch`, the
    variance unbiased (`n / (n - 1)`), as PyTorch. With `channels_last` the
    channel is the input's last dimension (`[N, H, W, C]`; set by
    graph-channels-last after autodiff).

    ```mlir
    %y, %mean, %var = graph.batch_norm_training %x, %g, %b, %rm, %rv
        {epsilon = 1.0e-05 : f64, momentum = 1.0e-01 : f64}
        : tensor<64x16x28x28xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$weight,
                       Graph_FloatTensor:$bias,
                       Graph_FloatTensor:$running_mean,
                       Graph_FloatTensor:$running_var,
                       DefaultValuedAttr<F64Attr, "1e-5">:$epsilon,
                       DefaultValuedAttr<F64Attr, "0.1">:$momentum,
                       UnitAttr:$channels_last);
  let results = (outs Graph_FloatTensor:$result,
                      Graph_FloatTensor:$new_running_mean,
                      Graph_FloatTensor:$new_running_var);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias `,` $running_mean `,` $running_var attr-dict
    `:` type($input) `,` type($weight) `,` type($bias) `,` type($running_mean)
    `,` type($running_var)
  }];
}

def Graph_BatchNormGradOp : Graph_InferredOp<"batch_norm_grad",
                                             [Graph_ReductionKernel, SameOperandsElementType]> {
  let summary = "The gradients of batch normalization with batch statistics";
  let description = [{
    Given the input `x` of a `graph.batch_norm_training`, the gradient `g` of
    its result and its `weight`, returns the gradients of its input, weight
    and bias (PyTorch's `native_batch_norm_backward`): with the batch mean
    `m` and biased variance `v` per channel, `r = 1/sqrt(v + epsilon)`, `N`
    the elements per channel and sums over all dimensions but the channel,

    - `dx = weight r (g - sum(g)/N - (x - m) r^2 sum(g (x - m))/N)`
    - `dweight = r sum(g (x - m))`, `dbias = sum(g)`.

    Autodiff emits it for `graph.batch_norm_training`; as one op it lowers to
    two passes over `x` and `g` in float32 (float64 sums of x, x^2, g and
    g x, from which the mean, the variance and both sums follow; `dx`) and
    three in other types (the mean; the variance and both sums; `dx`),
    where the same formula in elementwise ops and reductions writes and
    rereads several intermediates of the input's size. It has no gradient of
    its own. With `channels_last` the channel is the last dimension.

    ```mlir
    %dx, %dw, %db = graph.batch_norm_grad %x, %g, %w {epsilon = 1.0e-05 : f64}
        : tensor<64x16x28x28xf32>, tensor<64x16x28x28xf32>, tensor<16xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$grad,
                       Graph_FloatTensor:$weight,
                       DefaultValuedAttr<F64Attr, "1e-5">:$epsilon,
                       UnitAttr:$channels_last);
  let results = (outs Graph_FloatTensor:$input_grad,
                      Graph_FloatTensor:$weight_grad,
                      Graph_FloatTensor:$bias_grad);
  let assemblyFormat = [{
    $input `,` $grad `,` $weight attr-dict `:` type($input) `,` type($grad)
    `,` type($weight)
  }];
}

def Graph_BatchNormInferenceOp : Graph_ShapeRuleOp<"batch_norm_inference",
    [{ shapes::batchNorm(s[0], {s[1], s[2], s[3], s[4]}, static_cast<bool>(adaptor.getChannelsLastAttr())) }],
                                                  [Graph_ElementwiseKernel, SameOperandsElementType, DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "Batch normalization with running statistics";
  let description = [{
    `(x - mean) / sqrt(var + epsilon) * weight + bias` per channel of
    `[N, C, ...]` (or `[N, ..., C]` with `channels_last`): the evaluation
    form of batch norm.

    ```mlir
    %y = graph.batch_norm_inference %x, %g, %b, %rm, %rv {epsilon = 1.0e-05 : f64}
        : tensor<64x16x28x28xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$weight,
                       Graph_FloatTensor:$bias, Graph_FloatTensor:$mean,
                       Graph_FloatTensor:$variance,
                       DefaultValuedAttr<F64Attr, "1e-5">:$epsilon,
                       UnitAttr:$channels_last);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias `,` $mean `,` $variance attr-dict `:`
    type($input) `,` type($weight) `,` type($bias) `,` type($mean) `,`
    type($variance)
  }];
}

def Graph_GroupNormOp : Graph_ShapeRuleOp<"group_norm",
    [{ shapes::groupNorm(s[0], s[1], s[2], static_cast<int64_t>(adaptor.getNumGroups()), static_cast<bool>(adaptor.getChannelsLastAttr())) }],
                                         [Graph_ReductionKernel, SameOperandsElementType, DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "Group normalization";
  let description = [{
    Splits the channels of `[N, C, ...]` into `num_groups` groups, normalizes
    each group of each sample (biased variance), then applies the per-channel
    `weight` and `bias`. With `channels_last` the input is `[N, ..., C]`.

    ```mlir
    %y = graph.group_norm %x, %g, %b {num_groups = 8 : i64, epsilon = 1.0e-05 : f64}
        : tensor<64x32x28x28xf32>, tensor<32xf32>, tensor<32xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$weight,
                       Graph_FloatTensor:$bias, I64Attr:$num_groups,
                       DefaultValuedAttr<F64Attr, "1e-5">:$epsilon,
                       UnitAttr:$channels_last);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias attr-dict `:` type($input) `,` type($weight)
    `,` type($bias)
  }];
}

def Graph_GroupNormGradOp : Graph_InferredOp<"group_norm_grad",
                                             [Graph_ReductionKernel, SameOperandsElementType]> {
  let summary = "The gradients of group normalization";
  let description = [{
    Given the input `x` of a `graph.group_norm`, the gradient `g` of its
    result and its `weight`, returns the gradients of its input, weight and
    bias. Per sample and group, with mean `m`, biased variance `v`,
    `r = 1/sqrt(v + epsilon)`, `M` the group's elements and `x^ = (x - m) r`:

    - `dx = r (g w - sum(g w)/M - (x - m) r^2 sum(g w (x - m))/M)`, the sums
      over the group;
    - `dweight = sum(g x^)`, `dbias = sum(g)` per channel, over the batch and
      the spatial dimensions.

    Autodiff emits it for `graph.group_norm`; it lowers to three passes over
    `x` and `g` (the mean; per image and channel, the squared deviations,
    `g` and `g (x - m)`, from which the group sums and the weight's and
    bias's gradients follow; `dx`). It has no gradient of its own. With `channels_last` the
    input and gradient are `[N, ..., C]`.

    ```mlir
    %dx, %dw, %db = graph.group_norm_grad %x, %g, %w {num_groups = 8 : i64}
        : tensor<64x32x28x28xf32>, tensor<64x32x28x28xf32>, tensor<32xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$input, Graph_FloatTensor:$grad,
                       Graph_FloatTensor:$weight, I64Attr:$num_groups,
                       DefaultValuedAttr<F64Attr, "1e-5">:$epsilon,
                       UnitAttr:$channels_last);
  let results = (outs Graph_FloatTensor:$input_grad,
                      Graph_FloatTensor:$weight_grad,
                      Graph_FloatTensor:$bias_grad);
  let assemblyFormat = [{
    $input `,` $grad `,` $weight attr-dict `:` type($input) `,` type($grad)
    `,` type($weight)
  }];
}

#endif // KILN_GRAPH_REDUCTION_OPS
