// RUN: kiln-opt %s -convert-graph-to-linalg="library-calls=false" -split-input-file | FileCheck %s --check-prefixes=CHECK,GEN
// RUN: kiln-opt %s -convert-graph-to-linalg -split-input-file | FileCheck %s --check-prefixes=CHECK,LIB

// Matmul, convolution and pooling. CHECK lines hold with and without
// library calls; GEN lines only for generated code (library-calls=false);
// LIB lines only with library calls (the default), which send float32
// conv_transpose2d / conv2d_weight_grad (and kernel.matmul / kernel.conv2d)
// to oneDNN-backed kiln_* runtime functions.

// graph.matmul is always generated code: a zero-filled accumulator and one
// contraction generic (the library call is for kernel.matmul, which
// graph-fuse forms from it). Its loops run m, k, n: the innermost along the
// rows of the right operand and the result.
// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[B:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[C:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @matmul(
// CHECK: %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<4x16xf32>)
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[C]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: outs(%[[Z]] : tensor<4x16xf32>)
// CHECK: ^bb0(%[[L:.*]]: f32, %[[RR:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK: %[[P:.*]] = arith.mulf %[[L]], %[[RR]]
// CHECK: arith.addf %[[P]], %[[ACC]]
// CHECK: return %[[R]]
// CHECK-NOT: kernel.library_call
func.func @matmul(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %0 = graph.matmul %a, %b : tensor<4x8xf32>, tensor<8x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

// A transposed left operand is read in place by its map; a transposed
// right operand is transposed once, so the innermost loop reads its rows.
// CHECK-DAG: #[[AT:.*]] = affine_map<(d0, d1, d2) -> (d1, d0)>
// CHECK-DAG: #[[BT:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @matmul_transposed_f64
// CHECK-SAME: (%[[TA:.*]]: tensor<8x4xf64>, %[[TB:.*]]: tensor<16x8xf64>)
// CHECK: %[[BR:.*]] = linalg.transpose ins(%[[TB]] : tensor<16x8xf64>) outs(%{{.*}} : tensor<8x16xf64>) permutation = [1, 0]
// CHECK: linalg.fill ins(%{{.*}} : f64)
// CHECK: linalg.generic {indexing_maps = [#[[AT]], #[[BT]], #{{.*}}], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%[[TA]], %[[BR]] : tensor<8x4xf64>, tensor<8x16xf64>)
// CHECK: arith.mulf %{{.*}}, %{{.*}} : f64
func.func @matmul_transposed_f64(%a: tensor<8x4xf64>, %b: tensor<16x8xf64>) -> tensor<4x16xf64> {
  %0 = graph.matmul %a, %b {transpose_lhs, transpose_rhs} : tensor<8x4xf64>, tensor<16x8xf64>
  return %0 : tensor<4x16xf64>
}

// -----

// Batched: the batch dims lead every map, then m, k (the reduction), n.
// CHECK-DAG: #[[Q:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[K:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>
// CHECK-DAG: #[[S:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// CHECK-LABEL: func.func @batch_matmul
// CHECK: linalg.transpose {{.*}} permutation = [0, 1, 3, 2]
// CHECK: linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[Q]], #[[K]], #[[S]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]}
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK-NOT: kernel.library_call
func.func @batch_matmul(%a: tensor<2x3x4x8xf32>, %b: tensor<2x3x6x8xf32>) -> tensor<2x3x4x6xf32> {
  %0 = graph.batch_matmul %a, %b {transpose_rhs} : tensor<2x3x4x8xf32>, tensor<2x3x6x8xf32>
  return %0 : tensor<2x3x4x6xf32>
}

// -----

// A grouped, strided, padded convolution with bias: zero padding, the bias
// broadcast along channels as the accumulator, and a generic whose input
// map picks the group's channels.
// CHECK-DAG: #[[BIAS:.*]] = affine_map<(d0, d1, d2, d3) -> (d1)>
// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, (d1 floordiv 2) * 2 + d4, d2 * 2 + d5, d3 * 2 + d6)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d4, d5, d6)>
// CHECK-LABEL: func.func @conv2d_grouped
// CHECK: %[[P:.*]] = tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: : tensor<2x4x6x6xf32> to tensor<2x4x8x8xf32>
// CHECK: %[[INIT:.*]] = linalg.generic {indexing_maps = [#[[BIAS]], #{{.*}}]
// CHECK-SAME: ins(%{{.*}} : tensor<4xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[IN]], #[[W]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK-SAME: ins(%[[P]], %{{.*}} : tensor<2x4x8x8xf32>, tensor<4x2x3x3xf32>) outs(%[[INIT]] : tensor<2x4x3x3xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK-NOT: kernel.library_call
func.func @conv2d_grouped(%x: tensor<2x4x6x6xf32>, %w: tensor<4x2x3x3xf32>, %b: tensor<4xf32>) -> tensor<2x4x3x3xf32> {
  %0 = graph.conv2d %x, %w, %b {groups = 2 : i64, strides = array<i64: 2, 2>, padding = array<i64: 1, 1>} : tensor<2x4x6x6xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>
  return %0 : tensor<2x4x3x3xf32>
}

// -----

// Without bias or padding the accumulator is a zero fill and no pad is made.
// CHECK-LABEL: func.func @conv2d_f64
// CHECK-NOT: tensor.pad
// CHECK: %[[Z:.*]] = linalg.fill ins(%{{.*}} : f64)
// CHECK: linalg.generic {{.*}} outs(%[[Z]] : tensor<1x4x4x4xf64>)
func.func @conv2d_f64(%x: tensor<1x3x6x6xf64>, %w: tensor<4x3x3x3xf64>) -> tensor<1x4x4x4xf64> {
  %0 = graph.conv2d %x, %w : tensor<1x3x6x6xf64>, tensor<4x3x3x3xf64>
  return %0 : tensor<1x4x4x4xf64>
}

// -----

// Transposed convolution with bias. Library call: the operands as they are,
// the bias in slot 2. Generated: the input spread by the stride into zeros,
// padded by k - 1 - p, the weight flipped and transposed by a copy generic,
// the bias as the accumulator, then a stride-1 convolution.
// LIB-LABEL: func.func @conv_transpose2d(
// LIB-SAME: %[[X:.*]]: tensor<1x4x3x3xf32>, %[[W:.*]]: tensor<4x2x3x3xf32>, %[[B:.*]]: tensor<2xf32>)
// LIB: %[[E:.*]] = tensor.empty() : tensor<1x2x5x5xf32>
// LIB: kernel.library_call "kiln_conv_transpose2d_f32" ins(%[[X]], %[[W]], %[[B]] : tensor<1x4x3x3xf32>, tensor<4x2x3x3xf32>, tensor<2xf32>) outs(%[[E]] : tensor<1x2x5x5xf32>)
// LIB-SAME: slots = array<i64: 0, 1, 2, -1>
// LIB-NOT: linalg.generic
// GEN-DAG: #[[FLIP:.*]] = affine_map<(d0, d1, d2, d3) -> ((d0 floordiv 2) * 4 + d1, d0 mod 2, -d2 + 2, -d3 + 2)>
// GEN-LABEL: func.func @conv_transpose2d(
// GEN: %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<1x4x5x5xf32>)
// GEN: %[[D:.*]] = tensor.insert_slice %{{.*}} into %[[Z]][0, 0, 0, 0] [1, 4, 3, 3] [1, 1, 2, 2]
// GEN: %[[P:.*]] = tensor.pad %[[D]] low[0, 0, 1, 1] high[0, 0, 1, 1]
// GEN: %[[F:.*]] = linalg.generic {indexing_maps = [#[[FLIP]], #{{.*}}]
// GEN-SAME: ins(%{{.*}} : tensor<4x2x3x3xf32>) outs(%{{.*}} : tensor<2x4x3x3xf32>)
// GEN: %[[INIT:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<2xf32>)
// GEN: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]
// GEN-SAME: ins(%[[P]], %[[F]] : tensor<1x4x7x7xf32>, tensor<2x4x3x3xf32>) outs(%[[INIT]] : tensor<1x2x5x5xf32>)
// GEN-NOT: kernel.library_call
func.func @conv_transpose2d(%x: tensor<1x4x3x3xf32>, %w: tensor<4x2x3x3xf32>, %b: tensor<2xf32>) -> tensor<1x2x5x5xf32> {
  %0 = graph.conv_transpose2d %x, %w, %b {strides = array<i64: 2, 2>, padding = array<i64: 1, 1>} : tensor<1x4x3x3xf32>, tensor<4x2x3x3xf32>, tensor<2xf32>
  return %0 : tensor<1x2x5x5xf32>
}

// -----

// Float64 is generated code even with library calls.
// CHECK-LABEL: func.func @conv_transpose2d_f64
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0, 0] [1, 4, 3, 3] [1, 1, 2, 2] : tensor<1x4x3x3xf64> into tensor<1x4x5x5xf64>
// CHECK: tensor.pad
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]
// CHECK: arith.mulf %{{.*}}, %{{.*}} : f64
// CHECK-NOT: kernel.library_call
func.func @conv_transpose2d_f64(%x: tensor<1x4x3x3xf64>, %w: tensor<4x2x3x3xf64>) -> tensor<1x2x5x5xf64> {
  %0 = graph.conv_transpose2d %x, %w {strides = array<i64: 2, 2>, padding = array<i64: 1, 1>} : tensor<1x4x3x3xf64>, tensor<4x2x3x3xf64>
  return %0 : tensor<1x2x5x5xf64>
}

