//===- GraphModelOps.td - Attention, losses and random numbers ------------===//

#ifndef KILN_GRAPH_MODEL_OPS
#define KILN_GRAPH_MODEL_OPS

include "dialects/Graph/IR/GraphDialect.td"
include "dialects/Graph/IR/GraphEnums.td"

def Graph_AttentionOp : Graph_InferredOp<"attention", [Graph_AttentionKernel, DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "Scaled dot-product attention";
  let description = [{
    `softmax(q k^T * scale + masks) v` for `q [..., Tq, D]`, `k [..., Tk, D]`,
    `v [..., Tk, Dv]`. `scale` defaults to `1/sqrt(D)`. With `causal`, query
    i attends to keys j <= i. The optional `i1` mask broadcasts to the scores
    `[..., Tq, Tk]`; false positions (padding) get no weight.

    ```mlir
    %o = graph.attention %q, %k, %v {causal}
        : tensor<32x4x64x32xf32>, tensor<32x4x64x32xf32>, tensor<32x4x64x32xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$query, Graph_FloatTensor:$key,
                       Graph_FloatTensor:$value,
                       Optional<Graph_BoolTensor>:$mask,
                       OptionalAttr<F64Attr>:$scale, UnitAttr:$causal);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`,` $mask^)? attr-dict `:` type($query) `,`
    type($key) `,` type($value) (`,` type($mask)^)?
  }];
  let extraClassDeclaration = [{
    /// The scale of the scores: `scale`, or 1/sqrt(D).
    double scaleOrDefault();
  }];
}

def Graph_AttentionGradOp : Graph_InferredOp<"attention_grad", [Graph_AttentionKernel]> {
  let summary = "The gradient of graph.attention, without the score matrix";
  let description = [{
    Given an attention's operands and attributes, its `result` and the
    gradient `result_grad` of that result, returns the gradients of `query`,
    `key` and `value`. graph-autodiff emits it for every `graph.attention`;
    where attention is not fused (the CPU by default),
    graph-decompose-attention-grad rewrites it as batch matmuls and a
    softmax, which materialise the `[..., Tq, Tk]` probabilities. Fused
    (`--fused-attention`, and always on the GPU), it becomes two loop nests
    that recompute the scores row by row: one per query row (its softmax
    statistics, `rowsum(result_grad * result)` and the query's gradient),
    one per key row (the key's and value's gradients).

    ```mlir
    %dq, %dk, %dv = graph.attention_grad %q, %k, %v, %o, %do {causal}
        : tensor<2x4x64x32xf32>, tensor<2x4x64x32xf32>, tensor<2x4x64x32xf32>,
          tensor<2x4x64x32xf32>, tensor<2x4x64x32xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$query, Graph_FloatTensor:$key,
                       Graph_FloatTensor:$value, Graph_FloatTensor:$result,
                       Graph_FloatTensor:$result_grad,
                       Optional<Graph_BoolTensor>:$mask,
                       OptionalAttr<F64Attr>:$scale, UnitAttr:$causal);
  let results = (outs Graph_FloatTensor:$query_grad,
                      Graph_FloatTensor:$key_grad,
                      Graph_FloatTensor:$value_grad);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $result `,` $result_grad (`mask` `(` $mask^ `:` type($mask) `)`)?
    attr-dict `:` type($query) `,` type($key) `,` type($value) `,`
    type($result) `,` type($result_grad)
  }];
  let extraClassDeclaration = [{
    /// The scale of the scores: `scale`, or 1/sqrt(D).
    double scaleOrDefault();
    /// The gradients as batch matmuls and a softmax (the unfused form):
    /// the query's, key's and value's, built before this op.
    ::mlir::SmallVector<::mlir::Value> decompose(::mlir::OpBuilder &builder);
  }];
}

