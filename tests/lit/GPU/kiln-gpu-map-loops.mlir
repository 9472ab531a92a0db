// RUN: kiln-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(func.func(kiln-gpu-map-loops))' | FileCheck %s

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// A 3-D elementwise op: its 2*3*100 = 600 iterations collapse into one
// dimension, tiled by 256 threads: the tiles go to blocks, the elements of
// a tile to threads.
// CHECK-LABEL: func.func @elementwise
// CHECK-DAG: %[[C600:.*]] = arith.constant 600 : index
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK: scf.parallel (%[[B:.*]]) = ({{.*}}) to (%[[C600]]) step (%[[C256]]) {
// CHECK: affine.min
// CHECK: scf.parallel
// CHECK: math.exp
// CHECK: memref.store
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
func.func @elementwise(%a: memref<2x3x100xf32>, %b: memref<2x3x100xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%a : memref<2x3x100xf32>) outs(%b : memref<2x3x100xf32>) {
  ^bb0(%x: f32, %o: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// Rows of 10 reduced by one thread each: 4 rows, a block of 4 threads; the
// reduction is a sequential loop in the thread.
// CHECK-LABEL: func.func @rows
// CHECK: scf.parallel ({{.*}}) = ({{.*}}) to (%c4{{.*}}) step (%c4{{.*}}) {
// CHECK: scf.parallel
// CHECK: scf.for
// CHECK: arith.addf
// CHECK: processor = thread_x
// CHECK: processor = block_x
func.func @rows(%a: memref<4x10xf32>, %b: memref<4xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<4x10xf32>) outs(%b : memref<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = arith.addf %x, %o : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Columns reduced (a bias gradient): the reduced dimension comes first in
// the op, but its loop goes inside the threads, one per column, rather than
// around the launches. 512 columns fill two blocks of 256 exactly: the
// tile's bound is the constant 256, no affine.min.
// CHECK-LABEL: func.func @columns
// CHECK-NOT: scf.for
// CHECK: scf.parallel ({{.*}}) = ({{.*}}) to (%c512{{.*}}) step (%c256{{.*}}) {
// CHECK-NOT: affine.min
// CHECK: scf.parallel ({{.*}}) = ({{.*}}) to (%c256{{.*}}) step
// CHECK: scf.for {{.*}} to %c8
// CHECK: arith.addf
// CHECK: processor = thread_x
// CHECK: processor = block_x
func.func @columns(%a: memref<8x512xf32>, %b: memref<512xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>], iterator_types = ["reduction", "parallel"]}
      ins(%a : memref<8x512xf32>) outs(%b : memref<512xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = arith.addf %x, %o : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Rows of 1024 are reduced by a block each: 8 rows, 8 blocks of 256
// threads (about four elements a thread); each thread folds its partial sum
// from the identity, striding along the row (thread t reads t, t + 256,
// ...: consecutive threads, consecutive elements), gpu.all_reduce combines
// the block's, and thread 0 adds the row's sum into the output.
// CHECK-LABEL: func.func @long_rows
// CHECK: scf.parallel (%[[ROW:.*]]) = (%c0{{.*}}) to (%c8{{.*}}) step (%c1{{.*}}) {
// CHECK: scf.parallel (%[[T:.*]]) = (%c0{{.*}}) to (%[[C256:.*]]) step (%c1{{.*}}) {
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[PARTIAL:.*]] = scf.for %[[K:.*]] = %[[T]] to %c1024{{.*}} step %c256{{.*}} iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (f32) {
// CHECK: %[[X:.*]] = memref.load %{{.*}}[%[[ROW]], %[[K]]]
// CHECK: %[[S:.*]] = arith.addf %[[X]], %[[ACC]]
// CHECK: scf.yield %[[S]]
// CHECK: %[[SUM:.*]] = gpu.all_reduce add %[[PARTIAL]] uniform
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[T]], %c0
// CHECK: scf.if %[[FIRST]] {
// CHECK: %[[OLD:.*]] = memref.load %{{.*}}[%[[ROW]]]
// CHECK: %[[NEW:.*]] = arith.addf %[[SUM]], %[[OLD]]
// CHECK: memref.store %[[NEW]], %{{.*}}[%[[ROW]]]
// CHECK: processor = thread_x
// CHECK: processor = block_x
func.func @long_rows(%a: memref<8x1024xf32>, %b: memref<8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<8x1024xf32>) outs(%b : memref<8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = arith.addf %x, %o : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A softmax's sum of exponentials: rows [4, 2] of 512, one block each (8
// blocks of 128 threads), the row's indices recovered from the block's;
// the row maximum, the same for the whole row, is read once per thread.
// CHECK-LABEL: func.func @exp_sum
// CHECK: scf.parallel (%[[ROW:.*]]) = (%c0{{.*}}) to (%c8{{.*}}) step
// CHECK: %[[J:.*]] = arith.remui %[[ROW]], %c2
// CHECK: %[[I:.*]] = arith.divui %[[ROW]], %c2
// CHECK: scf.parallel (%[[T:.*]]) = (%c0{{.*}}) to (%c128{{.*}}) step
// CHECK: %[[MAX:.*]] = memref.load %{{.*}}[%[[I]], %[[J]]] : memref<4x2xf32>
// CHECK: scf.for %[[K:.*]] = %[[T]] to %c512{{.*}} step %c128
// CHECK: memref.load %{{.*}}[%[[I]], %[[J]], %[[K]]] : memref<4x2x512xf32>
// CHECK: arith.subf %{{.*}}, %[[MAX]]
// CHECK: math.exp
// CHECK: gpu.all_reduce add
func.func @exp_sum(%x: memref<4x2x512xf32>, %m: memref<4x2xf32>, %out: memref<4x2xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %m : memref<4x2x512xf32>, memref<4x2xf32>) outs(%out : memref<4x2xf32>) {
  ^bb0(%v: f32, %mx: f32, %o: f32):
    %d = arith.subf %v, %mx : f32
    %e = math.exp %d : f32
    %s = arith.addf %e, %o : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A float64 row maximum (NaN-propagating maximumf: identity -inf) of rows
// of 64, the shortest a block takes: one warp of 32 threads; a maximum and
// a sum in one generic, one all-reduce each.
// CHECK-LABEL: func.func @max_and_sum
// CHECK: scf.parallel ({{.*}}) = ({{.*}}) to (%c32{{.*}}) step
// CHECK-DAG: arith.constant 0xFFF0000000000000 : f64
// CHECK-DAG: arith.constant 0.000000e+00 : f64
// CHECK: scf.for {{.*}} -> (f64, f64)
// CHECK: gpu.all_reduce maximumf
// CHECK: gpu.all_reduce add
// CHECK: scf.if
// CHECK: arith.maximumf
// CHECK: memref.store
// CHECK: arith.addf
// CHECK: memref.store
func.func @max_and_sum(%a: memref<3x64xf64>, %m: memref<3xf64>, %s: memref<3xf64>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<3x64xf64>) outs(%m, %s : memref<3xf64>, memref<3xf64>) {
  ^bb0(%x: f64, %mo: f64, %so: f64):
    %0 = arith.maximumf %x, %mo : f64
    %1 = arith.addf %x, %so : f64
    linalg.yield %0, %1 : f64, f64
  }
  return
}

// -----

// What a block does not take stays one thread per row: rows read across
// (a transposed input), rows shorter than 64, an argmax (its index's
// update is a select on the value's comparison, not one combiner), and
// half-precision sums (the all-reduce's shuffles move 32- and 64-bit
// values).
// CHECK-LABEL: func.func @one_thread_per_row
// CHECK-NOT: gpu.all_reduce
// CHECK: return
func.func @one_thread_per_row(%a: memref<1024x8xf32>, %b: memref<8xf32>, %c: memref<8x63xf32>, %d: memref<8x256xf32>, %v: memref<8xf32>, %i: memref<8xi32>, %h: memref<8x256xf16>, %hs: memref<8xf16>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%h : memref<8x256xf16>) outs(%hs : memref<8xf16>) {
  ^bb0(%x: f16, %o: f16):
    %s = arith.addf %x, %o : f16
    linalg.yield %s : f16
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<1024x8xf32>) outs(%b : memref<8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = arith.addf %x, %o : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%c : memref<8x63xf32>) outs(%b : memref<8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = arith.addf %x, %o : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%d : memref<8x256xf32>) outs(%v, %i : memref<8xf32>, memref<8xi32>) {
  ^bb0(%x: f32, %best: f32, %at: i32):
    %k = linalg.index 1 : index
    %ki = arith.index_cast %k : index to i32
    %better = arith.cmpf ogt, %x, %best : f32
    %nb = arith.select %better, %x, %best : f32
    %ni = arith.select %better, %ki, %at : i32
    linalg.yield %nb, %ni : f32, i32
  }
  return
}

// -----

// An input that does not vary along the row, read through a compound map
// of the row's indices, is read once per thread at the row's indices.
// CHECK-LABEL: func.func @compound_row_input
// CHECK: %[[J:.*]] = arith.remui
// CHECK: %[[I:.*]] = arith.divui
// CHECK: scf.parallel
// CHECK: %[[AT:.*]] = affine.apply #{{.*}}(%[[I]], %[[J]], %c0{{.*}})
// CHECK: memref.load %{{.*}}[%[[AT]]] : memref<8xf32>
// CHECK: scf.for
// CHECK: gpu.all_reduce add
func.func @compound_row_input(%x: memref<4x2x128xf32>, %s: memref<8xf32>, %out: memref<4x2xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0 * 2 + d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %s : memref<4x2x128xf32>, memref<8xf32>) outs(%out : memref<4x2xf32>) {
  ^bb0(%v: f32, %k: f32, %o: f32):
    %m = arith.mulf %v, %k : f32
    %a = arith.addf %m, %o : f32
    linalg.yield %a : f32
  }
  return
}

// -----

// A sum to one value of a block's worth (at least 64 elements) runs in one
// block, its threads striding over the elements; here the batch-norm-like
// statistics of [N, C, H, W] = [2, 3, 4, 8] per channel, a block per
// channel over the N * H * W = 64 elements, each thread's element index
// split into n, h, w (w, the contiguous one, fastest), and a total over
// [16, 256].
// CHECK-LABEL: func.func @whole_reductions
// CHECK: scf.parallel (%[[C:.*]]) = (%c0{{.*}}) to (%c3{{.*}}) step
// CHECK: scf.parallel (%[[T:.*]]) = (%c0{{.*}}) to (%c32{{.*}}) step
// CHECK: scf.for %[[K:.*]] = %[[T]] to %c64{{.*}} step %c32
// CHECK: %[[W:.*]] = arith.remui %[[K]], %c8
// CHECK: %[[K1:.*]] = arith.divui %[[K]], %c8
// CHECK: %[[H:.*]] = arith.remui %[[K1]], %c4
// CHECK: %[[N:.*]] = arith.divui %[[K1]], %c4
// CHECK: memref.load %{{.*}}[%[[N]], %[[C]], %[[H]], %[[W]]] : memref<2x3x4x8xf32>
// CHECK: gpu.all_reduce add
// CHECK: scf.parallel ({{.*}}) = (%c0{{.*}}) to (%c1{{.*}}) step
// CHECK: scf.parallel ({{.*}}) = (%c0{{.*}}) to (%c256{{.*}}) step
// CHECK: scf.for {{.*}} to %c4096
// CHECK: gpu.all_reduce add
// CHECK: memref.store {{.*}} : memref<f32>
func.func @whole_reductions(%x: memref<2x3x4x8xf32>, %stats: memref<3xf32>, %y: memref<16x256xf32>, %total: memref<f32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d1, d0, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0)>], iterator_types = ["parallel", "reduction", "reduction", "reduction"]}
      ins(%x : memref<2x3x4x8xf32>) outs(%stats : memref<3xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.addf %v, %o : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%y : memref<16x256xf32>) outs(%total : memref<f32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.addf %v, %o : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A sum to one value of fewer elements has no parallel dimension: its loop
// runs in a one-thread parallel loop on the device, not on the host. A
// buffer's copy becomes a parallel loop of its own.
// CHECK-LABEL: func.func @total
// CHECK: scf.parallel ({{.*}}) = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
// CHECK-NEXT: scf.for
// CHECK: arith.addf
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = block_x
// CHECK: scf.parallel
// CHECK: processor = thread_x
// CHECK: processor = block_x
// CHECK-NOT: scf.for
// CHECK: return
func.func @total(%a: memref<63xf32>, %b: memref<f32>, %c: memref<64xf32>, %d: memref<64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>], iterator_types = ["reduction"]}
      ins(%a : memref<63xf32>) outs(%b : memref<f32>) {
  ^bb0(%x: f32, %o: f32):
    %s = arith.addf %x, %o : f32
    linalg.yield %s : f32
  }
  memref.copy %c, %d : memref<64xf32> to memref<64xf32>
  return
}

