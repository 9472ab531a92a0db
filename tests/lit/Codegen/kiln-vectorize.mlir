// kiln-vectorize with the passes around it in the pipeline's order: row
// fusion first, trees, hoisting, reciprocals and selects after. Each of
// those has a file of its own, named after it.
// RUN: kiln-opt %s -pass-pipeline='builtin.module(func.func(kiln-fuse-rows,kiln-vectorize,kiln-tree-reductions,kiln-hoist-invariants,kiln-reciprocal-divisions,kiln-select-bounds))' -split-input-file | FileCheck %s
// Alone, kiln-vectorize leaves vector reductions whole.
// RUN: kiln-opt %s -pass-pipeline='builtin.module(func.func(kiln-vectorize))' -split-input-file | FileCheck %s --check-prefix=ALONE

// An elementwise generic: rows stay a loop, each row is read and written in
// 64-wide tiles (parallel-vector-width: four AVX-512 vectors whose exp
// polynomials overlap; tile sizes divide the ranges: no partial tiles; unit
// dimensions are dropped, so the vectors are 1-D).
// CHECK-LABEL: func.func @elementwise
// CHECK: scf.for %{{.*}} = %c0 to %c8 step %c1
// CHECK: scf.for %{{.*}} = %c0 to %c128 step %c64
// CHECK: vector.transfer_read {{.*}} : tensor<8x128xf32>, vector<64xf32>
// CHECK: math.exp %{{.*}} : vector<64xf32>
// CHECK: vector.transfer_write {{.*}} : vector<64xf32>, tensor<8x128xf32>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @elementwise(%x: tensor<8x128xf32>) -> tensor<8x128xf32> {
  %e = tensor.empty() : tensor<8x128xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<8x128xf32>) outs(%e : tensor<8x128xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<8x128xf32>
  return %0 : tensor<8x128xf32>
}

// -----

