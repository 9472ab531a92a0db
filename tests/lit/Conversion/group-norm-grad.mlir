// RUN: kiln-opt %s -convert-graph-to-linalg -linalg-fuse-elementwise-ops -canonicalize -cse | FileCheck %s

// The gradients of group norm on the view [n, groups, c/groups, rest] =
// [2, 2, 2, 9]: the group means; one generic with the group sums (variance,
// sum(g w), sum(g w (x - m))); one with the channel sums (sum(g x^),
// sum(g)) over the batch and the rest; then dx, reshaped back.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[GROUP:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
// CHECK-DAG: #[[CHANNEL:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2)>
// CHECK-LABEL: func.func @group_norm_grad
// CHECK: %[[X:.*]] = tensor.expand_shape %{{.*}} output_shape [2, 2, 2, 9]
// CHECK: %[[G:.*]] = tensor.expand_shape %{{.*}} output_shape [2, 2, 2, 9]
// CHECK: %[[W:.*]] = tensor.expand_shape %{{.*}} output_shape [2, 2] : tensor<4xf32> into tensor<2x2xf32>
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[GROUP]]], iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%[[X]] :
// CHECK: %[[MEAN:.*]] = linalg.generic
// CHECK: %[[GS:.*]]:3 = linalg.generic {indexing_maps = [#[[ID]], #[[GROUP]], #[[ID]], #[[CHANNEL]], #[[GROUP]], #[[GROUP]], #[[GROUP]]], iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%[[X]], %[[MEAN]], %[[G]], %[[W]] :
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%[[GS]]#0 :
// CHECK: math.sqrt
// CHECK: %[[CS:.*]]:2 = linalg.generic {indexing_maps = [#[[ID]], #[[GROUP]], #[[GROUP]], #[[ID]], #[[CHANNEL]], #[[CHANNEL]]], iterator_types = ["reduction", "parallel", "parallel", "reduction"]} ins(%[[X]], %[[MEAN]], %[[R]], %[[G]] :
// CHECK: %[[DX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[X]], %[[G]], %[[W]], %[[MEAN]], %[[R]], %[[GS]]#1, %[[GS]]#2 :
// CHECK-NOT: linalg.generic
// CHECK: %[[DXV:.*]] = tensor.expand_shape %{{.*}} output_shape [2, 4, 3, 3]
// CHECK: %[[DW:.*]] = tensor.collapse_shape %[[CS]]#0
// CHECK: %[[DB:.*]] = tensor.collapse_shape %[[CS]]#1
// CHECK: return %[[DXV]], %[[DW]], %[[DB]]
func.func @group_norm_grad(%x: tensor<2x4x3x3xf32>, %g: tensor<2x4x3x3xf32>, %w: tensor<4xf32>)
    -> (tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>) {
  %0:3 = graph.group_norm_grad %x, %g, %w {num_groups = 2 : i64}
      : tensor<2x4x3x3xf32>, tensor<2x4x3x3xf32>, tensor<4xf32>
  return %0#0, %0#1, %0#2 : tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>
}
