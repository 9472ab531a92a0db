// RUN: kiln-opt %s -split-input-file -verify-diagnostics --pass-pipeline="builtin.module(graph-autodiff,graph-train-step)" | FileCheck %s

// A model trained in alternating steps: each loss_<s> is differentiated by
// the parameters of its graph.trains parts only (grad_<s>), and its
// train_step_<s> updates those, with its own optimizer state and step
// count, taking the others as constants. `loss` itself is then only
// evaluated: no grad, no train_step.

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
// CHECK-NOT: func.func @train_step(

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