// -----

// A grouped weight gradient: library call (n c h w o kh kw oh ow, strides,
// padding, dilation, groups), or one generic reducing over the batch and
// the output positions.
// LIB-LABEL: func.func @conv2d_weight_grad_grouped
// LIB: kernel.library_call "kiln_conv2d_weight_grad_f32" ins(%{{.*}}, %{{.*}} : tensor<2x4x5x5xf32>, tensor<2x4x3x3xf32>) outs(%{{.*}} : tensor<4x2x3x3xf32>)
// LIB-SAME: ints = array<i64: 2, 4, 5, 5, 4, 3, 3, 3, 3, 1, 1, 0, 0, 1, 1, 2>
// LIB-NOT: linalg.generic
// GEN-DAG: #[[IN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d4, (d0 floordiv 2) * 2 + d1, d5 + d2, d6 + d3)>
// GEN-DAG: #[[G:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d4, d0, d5, d6)>
// GEN-LABEL: func.func @conv2d_weight_grad_grouped
// GEN: %[[Z:.*]] = linalg.fill
// GEN: linalg.generic {indexing_maps = [#[[IN]], #[[G]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
// GEN-SAME: outs(%[[Z]] : tensor<4x2x3x3xf32>)
// GEN-NOT: kernel.library_call
func.func @conv2d_weight_grad_grouped(%x: tensor<2x4x5x5xf32>, %g: tensor<2x4x3x3xf32>) -> tensor<4x2x3x3xf32> {
  %0 = graph.conv2d_weight_grad %x, %g {kernel = array<i64: 3, 3>, groups = 2 : i64} : tensor<2x4x5x5xf32>, tensor<2x4x3x3xf32>
  return %0 : tensor<4x2x3x3xf32>
}

