// RUN: kiln-opt %s --kiln-parallelize="min-elements=64" | FileCheck %s

// A kernel's parallel loop moves into a body function run through
// kiln_parallel_for; the scratch buffer only the loop uses is allocated in
// the body, one per thread; the output is shared.
// CHECK-LABEL: func.func private @k(
// CHECK-SAME: %[[IN:.*]]: memref<16x8xf32>, %[[OUT:.*]]: memref<16x8xf32>)
// CHECK-NOT: memref.alloc
// CHECK: kernel.library_call "kiln_parallel_for" ins(%[[IN]], %[[OUT]] : memref<16x8xf32>, memref<16x8xf32>) outs() {floats = array<f64>, ints = array<i64: 2, 0, 16, 1>, kiln.body = @k_loop0, slots = array<i64: 0, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1>}
// CHECK-NEXT: return
// CHECK: func.func private @k_loop0(%[[B:.*]]: index, %[[E:.*]]: index, %[[I:.*]]: memref<16x8xf32>, %[[O:.*]]: memref<16x8xf32>)
// CHECK: %[[S:.*]] = memref.alloc() : memref<8xf32>
// CHECK: scf.for %{{.*}} = %[[B]] to %[[E]] step %{{.*}} {
// CHECK: memref.dealloc %[[S]]
// CHECK-NEXT: return

// Small loops, and loops without the mark, stay where they are.
// CHECK-LABEL: func.func private @small(
// CHECK: scf.for
// CHECK-LABEL: func.func private @unmarked(
// CHECK: scf.for
func.func private @k(%in: memref<16x8xf32>, %out: memref<16x8xf32>) attributes {kernel.kind = "elementwise"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %scratch = memref.alloc() : memref<8xf32>
  scf.for %i = %c0 to %c16 step %c1 {
    scf.for %j = %c0 to %c8 step %c1 {
      %v = memref.load %in[%i, %j] : memref<16x8xf32>
      memref.store %v, %scratch[%j] : memref<8xf32>
      %w = memref.load %scratch[%j] : memref<8xf32>
      memref.store %w, %out[%i, %j] : memref<16x8xf32>
    }
  } {kiln.parallel}
  memref.dealloc %scratch : memref<8xf32>
  return
}
func.func private @small(%in: memref<4x8xf32>, %out: memref<4x8xf32>) attributes {kernel.kind = "elementwise"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    %v = memref.load %in[%i, %c0] : memref<4x8xf32>
    memref.store %v, %out[%i, %c0] : memref<4x8xf32>
  } {kiln.parallel}
  return
}
func.func private @unmarked(%in: memref<16x8xf32>, %out: memref<16x8xf32>) attributes {kernel.kind = "elementwise"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  scf.for %i = %c0 to %c16 step %c1 {
    %v = memref.load %in[%i, %c0] : memref<16x8xf32>
    memref.store %v, %out[%i, %c0] : memref<16x8xf32>
  }
  return
}
