// RUN: kiln-opt %s -convert-graph-to-linalg="cuda=true" -split-input-file | FileCheck %s
// RUN: kiln-opt %s -convert-graph-to-linalg="cuda=true library-calls=false" -split-input-file | FileCheck %s --check-prefix=OFF
// RUN: kiln-opt %s -convert-graph-to-linalg="cuda=true gpu-math=tf32" -split-input-file | FileCheck %s --check-prefix=TF32
// RUN: kiln-opt %s -convert-graph-to-linalg="cuda=true gpu-math=bf16" -split-input-file | FileCheck %s --check-prefix=BF16
// RUN: not kiln-opt %s -convert-graph-to-linalg="cuda=true gpu-math=fp16" -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// Each call's last int is the math mode of --gpu-math (0: fp32, 1: tf32,
// 2: bf16; KILN_GPU_MATH_*).
// TF32: ints = array<i64: 8, 4, 16, 0, 1, 1, 1>
// TF32: ints = array<i64: 8, 4, 16, 0, 1, 0, 1>
// TF32: ints = array<i64: 1, 3, 6, 6, 4, 3, 3, 6, 6, 1, 1, 1, 1, 1, 1, 1, 1>
// BF16: ints = array<i64: 8, 4, 16, 0, 1, 1, 2>
// BAD: error: gpu-math=fp16 is not a GPU math mode; modes: fp32, tf32, bf16

// The GPU's library calls: a float32 kernel.matmul is the CUDA runtime's
// cuBLASLt matmul, whose epilogues apply the bias, the residual and ReLU
// (ints: m, n, k, transpose_lhs, transpose_rhs, activation).
// CHECK-LABEL: func.func @matmul_relu
// CHECK: kernel.library_call "kiln_cuda_matmul_f32" ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<8x16xf32>, tensor<4x16xf32>, tensor<4xf32>, tensor<8x4xf32>) outs(%{{.*}} : tensor<8x4xf32>)
// CHECK-SAME: ints = array<i64: 8, 4, 16, 0, 1, 1, 0>
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
// CHECK-SAME: ints = array<i64: 8, 4, 16, 0, 1, 0, 0>
// CHECK: linalg.generic {{.*}} ins(%[[P]] : tensor<8x4xf32>)
// CHECK: math.erf
func.func @matmul_gelu(%x: tensor<8x16xf32>, %w: tensor<4x16xf32>, %b: tensor<4xf32>) -> tensor<8x4xf32> {
  %0 = kernel.matmul %x, %w bias(%b : tensor<4xf32>) activation(gelu) {transpose_rhs} : tensor<8x16xf32>, tensor<4x16xf32>
  return %0 : tensor<8x4xf32>
}

// -----

// A float32 channels-first convolution is cuDNN's (ints: n, c, h, w, out
// channels, kh, kw, oh, ow, strides, padding, dilation, groups); its bias,
// residual and activation follow as one generic over its result.
// CHECK-LABEL: func.func @conv2d
// CHECK: %[[P:.*]] = kernel.library_call "kiln_cuda_conv2d_f32" ins(%{{.*}}, %{{.*}} : tensor<1x3x6x6xf32>, tensor<4x3x3x3xf32>) outs(%{{.*}} : tensor<1x4x6x6xf32>)
// CHECK-SAME: ints = array<i64: 1, 3, 6, 6, 4, 3, 3, 6, 6, 1, 1, 1, 1, 1, 1, 1, 0>
// CHECK-NEXT: tensor.empty
// CHECK-NEXT: linalg.generic {{.*}} ins(%[[P]], %{{.*}}, %{{.*}} : tensor<1x4x6x6xf32>, tensor<4xf32>, tensor<1x4x6x6xf32>)
// CHECK: arith.maximumf
// CHECK-NOT: kernel.library_call
// OFF-LABEL: func.func @conv2d
// OFF-NOT: kernel.library_call
// OFF: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]
func.func @conv2d(%x: tensor<1x3x6x6xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>, %r: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  %0 = kernel.conv2d %x, %w bias(%b : tensor<4xf32>) residual(%r : tensor<1x4x6x6xf32>) activation(relu) {padding = array<i64: 1, 1>} : tensor<1x3x6x6xf32>, tensor<4x3x3x3xf32>
  return %0 : tensor<1x4x6x6xf32>
}

// -----