// -----

// The host may not read a buffer's element to decide what to launch.
func.func @host_reads(%a: memref<f32>, %b: memref<4xf32>) -> f32 {
  // expected-error @+1 {{a value computed from a buffer's elements is used by the host}}
  %x = memref.load %a[] : memref<f32>
  return %x : f32
}

// -----

// A softmax's run of ops (fill, maximum, exponentials, fill, sum, division
// in place) over rows of 4096 is one row program: one block per row, 256
// threads taking the same elements in every op. The maximum and the sum
// are registers (all-reduce results, read by the maps with no load); the
// per-row buffer both used is stored once, by thread 0, with the sum it
// holds last. A thread reads only the exponentials it wrote: no barrier.
// CHECK-LABEL: func.func @softmax_program
// CHECK-SAME: (%[[X:.*]]: memref<64x4096xf32>, %[[Y:.*]]: memref<64x4096xf32>, %[[R:.*]]: memref<64xf32>)
// CHECK-NOT: linalg.
// CHECK: scf.parallel (%[[ROW:.*]]) = (%c0{{.*}}) to (%c64{{.*}}) step
// CHECK: scf.parallel (%[[T:.*]]) = (%c0{{.*}}) to (%c256{{.*}}) step
// CHECK: %[[PMAX:.*]] = scf.for %[[K:.*]] = %[[T]] to %c4096{{.*}} step %c256{{.*}} iter_args
// CHECK: memref.load %[[X]][%[[ROW]], %[[K]]]
// CHECK: %[[AMAX:.*]] = gpu.all_reduce maximumf %[[PMAX]] uniform
// CHECK: %[[MAX:.*]] = arith.maximumf %[[AMAX]], %{{.*}} : f32
// CHECK: scf.for %[[K2:.*]] = %[[T]] to %c4096{{.*}} step %c256
// CHECK-NOT: memref.load %[[R]]
// CHECK: arith.subf %{{.*}}, %[[MAX]]
// CHECK: memref.store %{{.*}}, %[[Y]][%[[ROW]], %[[K2]]]
// CHECK: %[[PSUM:.*]] = scf.for %[[K3:.*]] = %[[T]] to %c4096
// CHECK: memref.load %[[Y]][%[[ROW]], %[[K3]]]
// CHECK: %[[ASUM:.*]] = gpu.all_reduce add %[[PSUM]] uniform
// CHECK: %[[SUM:.*]] = arith.addf %[[ASUM]], %{{.*}} : f32
// CHECK: scf.for %[[K4:.*]] = %[[T]] to %c4096
// CHECK: %[[E:.*]] = memref.load %[[Y]][%[[ROW]], %[[K4]]]
// CHECK: %[[Q:.*]] = arith.divf %[[E]], %[[SUM]]
// CHECK: memref.store %[[Q]], %[[Y]][%[[ROW]], %[[K4]]]
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[T]], %c0
// CHECK: scf.if %[[FIRST]] {
// CHECK-NEXT: memref.store %[[SUM]], %[[R]][%[[ROW]]]
// CHECK-NEXT: }
// CHECK-NOT: gpu.barrier
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @softmax_program(%x: memref<64x4096xf32>, %y: memref<64x4096xf32>, %r: memref<64xf32>) {
  %lowest = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%lowest : f32) outs(%r : memref<64xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<64x4096xf32>) outs(%r : memref<64xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.maximumf %v, %o : f32
    linalg.yield %m : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x, %r : memref<64x4096xf32>, memref<64xf32>) outs(%y : memref<64x4096xf32>) {
  ^bb0(%v: f32, %m: f32, %o: f32):
    %d = arith.subf %v, %m : f32
    %e = math.exp %d : f32
    linalg.yield %e : f32
  }
  linalg.fill ins(%zero : f32) outs(%r : memref<64xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%y : memref<64x4096xf32>) outs(%r : memref<64xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.addf %v, %o : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%y, %r : memref<64x4096xf32>, memref<64xf32>) outs(%y : memref<64x4096xf32>) {
  ^bb0(%v: f32, %s: f32, %o: f32):
    %q = arith.divf %v, %s : f32
    linalg.yield %q : f32
  }
  return
}

