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

// A sum to one value has no parallel dimension: its loop runs in a
// one-thread parallel loop on the device, not on the host. A buffer's copy
// becomes a parallel loop of its own.
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
func.func @total(%a: memref<64xf32>, %b: memref<f32>, %c: memref<64xf32>, %d: memref<64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>], iterator_types = ["reduction"]}
      ins(%a : memref<64xf32>) outs(%b : memref<f32>) {
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
