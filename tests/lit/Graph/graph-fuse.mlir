// RUN: kiln-opt %s -graph-fuse -split-input-file | FileCheck %s
// RUN: kiln-opt %s -graph-fuse="fuse-elementwise=false fuse-epilogues=false" -split-input-file | FileCheck %s --check-prefix=UNFUSED

// A Linear + ReLU: the bias add and the activation ride on the library call.
// CHECK-LABEL: func.func @linear_relu
// CHECK-SAME: (%[[X:.*]]: tensor<8x16xf32>, %[[W:.*]]: tensor<4x16xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK-NEXT: %[[R:.*]] = kernel.matmul %[[X]], %[[W]] bias(%[[B]] : tensor<4xf32>) activation(relu) {transpose_rhs}
// CHECK-NEXT: return %[[R]]
// UNFUSED-LABEL: func.func @linear_relu
// UNFUSED: kernel.matmul %{{.*}}, %{{.*}} {transpose_rhs}
// UNFUSED-NEXT: kernel.fused "elementwise"
// UNFUSED: graph.add
// UNFUSED: kernel.fused "elementwise"
// UNFUSED: graph.relu
func.func @linear_relu(%x: tensor<8x16xf32>, %w: tensor<4x16xf32>, %b: tensor<4xf32>) -> tensor<8x4xf32> {
  %0 = graph.matmul %x, %w {transpose_rhs} : tensor<8x16xf32>, tensor<4x16xf32>
  %1 = graph.add %0, %b : tensor<8x4xf32>, tensor<4xf32>
  %2 = graph.relu %1 : tensor<8x4xf32>
  return %2 : tensor<8x4xf32>
}

// -----

// A residual block: conv, then add the shortcut, then ReLU, in one call.
// CHECK-LABEL: func.func @conv_residual
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x8x8xf32>, %[[W:.*]]: tensor<4x4x3x3xf32>)
// CHECK-NEXT: %[[R:.*]] = kernel.conv2d %[[X]], %[[W]] residual(%[[X]] : tensor<2x4x8x8xf32>) activation(relu) {padding = array<i64: 1, 1>}
// CHECK-NEXT: return %[[R]]
func.func @conv_residual(%x: tensor<2x4x8x8xf32>, %w: tensor<4x4x3x3xf32>) -> tensor<2x4x8x8xf32> {
  %0 = graph.conv2d %x, %w {padding = array<i64: 1, 1>} : tensor<2x4x8x8xf32>, tensor<4x4x3x3xf32>
  %1 = graph.add %x, %0 : tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>
  %2 = graph.relu %1 : tensor<2x4x8x8xf32>
  return %2 : tensor<2x4x8x8xf32>
}

// -----

// A product used twice keeps its epilogue out of the call.
// CHECK-LABEL: func.func @multi_use_product
// CHECK: %[[M:.*]] = kernel.matmul %{{.*}}, %{{.*}} : tensor<4x4xf32>, tensor<4x4xf32>
// CHECK: kernel.fused "elementwise"(%[[M]])
// CHECK: graph.relu
// CHECK: graph.mul
func.func @multi_use_product(%a: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %0 = graph.matmul %a, %a : tensor<4x4xf32>, tensor<4x4xf32>
  %1 = graph.relu %0 : tensor<4x4xf32>
  %2 = graph.mul %1, %0 : tensor<4x4xf32>, tensor<4x4xf32>
  return %2 : tensor<4x4xf32>
}

// -----

