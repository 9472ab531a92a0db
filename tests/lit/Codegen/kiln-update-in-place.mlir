// RUN: kiln-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(kiln-update-in-place)' | FileCheck %s

#map = affine_map<(d0) -> (d0)>

// train_step donates the arguments it updates: they become writable, the
// input does not, and kiln.updates records which argument each result
// updates (-1: none).
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: (%[[W:.*]]: tensor<4xf32> {bufferization.writable = true, graph.param = "w"}, %[[S:.*]]: tensor<4xf32> {bufferization.writable = true, graph.buffer = "s"}, %[[X:.*]]: tensor<4xf32> {bufferization.writable = false, graph.input = "x"})
// CHECK-SAME: attributes {kiln.updates = array<i64: -1, 0, 1>}
// CHECK: call @train_step_kernel0_elementwise(%[[W]], %[[X]]) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// The kernel computing `s` does not read it: `s` is passed as a new
// destination argument.
// CHECK: call @train_step_kernel1_elementwise(%[[X]], %[[S]]) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>

// The kernel reading the old `w` writes into its own argument holding it,
// and reads the old value through the init instead of a second input.
// CHECK-LABEL: func.func private @train_step_kernel0_elementwise
// CHECK-SAME: (%[[KW:.*]]: tensor<4xf32>, %[[KG:.*]]: tensor<4xf32>) -> tensor<4xf32>
// CHECK-NOT: tensor.empty
// CHECK: linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%[[KG]] : tensor<4xf32>) outs(%[[KW]] : tensor<4xf32>)
// CHECK-NEXT: ^bb0(%[[GRAD:.*]]: f32, %[[OLD:.*]]: f32):
// CHECK-NEXT: %[[M:.*]] = arith.mulf %[[GRAD]], %{{.*}} : f32
// CHECK-NEXT: %[[D:.*]] = arith.subf %[[OLD]], %[[M]] : f32
// CHECK-NEXT: linalg.yield %[[D]] : f32

