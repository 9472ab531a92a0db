// RUN: kiln-opt %s -convert-graph-to-linalg -kiln-fuse-elementwise -canonicalize -cse | FileCheck %s

// The gradients of group norm, from sums per image and channel: the group
// means (x summed over each channel's image, then over the group's
// channels, read back per channel); one pass over x and g with
// sum((x - m)^2), sum(g) and sum(g (x - m)) per image and channel; the
// group values from those; then dx in one pass, and the weight's and
// bias's gradients summed over the images of the per-channel sums.

// NCHW, [2, 4, 3, 3] in 2 groups: the channel dimension splits into
// [groups, channels per group] (the innermost loop, over the row, stays).
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[NC:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
// CHECK-DAG: #[[CH:.*]] = affine_map<(d0, d1, d2, d3) -> (d3)>
// CHECK-DAG: #[[ID5:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
// CHECK-DAG: #[[NC5:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @group_norm_grad(
// CHECK: %[[X:.*]] = tensor.expand_shape %arg0 {{.*}} output_shape [2, 2, 2, 3, 3]
// CHECK: linalg.generic {indexing_maps = [#[[ID5]], #[[NC5]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%[[X]] :
// CHECK: %[[G:.*]] = tensor.expand_shape %arg1 {{.*}} output_shape [2, 2, 2, 3, 3]
// CHECK: %[[SUMS:.*]]:3 = linalg.generic {indexing_maps = [#[[ID5]], #[[NC5]], #[[ID5]], #[[NC5]], #[[NC5]], #[[NC5]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%[[X]], %{{.*}}, %[[G]] :
// CHECK: math.sqrt
// CHECK: %[[DX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%[[X]], %[[G]],
// CHECK: %[[DXV:.*]] = tensor.collapse_shape %[[DX]] {{.*}} into tensor<2x4x3x3xf32>
// CHECK: %[[DW:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]}
// CHECK: %[[DB:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]}
// CHECK: return %[[DXV]], %[[DW]], %[[DB]]
func.func @group_norm_grad(%x: tensor<2x4x3x3xf32>, %g: tensor<2x4x3x3xf32>, %w: tensor<4xf32>)
    -> (tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>) {
  %0:3 = graph.group_norm_grad %x, %g, %w {num_groups = 2 : i64}
      : tensor<2x4x3x3xf32>, tensor<2x4x3x3xf32>, tensor<4xf32>
  return %0#0, %0#1, %0#2 : tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>
}

// Channels-last, [2, 3, 3, 4]: the channel is the innermost loop, so the
// sums per image and channel keep it whole ([2, 4], one vector lane a
// channel); only the small [2, 4] sums are seen as [2, 2, 2] to sum each
// group. Every pass reads x in its own layout.
// CHECK-LABEL: func.func @group_norm_grad_channels_last(
// CHECK: %[[S:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[NC]]], iterator_types = ["parallel", "reduction", "reduction", "parallel"]} ins(%arg0 : tensor<2x3x3x4xf32>) outs(%{{.*}} : tensor<2x4xf32>)
// CHECK: tensor.expand_shape %[[S]] {{\[}}[0], [1, 2]] output_shape [2, 2, 2] : tensor<2x4xf32> into tensor<2x2x2xf32>
// CHECK: %[[MEAN:.*]] = tensor.collapse_shape %{{.*}} : tensor<2x2x2xf32> into tensor<2x4xf32>
// CHECK: %[[SUMS:.*]]:3 = linalg.generic {indexing_maps = [#[[ID]], #[[NC]], #[[ID]], #[[NC]], #[[NC]], #[[NC]]], iterator_types = ["parallel", "reduction", "reduction", "parallel"]} ins(%arg0, %[[MEAN]], %arg1 :
// CHECK: %[[DX:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ID]], #[[CH]], #[[NC]], #[[NC]], #[[NC]], #[[NC]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0, %arg1, %arg2, %[[MEAN]],
// CHECK: %[[DW:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%[[SUMS]]#2,
// CHECK: %[[DB:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%[[SUMS]]#1 :
// CHECK: return %[[DX]], %[[DW]], %[[DB]]
func.func @group_norm_grad_channels_last(%x: tensor<2x3x3x4xf32>, %g: tensor<2x3x3x4xf32>, %w: tensor<4xf32>)
    -> (tensor<2x3x3x4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %0:3 = graph.group_norm_grad %x, %g, %w {channels_last, num_groups = 2 : i64}
      : tensor<2x3x3x4xf32>, tensor<2x3x3x4xf32>, tensor<4xf32>
  return %0#0, %0#1, %0#2 : tensor<2x3x3x4xf32>, tensor<4xf32>, tensor<4xf32>
}
