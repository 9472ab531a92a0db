// RUN: kiln-opt %s -graph-channels-last -canonicalize -split-input-file | FileCheck %s

// Two convolutions with batch norm, a residual add and ReLU between them:
// only the function's input and result are transposed.
func.func @block(%x: tensor<2x8x6x6xf32>, %w: tensor<8x8x3x3xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>, %rm: tensor<8xf32>, %rv: tensor<8xf32>) -> (tensor<2x8x6x6xf32>, tensor<8xf32>) {
  %0 = graph.conv2d %x, %w {padding = array<i64: 1, 1>} : tensor<2x8x6x6xf32>, tensor<8x8x3x3xf32>
  %1, %m, %v = graph.batch_norm_training %0, %g, %b, %rm, %rv : tensor<2x8x6x6xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %2 = graph.add %1, %0 : tensor<2x8x6x6xf32>, tensor<2x8x6x6xf32>
  %3 = graph.relu %2 : tensor<2x8x6x6xf32>
  %4 = graph.conv2d %3, %w {padding = array<i64: 1, 1>} : tensor<2x8x6x6xf32>, tensor<8x8x3x3xf32>
  return %4, %m : tensor<2x8x6x6xf32>, tensor<8xf32>
}

// CHECK-LABEL: func.func @block
// CHECK-NEXT: %[[T:.*]] = graph.transpose %arg0 {permutation = array<i64: 0, 2, 3, 1>} : tensor<2x8x6x6xf32>
// CHECK-NEXT: %[[C:.*]] = graph.conv2d %[[T]], %arg1 {channels_last, padding = array<i64: 1, 1>} : tensor<2x6x6x8xf32>, tensor<8x8x3x3xf32>
// CHECK-NEXT: %[[Y:.*]], %[[M:.*]], %{{.*}} = graph.batch_norm_training %[[C]], {{.*}} {channels_last} : tensor<2x6x6x8xf32>
// CHECK-NEXT: %[[A:.*]] = graph.add %[[Y]], %[[C]] : tensor<2x6x6x8xf32>, tensor<2x6x6x8xf32>
// CHECK-NEXT: %[[R:.*]] = graph.relu %[[A]] : tensor<2x6x6x8xf32>
// CHECK-NEXT: %[[C2:.*]] = graph.conv2d %[[R]], %arg1 {channels_last, padding = array<i64: 1, 1>}
// CHECK-NEXT: %[[B:.*]] = graph.transpose %[[C2]] {permutation = array<i64: 0, 3, 1, 2>} : tensor<2x6x6x8xf32>
// CHECK-NEXT: return %[[B]], %[[M]]

// -----

// The weight gradient and the input gradient of a convolution; the
// one-channel result gradient is relaid by a reshape (a view), and the
// elementwise op before it keeps NCHW (no operand of it is NHWC).
func.func @grads(%x: tensor<2x8x6x6xf32>, %dy: tensor<2x1x6x6xf32>, %w: tensor<1x8x3x3xf32>, %s: tensor<f32>) -> (tensor<1x8x3x3xf32>, tensor<2x8x6x6xf32>) {
  %0 = graph.mul %dy, %s : tensor<2x1x6x6xf32>, tensor<f32>
  %dw = graph.conv2d_weight_grad %x, %0 {kernel = array<i64: 3, 3>, padding = array<i64: 1, 1>} : tensor<2x8x6x6xf32>, tensor<2x1x6x6xf32>
  %dx = graph.conv_transpose2d %0, %w {padding = array<i64: 1, 1>} : tensor<2x1x6x6xf32>, tensor<1x8x3x3xf32>
  return %dw, %dx : tensor<1x8x3x3xf32>, tensor<2x8x6x6xf32>
}

