// RUN: kiln-opt %s -split-input-file -verify-diagnostics --pass-pipeline="builtin.module(graph-autodiff,graph-train-step)" | FileCheck %s

// A model trained in alternating steps: each loss_<s> is differentiated by
// the parameters of its graph.trains parts only (grad_<s>), and its
// train_step_<s> updates those, with its own optimizer state and step
// count, taking the others as constants. `loss` itself is then only
// evaluated: no grad of its own.

func.func @loss(%a: tensor<2xf32> {graph.param = "a.w"}, %b: tensor<2xf32> {graph.param = "b.w"}) -> (tensor<f32> {graph.output = "loss"}) {
  %0 = graph.mul %a, %b : tensor<2xf32>, tensor<2xf32>
  %1 = graph.reduce_sum %0 {dims = array<i64: 0>} : tensor<2xf32>
  return %1 : tensor<f32>
}
func.func @loss_a(%a: tensor<2xf32> {graph.param = "a.w"}, %b: tensor<2xf32> {graph.param = "b.w"}) -> (tensor<f32> {graph.output = "loss"}) attributes {graph.trains = ["a"]} {
  %0 = graph.mul %a, %b : tensor<2xf32>, tensor<2xf32>
  %1 = graph.reduce_sum %0 {dims = array<i64: 0>} : tensor<2xf32>
  return %1 : tensor<f32>
}
func.func @loss_b(%a: tensor<2xf32> {graph.param = "a.w"}, %b: tensor<2xf32> {graph.param = "b.w"}) -> (tensor<f32> {graph.output = "loss"}) attributes {graph.trains = ["b"]} {
  %0 = graph.mul %b, %b : tensor<2xf32>, tensor<2xf32>
  %1 = graph.reduce_sum %0 {dims = array<i64: 0>} : tensor<2xf32>
  return %1 : tensor<f32>
}

// CHECK-NOT: func.func @grad(
// CHECK-LABEL: func.func @grad_a(
// CHECK-SAME: -> (tensor<f32> {graph.output = "loss"}, tensor<2xf32> {graph.output = "grad.a.w"})
// CHECK-LABEL: func.func @train_step_a(
// CHECK-SAME: %{{.*}}: tensor<2xf32> {graph.param = "a.w"}, %{{.*}}: tensor<2xf32> {graph.buffer = "adam.m.a.w"}, %{{.*}}: tensor<2xf32> {graph.buffer = "adam.v.a.w"}, %{{.*}}: tensor<i64> {graph.buffer = "optimizer.a.step"}, %{{.*}}: tensor<2xf32> {graph.param = "b.w"})
// CHECK-SAME: -> (tensor<f32> {graph.output = "loss"}, tensor<2xf32> {graph.output = "a.w", graph.update = "a.w"}, tensor<2xf32> {graph.output = "adam.m.a.w", graph.update = "adam.m.a.w"}, tensor<2xf32> {graph.output = "adam.v.a.w", graph.update = "adam.v.a.w"}, tensor<i64> {graph.output = "optimizer.a.step", graph.update = "optimizer.a.step"})
// CHECK-LABEL: func.func @grad_b(
// CHECK-SAME: -> (tensor<f32> {graph.output = "loss"}, tensor<2xf32> {graph.output = "grad.b.w"})
// CHECK-LABEL: func.func @train_step_b(
// CHECK-SAME: {graph.buffer = "optimizer.b.step"}, %{{.*}}: tensor<2xf32> {graph.param = "a.w"})
// CHECK-LABEL: func.func @train_step(

// -----

// train_step chains the alternating steps in their order: the steps'
// arguments by name, each step on what the ones before it updated (here
// step b reads a.w as step a left it), the losses summed, every updated
// value returned. What both steps compute alike runs once: exp(x), and
// the batch norm of step b, which keeps the running statistics, is step
// a's (training mode reads only the batch).

func.func @loss_a(%a: tensor<2x3xf32> {graph.param = "a.w"}, %b: tensor<2x3xf32> {graph.param = "b.w"}, %g: tensor<3xf32> {graph.param = "n.weight"}, %beta: tensor<3xf32> {graph.param = "n.bias"}, %rm: tensor<3xf32> {graph.buffer = "n.running_mean"}, %rv: tensor<3xf32> {graph.buffer = "n.running_var"}, %x: tensor<2x3xf32> {graph.input = "x"}) -> (tensor<f32> {graph.output = "loss"}, tensor<3xf32> {graph.output = "n.running_mean", graph.update = "n.running_mean"}, tensor<3xf32> {graph.output = "n.running_var", graph.update = "n.running_var"}) attributes {graph.trains = ["a"]} {
  %e = graph.exp %x : tensor<2x3xf32>
  %h, %m, %v = graph.batch_norm_training %e, %g, %beta, %rm, %rv : tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  %0 = graph.mul %a, %h : tensor<2x3xf32>, tensor<2x3xf32>
  %1 = graph.mul %0, %b : tensor<2x3xf32>, tensor<2x3xf32>
  %2 = graph.reduce_sum %1 {dims = array<i64: 0, 1>} : tensor<2x3xf32>
  return %2, %m, %v : tensor<f32>, tensor<3xf32>, tensor<3xf32>
}
func.func @loss_b(%a: tensor<2x3xf32> {graph.param = "a.w"}, %b: tensor<2x3xf32> {graph.param = "b.w"}, %g: tensor<3xf32> {graph.param = "n.weight"}, %beta: tensor<3xf32> {graph.param = "n.bias"}, %rm: tensor<3xf32> {graph.buffer = "n.running_mean"}, %rv: tensor<3xf32> {graph.buffer = "n.running_var"}, %x: tensor<2x3xf32> {graph.input = "x"}) -> (tensor<f32> {graph.output = "loss"}) attributes {graph.trains = ["b"]} {
  %e = graph.exp %x : tensor<2x3xf32>
  %h, %m, %v = graph.batch_norm_training %e, %g, %beta, %rm, %rv : tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  %0 = graph.mul %b, %h : tensor<2x3xf32>, tensor<2x3xf32>
  %1 = graph.mul %0, %a : tensor<2x3xf32>, tensor<2x3xf32>
  %2 = graph.reduce_sum %1 {dims = array<i64: 0, 1>} : tensor<2x3xf32>
  return %2 : tensor<f32>
}

// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %[[A:[a-z0-9]+]]: tensor<2x3xf32> {graph.param = "a.w"}, %{{.*}}: tensor<2x3xf32> {graph.buffer = "adam.m.a.w"}, %{{.*}}: tensor<2x3xf32> {graph.buffer = "adam.v.a.w"}, %{{.*}}: tensor<i64> {graph.buffer = "optimizer.a.step"},
// CHECK-SAME: %[[B:[a-z0-9]+]]: tensor<2x3xf32> {graph.param = "b.w"}, %{{.*}}: tensor<3xf32> {graph.param = "n.weight"}, %{{.*}}: tensor<3xf32> {graph.param = "n.bias"}, %{{.*}}: tensor<3xf32> {graph.buffer = "n.running_mean"}, %{{.*}}: tensor<3xf32> {graph.buffer = "n.running_var"}, %[[X:[a-z0-9]+]]: tensor<2x3xf32> {graph.input = "x"},
// CHECK-SAME: %{{.*}}: tensor<2x3xf32> {graph.buffer = "adam.m.b.w"}, %{{.*}}: tensor<2x3xf32> {graph.buffer = "adam.v.b.w"}, %{{.*}}: tensor<i64> {graph.buffer = "optimizer.b.step"})
// CHECK-SAME: -> (tensor<f32> {graph.output = "loss"}, tensor<2x3xf32> {graph.output = "a.w", graph.update = "a.w"}, tensor<2x3xf32> {graph.output = "adam.m.a.w", graph.update = "adam.m.a.w"}, tensor<2x3xf32> {graph.output = "adam.v.a.w", graph.update = "adam.v.a.w"}, tensor<i64> {graph.output = "optimizer.a.step", graph.update = "optimizer.a.step"},
// CHECK-SAME: tensor<3xf32> {graph.output = "n.running_mean", graph.update = "n.running_mean"}, tensor<3xf32> {graph.output = "n.running_var", graph.update = "n.running_var"},
// CHECK-SAME: tensor<2x3xf32> {graph.output = "b.w", graph.update = "b.w"}, tensor<2x3xf32> {graph.output = "adam.m.b.w", graph.update = "adam.m.b.w"}, tensor<2x3xf32> {graph.output = "adam.v.b.w", graph.update = "adam.v.b.w"}, tensor<i64> {graph.output = "optimizer.b.step", graph.update = "optimizer.b.step"})
// CHECK: %[[E:.+]] = graph.exp %[[X]]
// CHECK-NOT: graph.exp
// CHECK: %[[H:[a-z0-9_]+]], %[[M:[a-z0-9_]+]], %[[V:[a-z0-9_]+]] = graph.batch_norm_training %[[E]]
// CHECK-NOT: graph.batch_norm_training
// CHECK: %[[NEWA:.+]] = graph.sub %[[A]],
// CHECK: %[[STEPB:.+]] = graph.mul %[[B]], %[[H]]
// CHECK-NEXT: %[[PRODUCT:.+]] = graph.mul %[[STEPB]], %[[NEWA]]
// CHECK-NEXT: %[[LOSSB:.+]] = graph.reduce_sum %[[PRODUCT]]
// CHECK: %[[LOSS:.+]] = graph.add %{{.+}}, %[[LOSSB]] : tensor<f32>, tensor<f32>
// CHECK-NEXT: return %[[LOSS]], %[[NEWA]], %{{.+}}, %{{.+}}, %{{.+}}, %[[M]], %[[V]],

// -----

// graph.wrt: an entry's gradient by its inputs, named <entry>_grad, its
// first result keeping its name; the parameters are not differentiated.

func.func @energy(%w: tensor<2xf32> {graph.param = "w"}, %x: tensor<2xf32> {graph.input = "x"}) -> (tensor<f32> {graph.output = "energy"}) attributes {graph.wrt = ["x"]} {
  %0 = graph.mul %w, %x : tensor<2xf32>, tensor<2xf32>
  %1 = graph.reduce_sum %0 {dims = array<i64: 0>} : tensor<2xf32>
  return %1 : tensor<f32>
}

// CHECK-LABEL: func.func @energy_grad(
// CHECK-SAME: -> (tensor<f32> {graph.output = "energy"}, tensor<2xf32> {graph.output = "grad.x"})
// CHECK: graph.broadcast_to
// CHECK: graph.mul
// CHECK-NOT: func.func @train_step

// -----

// expected-error @+1 {{graph.wrt names an input that 'energy' lacks}}
func.func @energy(%w: tensor<2xf32> {graph.param = "w"}, %x: tensor<2xf32> {graph.input = "x"}) -> (tensor<f32> {graph.output = "energy"}) attributes {graph.wrt = ["y"]} {
  %0 = graph.mul %w, %x : tensor<2xf32>, tensor<2xf32>
  %1 = graph.reduce_sum %0 {dims = array<i64: 0>} : tensor<2xf32>
  return %1 : tensor<f32>
}
