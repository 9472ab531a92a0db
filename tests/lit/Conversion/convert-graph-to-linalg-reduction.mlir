// RUN: kiln-opt %s -convert-graph-to-linalg -split-input-file | FileCheck %s

// Reductions, softmax and normalization: a linalg.fill of the identity, a
// generic with "reduction" iterators over the reduced dimensions whose output
// map drops them, and parallel generics that read the reduced values
// broadcast back.

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[DROP1:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @reduce_sum(
// CHECK: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[INIT:.*]] = linalg.fill ins(%[[Z]] : f32) outs(%{{.*}} : tensor<4x6xf32>)
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[DROP1]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: outs(%[[INIT]] : tensor<4x6xf32>)
// CHECK: arith.addf
// CHECK: return %[[R]]
func.func @reduce_sum(%x: tensor<4x8x6xf32>) -> tensor<4x6xf32> {
  %0 = graph.reduce_sum %x {dims = array<i64: 1>} : tensor<4x8x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

// Integer sums use arith.addi.
// CHECK-LABEL: func.func @reduce_sum_i64
// CHECK: linalg.fill ins(%{{.*}} : i64)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: arith.addi
func.func @reduce_sum_i64(%x: tensor<4x8xi64>) -> tensor<4xi64> {
  %0 = graph.reduce_sum %x {dims = array<i64: 1>} : tensor<4x8xi64>
  return %0 : tensor<4xi64>
}

// -----

// The mean divides the sum by the count (8 * 6); keep_dims reshapes the
// result back to rank 3.
// CHECK-LABEL: func.func @reduce_mean
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "reduction"]
// CHECK: arith.addf
// CHECK: %[[M:.*]] = linalg.generic {{.*}} iterator_types = ["parallel"]
// CHECK: %[[N:.*]] = arith.constant 4.800000e+01 : f32
// CHECK: arith.divf %{{.*}}, %[[N]]
// CHECK: %[[E:.*]] = tensor.expand_shape %[[M]] {{\[}}[0, 1, 2]] output_shape [4, 1, 1] : tensor<4xf32> into tensor<4x1x1xf32>
// CHECK: return %[[E]]
func.func @reduce_mean(%x: tensor<4x8x6xf32>) -> tensor<4x1x1xf32> {
  %0 = graph.reduce_mean %x {dims = array<i64: 1, 2>, keep_dims} : tensor<4x8x6xf32>
  return %0 : tensor<4x1x1xf32>
}

// -----

// Max starts from -inf; a negative dim counts from the end.
// CHECK-LABEL: func.func @reduce_max
// CHECK: %[[LOW:.*]] = arith.constant 0xFF800000 : f32
// CHECK: linalg.fill ins(%[[LOW]] : f32)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.maximumf
// CHECK: linalg.fill ins(%{{.*}} : i64)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: arith.maxsi
func.func @reduce_max(%x: tensor<4x8x6xf32>, %i: tensor<4x8xi64>) -> (tensor<4x8xf32>, tensor<4xi64>) {
  %0 = graph.reduce_max %x {dims = array<i64: -1>} : tensor<4x8x6xf32>
  %1 = graph.reduce_max %i {dims = array<i64: 1>} : tensor<4x8xi64>
  return %0, %1 : tensor<4x8xf32>, tensor<4xi64>
}

// -----

// Min over every dimension starts from +inf and gives a 0-d tensor.
// CHECK-DAG: #[[ALL:.*]] = affine_map<(d0, d1, d2) -> ()>
// CHECK-LABEL: func.func @reduce_min
// CHECK: %[[HIGH:.*]] = arith.constant 0x7F800000 : f32
// CHECK: linalg.fill ins(%[[HIGH]] : f32) outs(%{{.*}} : tensor<f32>)
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[ALL]]], iterator_types = ["reduction", "reduction", "reduction"]}
// CHECK: arith.minimumf
func.func @reduce_min(%x: tensor<4x8x6xf32>) -> tensor<f32> {
  %0 = graph.reduce_min %x {dims = array<i64: 0, 1, 2>} : tensor<4x8x6xf32>
  return %0 : tensor<f32>
}

// -----