// -----

// A layer norm's run: the mean's sum starts from a copy of a filled buffer,
// the mean is a per-row formula every thread computes, the variance's sum
// reads it as a register, and the normalization reads both and the
// columns' weight; then a map of the normalized rows, reading the
// elements the thread wrote: no barrier. The last copy (of the variance's
// sum) is a per-row formula too. Stored at the end: the sum, the mean,
// the variance's sum and its copy.
// CHECK-LABEL: func.func @layer_norm_program
// CHECK-SAME: (%[[X:.*]]: memref<16x768xf32>, %[[W:.*]]: memref<768xf32>, %[[Y:.*]]: memref<16x768xf32>, %[[Z:.*]]: memref<16x768xf32>, %[[A:.*]]: memref<16xf32>, %[[S:.*]]: memref<16xf32>, %[[M:.*]]: memref<16xf32>, %[[V:.*]]: memref<16xf32>)
// CHECK: scf.parallel (%[[ROW:.*]]) = (%c0{{.*}}) to (%c16{{.*}}) step
// CHECK: scf.parallel (%[[T:.*]]) = (%c0{{.*}}) to (%c256{{.*}}) step
// CHECK: gpu.all_reduce add
// CHECK: %[[SUM:.*]] = arith.addf %{{.*}}, %[[ZERO:.*]] : f32
// CHECK: %[[MEAN:.*]] = arith.divf %[[SUM]], %{{.*}} : f32
// CHECK: scf.for
// CHECK: arith.subf %{{.*}}, %[[MEAN]] : f32
// CHECK: gpu.all_reduce add
// CHECK: %[[VAR:.*]] = arith.addf %{{.*}}, %[[ZERO]] : f32
// CHECK-NOT: gpu.barrier
// CHECK: scf.for %[[K:.*]] = %[[T]]
// CHECK-DAG: memref.load %[[W]][%[[K]]]
// CHECK-DAG: arith.subf %{{.*}}, %[[MEAN]] : f32
// CHECK-DAG: arith.divf %[[VAR]], %{{.*}} : f32
// CHECK: memref.store %{{.*}}, %[[Y]][%[[ROW]], %[[K]]]
// CHECK-NOT: gpu.barrier
// CHECK: scf.for %[[K2:.*]] = %[[T]]
// CHECK: memref.load %[[Y]][%[[ROW]], %[[K2]]]
// CHECK: memref.store %{{.*}}, %[[Z]][%[[ROW]], %[[K2]]]
// CHECK: scf.if
// CHECK-NEXT: memref.store %[[SUM]], %[[S]][%[[ROW]]]
// CHECK-NEXT: memref.store %[[MEAN]], %[[M]][%[[ROW]]]
// CHECK-NEXT: memref.store %[[VAR]], %[[A]][%[[ROW]]]
// CHECK-NEXT: memref.store %[[VAR]], %[[V]][%[[ROW]]]
// CHECK-NEXT: }
func.func @layer_norm_program(%x: memref<16x768xf32>, %w: memref<768xf32>, %y: memref<16x768xf32>, %z: memref<16x768xf32>, %a: memref<16xf32>, %s: memref<16xf32>, %m: memref<16xf32>, %v: memref<16xf32>) {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 768.0 : f32
  linalg.fill ins(%zero : f32) outs(%a : memref<16xf32>)
  memref.copy %a, %s : memref<16xf32> to memref<16xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<16x768xf32>) outs(%s : memref<16xf32>) {
  ^bb0(%e: f32, %o: f32):
    %r = arith.addf %e, %o : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%s : memref<16xf32>) outs(%m : memref<16xf32>) {
  ^bb0(%e: f32, %o: f32):
    %r = arith.divf %e, %n : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%x, %m : memref<16x768xf32>, memref<16xf32>) outs(%a : memref<16xf32>) {
  ^bb0(%e: f32, %mean: f32, %o: f32):
    %d = arith.subf %e, %mean : f32
    %q = arith.mulf %d, %d : f32
    %r = arith.addf %q, %o : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x, %m, %a, %w : memref<16x768xf32>, memref<16xf32>, memref<16xf32>, memref<768xf32>) outs(%y : memref<16x768xf32>) {
  ^bb0(%e: f32, %mean: f32, %var: f32, %wt: f32, %o: f32):
    %d = arith.subf %e, %mean : f32
    %vv = arith.divf %var, %n : f32
    %r = arith.mulf %d, %vv : f32
    %t = arith.mulf %r, %wt : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%y : memref<16x768xf32>) outs(%z : memref<16x768xf32>) {
  ^bb0(%e: f32, %o: f32):
    %r = arith.mulf %e, %e : f32
    linalg.yield %r : f32
  }
  memref.copy %a, %v : memref<16xf32> to memref<16xf32>
  return
}

