// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --mlir-print-op-generic | kiln-opt | FileCheck %s

// Every graph op, printed and parsed back; result types are always inferred.

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%x: tensor<4x8xf32>, %b: tensor<8xf32>, %i: tensor<4xi64>) -> tensor<4x8xf32> {
  // CHECK: graph.constant dense<1.000000e+00> : tensor<8xf32>
  %c = graph.constant dense<1.0> : tensor<8xf32>
  // CHECK: graph.cast %{{.*}} : tensor<4xi64> to f32
  %ci = graph.cast %i : tensor<4xi64> to f32
  // CHECK: graph.neg %{{.*}} : tensor<4x8xf32>
  %0 = graph.neg %x : tensor<4x8xf32>
  // CHECK: graph.abs
  %1 = graph.abs %0 : tensor<4x8xf32>
  // CHECK: graph.exp
  %2 = graph.exp %1 : tensor<4x8xf32>
  // CHECK: graph.log
  %3 = graph.log %2 : tensor<4x8xf32>
  // CHECK: graph.sqrt
  %4 = graph.sqrt %2 : tensor<4x8xf32>
  // CHECK: graph.rsqrt
  %5 = graph.rsqrt %4 : tensor<4x8xf32>
  // CHECK: graph.sin
  %6 = graph.sin %5 : tensor<4x8xf32>
  // CHECK: graph.cos
  %7 = graph.cos %6 : tensor<4x8xf32>
  // CHECK: graph.tanh
  %8 = graph.tanh %7 : tensor<4x8xf32>
  // CHECK: graph.erf
  %9 = graph.erf %8 : tensor<4x8xf32>
  // CHECK: graph.floor
  %f = graph.floor %9 : tensor<4x8xf32>
  // CHECK: graph.sigmoid
  %10 = graph.sigmoid %f : tensor<4x8xf32>
  // CHECK: graph.relu
  %11 = graph.relu %10 : tensor<4x8xf32>
  // CHECK: graph.gelu
  %12 = graph.gelu %11 : tensor<4x8xf32>
  // CHECK: graph.silu
  %13 = graph.silu %12 : tensor<4x8xf32>
  // CHECK: graph.leaky_relu %{{.*}} {alpha = 2.000000e-01 : f64}
  %14 = graph.leaky_relu %13 {alpha = 0.2 : f64} : tensor<4x8xf32>
  // CHECK: graph.clamp %{{.*}} {max = 1.000000e+00 : f64, min = -1.000000e+00 : f64}
  %15 = graph.clamp %14 {min = -1.0 : f64, max = 1.0 : f64} : tensor<4x8xf32>
  // CHECK: graph.add %{{.*}}, %{{.*}} : tensor<4x8xf32>, tensor<8xf32>
  %16 = graph.add %15, %b : tensor<4x8xf32>, tensor<8xf32>
  // CHECK: graph.sub
  %17 = graph.sub %16, %c : tensor<4x8xf32>, tensor<8xf32>
  // CHECK: graph.mul
  %18 = graph.mul %17, %16 : tensor<4x8xf32>, tensor<4x8xf32>
  // CHECK: graph.div
  %19 = graph.div %18, %b : tensor<4x8xf32>, tensor<8xf32>
  // CHECK: graph.pow
  %20 = graph.pow %19, %c : tensor<4x8xf32>, tensor<8xf32>
  // CHECK: graph.maximum
  %21 = graph.maximum %20, %b : tensor<4x8xf32>, tensor<8xf32>
  // CHECK: graph.minimum
  %22 = graph.minimum %21, %b : tensor<4x8xf32>, tensor<8xf32>
  // CHECK: graph.compare lt, %{{.*}}, %{{.*}} : tensor<4x8xf32>, tensor<8xf32>
  %m = graph.compare lt, %22, %b : tensor<4x8xf32>, tensor<8xf32>
  // CHECK: graph.select %{{.*}}, %{{.*}}, %{{.*}} : tensor<4x8xi1>, tensor<4x8xf32>, tensor<8xf32>
  %23 = graph.select %m, %22, %b : tensor<4x8xi1>, tensor<4x8xf32>, tensor<8xf32>
  %ci2 = graph.reshape %ci {shape = array<i64: 4, 1>} : tensor<4xf32>
  %24 = graph.add %23, %ci2 : tensor<4x8xf32>, tensor<4x1xf32>
  return %24 : tensor<4x8xf32>
}

