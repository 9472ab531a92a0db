// RUN: kiln-opt %s -graph-autodiff -split-input-file -verify-diagnostics | FileCheck %s
// RUN: kiln-opt %s -graph-autodiff="wrt-inputs=true" -split-input-file -verify-diagnostics | FileCheck %s --check-prefix=INPUTS

// A linear layer and a loss: the gradient function returns the loss and
// the gradient of each parameter, named after it. The weight's gradient
// reads the upstream gradient transposed; the bias's sums the broadcast.
// CHECK-LABEL: func.func @grad
// CHECK-SAME: -> (tensor<f32> {graph.output = "loss"}, tensor<3x4xf32> {graph.output = "grad.w"}, tensor<3xf32> {graph.output = "grad.b"})
// CHECK: %[[Y:.*]] = graph.matmul %[[X:.*]], %[[W:.*]] {transpose_rhs}
// CHECK: %[[L:.*]] = graph.cross_entropy mean
// CHECK: %[[D:.*]] = graph.mul %{{.*}}, %{{.*}} : tensor<2x3xf32>, tensor<f32>
// CHECK-DAG: %[[DB:.*]] = graph.reduce_sum %[[D]] {dims = array<i64: 0>} : tensor<2x3xf32>
// CHECK-DAG: %[[DW:.*]] = graph.matmul %[[D]], %[[X]] {transpose_lhs} : tensor<2x3xf32>, tensor<2x4xf32>
// CHECK: return %[[L]], %[[DW]], %[[DB]]
// INPUTS-LABEL: func.func @grad
// INPUTS-SAME: tensor<2x4xf32> {graph.output = "grad.x"}
func.func @loss(%w: tensor<3x4xf32> {graph.param = "w"}, %b: tensor<3xf32> {graph.param = "b"},
                %x: tensor<2x4xf32> {graph.input = "x"}, %y: tensor<2xi64> {graph.input = "y"}) -> (tensor<f32> {graph.output = "loss"}) {
  %0 = graph.matmul %x, %w {transpose_rhs} : tensor<2x4xf32>, tensor<3x4xf32>
  %1 = graph.add %0, %b : tensor<2x3xf32>, tensor<3xf32>
  %2 = graph.cross_entropy mean %1, %y : tensor<2x3xf32>, tensor<2xi64>
  return %2 : tensor<f32>
}

// -----

// A value used twice: its gradients are summed.
// CHECK-LABEL: func.func @grad
// CHECK: graph.reduce_sum
// CHECK: %[[A:.*]] = graph.mul %{{.*}}, %[[W:.*]] :
// CHECK: %[[B:.*]] = graph.mul %{{.*}}, %[[W]] :
// CHECK: %[[S:.*]] = graph.add %[[A]], %[[B]]
// CHECK: return %{{.*}}, %[[S]]
func.func @loss(%w: tensor<4xf32> {graph.param = "w"}) -> (tensor<f32> {graph.output = "loss"}) {
  %0 = graph.mul %w, %w : tensor<4xf32>, tensor<4xf32>
  %1 = graph.reduce_sum %0 {dims = array<i64: 0>} : tensor<4xf32>
  return %1 : tensor<f32>
}

// -----

// An op without a gradient rule on the path to the loss is an error (here a
// second derivative: max_pool2d_grad has no rule of its own).
func.func @loss(%w: tensor<16xf32> {graph.param = "w"}) -> (tensor<f32> {graph.output = "loss"}) {
  %r = graph.reshape %w {shape = array<i64: 1, 1, 4, 4>} : tensor<16xf32>
  %g = graph.slice %r {starts = array<i64: 0, 0, 0, 0>, limits = array<i64: 1, 1, 2, 2>, strides = array<i64: 1, 1, 1, 1>} : tensor<1x1x4x4xf32>
  // expected-error @+1 {{'graph.max_pool2d_grad' op has no gradient rule, but the loss depends on its result}}
  %0 = graph.max_pool2d_grad %r, %g {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<1x1x4x4xf32>, tensor<1x1x2x2xf32>
  %1 = graph.reduce_sum %0 {dims = array<i64: 0, 1, 2, 3>} : tensor<1x1x4x4xf32>
  return %1 : tensor<f32>
}

// -----

// Only a scalar float loss can be differentiated.
// expected-error @+1 {{can only differentiate a function whose first result is a scalar float, 'loss' returns 'tensor<4xf32>'}}
func.func @loss(%w: tensor<4xf32> {graph.param = "w"}) -> (tensor<4xf32> {graph.output = "loss"}) {
  return %w : tensor<4xf32>
}

// -----

// Results after the loss must be buffer updates.
// expected-error @+1 {{can only differentiate a function with one scalar float result and buffer updates (graph.update); result 1 of 'loss' is neither}}
func.func @loss(%w: tensor<4xf32> {graph.param = "w"}) -> (tensor<f32> {graph.output = "loss"}, tensor<4xf32> {graph.output = "w2"}) {
  %0 = graph.reduce_sum %w {dims = array<i64: 0>} : tensor<4xf32>
  return %0, %w : tensor<f32>, tensor<4xf32>
}

// -----

// Batch norm in training mode: the running statistics it returns are buffer
// updates, which grad passes through after the gradients (they have none).
// Its gradients are one graph.batch_norm_grad of the input and the result's
// gradient.
// CHECK-LABEL: func.func @grad
// CHECK-SAME: (%[[X:[^:]*]]: tensor<2x3x4x4xf32> {graph.input = "x"}, %[[W:[^:]*]]: tensor<3xf32>
// CHECK-SAME: -> (tensor<f32> {graph.output = "loss"}, tensor<3xf32> {graph.output = "grad.bn.weight"}, tensor<3xf32> {graph.output = "grad.bn.bias"}, tensor<3xf32> {graph.output = "bn.running_mean", graph.update = "bn.running_mean"}, tensor<3xf32> {graph.output = "bn.running_var", graph.update = "bn.running_var"})
// CHECK: %[[Y:.*]], %[[M:.*]], %[[V:.*]] = graph.batch_norm_training
// CHECK: %[[DX:.*]], %[[DW:.*]], %[[DB:.*]] = graph.batch_norm_grad %[[X]], %{{.*}}, %[[W]] : tensor<2x3x4x4xf32>, tensor<2x3x4x4xf32>, tensor<3xf32>
// CHECK: return %{{.*}}, %[[DW]], %[[DB]], %[[M]], %[[V]]
func.func @loss(%x: tensor<2x3x4x4xf32> {graph.input = "x"},
                %g: tensor<3xf32> {graph.param = "bn.weight"}, %b: tensor<3xf32> {graph.param = "bn.bias"},
                %rm: tensor<3xf32> {graph.buffer = "bn.running_mean"}, %rv: tensor<3xf32> {graph.buffer = "bn.running_var"})
    -> (tensor<f32> {graph.output = "loss"},
        tensor<3xf32> {graph.output = "bn.running_mean", graph.update = "bn.running_mean"},
        tensor<3xf32> {graph.output = "bn.running_var", graph.update = "bn.running_var"}) {
  %y, %m, %v = graph.batch_norm_training %x, %g, %b, %rm, %rv : tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  %s = graph.mul %y, %y : tensor<2x3x4x4xf32>, tensor<2x3x4x4xf32>
  %l = graph.reduce_sum %s {dims = array<i64: 0, 1, 2, 3>} : tensor<2x3x4x4xf32>
  return %l, %m, %v : tensor<f32>, tensor<3xf32>, tensor<3xf32>
}