// -----

// CHECK-LABEL: func.func @conv2d_weight_grad_f64
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]
// CHECK-SAME: outs(%{{.*}} : tensor<4x3x3x3xf64>)
// CHECK-NOT: kernel.library_call
func.func @conv2d_weight_grad_f64(%x: tensor<2x3x5x5xf64>, %g: tensor<2x4x3x3xf64>) -> tensor<4x3x3x3xf64> {
  %0 = graph.conv2d_weight_grad %x, %g {kernel = array<i64: 3, 3>} : tensor<2x3x5x5xf64>, tensor<2x4x3x3xf64>
  return %0 : tensor<4x3x3x3xf64>
}

// -----

// Max pooling: padding with -inf, one strided slice per window offset
// (3 x 3 here), and one parallel generic taking their maximum.
// CHECK-LABEL: func.func @max_pool2d(
// CHECK: %[[LOW:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[P:.*]] = tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: tensor.yield %[[LOW]]
// CHECK: tensor.extract_slice %[[P]][0, 0, 0, 0] [2, 3, 2, 2] [1, 1, 2, 2]
// CHECK-COUNT-7: tensor.extract_slice %[[P]]
// CHECK: tensor.extract_slice %[[P]][0, 0, 2, 2] [2, 3, 2, 2] [1, 1, 2, 2]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel"]
// CHECK-COUNT-8: arith.maximumf
// CHECK: linalg.yield
func.func @max_pool2d(%x: tensor<2x3x4x4xf32>) -> tensor<2x3x2x2xf32> {
  %0 = graph.max_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1>} : tensor<2x3x4x4xf32>
  return %0 : tensor<2x3x2x2xf32>
}