// The kernel not reading `s` writes into the new last argument.
// CHECK-LABEL: func.func private @train_step_kernel1_elementwise
// CHECK-SAME: (%[[KX:.*]]: tensor<4xf32>, %[[KS:.*]]: tensor<4xf32>) -> tensor<4xf32>
// CHECK-NOT: tensor.empty
// CHECK: linalg.generic {{.*}} ins(%[[KX]] : tensor<4xf32>) outs(%[[KS]] : tensor<4xf32>)
func.func @train_step(%w: tensor<4xf32> {graph.param = "w"}, %s: tensor<4xf32> {graph.buffer = "s"}, %x: tensor<4xf32> {graph.input = "x"}) -> (tensor<f32> {graph.output = "loss"}, tensor<4xf32> {graph.output = "w", graph.update = "w"}, tensor<4xf32> {graph.output = "s", graph.update = "s"}) {
  %l = tensor.empty() : tensor<f32>
  %n = call @train_step_kernel0_elementwise(%w, %x) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %t = call @train_step_kernel1_elementwise(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %l, %n, %t : tensor<f32>, tensor<4xf32>, tensor<4xf32>
}
func.func private @train_step_kernel0_elementwise(%w: tensor<4xf32>, %g: tensor<4xf32>) -> tensor<4xf32> {
  %cst = arith.constant 1.000000e-01 : f32
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel"]} ins(%w, %g : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%old: f32, %grad: f32, %out: f32):
    %m = arith.mulf %grad, %cst : f32
    %d = arith.subf %old, %m : f32
    linalg.yield %d : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}
func.func private @train_step_kernel1_elementwise(%x: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %in : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#tr = affine_map<(d0, d1) -> (d1, d0)>

// Kernels left alone in train_step: one called twice and one already
// writing into its argument (no fresh tensor).
// CHECK: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK: #[[TR:.*]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: attributes {kiln.updates = array<i64: 0, 1, 2, 3>}
// CHECK: call @shared(%{{.*}}) : (tensor<2x2xf32>) -> tensor<2x2xf32>
// CHECK: call @shared(%{{.*}}) : (tensor<2x2xf32>) -> tensor<2x2xf32>
// CHECK: call @step(%{{.*}}) : (tensor<i64>) -> tensor<i64>
// CHECK: call @transpose(%{{.*}}) : (tensor<2x2xf32>) -> tensor<2x2xf32>
// CHECK-LABEL: func.func private @shared
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x2xf32>
// CHECK: outs(%[[E]] : tensor<2x2xf32>)
// CHECK-LABEL: func.func private @step
// CHECK-SAME: (%[[C:.*]]: tensor<i64>) -> tensor<i64>
// CHECK: outs(%[[C]] : tensor<i64>)

// A kernel reading the old value through another indexing map writes
// into its argument but keeps reading it as an input.
// CHECK-LABEL: func.func private @transpose
// CHECK-SAME: (%[[T:.*]]: tensor<2x2xf32>) -> tensor<2x2xf32>
// CHECK-NOT: tensor.empty
// CHECK: linalg.generic {indexing_maps = [#[[TR]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[T]] : tensor<2x2xf32>) outs(%[[T]] : tensor<2x2xf32>)
func.func @train_step(%a: tensor<2x2xf32> {graph.param = "a"}, %b: tensor<2x2xf32> {graph.param = "b"}, %n: tensor<i64> {graph.buffer = "step"}, %t: tensor<2x2xf32> {graph.param = "t"}) -> (tensor<2x2xf32> {graph.update = "a"}, tensor<2x2xf32> {graph.update = "b"}, tensor<i64> {graph.update = "step"}, tensor<2x2xf32> {graph.update = "t"}) {
  %0 = call @shared(%a) : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %1 = call @shared(%b) : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %2 = call @step(%n) : (tensor<i64>) -> tensor<i64>
  %3 = call @transpose(%t) : (tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0, %1, %2, %3 : tensor<2x2xf32>, tensor<2x2xf32>, tensor<i64>, tensor<2x2xf32>
}
func.func private @shared(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %e = tensor.empty() : tensor<2x2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %in : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}
func.func private @step(%c: tensor<i64>) -> tensor<i64> {
  %one = arith.constant 1 : i64
  %r = linalg.generic {indexing_maps = [affine_map<() -> ()>], iterator_types = []} outs(%c : tensor<i64>) {
  ^bb0(%out: i64):
    %s = arith.addi %out, %one : i64
    linalg.yield %s : i64
  } -> tensor<i64>
  return %r : tensor<i64>
}
func.func private @transpose(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %e = tensor.empty() : tensor<2x2xf32>
  %r = linalg.generic {indexing_maps = [#tr, #id], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}

// -----

#map = affine_map<(d0) -> (d0)>

// Other entry points do not donate their arguments: an updated result is
// recorded in kiln.updates, but no argument is writable and the kernel
// still writes a fresh tensor.
// CHECK-LABEL: func.func @loss
// CHECK-SAME: (%[[M:.*]]: tensor<4xf32> {bufferization.writable = false, graph.buffer = "bn.mean"}, %[[X:.*]]: tensor<4xf32> {bufferization.writable = false, graph.input = "x"})
// CHECK-SAME: attributes {kiln.updates = array<i64: -1, 0>}
// CHECK: call @loss_kernel0_elementwise(%[[M]], %[[X]]) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK-LABEL: func.func private @loss_kernel0_elementwise
// CHECK-SAME: (%[[KM:.*]]: tensor<4xf32>, %[[KX:.*]]: tensor<4xf32>) -> tensor<4xf32>
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4xf32>
// CHECK: ins(%[[KM]], %[[KX]] : tensor<4xf32>, tensor<4xf32>) outs(%[[E]] : tensor<4xf32>)
func.func @loss(%m: tensor<4xf32> {graph.buffer = "bn.mean"}, %x: tensor<4xf32> {graph.input = "x"}) -> (tensor<4xf32> {graph.output = "y"}, tensor<4xf32> {graph.update = "bn.mean"}) {
  %r = call @loss_kernel0_elementwise(%m, %x) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %x, %r : tensor<4xf32>, tensor<4xf32>
}
func.func private @loss_kernel0_elementwise(%m: tensor<4xf32>, %x: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel"]} ins(%m, %x : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// An entry point without updated results: nothing writable, no kiln.updates.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%{{.*}}: tensor<4xf32> {bufferization.writable = false, graph.param = "w"}) -> (tensor<4xf32> {graph.output = "y"}) {
func.func @forward(%w: tensor<4xf32> {graph.param = "w"}) -> (tensor<4xf32> {graph.output = "y"}) {
  return %w : tensor<4xf32>
}

// -----

// expected-error @+1 {{two results update 'w'}}
func.func @train_step(%w: tensor<4xf32> {graph.param = "w"}) -> (tensor<4xf32> {graph.update = "w"}, tensor<4xf32> {graph.update = "w"}) {
  return %w, %w : tensor<4xf32>, tensor<4xf32>
}

// -----

// expected-error @+1 {{result 0 updates 'x', which is not a parameter or buffer of the same type}}
func.func @train_step(%x: tensor<4xf32> {graph.input = "x"}) -> (tensor<4xf32> {graph.update = "x"}) {
  return %x : tensor<4xf32>
}

// -----

// expected-error @+1 {{result 1 updates 'w', which is not a parameter or buffer of the same type}}
func.func @train_step(%w: tensor<4xf32> {graph.param = "w"}, %v: tensor<8xf32> {graph.input = "v"}) -> (tensor<4xf32>, tensor<8xf32> {graph.update = "w"}) {
  return %w, %v : tensor<4xf32>, tensor<8xf32>
}