// An unfused graph.conv2d too, with strides, dilation and groups; without
// a bias the call's result is the op's. Float64 is generated code.
// CHECK-LABEL: func.func @graph_conv2d
// CHECK: %[[P:.*]] = kernel.library_call "kiln_cuda_conv2d_f32" ins(%{{.*}}, %{{.*}} : tensor<2x8x9x9xf32>, tensor<8x4x3x3xf32>) outs(%{{.*}} : tensor<2x8x3x3xf32>)
// CHECK-SAME: ints = array<i64: 2, 8, 9, 9, 8, 3, 3, 3, 3, 2, 2, 0, 0, 2, 2, 2, 0>
// CHECK-NOT: kernel.library_call
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]
// CHECK-SAME: tensor<2x8x9x9xf64>
func.func @graph_conv2d(%x: tensor<2x8x9x9xf32>, %w: tensor<8x4x3x3xf32>, %d: tensor<2x8x9x9xf64>, %dw: tensor<8x4x3x3xf64>) -> (tensor<2x8x3x3xf32>, tensor<2x8x3x3xf64>) {
  %0 = graph.conv2d %x, %w {strides = array<i64: 2, 2>, dilation = array<i64: 2, 2>, groups = 2 : i64} : tensor<2x8x9x9xf32>, tensor<8x4x3x3xf32>
  %1 = graph.conv2d %d, %dw {strides = array<i64: 2, 2>, dilation = array<i64: 2, 2>, groups = 2 : i64} : tensor<2x8x9x9xf64>, tensor<8x4x3x3xf64>
  return %0, %1 : tensor<2x8x3x3xf32>, tensor<2x8x3x3xf64>
}

// -----

// A transposed convolution is cuDNN's backward-data pass (ints: its input's
// sizes, out channels, kernel, its result's size, window, groups; the
// output padding is in the result's size), then the bias.
// CHECK-LABEL: func.func @conv_transpose2d
// CHECK: %[[P:.*]] = kernel.library_call "kiln_cuda_conv_transpose2d_f32" ins(%{{.*}}, %{{.*}} : tensor<2x8x5x5xf32>, tensor<8x4x3x3xf32>) outs(%{{.*}} : tensor<2x4x10x10xf32>)
// CHECK-SAME: ints = array<i64: 2, 8, 5, 5, 4, 3, 3, 10, 10, 2, 2, 1, 1, 1, 1, 1, 0>
// CHECK: linalg.generic {{.*}} ins(%[[P]], %{{.*}} : tensor<2x4x10x10xf32>, tensor<4xf32>)
// OFF-LABEL: func.func @conv_transpose2d
// OFF-NOT: kernel.library_call
func.func @conv_transpose2d(%x: tensor<2x8x5x5xf32>, %w: tensor<8x4x3x3xf32>, %b: tensor<4xf32>) -> tensor<2x4x10x10xf32> {
  %0 = graph.conv_transpose2d %x, %w, %b {strides = array<i64: 2, 2>, padding = array<i64: 1, 1>, output_padding = array<i64: 1, 1>} : tensor<2x8x5x5xf32>, tensor<8x4x3x3xf32>, tensor<4xf32>
  return %0 : tensor<2x4x10x10xf32>
}

// -----

// An output padding beyond the stride's rounding (which a dilation larger
// than the stride allows) is no convolution's data gradient cuDNN states:
// generated code.
// CHECK-LABEL: func.func @conv_transpose2d_wide_output_padding
// CHECK-NOT: kernel.library_call
func.func @conv_transpose2d_wide_output_padding(%x: tensor<1x2x4x4xf32>, %w: tensor<2x2x3x3xf32>) -> tensor<1x2x9x9xf32> {
  %0 = graph.conv_transpose2d %x, %w {dilation = array<i64: 2, 2>, output_padding = array<i64: 1, 1>} : tensor<1x2x4x4xf32>, tensor<2x2x3x3xf32>
  return %0 : tensor<1x2x9x9xf32>
}

// -----

// The weight gradient is cuDNN's backward-filter pass (ints as conv2d's,
// the gradient's channels and size as the output's).
// CHECK-LABEL: func.func @conv2d_weight_grad
// CHECK: kernel.library_call "kiln_cuda_conv2d_weight_grad_f32" ins(%{{.*}}, %{{.*}} : tensor<2x8x6x6xf32>, tensor<2x4x3x3xf32>) outs(%{{.*}} : tensor<4x4x3x3xf32>)
// CHECK-SAME: ints = array<i64: 2, 8, 6, 6, 4, 3, 3, 3, 3, 2, 2, 1, 1, 1, 1, 2, 0>
// CHECK-NOT: linalg.generic
// OFF-LABEL: func.func @conv2d_weight_grad
// OFF-NOT: kernel.library_call
func.func @conv2d_weight_grad(%x: tensor<2x8x6x6xf32>, %g: tensor<2x4x3x3xf32>) -> tensor<4x4x3x3xf32> {
  %0 = graph.conv2d_weight_grad %x, %g {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1>, groups = 2 : i64} : tensor<2x8x6x6xf32>, tensor<2x4x3x3xf32>
  return %0 : tensor<4x4x3x3xf32>
}

// -----

// A float32 batch of products is one strided-batch cuBLASLt call, its
// leading dimensions flattened (ints: batch, m, n, k, transposes); float64
// is generated code.
// CHECK-LABEL: func.func @batch_matmul
// CHECK: kernel.library_call "kiln_cuda_batch_matmul_f32" ins(%{{.*}}, %{{.*}} : tensor<2x4x6x8xf32>, tensor<2x4x6x8xf32>) outs(%{{.*}} : tensor<2x4x6x6xf32>)
// CHECK-SAME: ints = array<i64: 8, 6, 6, 8, 0, 1, 0>
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
