// RUN: kiln-opt %s -convert-graph-to-linalg -split-input-file | FileCheck %s

// Shape ops: views and copies as tensor ops (slices, reshapes) or
// linalg.transpose; broadcast_to and one_hot as parallel generics.

// Concat: one insert_slice per input into an empty result, at growing
// offsets along the axis (-2 here, i.e. 0).
// CHECK-LABEL: func.func @concat(
// CHECK-SAME: %[[A:.*]]: tensor<2x3xi64>, %[[B:.*]]: tensor<2x3xi64>, %[[C:.*]]: tensor<1x3xi64>)
// CHECK: %[[E:.*]] = tensor.empty() : tensor<5x3xi64>
// CHECK: %[[S0:.*]] = tensor.insert_slice %[[A]] into %[[E]][0, 0] [2, 3] [1, 1]
// CHECK: %[[S1:.*]] = tensor.insert_slice %[[B]] into %[[S0]][2, 0] [2, 3] [1, 1]
// CHECK: %[[S2:.*]] = tensor.insert_slice %[[C]] into %[[S1]][4, 0] [1, 3] [1, 1]
// CHECK-NOT: linalg.generic
// CHECK: return %[[S2]]
func.func @concat(%a: tensor<2x3xi64>, %b: tensor<2x3xi64>, %c: tensor<1x3xi64>) -> tensor<5x3xi64> {
  %0 = graph.concat %a, %b, %c {axis = -2 : i64} : tensor<2x3xi64>, tensor<2x3xi64>, tensor<1x3xi64>
  return %0 : tensor<5x3xi64>
}

// -----

// Concat along the last axis.
// CHECK-LABEL: func.func @concat_last_axis
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0] [4, 8] [1, 1] : tensor<4x8xf32> into tensor<4x10xf32>
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 8] [4, 2] [1, 1] : tensor<4x2xf32> into tensor<4x10xf32>
func.func @concat_last_axis(%x: tensor<4x8xf32>, %y: tensor<4x2xf32>) -> tensor<4x10xf32> {
  %0 = graph.concat %x, %y {axis = 1 : i64} : tensor<4x8xf32>, tensor<4x2xf32>
  return %0 : tensor<4x10xf32>
}

// -----

// A strided slice is one extract_slice: offsets = starts, sizes = the result
// shape, strides as given.
// CHECK-LABEL: func.func @slice
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK: %[[S:.*]] = tensor.extract_slice %[[X]][1, 0] [3, 4] [1, 2] : tensor<4x8xf32> to tensor<3x4xf32>
// CHECK-NEXT: return %[[S]]
func.func @slice(%x: tensor<4x8xf32>) -> tensor<3x4xf32> {
  %0 = graph.slice %x {starts = array<i64: 1, 0>, limits = array<i64: 4, 8>, strides = array<i64: 1, 2>} : tensor<4x8xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// Reshape: collapse to 1-D, then expand to the new shape.
// CHECK-LABEL: func.func @reshape(
// CHECK: %[[F:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0, 1, 2]] : tensor<2x3x4xf32> into tensor<24xf32>
// CHECK: %[[R:.*]] = tensor.expand_shape %[[F]] {{\[}}[0, 1]] output_shape [6, 4] : tensor<24xf32> into tensor<6x4xf32>
// CHECK-NOT: linalg
// CHECK: return %[[R]]
func.func @reshape(%x: tensor<2x3x4xf32>) -> tensor<6x4xf32> {
  %0 = graph.reshape %x {shape = array<i64: 6, 4>} : tensor<2x3x4xf32>
  return %0 : tensor<6x4xf32>
}

// -----

// To rank 0, the reassociation is empty. A reshape of a reshape folds
// while it is converted (the dialect conversion folds first): %1 reshapes
// %x directly.
// CHECK-LABEL: func.func @reshape_rank0
// CHECK-SAME: (%[[X:.*]]: tensor<1x1xf32>)
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1]] : tensor<1x1xf32> into tensor<1xf32>
// CHECK: %[[SCALAR:.*]] = tensor.collapse_shape %[[FLAT]] [] : tensor<1xf32> into tensor<f32>
// CHECK: %[[ONE:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1]] : tensor<1x1xf32> into tensor<1xf32>
// CHECK: return %[[SCALAR]], %[[ONE]]
func.func @reshape_rank0(%x: tensor<1x1xf32>) -> (tensor<f32>, tensor<1xf32>) {
  %0 = graph.reshape %x {shape = array<i64>} : tensor<1x1xf32>
  %1 = graph.reshape %0 {shape = array<i64: 1>} : tensor<f32>
  return %0, %1 : tensor<f32>, tensor<1xf32>
}

// -----

// From rank 0 the reassociation is empty too.
// CHECK-LABEL: func.func @reshape_from_rank0
// CHECK: tensor.expand_shape %{{.*}} [] output_shape [1] : tensor<f32> into tensor<1xf32>
func.func @reshape_from_rank0(%x: tensor<f32>) -> tensor<1xf32> {
  %0 = graph.reshape %x {shape = array<i64: 1>} : tensor<f32>
  return %0 : tensor<1xf32>
}

// -----

// CHECK-LABEL: func.func @transpose
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4x2x3xf32>
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[X]] : tensor<2x3x4xf32>) outs(%[[E]] : tensor<4x2x3xf32>) permutation = [2, 0, 1]
// CHECK-NEXT: return %[[T]]
func.func @transpose(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %0 = graph.transpose %x {permutation = array<i64: 2, 0, 1>} : tensor<2x3x4xf32>
  return %0 : tensor<4x2x3xf32>
}

// -----

// broadcast_to: a copy generic; the new leading dim is absent from the
// input map and the size-1 dim reads index 0.
// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1, d2) -> (d1, 0)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @broadcast_to
// CHECK: linalg.generic {indexing_maps = [#[[IN]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%{{.*}} : tensor<4x1xf32>) outs(%{{.*}} : tensor<2x4x8xf32>)
// CHECK-NEXT: ^bb0(%[[A:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: linalg.yield %[[A]] : f32
func.func @broadcast_to(%x: tensor<4x1xf32>) -> tensor<2x4x8xf32> {
  %0 = graph.broadcast_to %x {shape = array<i64: 2, 4, 8>} : tensor<4x1xf32>
  return %0 : tensor<2x4x8xf32>
}

// -----

// one_hot: out[i, c] = indices[i] == c ? 1 : 0, c from linalg.index.
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @one_hot
// CHECK: linalg.generic {indexing_maps = [#[[ROW]], #{{.*}}], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%{{.*}} : tensor<5xi64>) outs(%{{.*}} : tensor<5x10xf64>)
// CHECK: ^bb0(%[[I:.*]]: i64, %{{.*}}: f64):
// CHECK: %[[C:.*]] = linalg.index 1 : index
// CHECK: %[[CI:.*]] = arith.index_cast %[[C]] : index to i64
// CHECK: %[[HIT:.*]] = arith.cmpi eq, %[[CI]], %[[I]] : i64
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK: %[[V:.*]] = arith.select %[[HIT]], %[[ONE]], %[[ZERO]] : f64
// CHECK: linalg.yield %[[V]]
func.func @one_hot(%labels: tensor<5xi64>) -> tensor<5x10xf64> {
  %0 = graph.one_hot %labels {num_classes = 10 : i64, dtype = f64} : tensor<5xi64>
  return %0 : tensor<5x10xf64>
}