def Graph_RecurrenceOp : Graph_InferredOp<"recurrence",
    [Graph_ContractionKernel, SameOperandsElementType, DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "A recurrent layer's loop over time: tanh RNN, LSTM or GRU";
  let description = [{
    Runs `cell` over the steps of `gates` `[B, T, G*H]`, the input projection
    `x W_ih^T + b_ih` of every step (one matmul for all steps, outside the
    loop), with the recurrent weight `weight` `[G*H, H]` and bias `bias`
    `[G*H]`, from the initial `state` `[B, S*H]` (zero when absent; S is 2
    for lstm, whose state is h then c, else 1). With `reverse` the steps run
    from the last to the first. PyTorch's gate order: lstm i, f, g, o; gru
    r, z, n with `n = tanh(gx_n + r * (W_hn h + b_hn))`.

    `hidden` `[B, T, H]` is the hidden state after each step, at that step's
    position. `saved` `[B, T, W*H]` holds what the gradient reads: tanh h
    (W = 1); lstm i, f, g, o after their activations and the cell state c
    (W = 5); gru r, z, n and `W_hn h + b_hn` (W = 4). The whole loop is one
    kernel: a call to the runtime's recurrence, whose steps are one matrix
    product and one fused pass over the gates each.

    ```mlir
    %h, %saved = graph.recurrence lstm %gx, %w, %b
        : tensor<64x28x512xf32>, tensor<512x128xf32>, tensor<512xf32>
    ```
  }];
  let arguments = (ins Graph_RecurrentCell:$cell, Graph_FloatTensor:$gates,
                       Graph_FloatTensor:$weight, Graph_FloatTensor:$bias,
                       Optional<Graph_FloatTensor>:$state, UnitAttr:$reverse);
  let results = (outs Graph_FloatTensor:$hidden, Graph_FloatTensor:$saved);
  let assemblyFormat = [{
    $cell $gates `,` $weight `,` $bias (`,` $state^)? attr-dict `:`
    type($gates) `,` type($weight) `,` type($bias) (`,` type($state)^)?
  }];
}

def Graph_RecurrenceGradOp : Graph_InferredOp<"recurrence_grad",
    [Graph_ContractionKernel, SameOperandsElementType]> {
  let summary = "The gradient of graph.recurrence: backpropagation through time";
  let description = [{
    Given a recurrence's `weight`, initial `state`, results `hidden` and
    `saved`, and the gradients `hidden_grad` and `saved_grad` of those
    results, runs the steps backwards and returns the gradients of the
    recurrence's `gates`, `weight`, `bias` and `state`. Only the cell-state
    part of `saved_grad` is read, and only for lstm (the forward exposes c
    through `saved`); for the other cells it must be zero.

    ```mlir
    %dgx, %dw, %db, %ds = graph.recurrence_grad lstm %w, %s0, %h, %saved, %dh, %dsaved
        : tensor<512x128xf32>, tensor<64x256xf32>, tensor<64x28x128xf32>,
          tensor<64x28x640xf32>, tensor<64x28x128xf32>, tensor<64x28x640xf32>
    ```
  }];
  let arguments = (ins Graph_RecurrentCell:$cell, Graph_FloatTensor:$weight,
                       Graph_FloatTensor:$state, Graph_FloatTensor:$hidden,
                       Graph_FloatTensor:$saved, Graph_FloatTensor:$hidden_grad,
                       Graph_FloatTensor:$saved_grad, UnitAttr:$reverse);
  let results = (outs Graph_FloatTensor:$gates_grad,
                      Graph_FloatTensor:$weight_grad,
                      Graph_FloatTensor:$bias_grad,
                      Graph_FloatTensor:$state_grad);
  let assemblyFormat = [{
    $cell $weight `,` $state `,` $hidden `,` $saved `,` $hidden_grad `,`
    $saved_grad attr-dict `:` type($weight) `,` type($state) `,`
    type($hidden) `,` type($saved) `,` type($hidden_grad) `,` type($saved_grad)
  }];
}

def Graph_CrossEntropyOp : Graph_ShapeRuleOp<"cross_entropy",
    [{ shapes::crossEntropy(s[0], s[1], static_cast<shapes::Reduction>(adaptor.getReduction())) }],
    [Graph_ReductionKernel, DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = "Softmax cross-entropy with class indices";
  let description = [{
    `-log_softmax(logits)[n, labels[n]]` per row of `[N, C]` logits, then
    reduced (`none`, `sum` or `mean`).

    ```mlir
    %loss = graph.cross_entropy mean %logits, %labels : tensor<64x10xf32>, tensor<64xi64>
    ```
  }];
  let arguments = (ins Graph_LossReduction:$reduction,
                       Graph_FloatTensor:$logits, Graph_IntTensor:$labels);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $reduction $logits `,` $labels attr-dict `:` type($logits) `,` type($labels)
  }];
}