// -----

// Runs that are not one program: a map reading back a buffer the run
// wrote at another element (a reversed row) must see other threads'
// writes, and a map over other rows is not part of the program. The run's
// longest prefix that is one (the squares and their sum) is; the other two
// maps stay kernels of their own, tiled as elementwise ops.
// CHECK-LABEL: func.func @not_programs
// CHECK: scf.parallel (%{{.*}}) = (%c0{{.*}}) to (%c8{{.*}}) step
// CHECK: arith.mulf
// CHECK: memref.store
// CHECK: gpu.all_reduce add
// CHECK: processor = block_x
// CHECK: scf.parallel (%{{.*}}) = (%c0{{.*}}) to (%c2048) step (%c256)
// CHECK: processor = block_x
// CHECK: scf.parallel (%{{.*}}) = (%c0{{.*}}) to (%c2048) step (%c256)
// CHECK-NOT: gpu.all_reduce
// CHECK: processor = block_x
// CHECK-NOT: processor = block_x
// CHECK: return
func.func @not_programs(%x: memref<8x256xf32>, %y: memref<8x256xf32>, %z: memref<8x256xf32>, %s: memref<8xf32>, %t: memref<256x8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<8x256xf32>) outs(%y : memref<8x256xf32>) {
  ^bb0(%e: f32, %o: f32):
    %r = arith.mulf %e, %e : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%y : memref<8x256xf32>) outs(%s : memref<8xf32>) {
  ^bb0(%e: f32, %o: f32):
    %r = arith.addf %e, %o : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, 255 - d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%y : memref<8x256xf32>) outs(%z : memref<8x256xf32>) {
  ^bb0(%e: f32, %o: f32):
    linalg.yield %e : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%t : memref<256x8xf32>) outs(%t : memref<256x8xf32>) {
  ^bb0(%e: f32, %o: f32):
    %r = arith.addf %e, %e : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Buffers that share bytes are not a program's: the memory plan put the
// sum and the squares at overlapping bytes of one arena (blocks at
// different ops would race on them), and a reduction's result read through
// a view (keep_dims' [8, 1]) would miss its register. Each op is a kernel
// of its own: two one-block-per-row reductions, two maps (each a vector
// kernel and a scalar one).
// CHECK-LABEL: func.func @shared_bytes
// CHECK-COUNT-6: processor = block_x
// CHECK-NOT: processor = block_x
// CHECK: return
func.func @shared_bytes(%x: memref<8x256xf32>, %y: memref<8x256xf32>) {
  %arena = memref.alloc() : memref<8256xi8>
  %c0 = arith.constant 0 : index
  %c16 = arith.constant 16 : index
  %sum = memref.view %arena[%c0][] : memref<8256xi8> to memref<8xf32>
  %sq = memref.view %arena[%c16][] : memref<8256xi8> to memref<8x256xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x256xf32>) outs(%sum : memref<8xf32>) {
  ^bb0(%e: f32, %o: f32):
    %r = arith.addf %e, %o : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<8x256xf32>) outs(%sq : memref<8x256xf32>) {
  ^bb0(%e: f32, %o: f32):
    %r = arith.mulf %e, %e : f32
    linalg.yield %r : f32
  }
  memref.dealloc %arena : memref<8256xi8>
  %s2 = memref.alloc() : memref<8xf32>
  %kept = memref.expand_shape %s2 [[0, 1]] output_shape [8, 1] : memref<8xf32> into memref<8x1xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%y : memref<8x256xf32>) outs(%s2 : memref<8xf32>) {
  ^bb0(%e: f32, %o: f32):
    %r = arith.addf %e, %o : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%y, %kept : memref<8x256xf32>, memref<8x1xf32>) outs(%y : memref<8x256xf32>) {
  ^bb0(%e: f32, %m: f32, %o: f32):
    %r = arith.subf %e, %m : f32
    linalg.yield %r : f32
  }
  memref.dealloc %s2 : memref<8xf32>
  return
}

