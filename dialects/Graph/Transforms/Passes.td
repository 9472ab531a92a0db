//===- Passes.td - Passes on the graph dialect ----------------------------===//

#ifndef KILN_GRAPH_PASSES
#define KILN_GRAPH_PASSES

include "mlir/Pass/PassBase.td"

def GraphFuse : Pass<"graph-fuse", "::mlir::func::FuncOp"> {
  let summary = "Partitions graph ops into kernels: fused regions and library calls";
  let description = [{
    Decides what runs as one kernel. `graph.matmul` and `graph.conv2d`
    become `kernel.matmul` / `kernel.conv2d` library calls that absorb the
    single-use chain after them: a bias add, a residual add, an activation.
    Elementwise and broadcasting ops fuse into `kernel.fused "elementwise"`
    regions, as large as possible without creating a cycle between kernels.
    An elementwise op that alone reads a normalization's result (batch,
    layer or group norm) at its own shape joins the norm's kernel instead,
    and so may the ops after it: the norm's last pass computes them too
    (batch norm, residual add, ReLU), and only their result is written.
    Every other op (reductions, softmax, norms, losses, pooling, data
    movement, attention, random numbers) becomes a single-op kernel of its
    kind. Constants are cloned into the kernels that use them; reshapes stay
    outside kernels (they are views).

    Before:
    ```mlir
    %0 = graph.matmul %x, %w {transpose_rhs} : tensor<128x784xf32>, tensor<256x784xf32>
    %1 = graph.add %0, %b : tensor<128x256xf32>, tensor<256xf32>
    %2 = graph.relu %1 : tensor<128x256xf32>
    %3 = graph.mul %2, %2 : tensor<128x256xf32>, tensor<128x256xf32>
    %4 = graph.exp %3 : tensor<128x256xf32>
    ```
    After:
    ```mlir
    %0 = kernel.matmul %x, %w bias(%b : tensor<256xf32>) activation(relu) {transpose_rhs} : ...
    %1 = kernel.fused "elementwise" (%0) : (tensor<128x256xf32>) -> tensor<128x256xf32> {
    ^bb0(%a: tensor<128x256xf32>):
      %2 = graph.mul %a, %a : ...
      %3 = graph.exp %2 : ...
      kernel.yield %3 : tensor<128x256xf32>
    }
    ```
  }];
  let options = [
    Option<"fuseEpilogues", "fuse-epilogues", "bool", /*default=*/"true",
           "Fold bias, residual and activation into library calls">,
    Option<"fuseElementwise", "fuse-elementwise", "bool", /*default=*/"true",
           "Fuse elementwise chains (off: one kernel per op)">,
  ];
  let dependentDialects = ["::kiln::kernel::KernelDialect"];
}