// -----

// Average pooling: the window sum, then a division by a constant [OH, OW]
// table of divisors (all 4 when padding counts).
// CHECK-DAG: #[[HW:.*]] = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
// CHECK-LABEL: func.func @avg_pool2d(
// CHECK-NOT: tensor.pad
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel"]
// CHECK-COUNT-3: arith.addf
// CHECK: %[[DIV:.*]] = arith.constant dense<4.000000e+00> : tensor<2x2xf32>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[HW]], #{{.*}}]
// CHECK-SAME: ins(%[[SUM]], %[[DIV]] : tensor<2x3x2x2xf32>, tensor<2x2xf32>)
// CHECK: arith.divf
func.func @avg_pool2d(%x: tensor<2x3x4x4xf32>) -> tensor<2x3x2x2xf32> {
  %0 = graph.avg_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<2x3x4x4xf32>
  return %0 : tensor<2x3x2x2xf32>
}

// -----

// Without count_include_pad, each position divides by the unpadded elements
// its window covers.
// CHECK-LABEL: func.func @avg_pool2d_exclude_pad
// CHECK: tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: arith.constant dense<{{\[}}[4.000000e+00, 6.000000e+00, 4.000000e+00], [6.000000e+00, 9.000000e+00, 6.000000e+00], [4.000000e+00, 6.000000e+00, 4.000000e+00]]> : tensor<3x3xf32>
// CHECK: arith.divf
func.func @avg_pool2d_exclude_pad(%x: tensor<2x3x3x3xf32>) -> tensor<2x3x3x3xf32> {
  %0 = graph.avg_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, padding = array<i64: 1, 1>, count_include_pad = false} : tensor<2x3x3x3xf32>
  return %0 : tensor<2x3x3x3xf32>
}

// -----

