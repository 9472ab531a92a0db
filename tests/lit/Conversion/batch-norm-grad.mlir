// RUN: kiln-opt %s -convert-graph-to-linalg -kiln-fuse-elementwise -canonicalize -cse | FileCheck %s

// The gradients of batch norm. float32 takes two passes over the input's
// shape: one generic with four float64 sums (x, x^2, g and g x), from
// which per channel follow the mean, the biased variance, sum(g) and
// sum(g (x - m)) (as float32); then dx in one parallel generic whose
// per-channel coefficients (18 elements per channel) are fused in. No
// intermediate of the input's size is written.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[CH:.*]] = affine_map<(d0, d1, d2, d3) -> (d1)>
// CHECK-DAG: #[[ONE:.*]] = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @batch_norm_grad
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x3x3xf32>, %[[G:.*]]: tensor<2x4x3x3xf32>, %[[W:.*]]: tensor<4xf32>)
// CHECK: %[[EPS:.*]] = arith.constant 1.000000e-03 : f32
// CHECK: %[[SUMS:.*]]:4 = linalg.generic {indexing_maps = [#[[ID]], #[[ID]], #[[CH]], #[[CH]], #[[CH]], #[[CH]]], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%[[X]], %[[G]] : {{.*}}) outs({{.*}} : tensor<4xf64>, tensor<4xf64>, tensor<4xf64>, tensor<4xf64>)
// CHECK: %[[XW:.*]] = arith.extf %{{.*}} : f32 to f64
// CHECK: %[[GW:.*]] = arith.extf %{{.*}} : f32 to f64
// CHECK: arith.mulf %[[XW]], %[[XW]] : f64
// CHECK: arith.mulf %[[GW]], %[[XW]] : f64
// CHECK: %[[STATS:.*]]:4 = linalg.generic {indexing_maps = [#[[ONE]], #[[ONE]], #[[ONE]], #[[ONE]], #[[ONE]], #[[ONE]], #[[ONE]], #[[ONE]]], iterator_types = ["parallel"]} ins(%[[SUMS]]#0, %[[SUMS]]#1, %[[SUMS]]#2, %[[SUMS]]#3 :
// CHECK: arith.maximumf
// CHECK: arith.truncf
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%[[STATS]]#1 :
// CHECK: arith.addf %{{.*}}, %[[EPS]]
// CHECK: math.sqrt
// CHECK: %[[DW:.*]] = linalg.generic {{.*}} ins(%[[STATS]]#3, %[[R]] :
// CHECK: %[[DX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[X]], %[[G]], %[[STATS]]#0, %[[STATS]]#2, %[[STATS]]#3, %[[R]], %[[W]] :
// CHECK-NOT: linalg.generic
// CHECK: return %[[DX]], %[[DW]], %[[STATS]]#2
func.func @batch_norm_grad(%x: tensor<2x4x3x3xf32>, %g: tensor<2x4x3x3xf32>, %w: tensor<4xf32>)
    -> (tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>) {
  %0:3 = graph.batch_norm_grad %x, %g, %w {epsilon = 1.0e-3 : f64}
      : tensor<2x4x3x3xf32>, tensor<2x4x3x3xf32>, tensor<4xf32>
  return %0#0, %0#1, %0#2 : tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>
}

// float64 takes three: the mean of x; one generic with three sums of the
// centered values (the variance's sum((x - m)^2), sum(g) and
// sum(g (x - m))); then dx.
// CHECK-LABEL: func.func @batch_norm_grad_f64
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x3x3xf64>, %[[G:.*]]: tensor<2x4x3x3xf64>, %[[W:.*]]: tensor<4xf64>)
// CHECK: %[[SUMX:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[CH]]], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%[[X]] :
// CHECK: %[[MEAN:.*]] = linalg.generic
// CHECK: %[[SUMS:.*]]:3 = linalg.generic {indexing_maps = [#[[ID]], #[[CH]], #[[ID]], #[[CH]], #[[CH]], #[[CH]]], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%[[X]], %[[MEAN]], %[[G]] :
// CHECK: %[[C:.*]] = arith.subf
// CHECK: %[[SQ:.*]] = arith.mulf %[[C]], %[[C]]
// CHECK: arith.mulf %{{.*}}, %[[C]]
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%[[SUMS]]#0 :
// CHECK: math.sqrt
// CHECK: %[[DW:.*]] = linalg.generic {{.*}} ins(%[[SUMS]]#2, %[[R]] :
// CHECK: %[[DX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[X]], %[[G]], %[[MEAN]], %[[SUMS]]#1, %[[SUMS]]#2, %[[R]], %[[W]] :
// CHECK-NOT: linalg.generic
// CHECK: return %[[DX]], %[[DW]], %[[SUMS]]#1
func.func @batch_norm_grad_f64(%x: tensor<2x4x3x3xf64>, %g: tensor<2x4x3x3xf64>, %w: tensor<4xf64>)
    -> (tensor<2x4x3x3xf64>, tensor<4xf64>, tensor<4xf64>) {
  %0:3 = graph.batch_norm_grad %x, %g, %w {epsilon = 1.0e-3 : f64}
      : tensor<2x4x3x3xf64>, tensor<2x4x3x3xf64>, tensor<4xf64>
  return %0#0, %0#1, %0#2 : tensor<2x4x3x3xf64>, tensor<4xf64>, tensor<4xf64>
}
