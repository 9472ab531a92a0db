// RUN: kiln-opt %s -split-input-file -kiln-fuse-elementwise | FileCheck %s

// Elementwise generics fuse as in linalg-fuse-elementwise-ops.
// CHECK-LABEL: func.func @chain
// CHECK: linalg.generic
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK-NOT: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @chain(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %in : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %in : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  return %b : tensor<4x8xf32>
}

// -----

// Per-channel sums [N, C] of a channels-last image, seen as
// [N, groups, C / groups] to sum each group: folding the expansion into
// the sums would split their innermost loop (the channels) into loops of
// 4 and 2, so the reshape stays.
// CHECK-LABEL: func.func @keeps_innermost_loop
// CHECK: %[[S:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.*}} : tensor<2x9x8xf32>) outs(%{{.*}} : tensor<2x8xf32>)
// CHECK: %[[G:.*]] = tensor.expand_shape %[[S]] {{\[}}[0], [1, 2]] output_shape [2, 4, 2] : tensor<2x8xf32> into tensor<2x4x2xf32>
// CHECK: linalg.generic {{.*}} ins(%[[G]] : tensor<2x4x2xf32>)
#image = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#perChannel = affine_map<(d0, d1, d2) -> (d0, d2)>
#group = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @keeps_innermost_loop(%x: tensor<2x9x8xf32>) -> tensor<2x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<2x8xf32>) -> tensor<2x8xf32>
  %s = linalg.generic {indexing_maps = [#image, #perChannel], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x : tensor<2x9x8xf32>) outs(%acc : tensor<2x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<2x8xf32>
  %g = tensor.expand_shape %s [[0], [1, 2]] output_shape [2, 4, 2] : tensor<2x8xf32> into tensor<2x4x2xf32>
  %e2 = tensor.empty() : tensor<2x4xf32>
  %acc2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x4xf32>) -> tensor<2x4xf32>
  %r = linalg.generic {indexing_maps = [#image, #group], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%g : tensor<2x4x2xf32>) outs(%acc2 : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}

// -----

// The same sums over NCHW ([N, C, plane], the plane innermost): the
// channel dimension is not the innermost loop, so the expansion folds
// into the sums, which then write [N, groups, C / groups] directly.
// CHECK-LABEL: func.func @folds_outer_dimension
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2], [3]] output_shape [2, 4, 2, 9] : tensor<2x8x9xf32> into tensor<2x4x2x9xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%{{.*}} : tensor<2x4x2x9xf32>) outs(%{{.*}} : tensor<2x4x2xf32>)
// CHECK-NOT: tensor.expand_shape
#nchw = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#nc = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @folds_outer_dimension(%x: tensor<2x8x9xf32>) -> tensor<2x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<2x8xf32>) -> tensor<2x8xf32>
  %s = linalg.generic {indexing_maps = [#nchw, #nc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : tensor<2x8x9xf32>) outs(%acc : tensor<2x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<2x8xf32>
  %g = tensor.expand_shape %s [[0], [1, 2]] output_shape [2, 4, 2] : tensor<2x8xf32> into tensor<2x4x2xf32>
  %e2 = tensor.empty() : tensor<2x4xf32>
  %acc2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x4xf32>) -> tensor<2x4xf32>
  %r = linalg.generic {indexing_maps = [#nchw, #nc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%g : tensor<2x4x2xf32>) outs(%acc2 : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}

// -----

// A collapsed [N, groups, C / groups] read per channel by a pass over a
// channels-last image: expanding the pass would split its channel loop
// into loops of 4 and 2, so the collapse stays.
// CHECK-LABEL: func.func @keeps_innermost_loop_of_reader
// CHECK: %[[C:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2]] : tensor<2x4x2xf32> into tensor<2x8xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]} ins(%{{.*}}, %[[C]] : tensor<2x9x8xf32>, tensor<2x8xf32>)
#image = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#perChannel = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @keeps_innermost_loop_of_reader(%x: tensor<2x9x8xf32>, %m: tensor<2x4x2xf32>) -> tensor<2x9x8xf32> {
  %c = tensor.collapse_shape %m [[0], [1, 2]] : tensor<2x4x2xf32> into tensor<2x8xf32>
  %e = tensor.empty() : tensor<2x9x8xf32>
  %y = linalg.generic {indexing_maps = [#image, #perChannel, #image], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %c : tensor<2x9x8xf32>, tensor<2x8xf32>) outs(%e : tensor<2x9x8xf32>) {
  ^bb0(%in: f32, %mean: f32, %out: f32):
    %d = arith.subf %in, %mean : f32
    linalg.yield %d : f32
  } -> tensor<2x9x8xf32>
  return %y : tensor<2x9x8xf32>
}

// -----

// [B, T, heads * 16] split per head: the innermost piece is a whole vector,
// so the expansion folds into the producer, which writes [B, T, 4, 16].
// CHECK-LABEL: func.func @folds_whole_vectors
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x3x4x16xf32>)
// CHECK-NOT: tensor.expand_shape
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @folds_whole_vectors(%x: tensor<2x3x64xf32>) -> tensor<2x3x4x16xf32> {
  %e = tensor.empty() : tensor<2x3x64xf32>
  %y = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<2x3x64xf32>) outs(%e : tensor<2x3x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.mulf %in, %in : f32
    linalg.yield %s : f32
  } -> tensor<2x3x64xf32>
  %h = tensor.expand_shape %y [[0], [1], [2, 3]] output_shape [2, 3, 4, 16] : tensor<2x3x64xf32> into tensor<2x3x4x16xf32>
  return %h : tensor<2x3x4x16xf32>
}