// argmax: one reduction generic with two outputs (running maximum and its
// index); strictly greater keeps the first maximum. The index is the result.
// CHECK-LABEL: func.func @argmax
// CHECK: %[[BEST:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<4xf32>)
// CHECK: %[[IDX:.*]] = linalg.fill ins(%{{.*}} : i64) outs(%{{.*}} : tensor<4xi64>)
// CHECK: %[[R:.*]]:2 = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK-SAME: outs(%[[BEST]], %[[IDX]] : tensor<4xf32>, tensor<4xi64>)
// CHECK: ^bb0(%[[IN:.*]]: f32, %[[MAX:.*]]: f32, %[[I:.*]]: i64):
// CHECK: %[[J:.*]] = linalg.index 1 : index
// CHECK: %[[JI:.*]] = arith.index_cast %[[J]] : index to i64
// CHECK: %[[GT:.*]] = arith.cmpf ogt, %[[IN]], %[[MAX]]
// CHECK: %[[V:.*]] = arith.select %[[GT]], %[[IN]], %[[MAX]]
// CHECK: %[[K:.*]] = arith.select %[[GT]], %[[JI]], %[[I]]
// CHECK: linalg.yield %[[V]], %[[K]]
// CHECK: return %[[R]]#1
func.func @argmax(%x: tensor<4x8xf32>) -> tensor<4xi64> {
  %0 = graph.argmax %x {dim = 1 : i64} : tensor<4x8xf32>
  return %0 : tensor<4xi64>
}

// -----

// Softmax along a middle axis: the max, e = exp(x - max), its sums, e / sum.
// CHECK-DAG: #[[DROP:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @softmax
// CHECK: %[[M:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #[[DROP]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: attrs = {kiln.nan_agnostic_max}
// CHECK: arith.maximumf
// CHECK: %[[E:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-SAME: ins(%{{.*}}, %[[M]] : tensor<2x5x16xf32>, tensor<2x16xf32>)
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: %[[S:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-SAME: ins(%[[E]], %[[S]] : tensor<2x5x16xf32>, tensor<2x16xf32>)
// CHECK: arith.divf
func.func @softmax(%x: tensor<2x5x16xf32>) -> tensor<2x5x16xf32> {
  %0 = graph.softmax %x {axis = 1 : i64} : tensor<2x5x16xf32>
  return %0 : tensor<2x5x16xf32>
}

// -----

// log_softmax: the max, then sum(exp(x - max)) in one reduction, then
// x - max - log(sum).
// CHECK-LABEL: func.func @log_softmax
// CHECK: %[[M:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK-SAME: attrs = {kiln.nan_agnostic_max}
// CHECK: arith.maximumf
// CHECK: %[[S:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%{{.*}}, %[[M]] : tensor<4x8xf32>, tensor<4xf32>)
// CHECK: %[[D:.*]] = arith.subf
// CHECK: %[[X:.*]] = math.exp %[[D]]
// CHECK: arith.addf %[[X]]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK-SAME: ins(%{{.*}}, %[[M]], %[[S]] : tensor<4x8xf32>, tensor<4xf32>, tensor<4xf32>)
// CHECK: %[[SH:.*]] = arith.subf
// CHECK: %[[L:.*]] = math.log
// CHECK: %[[V:.*]] = arith.subf %[[SH]], %[[L]]
// CHECK: linalg.yield %[[V]]
func.func @log_softmax(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = graph.log_softmax %x : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Layer norm over the trailing dim: mean, biased variance (two reductions,
// each divided by 8), (x - mean) / sqrt(var + eps), then weight and bias read
// along the last dim.
// CHECK-DAG: #[[LAST:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func.func @layer_norm
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.constant 8.000000e+00 : f32
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.constant 8.000000e+00 : f32
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]
// CHECK: arith.subf
// CHECK: arith.constant 9.99999974E-6 : f32
// CHECK: math.sqrt
// CHECK: arith.divf
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[LAST]], #[[LAST]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @layer_norm(%x: tensor<2x4x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<2x4x8xf32> {
  %0 = graph.layer_norm %x, %g, %b : tensor<2x4x8xf32>, tensor<8xf32>, tensor<8xf32>
  return %0 : tensor<2x4x8xf32>
}

// -----

// Batch norm in training: statistics reduce every dim but the channel; the
// running mean and variance update as (1 - momentum) r + momentum b, the
// variance scaled by n / (n - 1) = 18 / 17.
// CHECK-DAG: #[[CH:.*]] = affine_map<(d0, d1, d2, d3) -> (d1)>
// CHECK-LABEL: func.func @batch_norm_training
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #[[CH]]], iterator_types = ["reduction", "parallel", "reduction", "reduction"]}
// CHECK: %[[MEAN:.*]] = linalg.generic
// CHECK: arith.constant 1.800000e+01 : f32
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[CH]]], iterator_types = ["reduction", "parallel", "reduction", "reduction"]}
// CHECK: %[[VAR:.*]] = linalg.generic
// CHECK: math.sqrt
// CHECK: %[[Y:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #[[CH]], #[[CH]], #{{.*}}]
// CHECK: %[[RM:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[MEAN]] : tensor<4xf32>, tensor<4xf32>)
// CHECK: arith.constant 8.000000e-01 : f32
// CHECK: arith.constant 2.000000e-01 : f32
// CHECK: %[[RV:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[VAR]] : tensor<4xf32>, tensor<4xf32>)
// CHECK: arith.constant 0.211764708 : f32
// CHECK: return %[[Y]], %[[RM]], %[[RV]]
func.func @batch_norm_training(%x: tensor<2x4x3x3xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>, %rm: tensor<4xf32>, %rv: tensor<4xf32>)
    -> (tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>) {
  %0:3 = graph.batch_norm_training %x, %g, %b, %rm, %rv {momentum = 0.2 : f64}
      : tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  return %0#0, %0#1, %0#2 : tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// Batch norm in inference: one parallel generic reading the four per-channel
// vectors along dim 1.
// CHECK-DAG: #[[CH:.*]] = affine_map<(d0, d1, d2, d3) -> (d1)>
// CHECK-LABEL: func.func @batch_norm_inference
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x3x3xf32>, %[[G:.*]]: tensor<4xf32>, %[[B:.*]]: tensor<4xf32>, %[[M:.*]]: tensor<4xf32>, %[[V:.*]]: tensor<4xf32>)
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #[[CH]], #[[CH]], #[[CH]], #[[CH]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[X]], %[[M]], %[[V]], %[[G]], %[[B]] :
// CHECK: arith.subf
// CHECK: arith.constant 1.000000e-03 : f32
// CHECK: math.sqrt
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]]
func.func @batch_norm_inference(%x: tensor<2x4x3x3xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>, %m: tensor<4xf32>, %v: tensor<4xf32>) -> tensor<2x4x3x3xf32> {
  %0 = graph.batch_norm_inference %x, %g, %b, %m, %v {epsilon = 1.0e-3 : f64} : tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  return %0 : tensor<2x4x3x3xf32>
}