// CHECK-LABEL: func.func @grads
// CHECK-DAG: %[[X:.*]] = graph.transpose %arg0 {permutation = array<i64: 0, 2, 3, 1>}
// CHECK-DAG: %[[S:.*]] = graph.mul %arg1, %arg3 : tensor<2x1x6x6xf32>, tensor<f32>
// CHECK: %[[G:.*]] = graph.reshape %[[S]] {shape = array<i64: 2, 6, 6, 1>}
// CHECK-NEXT: %[[DW:.*]] = graph.conv2d_weight_grad %[[X]], %[[G]] {channels_last, kernel = array<i64: 3, 3>, padding = array<i64: 1, 1>} : tensor<2x6x6x8xf32>, tensor<2x6x6x1xf32>
// CHECK-NEXT: %[[DX:.*]] = graph.conv_transpose2d %[[G]], %arg2 {channels_last, padding = array<i64: 1, 1>} : tensor<2x6x6x1xf32>
// CHECK-NEXT: %[[B:.*]] = graph.transpose %[[DX]] {permutation = array<i64: 0, 3, 1, 2>}
// CHECK-NEXT: return %[[DW]], %[[B]]

// -----

// Pooling runs channels-last too; the flatten (a reshape) needs NCHW, so
// the pooled result is transposed back. A float64 convolution keeps NCHW;
// a transposed convolution with few outputs (the runtime's matrix product
// and scatter) reads the input's NHWC twin too.
func.func @boundaries(%x: tensor<2x8x6x6xf32>, %w: tensor<8x8x3x3xf32>, %x64: tensor<2x8x6x6xf64>, %w64: tensor<8x8x3x3xf64>, %wt: tensor<8x2x3x3xf32>) -> (tensor<2x72xf32>, tensor<2x8x6x6xf64>, tensor<2x2x6x6xf32>) {
  %0 = graph.conv2d %x, %w {padding = array<i64: 1, 1>} : tensor<2x8x6x6xf32>, tensor<8x8x3x3xf32>
  %1 = graph.max_pool2d %0 {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<2x8x6x6xf32>
  %f = graph.reshape %1 {shape = array<i64: 2, 72>} : tensor<2x8x3x3xf32>
  %2 = graph.conv2d %x64, %w64 {padding = array<i64: 1, 1>} : tensor<2x8x6x6xf64>, tensor<8x8x3x3xf64>
  %3 = graph.conv_transpose2d %x, %wt {padding = array<i64: 1, 1>} : tensor<2x8x6x6xf32>, tensor<8x2x3x3xf32>
  return %f, %2, %3 : tensor<2x72xf32>, tensor<2x8x6x6xf64>, tensor<2x2x6x6xf32>
}

// CHECK-LABEL: func.func @boundaries
// CHECK: %[[X:.*]] = graph.transpose %arg0 {permutation = array<i64: 0, 2, 3, 1>}
// CHECK: %[[C:.*]] = graph.conv2d %[[X]], %arg1 {channels_last
// CHECK-NEXT: %[[P:.*]] = graph.max_pool2d %[[C]] {channels_last, kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<2x6x6x8xf32>
// CHECK-NEXT: %[[B:.*]] = graph.transpose %[[P]] {permutation = array<i64: 0, 3, 1, 2>} : tensor<2x3x3x8xf32>
// CHECK-NEXT: %[[F:.*]] = graph.reshape %[[B]] {shape = array<i64: 2, 72>}
// CHECK-NEXT: %[[D:.*]] = graph.conv2d %arg2, %arg3 {padding = array<i64: 1, 1>} : tensor<2x8x6x6xf64>
// CHECK-NEXT: %[[T:.*]] = graph.conv_transpose2d %[[X]], %arg4 {channels_last, padding = array<i64: 1, 1>} : tensor<2x6x6x8xf32>
// CHECK-NEXT: %[[TB:.*]] = graph.transpose %[[T]] {permutation = array<i64: 0, 3, 1, 2>} : tensor<2x6x6x2xf32>
// CHECK-NEXT: return %[[F]], %[[D]], %[[TB]]

// -----

// A dense block's concatenation and its gradient's slices, a squeeze-and-
// excitation gate (global pooling, a [N, C, 1, 1] gate broadcast over the
// image, its gradient's sum over the image) stay channels-last.
func.func @dense_se(%x: tensor<2x8x6x6xf32>, %w: tensor<4x8x3x3xf32>, %w2: tensor<4x12x1x1xf32>, %gate: tensor<2x12x1x1xf32>) -> (tensor<2x4x6x6xf32>, tensor<2x12x1x1xf32>, tensor<2x12xf32>, tensor<2x12x6x6xf32>) {
  %0 = graph.conv2d %x, %w {padding = array<i64: 1, 1>} : tensor<2x8x6x6xf32>, tensor<4x8x3x3xf32>
  %1 = graph.concat %x, %0 {axis = 1 : i64} : tensor<2x8x6x6xf32>, tensor<2x4x6x6xf32>
  %2 = graph.mul %1, %gate : tensor<2x12x6x6xf32>, tensor<2x12x1x1xf32>
  %3 = graph.conv2d %2, %w2 : tensor<2x12x6x6xf32>, tensor<4x12x1x1xf32>
  %4 = graph.slice %1 {starts = array<i64: 0, 8, 0, 0>, limits = array<i64: 2, 12, 6, 6>, strides = array<i64: 1, 1, 1, 1>} : tensor<2x12x6x6xf32>
  %5 = graph.add %3, %4 : tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>
  %6 = graph.reduce_sum %2 {dims = array<i64: 2, 3>, keep_dims} : tensor<2x12x6x6xf32>
  %7 = graph.reduce_mean %2 {dims = array<i64: 2, 3>} : tensor<2x12x6x6xf32>
  %8 = graph.broadcast_to %6 {shape = array<i64: 2, 12, 6, 6>} : tensor<2x12x1x1xf32>
  return %5, %6, %7, %8 : tensor<2x4x6x6xf32>, tensor<2x12x1x1xf32>, tensor<2x12xf32>, tensor<2x12x6x6xf32>
}

// CHECK-LABEL: func.func @dense_se
// CHECK: %[[X:.*]] = graph.transpose %arg0 {permutation = array<i64: 0, 2, 3, 1>}
// CHECK-NEXT: %[[C:.*]] = graph.conv2d %[[X]], %arg1 {channels_last
// CHECK-NEXT: %[[J:.*]] = graph.concat %[[X]], %[[C]] {axis = 3 : i64} : tensor<2x6x6x8xf32>, tensor<2x6x6x4xf32>
// CHECK-NEXT: %[[G:.*]] = graph.reshape %arg3 {shape = array<i64: 2, 1, 1, 12>}
// CHECK-NEXT: %[[M:.*]] = graph.mul %[[J]], %[[G]] : tensor<2x6x6x12xf32>, tensor<2x1x1x12xf32>
// CHECK-NEXT: %[[P:.*]] = graph.conv2d %[[M]], %arg2 {channels_last}
// CHECK-NEXT: %[[S:.*]] = graph.slice %[[J]] {limits = array<i64: 2, 6, 6, 12>, starts = array<i64: 0, 0, 0, 8>, strides = array<i64: 1, 1, 1, 1>}
// CHECK-NEXT: %[[A:.*]] = graph.add %[[P]], %[[S]] : tensor<2x6x6x4xf32>
// CHECK-NEXT: %[[R0:.*]] = graph.transpose %[[A]] {permutation = array<i64: 0, 3, 1, 2>}
// CHECK-NEXT: %[[K:.*]] = graph.reduce_sum %[[M]] {dims = array<i64: 1, 2>, keep_dims} : tensor<2x6x6x12xf32>
// CHECK-NEXT: %[[R1:.*]] = graph.reshape %[[K]] {shape = array<i64: 2, 12, 1, 1>}
// CHECK-NEXT: %[[R2:.*]] = graph.reduce_mean %[[M]] {dims = array<i64: 1, 2>} : tensor<2x6x6x12xf32>
// CHECK-NEXT: %[[B:.*]] = graph.broadcast_to %[[K]] {shape = array<i64: 2, 6, 6, 12>}
// CHECK-NEXT: %[[R3:.*]] = graph.transpose %[[B]] {permutation = array<i64: 0, 3, 1, 2>}
// CHECK-NEXT: return %[[R0]], %[[R1]], %[[R2]], %[[R3]]

// -----

// A negative concatenation axis counts from the end; a broadcast that meets
// no channels-last value (an attention-style mask) is left alone.
func.func @axis_and_mask(%x: tensor<2x8x6x6xf32>, %w: tensor<8x8x3x3xf32>, %m: tensor<6x6xf32>, %s: tensor<2x3x6x6xf32>) -> (tensor<2x16x6x6xf32>, tensor<2x3x6x6xf32>) {
  %0 = graph.conv2d %x, %w {padding = array<i64: 1, 1>} : tensor<2x8x6x6xf32>, tensor<8x8x3x3xf32>
  %1 = graph.concat %0, %0 {axis = -3 : i64} : tensor<2x8x6x6xf32>, tensor<2x8x6x6xf32>
  %2 = graph.broadcast_to %m {shape = array<i64: 2, 3, 6, 6>} : tensor<6x6xf32>
  %3 = graph.add %s, %2 : tensor<2x3x6x6xf32>, tensor<2x3x6x6xf32>
  return %1, %3 : tensor<2x16x6x6xf32>, tensor<2x3x6x6xf32>
}

// CHECK-LABEL: func.func @axis_and_mask
// CHECK: %[[C:.*]] = graph.conv2d %{{.*}}, %arg1 {channels_last
// CHECK-NEXT: %[[J:.*]] = graph.concat %[[C]], %[[C]] {axis = 3 : i64} : tensor<2x6x6x8xf32>, tensor<2x6x6x8xf32>
// CHECK-NEXT: %[[T:.*]] = graph.transpose %[[J]] {permutation = array<i64: 0, 3, 1, 2>}
// CHECK-NEXT: %[[B:.*]] = graph.broadcast_to %arg2 {shape = array<i64: 2, 3, 6, 6>} : tensor<6x6xf32>
// CHECK-NEXT: %[[A:.*]] = graph.add %arg3, %[[B]] : tensor<2x3x6x6xf32>
// CHECK-NEXT: return %[[T]], %[[A]]

// -----

// A classifier with fewer outputs than images (one logit of four): the
// flatten of the NHWC activation feeds the products with the weight, whose
// columns are permuted to NHWC order; the weight's gradient comes back to
// NCHW order; the data gradient g W, unflattened, is an NHWC twin, so the
// leaky ReLU's gradient and the convolution's weight gradient read it
// without a transpose of the activation. (CSE later merges the weight's
// two permutations.)
func.func @classifier(%x: tensor<4x3x5x5xf32>, %w: tensor<6x3x3x3xf32>, %fw: tensor<1x150xf32>, %g: tensor<4x1xf32>) -> (tensor<4x1xf32>, tensor<1x150xf32>, tensor<6x3x3x3xf32>) {
  %c = graph.conv2d %x, %w {padding = array<i64: 1, 1>} : tensor<4x3x5x5xf32>, tensor<6x3x3x3xf32>
  %a = graph.leaky_relu %c {alpha = 2.000000e-01 : f64} : tensor<4x6x5x5xf32>
  %f = graph.reshape %a {shape = array<i64: 4, 150>} : tensor<4x6x5x5xf32>
  %y = graph.matmul %f, %fw {transpose_rhs} : tensor<4x150xf32>, tensor<1x150xf32>
  %dfw = graph.matmul %g, %f {transpose_lhs} : tensor<4x1xf32>, tensor<4x150xf32>
  %df = graph.matmul %g, %fw : tensor<4x1xf32>, tensor<1x150xf32>
  %da = graph.reshape %df {shape = array<i64: 4, 6, 5, 5>} : tensor<4x150xf32>
  %zero = graph.constant dense<0.0> : tensor<f32>
  %slope = graph.constant dense<0.2> : tensor<f32>
  %scaled = graph.mul %da, %slope : tensor<4x6x5x5xf32>, tensor<f32>
  %positive = graph.compare gt, %c, %zero : tensor<4x6x5x5xf32>, tensor<f32>
  %dc = graph.select %positive, %da, %scaled : tensor<4x6x5x5xi1>, tensor<4x6x5x5xf32>, tensor<4x6x5x5xf32>
  %dw = graph.conv2d_weight_grad %x, %dc {kernel = array<i64: 3, 3>, padding = array<i64: 1, 1>} : tensor<4x3x5x5xf32>, tensor<4x6x5x5xf32>
  return %y, %dfw, %dw : tensor<4x1xf32>, tensor<1x150xf32>, tensor<6x3x3x3xf32>
}

// CHECK-LABEL: func.func @classifier
// CHECK: %[[X:.*]] = graph.transpose %arg0 {permutation = array<i64: 0, 2, 3, 1>}
// CHECK-NEXT: %[[C:.*]] = graph.conv2d %[[X]], %arg1 {channels_last
// CHECK-NEXT: %[[A:.*]] = graph.leaky_relu %[[C]] {{.*}} : tensor<4x5x5x6xf32>
// CHECK-NEXT: %[[F:.*]] = graph.reshape %[[A]] {shape = array<i64: 4, 150>} : tensor<4x5x5x6xf32>
// CHECK-NEXT: %[[W4:.*]] = graph.reshape %arg2 {shape = array<i64: 1, 6, 5, 5>}
// CHECK-NEXT: %[[WT:.*]] = graph.transpose %[[W4]] {permutation = array<i64: 0, 2, 3, 1>}
// CHECK-NEXT: %[[W:.*]] = graph.reshape %[[WT]] {shape = array<i64: 1, 150>}
// CHECK-NEXT: %[[Y:.*]] = graph.matmul %[[F]], %[[W]] {transpose_rhs}
// CHECK-NEXT: %[[G:.*]] = graph.matmul %arg3, %[[F]] {transpose_lhs}
// CHECK-NEXT: %[[G4:.*]] = graph.reshape %[[G]] {shape = array<i64: 1, 5, 5, 6>}
// CHECK-NEXT: %[[GT:.*]] = graph.transpose %[[G4]] {permutation = array<i64: 0, 3, 1, 2>}
// CHECK-NEXT: %[[DFW:.*]] = graph.reshape %[[GT]] {shape = array<i64: 1, 150>}
// CHECK-NEXT: %[[W4B:.*]] = graph.reshape %arg2 {shape = array<i64: 1, 6, 5, 5>}
// CHECK-NEXT: %[[WTB:.*]] = graph.transpose %[[W4B]] {permutation = array<i64: 0, 2, 3, 1>}
// CHECK-NEXT: %[[WB:.*]] = graph.reshape %[[WTB]] {shape = array<i64: 1, 150>}
// CHECK-NEXT: %[[DF:.*]] = graph.matmul %arg3, %[[WB]] :
// CHECK-NEXT: %[[DA:.*]] = graph.reshape %[[DF]] {shape = array<i64: 4, 5, 5, 6>}
// CHECK-NOT: graph.transpose
// CHECK: %[[DC:.*]] = graph.select %{{.*}}, %[[DA]], %{{.*}} : tensor<4x5x5x6xi1>
// CHECK-NEXT: %[[DW:.*]] = graph.conv2d_weight_grad %[[X]], %[[DC]] {channels_last
// CHECK-NEXT: return %[[Y]], %[[DFW]], %[[DW]]
