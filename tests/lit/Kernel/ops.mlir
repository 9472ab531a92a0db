// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --mlir-print-op-generic | kiln-opt | FileCheck %s

// CHECK-LABEL: func.func @kernels
func.func @kernels(%x: tensor<8x16xf32>, %w: tensor<4x16xf32>, %b: tensor<4xf32>, %r: tensor<8x4xf32>,
                   %img: tensor<2x3x8x8xf32>, %k: tensor<6x3x3x3xf32>, %c: tensor<6xf32>) -> (tensor<8x4xf32>, tensor<2x6x8x8xf32>) {
  // CHECK: kernel.matmul %{{.*}}, %{{.*}} bias(%{{.*}} : tensor<4xf32>) residual(%{{.*}} : tensor<8x4xf32>) activation(leaky_relu) {alpha = 2.000000e-01 : f64, transpose_rhs} : tensor<8x16xf32>, tensor<4x16xf32>
  %0 = kernel.matmul %x, %w bias(%b : tensor<4xf32>) residual(%r : tensor<8x4xf32>) activation(leaky_relu) {alpha = 0.2 : f64, transpose_rhs} : tensor<8x16xf32>, tensor<4x16xf32>
  // CHECK: kernel.fused "elementwise"(%{{.*}}, %{{.*}}) : (tensor<8x4xf32>, tensor<4xf32>) -> tensor<8x4xf32> {
  // CHECK-NEXT: ^bb0(%{{.*}}: tensor<8x4xf32>, %{{.*}}: tensor<4xf32>):
  // CHECK-NEXT: graph.sub
  // CHECK-NEXT: kernel.yield %{{.*}} : tensor<8x4xf32>
  %1 = kernel.fused "elementwise" (%0, %b) : (tensor<8x4xf32>, tensor<4xf32>) -> tensor<8x4xf32> {
  ^bb0(%a: tensor<8x4xf32>, %bb: tensor<4xf32>):
    %s = graph.sub %a, %bb : tensor<8x4xf32>, tensor<4xf32>
    kernel.yield %s : tensor<8x4xf32>
  }
  %m = graph.reshape %1 {shape = array<i64: 8, 4>} : tensor<8x4xf32>
  %w4 = graph.reshape %x {shape = array<i64: 32, 4>} : tensor<8x16xf32>
  %sl = graph.slice %w4 {starts = array<i64: 0, 0>, limits = array<i64: 4, 4>, strides = array<i64: 1, 1>} : tensor<32x4xf32>
  // CHECK: kernel.matmul %{{.*}}, %{{.*}} : tensor<8x4xf32>, tensor<4x4xf32>
  %2 = kernel.matmul %m, %sl : tensor<8x4xf32>, tensor<4x4xf32>
  // CHECK: kernel.conv2d %{{.*}}, %{{.*}} bias(%{{.*}} : tensor<6xf32>) activation(gelu) {padding = array<i64: 1, 1>} : tensor<2x3x8x8xf32>, tensor<6x3x3x3xf32>
  %3 = kernel.conv2d %img, %k bias(%c : tensor<6xf32>) activation(gelu) {padding = array<i64: 1, 1>} : tensor<2x3x8x8xf32>, tensor<6x3x3x3xf32>
  return %2, %3 : tensor<8x4xf32>, tensor<2x6x8x8xf32>
}

// CHECK-LABEL: func.func @library_call
func.func @library_call(%x: tensor<8x16xf32>, %w: tensor<4x16xf32>, %m: memref<8x16xf32>, %mw: memref<4x16xf32>, %mo: memref<8x4xf32>) -> tensor<8x4xf32> {
  %e = tensor.empty() : tensor<8x4xf32>
  // CHECK: kernel.library_call "kiln_matmul_f32" ins(%{{.*}}, %{{.*}} : tensor<8x16xf32>, tensor<4x16xf32>) outs(%{{.*}} : tensor<8x4xf32>) {floats = array<f64: 0.000000e+00>, ints = array<i64: 8, 4, 16, 0, 1, 0>, slots = array<i64: 0, 1, -1, -1>} -> tensor<8x4xf32>
  %0 = kernel.library_call "kiln_matmul_f32" ins(%x, %w : tensor<8x16xf32>, tensor<4x16xf32>) outs(%e : tensor<8x4xf32>) {slots = array<i64: 0, 1, -1, -1>, ints = array<i64: 8, 4, 16, 0, 1, 0>, floats = array<f64: 0.0>} -> tensor<8x4xf32>
  // CHECK: kernel.library_call "kiln_matmul_f32" ins(%{{.*}}, %{{.*}} : memref<8x16xf32>, memref<4x16xf32>) outs(%{{.*}} : memref<8x4xf32>)
  // CHECK-NOT: ->
  kernel.library_call "kiln_matmul_f32" ins(%m, %mw : memref<8x16xf32>, memref<4x16xf32>) outs(%mo : memref<8x4xf32>) {slots = array<i64: 0, 1, -1, -1>, ints = array<i64: 8, 4, 16, 0, 1, 0>, floats = array<f64: 0.0>}
  // A call that writes nothing (a runtime check) round-trips too.
  // CHECK: kernel.library_call "kiln_check_finite_f32" ins(%{{.*}} : memref<8x4xf32>) outs() {floats = array<f64>, ints = array<i64: 32>, slots = array<i64: 0>}
  kernel.library_call "kiln_check_finite_f32" ins(%mo : memref<8x4xf32>) outs() {slots = array<i64: 0>, ints = array<i64: 32>, floats = array<f64>}
  return %0 : tensor<8x4xf32>
}