// Max-pool gradient with padding: the index of each window's first maximum
// (i32), then one in-place pass per window offset over a padded zero
// accumulator, finally cropped to the input.
// CHECK-LABEL: func.func @max_pool2d_grad_padded
// CHECK: tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: %[[FIRST:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<2x3x2x2xi32>)
// CHECK: arith.cmpf ogt
// CHECK: arith.select
// CHECK: %[[ACC:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<2x3x6x6xf32>)
// CHECK: %[[S0:.*]] = tensor.extract_slice %[[ACC]][0, 0, 0, 0] [2, 3, 2, 2] [1, 1, 2, 2]
// CHECK: linalg.generic {{.*}} ins(%[[FIRST]], %{{.*}} : tensor<2x3x2x2xi32>, tensor<2x3x2x2xf32>) outs(%[[S0]] : tensor<2x3x2x2xf32>)
// CHECK: arith.cmpi eq
// CHECK: arith.select
// CHECK: arith.addf
// CHECK-COUNT-9: tensor.insert_slice
// CHECK: %[[R:.*]] = tensor.extract_slice %{{.*}}[0, 0, 1, 1] [2, 3, 4, 4] [1, 1, 1, 1] : tensor<2x3x6x6xf32> to tensor<2x3x4x4xf32>
// CHECK: return %[[R]]
func.func @max_pool2d_grad_padded(%x: tensor<2x3x4x4xf32>, %g: tensor<2x3x2x2xf32>) -> tensor<2x3x4x4xf32> {
  %0 = graph.max_pool2d_grad %x, %g {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1>} : tensor<2x3x4x4xf32>, tensor<2x3x2x2xf32>
  return %0 : tensor<2x3x4x4xf32>
}

// -----

// Global average pooling: a sum over H and W, a division by H * W, and a
// reshape to [N, C, 1, 1].
// CHECK-LABEL: func.func @global_avg_pool2d
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction"]
// CHECK-SAME: outs(%{{.*}} : tensor<2x3xf32>)
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: arith.constant 1.600000e+01 : f32
// CHECK: arith.divf
// CHECK: tensor.collapse_shape %{{.*}} : tensor<2x3xf32> into tensor<6xf32>
// CHECK: tensor.expand_shape %{{.*}} output_shape [2, 3, 1, 1] : tensor<6xf32> into tensor<2x3x1x1xf32>
func.func @global_avg_pool2d(%x: tensor<2x3x4x4xf32>) -> tensor<2x3x1x1xf32> {
  %0 = graph.global_avg_pool2d %x : tensor<2x3x4x4xf32>
  return %0 : tensor<2x3x1x1xf32>
}

// -----

// The kernel dialect's fused convolution: a library call in float32 (with
// library calls), otherwise the convolution plus an epilogue generic.
// LIB-LABEL: func.func @kernel_conv2d
// LIB: kernel.library_call "kiln_conv2d_f32" ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<1x3x6x6xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) outs(%{{.*}} : tensor<1x4x6x6xf32>)
// LIB-SAME: ints = array<i64: 1, 3, 6, 6, 4, 3, 3, 6, 6, 1, 1, 1, 1, 1, 1, 1, 1>
// LIB-NOT: linalg.generic
// GEN-LABEL: func.func @kernel_conv2d
// GEN: tensor.pad
// GEN: linalg.generic {{.*}} ins(%{{.*}} : tensor<4xf32>)
// GEN: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]
// GEN: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel"]
// GEN: arith.maximumf
// GEN-NOT: kernel.library_call
func.func @kernel_conv2d(%x: tensor<1x3x6x6xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x6x6xf32> {
  %0 = kernel.conv2d %x, %w bias(%b : tensor<4xf32>) activation(relu) {padding = array<i64: 1, 1>} : tensor<1x3x6x6xf32>, tensor<4x3x3x3xf32>
  return %0 : tensor<1x4x6x6xf32>
}

// -----

// A float64 kernel.matmul is generated code even with library calls: the
// contraction, then bias and GELU in one epilogue generic.
// CHECK-LABEL: func.func @kernel_matmul_f64
// CHECK: %[[P:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK-SAME: ins(%[[P]], %{{.*}} : tensor<8x4xf64>, tensor<4xf64>)
// CHECK: arith.addf
// CHECK: math.erf
// CHECK-NOT: kernel.library_call
func.func @kernel_matmul_f64(%x: tensor<8x16xf64>, %w: tensor<4x16xf64>, %b: tensor<4xf64>) -> tensor<8x4xf64> {
  %0 = kernel.matmul %x, %w bias(%b : tensor<4xf64>) activation(gelu) {transpose_rhs} : tensor<8x16xf64>, tensor<4x16xf64>
  return %0 : tensor<8x4xf64>
}
