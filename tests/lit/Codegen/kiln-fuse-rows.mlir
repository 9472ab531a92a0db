// RUN: kiln-opt %s -pass-pipeline='builtin.module(func.func(kiln-fuse-rows))' -split-input-file | FileCheck %s
// RUN: kiln-opt %s -pass-pipeline='builtin.module(func.func(kiln-fuse-rows{row-block-elements=16384}))' -split-input-file | FileCheck %s --check-prefix=BIG

// A per-row reduction feeding a row-wise consumer: both run in one loop over
// blocks of rows (4 rows of 1024 = 4096 elements by default, 16 with a
// larger block), marked for kiln-parallelize and kiln-prefetch; the
// reduction computes on the block's rows only.
// CHECK-LABEL: func.func private @normalize
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c4
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK-SAME: tensor<4x1024xf32>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// CHECK: tensor.insert_slice
// CHECK: } {kiln.parallel, kiln.row_blocks}
// BIG-LABEL: func.func private @normalize
// BIG: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c16
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
    %q = arith.divf %a, %s : f32
    linalg.yield %q : f32
  } -> tensor<64x1024xf32>
  return %y : tensor<64x1024xf32>
}

// -----

// An elementwise kernel has no row producer: nothing changes.
// CHECK-LABEL: func.func private @elementwise
// CHECK-NOT: scf.for
// CHECK: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func private @elementwise(%x: tensor<64x1024xf32>) -> tensor<64x1024xf32> {
  %e = tensor.empty() : tensor<64x1024xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<64x1024xf32>) outs(%e : tensor<64x1024xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<64x1024xf32>
  return %0 : tensor<64x1024xf32>
}