// -----

// An elementwise op over rows of 32-bit elements, a multiple of four long:
// the host checks that its buffers' first elements are 16-byte aligned
// (the vector operands': the input and output varying along the row, not
// the per-row scale) and launches a kernel whose threads take four
// elements each (one 16-byte load per vector operand, the scale read once,
// the body four times, one 16-byte store), else the scalar kernel.
// CHECK-LABEL: func.func @vector_elementwise
// CHECK-SAME: (%[[X:.*]]: memref<6x256xf32>, %[[S:.*]]: memref<6xf32>, %[[Y:.*]]: memref<6x256xf32>)
// CHECK: %[[PX:.*]] = memref.extract_aligned_pointer_as_index %[[X]]
// CHECK: memref.extract_strided_metadata %[[X]]
// CHECK: arith.remui %{{.*}}, %c16
// CHECK: %[[PY:.*]] = memref.extract_aligned_pointer_as_index %[[Y]]
// CHECK-NOT: extract_aligned_pointer_as_index %[[S]]
// CHECK: %[[OK:.*]] = arith.andi
// CHECK: scf.if %[[OK]] {
// CHECK: scf.parallel (%{{.*}}) = (%c0{{.*}}) to (%c384{{.*}}) step (%c256
// CHECK: %[[V:.*]] = vector.load %[[X]][%{{.*}}, %[[J:.*]]] : memref<6x256xf32>, vector<4xf32>
// CHECK: %[[SC:.*]] = memref.load %[[S]]
// CHECK-COUNT-4: arith.mulf %{{.*}}, %[[SC]] : f32
// CHECK-COUNT-4: vector.insert
// CHECK: vector.store %{{.*}}, %[[Y]][%{{.*}}, %[[J]]] : memref<6x256xf32>, vector<4xf32>
// CHECK: } else {
// CHECK: scf.parallel (%{{.*}}) = (%c0{{.*}}) to (%c1536{{.*}}) step (%c256
// CHECK: memref.load %[[X]]
// CHECK-NOT: vector.
// CHECK: memref.store %{{.*}}, %[[Y]]
func.func @vector_elementwise(%x: memref<6x256xf32>, %s: memref<6xf32>, %y: memref<6x256xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x, %s : memref<6x256xf32>, memref<6xf32>) outs(%y : memref<6x256xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// What keeps one element a thread: rows not a multiple of four long, 64-bit
// elements, and an input read across the innermost loop (a transpose).
// CHECK-LABEL: func.func @scalar_elementwise
// CHECK-NOT: vector.
// CHECK-NOT: extract_aligned_pointer
// CHECK: return
func.func @scalar_elementwise(%a: memref<6x250xf32>, %b: memref<6x250xf32>, %c: memref<6x256xf64>, %d: memref<6x256xf64>, %e: memref<256x6xf32>, %f: memref<6x256xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<6x250xf32>) outs(%b : memref<6x250xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = arith.negf %x : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<6x256xf64>) outs(%d : memref<6x256xf64>) {
  ^bb0(%x: f64, %o: f64):
    %r = arith.negf %x : f64
    linalg.yield %r : f64
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%e : memref<256x6xf32>) outs(%f : memref<6x256xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = arith.negf %x : f32
    linalg.yield %r : f32
  }
  return
}