// CHECK-LABEL: func.func @contractions
func.func @contractions(%x: tensor<2x1x28x28xf32>, %w: tensor<8x1x3x3xf32>, %bias: tensor<8xf32>,
                        %a: tensor<16x32xf32>, %wt: tensor<64x32xf32>,
                        %q: tensor<2x4x6x8xf32>, %dw: tensor<8x1x3x3xf32>,
                        %tw: tensor<8x4x4x4xf32>) -> (tensor<16x64xf32>, tensor<2x4x6x6xf32>, tensor<2x8x1x1xf32>, tensor<2x4x12x12xf32>, tensor<2x8x5x5xf32>) {
  // CHECK: graph.matmul %{{.*}}, %{{.*}} {transpose_rhs} : tensor<16x32xf32>, tensor<64x32xf32>
  %0 = graph.matmul %a, %wt {transpose_rhs} : tensor<16x32xf32>, tensor<64x32xf32>
  // CHECK: graph.batch_matmul %{{.*}}, %{{.*}} {transpose_rhs} : tensor<2x4x6x8xf32>, tensor<2x4x6x8xf32>
  %1 = graph.batch_matmul %q, %q {transpose_rhs} : tensor<2x4x6x8xf32>, tensor<2x4x6x8xf32>
  // CHECK: graph.conv2d %{{.*}}, %{{.*}}, %{{.*}} {padding = array<i64: 1, 1>} : tensor<2x1x28x28xf32>, tensor<8x1x3x3xf32>, tensor<8xf32>
  %2 = graph.conv2d %x, %w, %bias {padding = array<i64: 1, 1>} : tensor<2x1x28x28xf32>, tensor<8x1x3x3xf32>, tensor<8xf32>
  // CHECK: graph.conv2d %{{.*}}, %{{.*}} {dilation = array<i64: 2, 2>, groups = 8 : i64, strides = array<i64: 2, 2>}
  %3 = graph.conv2d %2, %dw {strides = array<i64: 2, 2>, dilation = array<i64: 2, 2>, groups = 8 : i64} : tensor<2x8x28x28xf32>, tensor<8x1x3x3xf32>
  // CHECK: graph.conv_transpose2d %{{.*}}, %{{.*}} {padding = array<i64: 1, 1>, strides = array<i64: 2, 2>}
  %4 = graph.conv_transpose2d %3, %tw {strides = array<i64: 2, 2>, padding = array<i64: 1, 1>} : tensor<2x8x12x12xf32>, tensor<8x4x4x4xf32>
  // CHECK: graph.max_pool2d %{{.*}} {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<2x4x24x24xf32>
  %5 = graph.max_pool2d %4 {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<2x4x24x24xf32>
  // CHECK: graph.avg_pool2d %{{.*}} {count_include_pad = false, kernel = array<i64: 3, 3>, padding = array<i64: 1, 1>, strides = array<i64: 1, 1>}
  %6 = graph.avg_pool2d %5 {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, padding = array<i64: 1, 1>, count_include_pad = false} : tensor<2x4x12x12xf32>
  // CHECK: graph.global_avg_pool2d %{{.*}} : tensor<2x8x28x28xf32>
  %7 = graph.global_avg_pool2d %2 : tensor<2x8x28x28xf32>
  %9 = graph.max_pool2d %4 {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, padding = array<i64: 1, 1>} : tensor<2x4x24x24xf32>
  %10 = graph.avg_pool2d %9 {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<2x4x24x24xf32>
  %11 = graph.conv2d %2, %dw {strides = array<i64: 6, 6>, groups = 8 : i64} : tensor<2x8x28x28xf32>, tensor<8x1x3x3xf32>
  return %0, %1, %7, %10, %11 : tensor<16x64xf32>, tensor<2x4x6x6xf32>, tensor<2x8x1x1xf32>, tensor<2x4x12x12xf32>, tensor<2x8x5x5xf32>
}

// CHECK-LABEL: func.func @reductions_and_norms
func.func @reductions_and_norms(%x: tensor<4x8x6x6xf32>, %c: tensor<8xf32>, %s: tensor<2x5x16xf32>, %g: tensor<16xf32>) {
  // CHECK: graph.reduce_sum %{{.*}} {dims = array<i64: 1>} : tensor<4x8x6x6xf32>
  %0 = graph.reduce_sum %x {dims = array<i64: 1>} : tensor<4x8x6x6xf32>
  // CHECK: graph.reduce_mean %{{.*}} {dims = array<i64: 2, 3>, keep_dims} : tensor<4x8x6x6xf32>
  %1 = graph.reduce_mean %x {dims = array<i64: 2, 3>, keep_dims} : tensor<4x8x6x6xf32>
  // CHECK: graph.reduce_max %{{.*}} {dims = array<i64: -1>}
  %2 = graph.reduce_max %x {dims = array<i64: -1>} : tensor<4x8x6x6xf32>
  // CHECK: graph.reduce_min %{{.*}} {dims = array<i64: 0, 1, 2, 3>}
  %3 = graph.reduce_min %x {dims = array<i64: 0, 1, 2, 3>} : tensor<4x8x6x6xf32>
  // CHECK: graph.argmax %{{.*}} {dim = 1 : i64} : tensor<4x8x6x6xf32>
  %4 = graph.argmax %x {dim = 1 : i64} : tensor<4x8x6x6xf32>
  // CHECK: graph.softmax %{{.*}} : tensor<2x5x16xf32>
  %5 = graph.softmax %s {axis = -1 : i64} : tensor<2x5x16xf32>
  // CHECK: graph.log_softmax %{{.*}} {axis = 1 : i64} : tensor<2x5x16xf32>
  %6 = graph.log_softmax %s {axis = 1 : i64} : tensor<2x5x16xf32>
  // CHECK: graph.layer_norm %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x5x16xf32>, tensor<16xf32>, tensor<16xf32>
  %7 = graph.layer_norm %s, %g, %g : tensor<2x5x16xf32>, tensor<16xf32>, tensor<16xf32>
  // CHECK: graph.batch_norm_training %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {momentum = 2.000000e-01 : f64}
  %8:3 = graph.batch_norm_training %x, %c, %c, %c, %c {momentum = 0.2 : f64} : tensor<4x8x6x6xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  // CHECK: graph.batch_norm_grad %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 1.000000e-03 : f64} : tensor<4x8x6x6xf32>, tensor<4x8x6x6xf32>, tensor<8xf32>
  %bg:3 = graph.batch_norm_grad %x, %x, %c {epsilon = 1.0e-3 : f64} : tensor<4x8x6x6xf32>, tensor<4x8x6x6xf32>, tensor<8xf32>
  // CHECK: graph.batch_norm_inference %{{.*}} {epsilon = 1.000000e-03 : f64}
  %9 = graph.batch_norm_inference %x, %c, %c, %c, %c {epsilon = 1.0e-3 : f64} : tensor<4x8x6x6xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  // CHECK: graph.group_norm_grad %{{.*}}, %{{.*}}, %{{.*}} {num_groups = 2 : i64} : tensor<4x8x6x6xf32>, tensor<4x8x6x6xf32>, tensor<8xf32>
  %gg:3 = graph.group_norm_grad %x, %x, %c {num_groups = 2 : i64} : tensor<4x8x6x6xf32>, tensor<4x8x6x6xf32>, tensor<8xf32>
  // CHECK: graph.group_norm %{{.*}} {num_groups = 4 : i64}
  %10 = graph.group_norm %x, %c, %c {num_groups = 4 : i64} : tensor<4x8x6x6xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// CHECK-LABEL: func.func @shapes
func.func @shapes(%x: tensor<4x8xf32>, %y: tensor<4x2xf32>, %t: tensor<96x16xf32>, %ids: tensor<4x8xi64>) {
  // CHECK: graph.concat %{{.*}}, %{{.*}} {axis = 1 : i64} : tensor<4x8xf32>, tensor<4x2xf32>
  %0 = graph.concat %x, %y {axis = 1 : i64} : tensor<4x8xf32>, tensor<4x2xf32>
  // CHECK: graph.slice %{{.*}} {limits = array<i64: 4, 8>, starts = array<i64: 1, 0>, strides = array<i64: 1, 2>} : tensor<4x8xf32>
  %1 = graph.slice %x {starts = array<i64: 1, 0>, limits = array<i64: 4, 8>, strides = array<i64: 1, 2>} : tensor<4x8xf32>
  // CHECK: graph.reshape %{{.*}} {shape = array<i64: 2, 16>} : tensor<4x8xf32>
  %2 = graph.reshape %x {shape = array<i64: 2, 16>} : tensor<4x8xf32>
  // CHECK: graph.transpose %{{.*}} {permutation = array<i64: 1, 0>} : tensor<4x8xf32>
  %3 = graph.transpose %x {permutation = array<i64: 1, 0>} : tensor<4x8xf32>
  // CHECK: graph.broadcast_to %{{.*}} {shape = array<i64: 3, 4, 8>} : tensor<4x8xf32>
  %4 = graph.broadcast_to %x {shape = array<i64: 3, 4, 8>} : tensor<4x8xf32>
  // CHECK: graph.embedding %{{.*}}, %{{.*}} : tensor<96x16xf32>, tensor<4x8xi64>
  %5 = graph.embedding %t, %ids : tensor<96x16xf32>, tensor<4x8xi64>
  return
}

// CHECK-LABEL: func.func @model_ops
func.func @model_ops(%q: tensor<2x4x6x8xf32>, %k: tensor<2x4x5x8xf32>, %v: tensor<2x4x5x3xf32>, %pad: tensor<2x1x1x5xi1>,
                     %logits: tensor<6x10xf32>, %labels: tensor<6xi64>, %a: tensor<6x10xf32>,
                     %seed: tensor<i64>, %offset: tensor<i64>) {
  // CHECK: graph.attention %{{.*}}, %{{.*}}, %{{.*}} {causal} : tensor<2x4x6x8xf32>, tensor<2x4x5x8xf32>, tensor<2x4x5x3xf32>
  %0 = graph.attention %q, %k, %v {causal} : tensor<2x4x6x8xf32>, tensor<2x4x5x8xf32>, tensor<2x4x5x3xf32>
  // CHECK: graph.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {scale = 5.000000e-01 : f64} : tensor<2x4x6x8xf32>, tensor<2x4x5x8xf32>, tensor<2x4x5x3xf32>, tensor<2x1x1x5xi1>
  %1 = graph.attention %q, %k, %v, %pad {scale = 0.5 : f64} : tensor<2x4x6x8xf32>, tensor<2x4x5x8xf32>, tensor<2x4x5x3xf32>, tensor<2x1x1x5xi1>
  // CHECK: graph.cross_entropy mean %{{.*}}, %{{.*}} : tensor<6x10xf32>, tensor<6xi64>
  %2 = graph.cross_entropy mean %logits, %labels : tensor<6x10xf32>, tensor<6xi64>
  // CHECK: graph.cross_entropy none
  %3 = graph.cross_entropy none %logits, %labels : tensor<6x10xf32>, tensor<6xi64>
  // CHECK: graph.mse_loss sum %{{.*}}, %{{.*}} : tensor<6x10xf32>, tensor<6x10xf32>
  %4 = graph.mse_loss sum %logits, %a : tensor<6x10xf32>, tensor<6x10xf32>
  // CHECK: graph.bce_with_logits mean
  %5 = graph.bce_with_logits mean %logits, %a : tensor<6x10xf32>, tensor<6x10xf32>
  // CHECK: graph.random_uniform %{{.*}}, %{{.*}} {dtype = f32, high = 2.000000e+00 : f64, low = -1.000000e+00 : f64, shape = array<i64: 3, 4>}
  %6 = graph.random_uniform %seed, %offset {shape = array<i64: 3, 4>, dtype = f32, low = -1.0 : f64, high = 2.0 : f64}
  // CHECK: graph.random_normal %{{.*}}, %{{.*}} {dtype = f64, shape = array<i64: 5>}
  %7 = graph.random_normal %seed, %offset {shape = array<i64: 5>, dtype = f64}
  // CHECK: graph.random_integers %{{.*}}, %{{.*}} {dtype = i64, high = 96 : i64, low = 0 : i64, shape = array<i64: 2, 3>}
  %8 = graph.random_integers %seed, %offset {shape = array<i64: 2, 3>, dtype = i64, low = 0 : i64, high = 96 : i64}
  return
}

// CHECK-LABEL: func.func @gradient_helpers
func.func @gradient_helpers(%x: tensor<2x3x8x8xf32>, %dy: tensor<2x3x4x4xf32>, %labels: tensor<5xi64>) -> (tensor<2x3x8x8xf32>, tensor<5x10xf64>) {
  // CHECK: graph.max_pool2d_grad %{{.*}}, %{{.*}} {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<2x3x8x8xf32>, tensor<2x3x4x4xf32>
  %0 = graph.max_pool2d_grad %x, %dy {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<2x3x8x8xf32>, tensor<2x3x4x4xf32>
  // CHECK: graph.one_hot %{{.*}} {dtype = f64, num_classes = 10 : i64} : tensor<5xi64>
  %1 = graph.one_hot %labels {num_classes = 10 : i64, dtype = f64} : tensor<5xi64>
  // The weight gradient of a 3x3, stride-2, padding-1 convolution from 3 to
  // 3 channels: [O, C, KH, KW].
  // CHECK: %{{.*}} = graph.conv2d_weight_grad %{{.*}}, %{{.*}} {kernel = array<i64: 3, 3>, padding = array<i64: 1, 1>, strides = array<i64: 2, 2>} : tensor<2x3x8x8xf32>, tensor<2x3x4x4xf32>
  %2 = graph.conv2d_weight_grad %x, %dy {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1>} : tensor<2x3x8x8xf32>, tensor<2x3x4x4xf32>
  // Depthwise: [3, 1, 3, 3].
  // CHECK: graph.conv2d_weight_grad %{{.*}}, %{{.*}} {groups = 3 : i64, kernel = array<i64: 3, 3>
  %3 = "graph.conv2d_weight_grad"(%x, %dy) {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1>, groups = 3 : i64} : (tensor<2x3x8x8xf32>, tensor<2x3x4x4xf32>) -> tensor<3x1x3x3xf32>
  return %0, %1 : tensor<2x3x8x8xf32>, tensor<5x10xf64>
}

// A stride past the dimension takes its first element: [4, 8] sliced with
// strides (2^63 - 2, 1) is [1, 8], and the rule's arithmetic does not
// overflow.
// CHECK-LABEL: func.func @huge_stride
// CHECK: graph.slice %{{.*}} {limits = array<i64: 4, 8>, starts = array<i64: 0, 0>, strides = array<i64: 9223372036854775806, 1>} : tensor<4x8xf32>
func.func @huge_stride(%x: tensor<4x8xf32>) -> tensor<1x8xf32> {
  %0 = graph.slice %x {starts = array<i64: 0, 0>, limits = array<i64: 4, 8>, strides = array<i64: 9223372036854775806, 1>} : tensor<4x8xf32>
  return %0 : tensor<1x8xf32>
}