// An elementwise chain with broadcasting fuses into one kernel; a value used
// inside and outside the kernel becomes one of its results; constants are
// cloned in.
// CHECK-LABEL: func.func @chain
// CHECK-SAME: (%[[X:.*]]: tensor<8x16xf32>, %[[B:.*]]: tensor<16xf32>)
// CHECK-NOT: graph.constant
// CHECK: %[[K:.*]]:2 = kernel.fused "elementwise"(%[[X]], %[[B]]) : (tensor<8x16xf32>, tensor<16xf32>) -> (tensor<8x16xf32>, tensor<8x16xf32>)
// CHECK-NEXT: ^bb0(%[[A0:.*]]: tensor<8x16xf32>, %[[A1:.*]]: tensor<16xf32>):
// CHECK-NEXT: graph.add %[[A0]], %[[A1]]
// CHECK-NEXT: graph.constant dense<5.000000e-01>
// CHECK-NEXT: graph.mul
// CHECK-NEXT: graph.tanh
// CHECK-NEXT: graph.exp
// CHECK-NEXT: kernel.yield
// CHECK: kernel.fused "reduction"(%[[K]]#0)
// CHECK: graph.softmax
// CHECK: return %{{.*}}, %[[K]]#1
func.func @chain(%x: tensor<8x16xf32>, %b: tensor<16xf32>) -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  %half = graph.constant dense<0.5> : tensor<f32>
  %0 = graph.add %x, %b : tensor<8x16xf32>, tensor<16xf32>
  %1 = graph.mul %0, %half : tensor<8x16xf32>, tensor<f32>
  %2 = graph.tanh %1 : tensor<8x16xf32>
  %3 = graph.exp %2 : tensor<8x16xf32>
  %4 = graph.softmax %2 : tensor<8x16xf32>
  return %4, %3 : tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

// %0 and %2 are elementwise neighbours, but %2 also needs the reduction of
// %0: one kernel holding both would depend on itself, so they stay apart.
// CHECK-LABEL: func.func @no_cycle
// CHECK: %[[A:.*]] = kernel.fused "elementwise"(%{{.*}})
// CHECK: graph.exp
// CHECK: %[[S:.*]] = kernel.fused "reduction"(%[[A]])
// CHECK: graph.reduce_sum
// CHECK: kernel.fused "elementwise"(%[[A]], %[[S]])
// CHECK: graph.div
func.func @no_cycle(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = graph.exp %x : tensor<4x8xf32>
  %1 = graph.reduce_sum %0 {dims = array<i64: 1>, keep_dims} : tensor<4x8xf32>
  %2 = graph.div %0, %1 : tensor<4x8xf32>, tensor<4x1xf32>
  return %2 : tensor<4x8xf32>
}

// -----

// Reshapes stay outside kernels; every other op kind gets its own kernel.
// CHECK-LABEL: func.func @kinds
// CHECK: kernel.fused "window"
// CHECK: graph.reshape
// CHECK: kernel.fused "data"
// CHECK: kernel.fused "contraction"
// CHECK: kernel.fused "attention"
// CHECK: kernel.fused "random"
func.func @kinds(%x: tensor<2x4x8x8xf32>, %q: tensor<2x4x16x8xf32>, %r: tensor<2x4x8x16xf32>, %s: tensor<i64>) -> (tensor<2x4x8x16xf32>, tensor<2x4x16x8xf32>, tensor<3xf32>) {
  %0 = graph.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<2x4x8x8xf32>
  %1 = graph.reshape %0 {shape = array<i64: 2, 4, 16>} : tensor<2x4x4x4xf32>
  %2 = graph.transpose %1 {permutation = array<i64: 0, 2, 1>} : tensor<2x4x16xf32>
  %3 = graph.reshape %2 {shape = array<i64: 2, 4, 8, 2>} : tensor<2x16x4xf32>
  %4 = graph.batch_matmul %3, %3 {transpose_rhs} : tensor<2x4x8x2xf32>, tensor<2x4x8x2xf32>
  %5 = graph.batch_matmul %4, %r : tensor<2x4x8x8xf32>, tensor<2x4x8x16xf32>
  %6 = graph.attention %q, %q, %q {causal} : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
  %7 = graph.random_normal %s, %s {shape = array<i64: 3>, dtype = f32}
  return %5, %6, %7 : tensor<2x4x8x16xf32>, tensor<2x4x16x8xf32>, tensor<3xf32>
}

// -----