// A row reduction becomes a tree over the row's tile: halves of the lanes
// combined (10, 5, 2, 1), the last lane of an odd count (5) added at the
// end, then the accumulator.
// CHECK-LABEL: func.func @row_sum
// CHECK: %[[ROW:.*]] = vector.transfer_read {{.*}} : tensor<4x10xf32>, vector<10xf32>
// CHECK: %[[ACC:.*]] = vector.transfer_read {{.*}} : tensor<4xf32>, vector<1xf32>
// CHECK: %[[LOW:.*]] = vector.extract_strided_slice %[[ROW]] {offsets = [0], sizes = [5], strides = [1]}
// CHECK: %[[HIGH:.*]] = vector.extract_strided_slice %[[ROW]] {offsets = [5], sizes = [5], strides = [1]}
// CHECK: %[[FIVE:.*]] = arith.addf %[[LOW]], %[[HIGH]] : vector<5xf32>
// CHECK: %[[ODD:.*]] = vector.extract %[[FIVE]][4] : f32 from vector<5xf32>
// CHECK: arith.addf %{{.*}} : vector<2xf32>
// CHECK: arith.addf %{{.*}} : vector<1xf32>
// CHECK: %[[PAIR:.*]] = vector.extract %{{.*}}[0] : f32 from vector<1xf32>
// CHECK: %[[SUM:.*]] = arith.addf %[[PAIR]], %[[ODD]] : f32
// CHECK: %[[OLD:.*]] = vector.extract %[[ACC]][0] : f32 from vector<1xf32>
// CHECK: arith.addf %[[SUM]], %[[OLD]] : f32
// CHECK-NOT: vector.multi_reduction
// ALONE-LABEL: func.func @row_sum
// ALONE: vector.multi_reduction <add>, %{{.*}}, %{{.*}} [1] : vector<1x10xf32> to vector<1xf32>
#in = affine_map<(d0, d1) -> (d0, d1)>
#out = affine_map<(d0, d1) -> (d0)>
func.func @row_sum(%x: tensor<4x10xf32>, %init: tensor<4xf32>) -> tensor<4xf32> {
  %0 = linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x10xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %a, %o : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// A map that is not a projected permutation (a convolution window) cannot be
// vectorized: the op stays a linalg.generic, to be lowered to loops.
// CHECK-LABEL: func.func @window
// CHECK: linalg.generic
// CHECK-NOT: vector.transfer_read
#win_in = affine_map<(d0, d1) -> (d0 + d1)>
#win_w = affine_map<(d0, d1) -> (d1)>
#win_out = affine_map<(d0, d1) -> (d0)>
func.func @window(%x: tensor<10xf32>, %w: tensor<3xf32>, %init: tensor<8xf32>) -> tensor<8xf32> {
  %0 = linalg.generic {indexing_maps = [#win_in, #win_w, #win_out], iterator_types = ["parallel", "reduction"]}
      ins(%x, %w : tensor<10xf32>, tensor<3xf32>) outs(%init : tensor<8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %m, %o : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  return %0 : tensor<8xf32>
}

// A row reduction over a long innermost loop first folds whole vectors into
// 16 partial results per row, then reduces those: the horizontal reduction
// runs once per row, not once per tile. Both reductions are balanced trees:
// a tile's 16 vectors pairwise (eight, four, two, one), then the partial
// results by halves; only the last combination waits for the accumulator.
// CHECK-LABEL: func.func @long_row_max
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2]] output_shape [4, 16, 16]
// CHECK: %[[TILE:.*]] = vector.transfer_read {{.*}} : tensor<4x16x16xf32>, vector<16x16xf32>
// CHECK: %[[ACC:.*]] = vector.transfer_read {{.*}} : tensor<4x16xf32>, vector<16xf32>
// CHECK: %[[V0:.*]] = vector.extract %[[TILE]][0] : vector<16xf32> from vector<16x16xf32>
// CHECK: %[[V1:.*]] = vector.extract %[[TILE]][1] : vector<16xf32> from vector<16x16xf32>
// CHECK: %[[P01:.*]] = arith.maximumf %[[V0]], %[[V1]] : vector<16xf32>
// CHECK-COUNT-14: arith.maximumf
// CHECK-NEXT: arith.maximumf %{{.*}}, %[[ACC]] : vector<16xf32>
// CHECK-NOT: vector.multi_reduction
// CHECK: %[[PARTIALS:.*]] = vector.transfer_read {{.*}} : tensor<4x16xf32>, vector<16xf32>
// CHECK: %[[LOW:.*]] = vector.extract_strided_slice %[[PARTIALS]] {offsets = [0], sizes = [8], strides = [1]}
// CHECK: %[[HIGH:.*]] = vector.extract_strided_slice %[[PARTIALS]] {offsets = [8], sizes = [8], strides = [1]}
// CHECK: arith.maximumf %[[LOW]], %[[HIGH]] : vector<8xf32>
// CHECK: arith.maximumf %{{.*}} : vector<4xf32>
// CHECK: arith.maximumf %{{.*}} : vector<2xf32>
// CHECK: arith.maximumf %{{.*}} : vector<1xf32>
// CHECK: %[[ROW:.*]] = arith.maximumf %{{.*}} : f32
// CHECK: vector.broadcast %[[ROW]] : f32 to vector<1xf32>
func.func @long_row_max(%x: tensor<4x256xf32>) -> tensor<4xf32> {
  %init = arith.constant dense<0xFF800000> : tensor<4xf32>
  %0 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x256xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %out : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Row passes fuse: a per-row reduction feeding a row-wise consumer runs inside
// one loop over blocks of rows (4 rows of 1024: 4096 elements), marked
// kiln.parallel for kiln-parallelize and kiln.row_blocks for kiln-prefetch;
// the per-row square root moves out of the 64-wide inner loop, and the
// division by it becomes a multiplication by its reciprocal, taken once per
// row.
// CHECK-LABEL: func.func private @normalize
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c4
// CHECK: arith.addf %{{.*}} : vector<16xf32>
// CHECK: %[[ROOT:.*]] = math.sqrt %{{.*}} : vector<64xf32>
// CHECK-NEXT: %[[ONES:.*]] = arith.constant dense<1.000000e+00> : vector<64xf32>
// CHECK-NEXT: %[[RECIPROCAL:.*]] = arith.divf %[[ONES]], %[[ROOT]] : vector<64xf32>
// CHECK-NEXT: scf.for
// CHECK-NOT: arith.divf
// CHECK: arith.mulf %{{.*}}, %[[RECIPROCAL]] : vector<64xf32>
// CHECK: } {kiln.parallel}
// CHECK-NEXT: tensor.insert_slice
// CHECK: } {kiln.parallel, kiln.row_blocks}
#map = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func private @normalize(%x: tensor<64x1024xf32>) -> tensor<64x1024xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<64xf32>) -> tensor<64xf32>
  %sum = linalg.generic {indexing_maps = [#map, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<64x1024xf32>) outs(%init : tensor<64xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  } -> tensor<64xf32>
  %e2 = tensor.empty() : tensor<64x1024xf32>
  %y = linalg.generic {indexing_maps = [#map, #row, #map], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : tensor<64x1024xf32>, tensor<64xf32>) outs(%e2 : tensor<64x1024xf32>) {
  ^bb0(%a: f32, %s: f32, %out: f32):
    %r = math.sqrt %s : f32
    %q = arith.divf %a, %r : f32
    linalg.yield %q : f32
  } -> tensor<64x1024xf32>
  return %y : tensor<64x1024xf32>
}

// -----

// A maximum reduction marked kiln.nan_agnostic_max (softmax's shift) may
// give NaN or ignore it: its trees combine with a compare and select (one
// vmaxps on x86), through the split into partial results too; an unmarked
// one keeps maximumf.
// CHECK-LABEL: func.func @shift_max
// CHECK-NOT: maximumf
// CHECK: %[[GT:.*]] = arith.cmpf ogt, %[[A:.*]], %[[B:.*]] : vector<16xf32>
// CHECK-NEXT: arith.select %[[GT]], %[[A]], %[[B]] : vector<16xi1>, vector<16xf32>
// CHECK-COUNT-15: arith.cmpf ogt, %{{.*}} : vector<16xf32>
// CHECK-NOT: maximumf
// CHECK: arith.cmpf ogt, %{{.*}} : vector<8xf32>
// CHECK-NOT: maximumf
// CHECK: arith.cmpf ogt, %{{.*}} : f32
// CHECK-NOT: maximumf
// CHECK-LABEL: func.func @plain_max
// CHECK: arith.maximumf
func.func @shift_max(%x: tensor<4x256xf32>) -> tensor<4xf32> {
  %init = arith.constant dense<0xFF800000> : tensor<4xf32>
  %0 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x256xf32>) outs(%init : tensor<4xf32>) attrs = {kiln.nan_agnostic_max} {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %out : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

func.func @plain_max(%x: tensor<4x256xf32>) -> tensor<4xf32> {
  %init = arith.constant dense<0xFF800000> : tensor<4xf32>
  %0 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x256xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %out : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// A reduction to one value per tile over several dimensions (batch norm's
// per-channel sums over batch, height and width): the loop over channels,
// parallel, runs outermost and is marked for kiln-parallelize, the batch's
// tiles of four inside it. Each tile's 4x7x7 values combine pairwise, then
// the rows of the sum, then its lanes.
// CHECK-LABEL: func.func @channel_sum
// CHECK: scf.for %[[C:.*]] = %c0 to %c2 step %c1
// CHECK-NEXT: scf.for %[[N:.*]] = %c0 to %c16 step %c4
// CHECK: %[[TILE:.*]] = vector.transfer_read %{{.*}}[%[[N]], %[[C]], %c0, %c0]{{.*}} : tensor<16x2x7x7xf32>, vector<4x1x7x7xf32>
// CHECK-COUNT-3: arith.addf %{{.*}} : vector<1x7x7xf32>
// CHECK-COUNT-6: arith.addf %{{.*}} : vector<7xf32>
// CHECK: arith.addf %{{.*}} : vector<3xf32>
// CHECK: arith.addf %{{.*}} : vector<1xf32>
// CHECK-COUNT-3: arith.addf %{{.*}} : f32
// CHECK-NOT: vector.multi_reduction
// CHECK: scf.yield
// CHECK-NEXT: }
// CHECK-NEXT: scf.yield
// CHECK-NEXT: } {kiln.parallel}
func.func @channel_sum(%x: tensor<16x2x7x7xf32>, %init: tensor<2xf32>) -> tensor<2xf32> {
  %0 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>], iterator_types = ["reduction", "parallel", "reduction", "reduction"]}
      ins(%x : tensor<16x2x7x7xf32>) outs(%init : tensor<2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %a, %o : f32
    linalg.yield %r : f32
  } -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// In a row block, the exponentials are computed into the block's slice of
// the output and scaled there in place: no 4x1024 temporary.
// CHECK-LABEL: func.func private @softmax_in_place
// CHECK: scf.for %[[BLOCK:[a-z0-9_]+]] = {{.*}} iter_args(%[[OUT:[a-z0-9_]+]] = {{.*}})
// CHECK-NOT: tensor.empty() : tensor<4x1024xf32>
// CHECK: %[[SLICE:.*]] = tensor.extract_slice %[[OUT]][%[[BLOCK]], 0] [4, 1024]
// CHECK-NEXT: %[[EXP:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %[[SLICE]])
// CHECK: math.exp
// CHECK: scf.for {{.*}} iter_args(%[[Q:[a-z0-9_]+]] = %[[EXP]])
// CHECK: scf.for {{.*}} iter_args(%[[QT:[a-z0-9_]+]] = %[[Q]])
// CHECK-NEXT: vector.transfer_read %[[QT]]
// CHECK-NEXT: arith.mulf
// CHECK: tensor.insert_slice
#map = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func private @softmax_in_place(%x: tensor<64x1024xf32>) -> tensor<64x1024xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64xf32>
  %minit = linalg.fill ins(%ninf : f32) outs(%e : tensor<64xf32>) -> tensor<64xf32>
  %max = linalg.generic {indexing_maps = [#map, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<64x1024xf32>) outs(%minit : tensor<64xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.maximumf %a, %acc : f32
    linalg.yield %m : f32
  } -> tensor<64xf32>
  %e2 = tensor.empty() : tensor<64x1024xf32>
  %exp = linalg.generic {indexing_maps = [#map, #row, #map], iterator_types = ["parallel", "parallel"]}
      ins(%x, %max : tensor<64x1024xf32>, tensor<64xf32>) outs(%e2 : tensor<64x1024xf32>) {
  ^bb0(%a: f32, %m: f32, %out: f32):
    %d = arith.subf %a, %m : f32
    %v = math.exp %d : f32
    linalg.yield %v : f32
  } -> tensor<64x1024xf32>
  %sinit = linalg.fill ins(%zero : f32) outs(%e : tensor<64xf32>) -> tensor<64xf32>
  %sum = linalg.generic {indexing_maps = [#map, #row], iterator_types = ["parallel", "reduction"]}
      ins(%exp : tensor<64x1024xf32>) outs(%sinit : tensor<64xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  } -> tensor<64xf32>
  %e3 = tensor.empty() : tensor<64x1024xf32>
  %y = linalg.generic {indexing_maps = [#map, #row, #map], iterator_types = ["parallel", "parallel"]}
      ins(%exp, %sum : tensor<64x1024xf32>, tensor<64xf32>) outs(%e3 : tensor<64x1024xf32>) {
  ^bb0(%a: f32, %s: f32, %out: f32):
    %q = arith.divf %a, %s : f32
    linalg.yield %q : f32
  } -> tensor<64x1024xf32>
  return %y : tensor<64x1024xf32>
}

// -----

// Vectorizing an empty loop nest leaves it alone (no division by zero).
// CHECK-LABEL: func.func private @empty_rows
// CHECK: linalg.generic
#map = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func private @empty_rows(%x: tensor<8x0xf32>, %init: tensor<8xf32>) -> tensor<8xf32> {
  %0 = linalg.generic {indexing_maps = [#map, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x0xf32>) outs(%init : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  return %0 : tensor<8xf32>
}
