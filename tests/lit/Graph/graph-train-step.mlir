// RUN: kiln-opt %s -split-input-file -verify-diagnostics --pass-pipeline="builtin.module(graph-autodiff,graph-train-step{optimizer=sgd lr=0.1 momentum=0.9})" | FileCheck %s
// RUN: kiln-opt %s -split-input-file -verify-diagnostics --pass-pipeline="builtin.module(graph-autodiff,graph-train-step)" | FileCheck %s --check-prefix=ADAM

// train_step takes the parameters, the optimizer's state, the step count and
// grad's other arguments (inputs, the model's buffers); it returns the loss,
// everything it updated under the argument's name, then the buffers grad
// updates (batch norm's running statistics); each updated value is marked
// graph.update with the argument it replaces.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: (%[[W:.*]]: tensor<3xf32> {graph.init = "ones", graph.param = "bn.weight"}, %[[B:.*]]: tensor<3xf32> {graph.param = "bn.bias"},
// CHECK-SAME: %[[MW:.*]]: tensor<3xf32> {graph.buffer = "sgd.momentum.bn.weight"}, %[[MB:.*]]: tensor<3xf32> {graph.buffer = "sgd.momentum.bn.bias"},
// CHECK-SAME: %[[T:.*]]: tensor<i64> {graph.buffer = "optimizer.step"}, %[[X:.*]]: tensor<2x3x4x4xf32> {graph.input = "x"},
// CHECK-SAME: %[[RM:.*]]: tensor<3xf32> {graph.buffer = "bn.running_mean"}, %[[RV:.*]]: tensor<3xf32> {graph.buffer = "bn.running_var"})
// CHECK-SAME: -> (tensor<f32> {graph.output = "loss"}, tensor<3xf32> {graph.output = "bn.weight", graph.update = "bn.weight"}, tensor<3xf32> {graph.output = "bn.bias", graph.update = "bn.bias"},
// CHECK-SAME: tensor<3xf32> {graph.output = "sgd.momentum.bn.weight", graph.update = "sgd.momentum.bn.weight"}, tensor<3xf32> {graph.output = "sgd.momentum.bn.bias", graph.update = "sgd.momentum.bn.bias"}, tensor<i64> {graph.output = "optimizer.step", graph.update = "optimizer.step"},
// CHECK-SAME: tensor<3xf32> {graph.output = "bn.running_mean", graph.update = "bn.running_mean"}, tensor<3xf32> {graph.output = "bn.running_var", graph.update = "bn.running_var"})
// CHECK: %[[Y:.*]], %[[NM:.*]], %[[NV:.*]] = graph.batch_norm_training %[[X]], %[[W]], %[[B]], %[[RM]], %[[RV]]
// Momentum: buf = 0.9 buf + g; p = p - lr buf.
// CHECK: %[[DECAY:.*]] = graph.mul %[[MW]], %{{.*}} : tensor<3xf32>, tensor<f32>
// CHECK: %[[BUF:.*]] = graph.add %[[DECAY]], %{{.*}}
// CHECK: %[[STEP:.*]] = graph.mul %[[BUF]], %{{.*}}
// CHECK: %[[NW:.*]] = graph.sub %[[W]], %[[STEP]]
// CHECK: %[[ONE:.*]] = graph.constant dense<1> : tensor<i64>
// CHECK: %[[NT:.*]] = graph.add %[[T]], %[[ONE]]
// CHECK: return %{{.*}}, %[[NW]], %{{.*}}, %[[BUF]], %{{.*}}, %[[NT]], %[[NM]], %[[NV]]

// Adam keeps two moments per parameter.
// ADAM-LABEL: func.func @train_step
// ADAM-SAME: {graph.buffer = "adam.m.bn.weight"}
// ADAM-SAME: {graph.buffer = "adam.v.bn.bias"}
// ADAM-SAME: {graph.buffer = "optimizer.step"}
func.func @loss(%x: tensor<2x3x4x4xf32> {graph.input = "x"},
                %g: tensor<3xf32> {graph.param = "bn.weight", graph.init = "ones"}, %b: tensor<3xf32> {graph.param = "bn.bias"},
                %rm: tensor<3xf32> {graph.buffer = "bn.running_mean"}, %rv: tensor<3xf32> {graph.buffer = "bn.running_var"})
    -> (tensor<f32> {graph.output = "loss"},
        tensor<3xf32> {graph.output = "bn.running_mean", graph.update = "bn.running_mean"},
        tensor<3xf32> {graph.output = "bn.running_var", graph.update = "bn.running_var"}) {
  %y, %m, %v = graph.batch_norm_training %x, %g, %b, %rm, %rv : tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  %s = graph.mul %y, %y : tensor<2x3x4x4xf32>, tensor<2x3x4x4xf32>
  %l = graph.reduce_sum %s {dims = array<i64: 0, 1, 2, 3>} : tensor<2x3x4x4xf32>
  return %l, %m, %v : tensor<f32>, tensor<3xf32>, tensor<3xf32>
}

// -----

// A buffer update must name a buffer argument of the same type.
// expected-error @+1 {{grad updates 'bn.running_mean', which is not a buffer argument of the same type}}
func.func @loss(%w: tensor<3xf32> {graph.param = "w"}, %rm: tensor<4xf32> {graph.buffer = "bn.running_mean"})
    -> (tensor<f32> {graph.output = "loss"}, tensor<3xf32> {graph.output = "bn.running_mean", graph.update = "bn.running_mean"}) {
  %l = graph.reduce_sum %w {dims = array<i64: 0>} : tensor<3xf32>
  return %l, %w : tensor<f32>, tensor<3xf32>
}