class Graph_ElementwiseLossOp<string mnemonic, string formula>
    : Graph_InferredOp<mnemonic, [SameOperandsElementType, Graph_ReductionKernel, DeclareOpInterfaceMethods<Graph_GradientOpInterface>]> {
  let summary = formula # " loss";
  let description = "The " # formula # [{ loss of two tensors of one shape,
    elementwise, then reduced (`none`, `sum` or `mean` over all elements).

    ```mlir
    %loss = graph.}] # mnemonic # [{ mean %pred, %target : tensor<64x1x28x28xf32>, tensor<64x1x28x28xf32>
    ```
  }];
  let arguments = (ins Graph_LossReduction:$reduction,
                       Graph_FloatTensor:$input, Graph_FloatTensor:$target);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $reduction $input `,` $target attr-dict `:` type($input) `,` type($target)
  }];
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *context, std::optional<::mlir::Location> loc,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      if (failed(verifyAttributes(adaptor, context, loc)))
        return ::mlir::failure();
      return inferElementwiseLossResult(loc, getOperationName(),
                                        adaptor.getReduction(),
                                        adaptor.getInput(), adaptor.getTarget(),
                                        types);
    }
  }];
}

def Graph_MseLossOp : Graph_ElementwiseLossOp<"mse_loss", "squared-error">;
def Graph_BceWithLogitsOp : Graph_ElementwiseLossOp<"bce_with_logits",
    "binary cross-entropy with logits">;

// Counter-based random numbers: the value at flat index i depends only on
// (seed, offset + i), so a run is reproducible and can resume at any step.
class Graph_RandomOp<string mnemonic, string distribution, Type resultType,
                     dag extraArgs, string exampleAttrs>
    : Graph_InferredOp<mnemonic, [Graph_RandomKernel]> {
  let summary = "Counter-based " # distribution # " random numbers";
  let description = "Samples `shape` values from " # distribution # [{ with a
    counter-based generator (Philox 4x32-10): element i is a pure function of
    `seed` and `offset + i`, so results are reproducible and a training run
    resumes exactly by passing the same seed and the saved offset. `seed` and
    `offset` are 0-d `i64` tensors so they can be runtime inputs.

    ```mlir
    %r = graph.}] # mnemonic # [{ %seed, %offset {shape = array<i64: 64, 20>, }]
    # exampleAttrs # [{}
    ```
  }];
  let arguments = !con((ins Graph_SeedTensor:$seed, Graph_SeedTensor:$offset,
                            DenseI64ArrayAttr:$shape, TypeAttr:$dtype),
                       extraArgs);
  let results = (outs resultType:$result);
  let assemblyFormat = "$seed `,` $offset attr-dict";
  let hasVerifier = 1;
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *context, std::optional<::mlir::Location> loc,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      if (failed(verifyAttributes(adaptor, context, loc)))
        return ::mlir::failure();
      return inferRandomResult(loc, getOperationName(), adaptor.getShape(),
                               adaptor.getDtype(), types);
    }
  }];
}

def Graph_RandomUniformOp : Graph_RandomOp<"random_uniform", "uniform",
    Graph_FloatTensor,
    (ins DefaultValuedAttr<F64Attr, "0.0">:$low,
         DefaultValuedAttr<F64Attr, "1.0">:$high),
    "dtype = f32, low = -1.0 : f64, high = 1.0 : f64">;
def Graph_RandomNormalOp : Graph_RandomOp<"random_normal", "normal",
    Graph_FloatTensor,
    (ins DefaultValuedAttr<F64Attr, "0.0">:$mean,
         DefaultValuedAttr<F64Attr, "1.0">:$stddev),
    "dtype = f32">;
def Graph_RandomIntegersOp : Graph_RandomOp<"random_integers",
    "uniform integer", Graph_IntTensor,
    (ins I64Attr:$low, I64Attr:$high),
    "dtype = i64, low = 0 : i64, high = 96 : i64">;

#endif // KILN_GRAPH_MODEL_OPS