// %y may not join %n's kernel once %x joined %k's: the two kernels and the
// reduction would depend on each other in a cycle. Merging checks paths
// through whole kernels, not only through single ops.
// CHECK-LABEL: func.func @no_cycle_through_kernels
// CHECK: %[[N:.*]] = kernel.fused "elementwise"(%{{.*}}) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK: %[[S:.*]] = kernel.fused "reduction"(%[[N]])
// CHECK: %[[XY:.*]]:2 = kernel.fused "elementwise"(%{{.*}}, %[[S]], %[[N]])
// CHECK: return %[[XY]]#0, %[[XY]]#1
func.func @no_cycle_through_kernels(%a: tensor<f32>, %c: tensor<2x3xf32>) -> (tensor<f32>, tensor<2x3xf32>) {
  %n = graph.neg %c : tensor<2x3xf32>
  %s = graph.reduce_sum %n {dims = array<i64: 0, 1>} : tensor<2x3xf32>
  %k = graph.neg %a : tensor<f32>
  %x = graph.add %s, %k : tensor<f32>, tensor<f32>
  %y = graph.add %n, %k : tensor<2x3xf32>, tensor<f32>
  return %x, %y : tensor<f32>, tensor<2x3xf32>
}

// -----

// A batch norm's kernel finishes its result: the residual add and the ReLU
// that alone read it join the norm's kernel (its last pass is elementwise),
// so only relu(y + r) is written. The unfused pipeline keeps one op per
// kernel.
// CHECK-LABEL: func.func @norm_epilogue
// CHECK: %[[K:.*]]:3 = kernel.fused "reduction"(%{{.*}}, %{{.*}}, %{{.*}}) : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<2x3x4x4xf32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<2x3x4x4xf32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: graph.batch_norm_training
// CHECK-NEXT: graph.add
// CHECK-NEXT: graph.relu
// CHECK-NEXT: kernel.yield
// CHECK-NOT: kernel.fused
// CHECK: return %[[K]]#2, %[[K]]#0, %[[K]]#1
// UNFUSED-LABEL: func.func @norm_epilogue
// UNFUSED: kernel.fused "reduction"
// UNFUSED: kernel.fused "elementwise"
// UNFUSED: kernel.fused "elementwise"
func.func @norm_epilogue(%x: tensor<2x3x4x4xf32>, %w: tensor<3xf32>, %r: tensor<2x3x4x4xf32>) -> (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>) {
  %y, %m, %v = graph.batch_norm_training %x, %w, %w, %w, %w : tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  %s = graph.add %y, %r : tensor<2x3x4x4xf32>, tensor<2x3x4x4xf32>
  %z = graph.relu %s : tensor<2x3x4x4xf32>
  return %z, %m, %v : tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>
}

// -----

// Not when the norm's result is read elsewhere too (it is written anyway:
// the ReLU stays an elementwise kernel), nor for an op that broadcasts the
// result to a larger shape. An op that broadcasts another operand to the
// result's shape (a bias) joins.
// CHECK-LABEL: func.func @norm_result_shared
// CHECK: %[[N:.*]] = kernel.fused "reduction"
// CHECK-NEXT: ^bb0
// CHECK-NEXT: graph.batch_norm_training
// CHECK-NEXT: kernel.yield
// CHECK: kernel.fused "elementwise"(%[[N]])
// CHECK: graph.relu
// CHECK: %[[L:.*]] = kernel.fused "reduction"
// CHECK-NEXT: ^bb0
// CHECK-NEXT: graph.layer_norm
// CHECK-NEXT: graph.add
// CHECK-NEXT: kernel.yield
// CHECK: kernel.fused "elementwise"(%[[L]])
// CHECK: graph.broadcast_to
func.func @norm_result_shared(%x: tensor<2x3x4x4xf32>, %w: tensor<3xf32>, %t: tensor<4xf32>, %u: tensor<2x4xf32>) -> (tensor<2x3x4x4xf32>, tensor<2x3x4x4xf32>, tensor<3x2x4xf32>) {
  %y, %m, %v = graph.batch_norm_training %x, %w, %w, %w, %w : tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  %z = graph.relu %y : tensor<2x3x4x4xf32>
  %l = graph.layer_norm %u, %t, %t : tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>
  %b = graph.add %l, %t : tensor<2x4xf32>, tensor<4xf32>
  %c = graph.broadcast_to %b {shape = array<i64: 3, 2, 4>} : tensor<2x4xf32>
  return %y, %z, %c : tensor<2x3x4x4xf32>, tensor<2x3x4x4xf32>, tensor<3x2x4xf32>
}