def GraphChannelsLast : Pass<"graph-channels-last", "::mlir::func::FuncOp"> {
  let summary = "Keeps float32 activations channels-last (NHWC) between convolutions";
  let description = [{
    oneDNN's convolutions run on NHWC activations. Every float32
    `graph.conv2d`, `graph.conv_transpose2d` and `graph.conv2d_weight_grad`
    gets `channels_last` operands, and the layout is carried forward through
    elementwise ops (whose rank-4 operands all have the result's shape),
    batch and group norm and pooling (`channels_last`), concatenations,
    slices, sums and broadcasts. A classifier's flatten feeding a weight
    with fewer rows than the batch (`x W^T` and the weight's gradient) reads
    the NHWC activation, the weight's columns permuted to match; the
    unflatten of its data gradient (`g W`) is NHWC too. A
    `graph.transpose` to NCHW is left only where a value meets an op that
    needs it (another reshape, a broadcast, a concatenation, a function
    result). Runs after autodiff: channels-last ops have no gradient rules.

    Before:
    ```mlir
    %0 = graph.conv2d %x, %w {padding = array<i64: 1, 1>} : tensor<64x16x28x28xf32>, tensor<16x16x3x3xf32>
    %1 = graph.relu %0 : tensor<64x16x28x28xf32>
    %2 = graph.conv2d %1, %w {padding = array<i64: 1, 1>} : tensor<64x16x28x28xf32>, tensor<16x16x3x3xf32>
    ```
    After (canonicalized):
    ```mlir
    %0 = graph.transpose %x {permutation = array<i64: 0, 2, 3, 1>} : tensor<64x16x28x28xf32>
    %1 = graph.conv2d %0, %w {channels_last, padding = array<i64: 1, 1>} : tensor<64x28x28x16xf32>, tensor<16x16x3x3xf32>
    %2 = graph.relu %1 : tensor<64x28x28x16xf32>
    %3 = graph.conv2d %2, %w {channels_last, padding = array<i64: 1, 1>} : tensor<64x28x28x16xf32>, tensor<16x16x3x3xf32>
    %4 = graph.transpose %3 {permutation = array<i64: 0, 3, 1, 2>} : tensor<64x28x28x16xf32>
    ```
  }];
}

def GraphDecomposeAttentionGrad
    : Pass<"graph-decompose-attention-grad", "::mlir::func::FuncOp"> {
  let summary = "Unfused attention gradients: batch matmuls and a softmax";
  let description = [{
    Rewrites each `graph.attention_grad` as the graph ops of its formula:
    the scores `q k^T * scale` recomputed with their masks, the softmax `P`,
    then `dV = P^T g`, `dS = P (g v^T - rowsum(P g v^T))`,
    `dQ = dS k * scale` and `dK = dS^T q * scale`. Kiln's CPU pipeline runs
    it unless attention is fused (`--fused-attention`): the batch matmuls
    become oneDNN calls, the softmax and elementwise ops fused kernels,
    with the `[..., Tq, Tk]` probabilities in memory. The GPU pipeline never
    runs it.

    Before:
    ```mlir
    %dq, %dk, %dv = graph.attention_grad %q, %k, %v, %o, %g
        : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>
    ```
    After (shortened):
    ```mlir
    %s = graph.batch_matmul %q, %k {transpose_rhs} : tensor<2x8x4xf32>, tensor<2x8x4xf32>
    %p = graph.softmax %ss {axis = -1} : tensor<2x8x8xf32>
    %dv = graph.batch_matmul %p, %g {transpose_lhs} : tensor<2x8x8xf32>, tensor<2x8x4xf32>
    ...
    ```
  }];
}

def GraphAutodiff : Pass<"graph-autodiff", "::mlir::ModuleOp"> {
  let summary = "Reverse-mode automatic differentiation of a loss function";
  let description = [{
    For the public function `entry` (default `loss`, one scalar float
    result), adds the public function `grad` with the same arguments that
    returns the loss and the gradient of every parameter (`graph.param`),
    named `grad.<param>`, and with `wrt-inputs` of every float input,
    named `grad.<input>`. The forward ops are cloned, then walked backward:
    each op's GradientOpInterface builds the gradients of its operands from
    those of its results; gradients of values used more than once are
    summed; integer values get none. A module without `entry`, or that
    already has `grad`, is left alone.

    Before:
    ```mlir
    func.func @loss(%w: tensor<4xf32> {graph.param = "w"}, %x: tensor<4xf32> {graph.input = "x"})
        -> (tensor<f32> {graph.output = "loss"}) {
      %0 = graph.mul %w, %x : tensor<4xf32>, tensor<4xf32>
      %1 = graph.reduce_sum %0 {dims = array<i64: 0>} : tensor<4xf32>
      return %1 : tensor<f32>
    }
    ```
    After (added):
    ```mlir
    func.func @grad(%w: ..., %x: ...) -> (tensor<f32> {graph.output = "loss"},
                                          tensor<4xf32> {graph.output = "grad.w"}) {
      %0 = graph.mul %w, %x ...
      %1 = graph.reduce_sum %0 ...
      %one = graph.constant dense<1.0> : tensor<f32>
      %2 = graph.broadcast_to %one {shape = array<i64: 4>} ...
      %3 = graph.mul %2, %x ...
      return %1, %3 : ...
    }
    ```
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"loss\"",
           "The function to differentiate">,
    Option<"wrtInputs", "wrt-inputs", "bool", /*default=*/"false",
           "Also return the gradients of float inputs">,
    Option<"testScaleRule", "test-scale-rule", "std::string",
           /*default=*/"\"\"",
           "Testing only: the op (e.g. graph.relu) whose gradient rule is "
           "deliberately wrong, its operand gradients scaled by "
           "test-scale-factor, so a test can show the gradient check "
           "catching it">,
    Option<"testScaleFactor", "test-scale-factor", "double",
           /*default=*/"1.0",
           "Testing only: the factor of test-scale-rule">,
  ];
}

def GraphTrainStep : Pass<"graph-train-step", "::mlir::ModuleOp"> {
  let summary = "Builds train_step: gradients, then the optimizer update";
  let description = [{
    From the `grad` entry (see graph-autodiff), adds the public function
    `train_step` that runs forward, backward and the optimizer in one
    program: arguments are the parameters, the optimizer state (buffers
    `optimizer.step`, and per parameter `sgd.momentum.P` or `adam.m.P` /
    `adam.v.P`) and the inputs; results are the loss, the updated
    parameters (named as the parameters) and the updated state (named as
    the state). Semantics follow torch.optim: SGD (momentum, Nesterov, L2
    weight decay), Adam (L2 weight decay), AdamW (decoupled); the learning
    rate follows `schedule` (constant; step: gamma^floor(t / step-size);
    cosine: linear warm-up over warmup-steps then cosine decay to 0 at
    total-steps) at step t (the number of steps done before this one);
    with clip-norm > 0 the gradients are first scaled to a global L2 norm of
    at most clip-norm, as torch.nn.utils.clip_grad_norm_.

    A model trained in alternating steps has grad_<s> entries, and each
    gains train_step_<s> (its own optimizer state, counted in
    `optimizer.<s>.step`) and apply_step_<s>. `train_step` then chains the
    train_step_<s> in their order: each step on the parameters, state and
    buffers the steps before it updated, the losses summed. What the steps
    compute alike is computed once (common subexpressions, and a batch norm
    in training mode whose running statistics a later step does not
    update): gan's generator runs once per batch, for both of its steps.

    Before: `func.func @grad(%w {graph.param = "w"}, %x) -> (loss, grad.w)`
    After (added): `func.func @train_step(%w {graph.param = "w"},
    %m {graph.buffer = "adam.m.w"}, ..., %t {graph.buffer = "optimizer.step"},
    %x) -> (loss, w, adam.m.w, adam.v.w, optimizer.step)`
  }];
  let options = [
    Option<"optimizer", "optimizer", "std::string", /*default=*/"\"adam\"",
           "sgd, adam or adamw">,
    Option<"lr", "lr", "double", /*default=*/"1e-3", "Learning rate">,
    Option<"momentum", "momentum", "double", /*default=*/"0.0",
           "SGD momentum">,
    Option<"nesterov", "nesterov", "bool", /*default=*/"false",
           "SGD Nesterov momentum">,
    Option<"weightDecay", "weight-decay", "double", /*default=*/"0.0",
           "Weight decay (L2 for sgd and adam, decoupled for adamw)">,
    Option<"beta1", "beta1", "double", /*default=*/"0.9", "Adam beta1">,
    Option<"beta2", "beta2", "double", /*default=*/"0.999", "Adam beta2">,
    Option<"epsilon", "epsilon", "double", /*default=*/"1e-8", "Adam epsilon">,
    Option<"schedule", "schedule", "std::string", /*default=*/"\"constant\"",
           "constant, step or cosine">,
    Option<"stepSize", "step-size", "int64_t", /*default=*/"1",
           "Steps between decays of the step schedule">,
    Option<"gamma", "gamma", "double", /*default=*/"0.1",
           "Decay factor of the step schedule">,
    Option<"warmupSteps", "warmup-steps", "int64_t", /*default=*/"0",
           "Linear warm-up steps of the cosine schedule">,
    Option<"totalSteps", "total-steps", "int64_t", /*default=*/"1",
           "Steps at which the cosine schedule reaches 0">,
    Option<"clipNorm", "clip-norm", "double", /*default=*/"0.0",
           "Global gradient-norm clipping (0: off)">,
  ];
}

#endif // KILN_GRAPH_PASSES
