// RUN: kiln-opt %s -convert-graph-to-linalg="library-calls=false" -split-input-file | FileCheck %s
// RUN: kiln-opt %s -convert-graph-to-linalg -split-input-file | FileCheck %s --check-prefix=LIB

// Broadcasting elementwise math: one parallel generic; the [8] operand is
// read along the last dimension.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @add_relu
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK: %[[A:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK: arith.addf
// CHECK: linalg.generic
// CHECK: arith.maximumf
// CHECK-NOT: graph.
func.func @add_relu(%x: tensor<4x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %0 = graph.add %x, %b : tensor<4x8xf32>, tensor<8xf32>
  %1 = graph.relu %0 : tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// -----

// A Linear's weight [out, in] is transposed once, so the contraction's
// innermost loop runs along its rows; the bias and activation form one
// epilogue generic.
// CHECK-DAG: #[[LHS:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[RHS:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @linear
// CHECK: linalg.transpose ins(%{{.*}} : tensor<4x16xf32>) outs(%{{.*}} : tensor<16x4xf32>) permutation = [1, 0]
// CHECK: %[[Z:.*]] = linalg.fill
// CHECK: %[[P:.*]] = linalg.generic {indexing_maps = [#[[LHS]], #[[RHS]], #[[OUT]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: outs(%[[Z]] : tensor<8x4xf32>)
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[P]], %{{.*}} : tensor<8x4xf32>, tensor<4xf32>)
// CHECK: arith.addf
// CHECK: arith.maximumf
// Float32 library calls go to the runtime, in destination style, with null
// slots for absent operands.
// LIB-LABEL: func.func @linear
// LIB-SAME: (%[[X:.*]]: tensor<8x16xf32>, %[[W:.*]]: tensor<4x16xf32>, %[[B:.*]]: tensor<4xf32>)
// LIB: %[[E:.*]] = tensor.empty() : tensor<8x4xf32>
// LIB: kernel.library_call "kiln_matmul_f32" ins(%[[X]], %[[W]], %[[B]] : tensor<8x16xf32>, tensor<4x16xf32>, tensor<4xf32>) outs(%[[E]] : tensor<8x4xf32>) {floats = array<f64: 0.000000e+00>, ints = array<i64: 8, 4, 16, 0, 1, 1>, slots = array<i64: 0, 1, 2, -1>}
func.func @linear(%x: tensor<8x16xf32>, %w: tensor<4x16xf32>, %b: tensor<4xf32>) -> tensor<8x4xf32> {
  %0 = kernel.matmul %x, %w bias(%b : tensor<4xf32>) activation(relu) {transpose_rhs} : tensor<8x16xf32>, tensor<4x16xf32>
  return %0 : tensor<8x4xf32>
}

// -----

// Convolution: zero padding, then one generic whose input map reads the
// strided, dilated window; the bias initializes the accumulator.
// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d4, d2 * 2 + d5 * 2, d3 * 2 + d6 * 2)>
// CHECK-LABEL: func.func @conv
// CHECK: tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: %[[INIT:.*]] = linalg.generic
// CHECK: linalg.generic {indexing_maps = [#[[IN]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK-SAME: outs(%[[INIT]] : tensor<2x8x4x4xf32>)
func.func @conv(%x: tensor<2x3x9x9xf32>, %w: tensor<8x3x3x3xf32>, %b: tensor<8xf32>) -> tensor<2x8x4x4xf32> {
  %0 = graph.conv2d %x, %w, %b {strides = array<i64: 2, 2>, padding = array<i64: 1, 1>, dilation = array<i64: 2, 2>} : tensor<2x3x9x9xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>
  return %0 : tensor<2x8x4x4xf32>
}

// -----

// Transposed convolution: in float32 with library calls, oneDNN's
// deconvolution on the operands as they are (n c h w o kh kw oh ow, strides,
// padding, output padding, dilation, groups, activation); without, the
// zero-dilated, padded input with a flipped copy of the weight.
// LIB-LABEL: func.func @conv_transpose
// LIB-SAME: (%[[X:.*]]: tensor<2x8x12x12xf32>, %[[W:.*]]: tensor<8x4x4x4xf32>)
// LIB-NOT: linalg.generic
// LIB: kernel.library_call "kiln_conv_transpose2d_f32" ins(%[[X]], %[[W]] : tensor<2x8x12x12xf32>, tensor<8x4x4x4xf32>) outs(%{{.*}} : tensor<2x4x25x25xf32>) {floats = array<f64: 0.000000e+00>, ints = array<i64: 2, 8, 12, 12, 4, 4, 4, 25, 25, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0>, slots = array<i64: 0, 1, -1, -1>}
// CHECK-LABEL: func.func @conv_transpose
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0, 0] [2, 8, 12, 12] [1, 1, 2, 2]
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}} : tensor<8x4x4x4xf32>) outs(%{{.*}} : tensor<4x8x4x4xf32>)
func.func @conv_transpose(%x: tensor<2x8x12x12xf32>, %w: tensor<8x4x4x4xf32>) -> tensor<2x4x25x25xf32> {
  %0 = graph.conv_transpose2d %x, %w {strides = array<i64: 2, 2>, padding = array<i64: 1, 1>, output_padding = array<i64: 1, 1>} : tensor<2x8x12x12xf32>, tensor<8x4x4x4xf32>
  return %0 : tensor<2x4x25x25xf32>
}

