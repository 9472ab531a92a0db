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

// A scratch buffer a loop body allocates and frees in each iteration is
// allocated once around the outermost such loop (and, in an outlined loop,
// once per thread); one handed to a call stays where it is.
// CHECK-LABEL: func.func private @per_iteration(
// CHECK: %[[T:.*]] = memref.alloc() : memref<8xf32>
// CHECK-NEXT: scf.for
// CHECK-NEXT: scf.for
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.dealloc
// CHECK: memref.load %[[T]]
// CHECK-NOT: memref.dealloc
// CHECK: }
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: memref.dealloc %[[T]]
// CHECK-LABEL: func.func private @handed_on(
// CHECK: scf.for
// CHECK-NEXT: memref.alloc
// CHECK-NEXT: func.call @use
// CHECK-NEXT: memref.dealloc
func.func private @per_iteration(%in: memref<16x8xf32>, %out: memref<16x8xf32>) attributes {kernel.kind = "reduction"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  scf.for %i = %c0 to %c8 step %c2 {
    scf.for %k = %c0 to %c2 step %c1 {
      %row = arith.addi %i, %k : index
      %t = memref.alloc() : memref<8xf32>
      scf.for %j = %c0 to %c8 step %c1 {
        %v = memref.load %in[%row, %j] : memref<16x8xf32>
        memref.store %v, %t[%j] : memref<8xf32>
      }
      scf.for %j = %c0 to %c8 step %c1 {
        %w = memref.load %t[%j] : memref<8xf32>
        memref.store %w, %out[%row, %j] : memref<16x8xf32>
      }
      memref.dealloc %t : memref<8xf32>
    }
  }
  return
}
func.func private @use(memref<8xf32>)
func.func private @handed_on(%in: memref<16x8xf32>) attributes {kernel.kind = "reduction"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  scf.for %i = %c0 to %c16 step %c1 {
    %t = memref.alloc() : memref<8xf32>
    func.call @use(%t) : (memref<8xf32>) -> ()
    memref.dealloc %t : memref<8xf32>
  }
  return
}

// A fence after the loop (kiln-stream-stores'), here after a free of a
// scratch buffer, goes into the body after the loop too: each thread
// completes its non-temporal stores before it joins.
// CHECK-LABEL: func.func private @fenced(
// CHECK: kernel.library_call "kiln_parallel_for"
// CHECK-NEXT: llvm.fence seq_cst
// CHECK-NEXT: return
// CHECK: func.func private @fenced_loop0(
// CHECK: scf.for
// CHECK: vector.store %{{.*}} {nontemporal = true}
// CHECK: }
// CHECK-NEXT: llvm.fence seq_cst
// CHECK-NEXT: memref.dealloc
// CHECK-NEXT: return
func.func private @fenced(%in: memref<16x16xf32>, %out: memref<16x16xf32>) attributes {kernel.kind = "reduction"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %scratch = memref.alloc() : memref<16xf32>
  scf.for %i = %c0 to %c16 step %c1 {
    %v = vector.load %in[%i, %c0] : memref<16x16xf32>, vector<16xf32>
    vector.store %v, %scratch[%c0] : memref<16xf32>, vector<16xf32>
    vector.store %v, %out[%i, %c0] {nontemporal = true} : memref<16x16xf32>, vector<16xf32>
  } {kiln.parallel}
  memref.dealloc %scratch : memref<16xf32>
  llvm.fence seq_cst
  return
}

// A loop over static strided views of a buffer (a pooling window's slice)
// shares its iterations too: the body takes the buffer and makes the view
// again from it. A view with a size known only at run time keeps the loop.
// CHECK-LABEL: func.func private @window(
// CHECK-SAME: %[[X:.*]]: memref<16x8xf32>, %[[Y:.*]]: memref<16x4xf32>)
// CHECK-NOT: scf.for
// CHECK: kernel.library_call "kiln_parallel_for" ins(%[[X]], %[[Y]] : memref<16x8xf32>, memref<16x4xf32>)
// CHECK-SAME: kiln.body = @window_loop0
// CHECK: func.func private @window_loop0(%[[B:.*]]: index, %[[E:.*]]: index, %[[BX:.*]]: memref<16x8xf32>, %[[BY:.*]]: memref<16x4xf32>)
// CHECK: %[[V:.*]] = memref.subview %[[BX]][0, 1] [16, 4] [1, 2]
// CHECK: scf.for %[[I:.*]] = %[[B]] to %[[E]]
// CHECK: memref.load %[[V]][%[[I]],
// CHECK-LABEL: func.func private @dynamic_view(
// CHECK: scf.for
// CHECK-NOT: kiln_parallel_for
func.func private @window(%x: memref<16x8xf32>, %y: memref<16x4xf32>) attributes {kernel.kind = "window"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %odd = memref.subview %x[0, 1] [16, 4] [1, 2] : memref<16x8xf32> to memref<16x4xf32, strided<[8, 2], offset: 1>>
  scf.for %i = %c0 to %c16 step %c1 {
    scf.for %j = %c0 to %c4 step %c1 {
      %v = memref.load %odd[%i, %j] : memref<16x4xf32, strided<[8, 2], offset: 1>>
      memref.store %v, %y[%i, %j] : memref<16x4xf32>
    }
  } {kiln.parallel}
  return
}
func.func private @dynamic_view(%x: memref<16x8xf32>, %y: memref<16x4xf32>, %n: index) attributes {kernel.kind = "window"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %part = memref.subview %x[0, 0] [16, %n] [1, 1] : memref<16x8xf32> to memref<16x?xf32, strided<[8, 1]>>
  scf.for %i = %c0 to %c16 step %c1 {
    %v = memref.load %part[%i, %c0] : memref<16x?xf32, strided<[8, 1]>>
    memref.store %v, %y[%i, %c0] : memref<16x4xf32>
  } {kiln.parallel}
  return
}