// -----

// Group norm: x summed over each image and channel ([2, 4]), those sums
// over each group's channels ([2, 4] seen as [2, 2, 2]), the group means
// read back per channel; the squared deviations the same way; then one
// pass over x in its own shape, (x - m) r w + b.
// CHECK-LABEL: func.func @group_norm
// CHECK: %[[S:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction"]
// CHECK-SAME: ins(%arg0 : tensor<2x4x3x3xf32>) outs(%{{.*}} : tensor<2x4xf32>)
// CHECK: tensor.collapse_shape %[[S]]
// CHECK: tensor.expand_shape %{{.*}} output_shape [2, 2, 2] : tensor<8xf32> into tensor<2x2x2xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: %[[M:.*]] = tensor.expand_shape %{{.*}} output_shape [2, 4] : tensor<8xf32> into tensor<2x4xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction"]
// CHECK-SAME: ins(%arg0, %[[M]] : tensor<2x4x3x3xf32>, tensor<2x4xf32>)
// CHECK: math.sqrt
// CHECK: %[[R:.*]] = tensor.expand_shape %{{.*}} output_shape [2, 4] : tensor<8xf32> into tensor<2x4xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel"]
// CHECK-SAME: ins(%arg0, %[[M]], %[[R]], %arg1, %arg2 : tensor<2x4x3x3xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>)
// CHECK: arith.subf
// CHECK: arith.mulf
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @group_norm(%x: tensor<2x4x3x3xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<2x4x3x3xf32> {
  %0 = graph.group_norm %x, %g, %b {num_groups = 2 : i64} : tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>
  return %0 : tensor<2x4x3x3xf32>
}