// -----

// Output padding beyond the padding (a last row and column no input
// reaches, which the runtime fills) is the same deconvolution call.
// LIB-LABEL: func.func @conv_transpose_wide_output_padding
// LIB-NOT: linalg.generic
// LIB: kernel.library_call "kiln_conv_transpose2d_f32"
// LIB-SAME: ints = array<i64: 1, 8, 5, 5, 4, 3, 3, 12, 12, 2, 2, 0, 0, 1, 1, 1, 1, 1, 0>
func.func @conv_transpose_wide_output_padding(%x: tensor<1x8x5x5xf32>, %w: tensor<8x4x3x3xf32>) -> tensor<1x4x12x12xf32> {
  %0 = graph.conv_transpose2d %x, %w {strides = array<i64: 2, 2>, output_padding = array<i64: 1, 1>} : tensor<1x8x5x5xf32>, tensor<8x4x3x3xf32>
  return %0 : tensor<1x4x12x12xf32>
}

// -----

// A convolution's weight gradient: in float32 with library calls, oneDNN's
// backward-weights convolution (n c h w o kh kw oh ow, strides, padding,
// dilation, groups); without, one generic over the padded input, reducing
// over the batch and the output positions.
// LIB-LABEL: func.func @conv_weight_grad
// LIB: kernel.library_call "kiln_conv2d_weight_grad_f32" ins(%{{.*}}, %{{.*}} : tensor<2x3x9x9xf32>, tensor<2x8x5x5xf32>) outs(%{{.*}} : tensor<8x3x3x3xf32>) {floats = array<f64: 0.000000e+00>, ints = array<i64: 2, 3, 9, 9, 8, 3, 3, 5, 5, 2, 2, 1, 1, 1, 1, 1>, slots = array<i64: 0, 1>}
// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d4, d1, d5 * 2 + d2, d6 * 2 + d3)>
// CHECK-DAG: #[[G:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d4, d0, d5, d6)>
// CHECK-LABEL: func.func @conv_weight_grad
// CHECK: tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: linalg.generic {indexing_maps = [#[[IN]], #[[G]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK-SAME: outs(%{{.*}} : tensor<8x3x3x3xf32>)
func.func @conv_weight_grad(%x: tensor<2x3x9x9xf32>, %g: tensor<2x8x5x5xf32>) -> tensor<8x3x3x3xf32> {
  %0 = graph.conv2d_weight_grad %x, %g {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1>} : tensor<2x3x9x9xf32>, tensor<2x8x5x5xf32>
  return %0 : tensor<8x3x3x3xf32>
}

// -----

// Softmax: the row max, e = exp(x - max) (one exp per element), the row
// sums of e, then e / sum.
// CHECK-LABEL: func.func @softmax
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// The row max may be NaN or ignore it (kiln-vectorize reduces it with vmaxps).
// CHECK-SAME: attrs = {kiln.nan_agnostic_max}
// CHECK: arith.maximumf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: math.exp
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK-NOT: math.exp
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK-NOT: math.exp
// CHECK: arith.divf
func.func @softmax(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = graph.softmax %x : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Reshapes are views: collapse then expand.
// CHECK-LABEL: func.func @reshape
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0, 1]] : tensor<4x8xf32> into tensor<32xf32>
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0, 1, 2]] output_shape [2, 4, 4] : tensor<32xf32> into tensor<2x4x4xf32>
func.func @reshape(%x: tensor<4x8xf32>) -> tensor<2x4x4xf32> {
  %0 = graph.reshape %x {shape = array<i64: 2, 4, 4>} : tensor<4x8xf32>
  return %0 : tensor<2x4x4xf32>
}


// -----

// The gradient of max pooling: the first maximum of each window, then one
// pass per window offset that adds the routed gradient to its strided slice
// of the accumulator in place (the slice is the generic's output and goes
// back where it came from), so that bufferization writes the slice directly
// and copies nothing.
// CHECK-LABEL: func.func @max_pool_grad
// CHECK: %[[FIRST:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1x2x2x2xi32>)
// CHECK: %[[ACC:.*]] = linalg.fill
// CHECK: %[[SLICE:.*]] = tensor.extract_slice %[[ACC]][0, 0, 0, 0] [1, 2, 2, 2] [1, 1, 2, 2]
// CHECK: %[[UPDATED:.*]] = linalg.generic {{.*}} ins(%[[FIRST]], %{{.*}} : tensor<1x2x2x2xi32>, tensor<1x2x2x2xf32>) outs(%[[SLICE]] : tensor<1x2x2x2xf32>)
// CHECK: tensor.insert_slice %[[UPDATED]] into %[[ACC]][0, 0, 0, 0] [1, 2, 2, 2] [1, 1, 2, 2]
func.func @max_pool_grad(%x: tensor<1x2x4x4xf32>, %g: tensor<1x2x2x2xf32>) -> tensor<1x2x4x4xf32> {
  %0 = graph.max_pool2d_grad %x, %g {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<1x2x4x4xf32>, tensor<1x2x2x2xf32>
  return %0 : tensor<1x2x4x4xf32>
}
