// RUN: kiln-opt %s -convert-graph-to-linalg="cuda=true" -split-input-file | FileCheck %s
// RUN: kiln-opt %s -convert-graph-to-linalg="cuda=true library-calls=false" -split-input-file | FileCheck %s --check-prefix=OFF

// The GPU's library calls: a float32 kernel.matmul is the CUDA runtime's
// cuBLASLt matmul, whose epilogues apply the bias, the residual and ReLU
// (ints: m, n, k, transpose_lhs, transpose_rhs, activation).
// CHECK-LABEL: func.func @matmul_relu
// CHECK: kernel.library_call "kiln_cuda_matmul_f32" ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<8x16xf32>, tensor<4x16xf32>, tensor<4xf32>, tensor<8x4xf32>) outs(%{{.*}} : tensor<8x4xf32>)
// CHECK-SAME: ints = array<i64: 8, 4, 16, 0, 1, 1>
// CHECK-NOT: linalg.generic
// OFF-LABEL: func.func @matmul_relu
// OFF-NOT: kernel.library_call
// OFF: linalg.generic
func.func @matmul_relu(%x: tensor<8x16xf32>, %w: tensor<4x16xf32>, %b: tensor<4xf32>, %r: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %0 = kernel.matmul %x, %w bias(%b : tensor<4xf32>) residual(%r : tensor<8x4xf32>) activation(relu) {transpose_rhs} : tensor<8x16xf32>, tensor<4x16xf32>
  return %0 : tensor<8x4xf32>
}

// -----

// Other activations are not cuBLASLt's: the call applies the bias, and
// GELU follows as a generic over its result.
// CHECK-LABEL: func.func @matmul_gelu
// CHECK: %[[P:.*]] = kernel.library_call "kiln_cuda_matmul_f32"
// CHECK-SAME: ints = array<i64: 8, 4, 16, 0, 1, 0>
// CHECK: linalg.generic {{.*}} ins(%[[P]] : tensor<8x4xf32>)
// CHECK: math.erf
func.func @matmul_gelu(%x: tensor<8x16xf32>, %w: tensor<4x16xf32>, %b: tensor<4xf32>) -> tensor<8x4xf32> {
  %0 = kernel.matmul %x, %w bias(%b : tensor<4xf32>) activation(gelu) {transpose_rhs} : tensor<8x16xf32>, tensor<4x16xf32>
  return %0 : tensor<8x4xf32>
}

// -----

// Convolutions stay generated code on the GPU (no cuDNN), as float64 does.
// CHECK-LABEL: func.func @conv2d
// CHECK-NOT: kernel.library_call
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]
func.func @conv2d(%x: tensor<1x3x6x6xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x6x6xf32> {
  %0 = kernel.conv2d %x, %w bias(%b : tensor<4xf32>) activation(relu) {padding = array<i64: 1, 1>} : tensor<1x3x6x6xf32>, tensor<4x3x3x3xf32>
  return %0 : tensor<1x4x6x6xf32>
}

// -----

// A float32 batch of products is one strided-batch cuBLASLt call, its
// leading dimensions flattened (ints: batch, m, n, k, transposes); float64
// is generated code.
// CHECK-LABEL: func.func @batch_matmul
// CHECK: kernel.library_call "kiln_cuda_batch_matmul_f32" ins(%{{.*}}, %{{.*}} : tensor<2x4x6x8xf32>, tensor<2x4x6x8xf32>) outs(%{{.*}} : tensor<2x4x6x6xf32>)
// CHECK-SAME: ints = array<i64: 8, 6, 6, 8, 0, 1>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "parallel"]
// CHECK-SAME: tensor<2x6x8xf64>
// CHECK-NOT: kernel.library_call
// OFF-LABEL: func.func @batch_matmul
// OFF-NOT: kernel.library_call
func.func @batch_matmul(%q: tensor<2x4x6x8xf32>, %d: tensor<2x6x8xf64>) -> (tensor<2x4x6x6xf32>, tensor<2x6x6xf64>) {
  %0 = graph.batch_matmul %q, %q {transpose_rhs} : tensor<2x4x6x8xf32>, tensor<2x4x6x8xf32>
  %1 = graph.batch_matmul %d, %d {transpose_rhs} : tensor<2x6x8xf64>, tensor<2x6x8xf64>
  return %0, %1 : tensor<2x4x6x6xf32>, tensor<2x6x6xf64>
}

// -----

// An empty product (K = 0) is generated code: cuBLASLt takes none.
// CHECK-LABEL: func.func @empty_product
// CHECK-NOT: kernel.library_call
func.func @empty_product(%x: tensor<8x0xf32>, %w: tensor<4x0xf32>) -> tensor<8x4xf32> {
  %0 = kernel.matmul %x, %w {transpose_rhs} : tensor<8x0xf32>, tensor<4x0xf32>
  return %0 : tensor<8x4xf32>
}
