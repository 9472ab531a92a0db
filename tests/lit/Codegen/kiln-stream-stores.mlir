// RUN: kiln-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(kiln-stream-stores{min-bytes=262144}))' | FileCheck %s
// RUN: kiln-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(kiln-stream-stores{min-bytes=262144}),func.func(kiln-prefetch{min-bytes=0}))' | FileCheck %s --check-prefix=PREFETCH

// A softmax-like row-block loop over a 256 KiB output: the exponentials go
// to a block of scratch, the scaling pass stores non-temporally where %y is
// 64-byte aligned and as before elsewhere, and a fence follows the loop.
// CHECK-LABEL: func.func @softmax_like
// CHECK: %[[SCRATCH:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x1024xf32>
// CHECK: scf.for
// CHECK-NEXT: %[[BLOCK:.*]] = memref.subview %arg1[%{{.*}}, 0] [4, 1024] [1, 1]
// CHECK-NEXT: %[[T:.*]] = memref.cast %[[SCRATCH]] : memref<4x1024xf32> to memref<4x1024xf32, strided<[1024, 1], offset: ?>>
// CHECK: math.exp
// CHECK-NEXT: vector.transfer_write %{{.*}}, %[[T]]
// CHECK: vector.transfer_read %[[T]]
// CHECK: vector.reduction <add>
// CHECK: %[[ADDRESS:.*]] = memref.extract_aligned_pointer_as_index %arg1
// CHECK: %[[LOW:.*]] = arith.andi %[[ADDRESS]], %c63
// CHECK: %[[ALIGNED:.*]] = arith.cmpi eq, %[[LOW]], %c0
// CHECK-NEXT: scf.if %[[ALIGNED]] {
// CHECK: vector.transfer_read %[[T]]
// CHECK-NEXT: arith.mulf
// CHECK-NEXT: vector.store %{{.*}}, %[[BLOCK]][%{{.*}}, %{{.*}}] {nontemporal = true}
// CHECK: } else {
// CHECK: vector.transfer_read %[[T]]
// CHECK-NEXT: arith.mulf
// CHECK-NEXT: vector.transfer_write %{{.*}}, %[[BLOCK]]
// CHECK: } {kiln.row_blocks}
// CHECK-NEXT: llvm.fence seq_cst
// CHECK-NEXT: memref.dealloc %[[SCRATCH]]
// kiln-prefetch then fetches the next block of %x only: %y is written past
// the cache.
// PREFETCH-LABEL: func.func @softmax_like
// PREFETCH: memref.collapse_shape %arg0
// PREFETCH-NOT: memref.collapse_shape %arg1
// PREFETCH: memref.prefetch %{{.*}}, read
// PREFETCH-NOT: , write,
// PREFETCH: return
func.func @softmax_like(%x: memref<64x1024xf32>, %y: memref<64x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %cr = arith.constant 64 : index
  %cc = arith.constant 1024 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %sums = memref.alloc() : memref<4xf32>
  scf.for %i = %c0 to %cr step %c4 {
    %block = memref.subview %y[%i, 0] [4, 1024] [1, 1] : memref<64x1024xf32> to memref<4x1024xf32, strided<[1024, 1], offset: ?>>
    scf.for %r = %c0 to %c4 step %c1 {
      %row = arith.addi %i, %r : index
      scf.for %c = %c0 to %cc step %c16 {
        %v = vector.transfer_read %x[%row, %c], %zero {in_bounds = [true]} : memref<64x1024xf32>, vector<16xf32>
        %e = math.exp %v : vector<16xf32>
        vector.transfer_write %e, %block[%r, %c] {in_bounds = [true]} : vector<16xf32>, memref<4x1024xf32, strided<[1024, 1], offset: ?>>
      }
    }
    scf.for %r = %c0 to %c4 step %c1 {
      %s = scf.for %c = %c0 to %cc step %c16 iter_args(%acc = %zero) -> f32 {
        %v = vector.transfer_read %block[%r, %c], %zero {in_bounds = [true]} : memref<4x1024xf32, strided<[1024, 1], offset: ?>>, vector<16xf32>
        %t = vector.reduction <add>, %v, %acc : vector<16xf32> into f32
        scf.yield %t : f32
      }
      memref.store %s, %sums[%r] : memref<4xf32>
    }
    scf.for %r = %c0 to %c4 step %c1 {
      %s = memref.load %sums[%r] : memref<4xf32>
      %inv = arith.divf %one, %s : f32
      %b = vector.broadcast %inv : f32 to vector<16xf32>
      scf.for %c = %c0 to %cc step %c16 {
        %v = vector.transfer_read %block[%r, %c], %zero {in_bounds = [true]} : memref<4x1024xf32, strided<[1024, 1], offset: ?>>, vector<16xf32>
        %p = arith.mulf %v, %b : vector<16xf32>
        vector.transfer_write %p, %block[%r, %c] {in_bounds = [true]} : vector<16xf32>, memref<4x1024xf32, strided<[1024, 1], offset: ?>>
      }
    }
  } {kiln.row_blocks}
  memref.dealloc %sums : memref<4xf32>
  return
}

// -----

// A pass that only writes the block (layer norm's normalization), followed
// by a free of the iteration's scratch: it stores non-temporally, and no
// scratch block is needed.
// CHECK-LABEL: func.func @normalize
// CHECK-NOT: memref.alloc() {alignment = 64
// CHECK: scf.for
// CHECK: scf.if
// CHECK: vector.store %{{.*}} {nontemporal = true}
// CHECK: } else {
// CHECK: vector.transfer_write
// CHECK: memref.dealloc
// CHECK-NEXT: } {kiln.row_blocks}
// CHECK-NEXT: llvm.fence seq_cst
// CHECK-NEXT: return
func.func @normalize(%x: memref<64x1024xf32>, %y: memref<64x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  %c1024 = arith.constant 1024 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %c0 to %c64 step %c4 {
    %stats = memref.alloc() : memref<4xf32>
    %block = memref.subview %y[%i, 0] [4, 1024] [1, 1] : memref<64x1024xf32> to memref<4x1024xf32, strided<[1024, 1], offset: ?>>
    scf.for %r = %c0 to %c4 step %c1 {
      %row = arith.addi %i, %r : index
      %m = memref.load %stats[%r] : memref<4xf32>
      %mv = vector.broadcast %m : f32 to vector<16xf32>
      scf.for %c = %c0 to %c1024 step %c16 {
        %v = vector.transfer_read %x[%row, %c], %zero {in_bounds = [true]} : memref<64x1024xf32>, vector<16xf32>
        %n = arith.subf %v, %mv : vector<16xf32>
        vector.transfer_write %n, %block[%r, %c] {in_bounds = [true]} : vector<16xf32>, memref<4x1024xf32, strided<[1024, 1], offset: ?>>
      }
    }
    memref.dealloc %stats : memref<4xf32>
  } {kiln.row_blocks}
  return
}

// -----

// An output under min-bytes (128 KiB) stays in cache: nothing changes.
// CHECK-LABEL: func.func @small
// CHECK-NOT: nontemporal
// CHECK-NOT: llvm.fence
// CHECK: return
// PREFETCH-LABEL: func.func @small
// PREFETCH: memref.prefetch %{{.*}}, write
func.func @small(%x: memref<32x1024xf32>, %y: memref<32x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %cr = arith.constant 32 : index
  %cc = arith.constant 1024 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %sums = memref.alloc() : memref<4xf32>
  scf.for %i = %c0 to %cr step %c4 {
    %block = memref.subview %y[%i, 0] [4, 1024] [1, 1] : memref<32x1024xf32> to memref<4x1024xf32, strided<[1024, 1], offset: ?>>
    scf.for %r = %c0 to %c4 step %c1 {
      %row = arith.addi %i, %r : index
      scf.for %c = %c0 to %cc step %c16 {
        %v = vector.transfer_read %x[%row, %c], %zero {in_bounds = [true]} : memref<32x1024xf32>, vector<16xf32>
        %e = math.exp %v : vector<16xf32>
        vector.transfer_write %e, %block[%r, %c] {in_bounds = [true]} : vector<16xf32>, memref<4x1024xf32, strided<[1024, 1], offset: ?>>
      }
    }
    scf.for %r = %c0 to %c4 step %c1 {
      %s = scf.for %c = %c0 to %cc step %c16 iter_args(%acc = %zero) -> f32 {
        %v = vector.transfer_read %block[%r, %c], %zero {in_bounds = [true]} : memref<4x1024xf32, strided<[1024, 1], offset: ?>>, vector<16xf32>
        %t = vector.reduction <add>, %v, %acc : vector<16xf32> into f32
        scf.yield %t : f32
      }
      memref.store %s, %sums[%r] : memref<4xf32>
    }
    scf.for %r = %c0 to %c4 step %c1 {
      %s = memref.load %sums[%r] : memref<4xf32>
      %inv = arith.divf %one, %s : f32
      %b = vector.broadcast %inv : f32 to vector<16xf32>
      scf.for %c = %c0 to %cc step %c16 {
        %v = vector.transfer_read %block[%r, %c], %zero {in_bounds = [true]} : memref<4x1024xf32, strided<[1024, 1], offset: ?>>, vector<16xf32>
        %p = arith.mulf %v, %b : vector<16xf32>
        vector.transfer_write %p, %block[%r, %c] {in_bounds = [true]} : vector<16xf32>, memref<4x1024xf32, strided<[1024, 1], offset: ?>>
      }
    }
  } {kiln.row_blocks}
  memref.dealloc %sums : memref<4xf32>
  return
}

// -----

// Rows of 1040 bytes are not whole lines: nothing changes.
// CHECK-LABEL: func.func @partial_lines
// CHECK-NOT: nontemporal
// CHECK: return
func.func @partial_lines(%x: memref<256x260xf32>, %y: memref<256x260xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 4 : index
  %cr = arith.constant 256 : index
  %cc = arith.constant 260 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %sums = memref.alloc() : memref<4xf32>
  scf.for %i = %c0 to %cr step %c4 {
    %block = memref.subview %y[%i, 0] [4, 260] [1, 1] : memref<256x260xf32> to memref<4x260xf32, strided<[260, 1], offset: ?>>
    scf.for %r = %c0 to %c4 step %c1 {
      %row = arith.addi %i, %r : index
      scf.for %c = %c0 to %cc step %c4 {
        %v = vector.transfer_read %x[%row, %c], %zero {in_bounds = [true]} : memref<256x260xf32>, vector<4xf32>
        %e = math.exp %v : vector<4xf32>
        vector.transfer_write %e, %block[%r, %c] {in_bounds = [true]} : vector<4xf32>, memref<4x260xf32, strided<[260, 1], offset: ?>>
      }
    }
    scf.for %r = %c0 to %c4 step %c1 {
      %s = scf.for %c = %c0 to %cc step %c4 iter_args(%acc = %zero) -> f32 {
        %v = vector.transfer_read %block[%r, %c], %zero {in_bounds = [true]} : memref<4x260xf32, strided<[260, 1], offset: ?>>, vector<4xf32>
        %t = vector.reduction <add>, %v, %acc : vector<4xf32> into f32
        scf.yield %t : f32
      }
      memref.store %s, %sums[%r] : memref<4xf32>
    }
    scf.for %r = %c0 to %c4 step %c1 {
      %s = memref.load %sums[%r] : memref<4xf32>
      %inv = arith.divf %one, %s : f32
      %b = vector.broadcast %inv : f32 to vector<4xf32>
      scf.for %c = %c0 to %cc step %c4 {
        %v = vector.transfer_read %block[%r, %c], %zero {in_bounds = [true]} : memref<4x260xf32, strided<[260, 1], offset: ?>>, vector<4xf32>
        %p = arith.mulf %v, %b : vector<4xf32>
        vector.transfer_write %p, %block[%r, %c] {in_bounds = [true]} : vector<4xf32>, memref<4x260xf32, strided<[260, 1], offset: ?>>
      }
    }
  } {kiln.row_blocks}
  memref.dealloc %sums : memref<4xf32>
  return
}

// -----

// The last pass reads the next row's element of the block, which it also
// writes: the scratch would hand it a stale value, so nothing changes.
// CHECK-LABEL: func.func @reads_other_element
// CHECK-NOT: nontemporal
// CHECK: return
func.func @reads_other_element(%x: memref<64x1024xf32>, %y: memref<64x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %cr = arith.constant 64 : index
  %cc = arith.constant 1024 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %sums = memref.alloc() : memref<4xf32>
  scf.for %i = %c0 to %cr step %c4 {
    %block = memref.subview %y[%i, 0] [4, 1024] [1, 1] : memref<64x1024xf32> to memref<4x1024xf32, strided<[1024, 1], offset: ?>>
    scf.for %r = %c0 to %c4 step %c1 {
      %row = arith.addi %i, %r : index
      scf.for %c = %c0 to %cc step %c16 {
        %v = vector.transfer_read %x[%row, %c], %zero {in_bounds = [true]} : memref<64x1024xf32>, vector<16xf32>
        %e = math.exp %v : vector<16xf32>
        vector.transfer_write %e, %block[%r, %c] {in_bounds = [true]} : vector<16xf32>, memref<4x1024xf32, strided<[1024, 1], offset: ?>>
      }
    }
    scf.for %r = %c0 to %c4 step %c1 {
      %s = scf.for %c = %c0 to %cc step %c16 iter_args(%acc = %zero) -> f32 {
        %v = vector.transfer_read %block[%r, %c], %zero {in_bounds = [true]} : memref<4x1024xf32, strided<[1024, 1], offset: ?>>, vector<16xf32>
        %t = vector.reduction <add>, %v, %acc : vector<16xf32> into f32
        scf.yield %t : f32
      }
      memref.store %s, %sums[%r] : memref<4xf32>
    }
    scf.for %r = %c0 to %c4 step %c1 {
      %s = memref.load %sums[%r] : memref<4xf32>
      %rn = arith.addi %r, %c1 : index
      %inv = arith.divf %one, %s : f32
      %b = vector.broadcast %inv : f32 to vector<16xf32>
      scf.for %c = %c0 to %cc step %c16 {
        %v = vector.transfer_read %block[%rn, %c], %zero {in_bounds = [true]} : memref<4x1024xf32, strided<[1024, 1], offset: ?>>, vector<16xf32>
        %p = arith.mulf %v, %b : vector<16xf32>
        vector.transfer_write %p, %block[%r, %c] {in_bounds = [true]} : vector<16xf32>, memref<4x1024xf32, strided<[1024, 1], offset: ?>>
      }
    }
  } {kiln.row_blocks}
  memref.dealloc %sums : memref<4xf32>
  return
}

// -----

// The loop reads the output outside the block: nothing changes.
// CHECK-LABEL: func.func @output_elsewhere
// CHECK-NOT: nontemporal
// CHECK: return
func.func @output_elsewhere(%x: memref<64x1024xf32>, %y: memref<64x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %cr = arith.constant 64 : index
  %cc = arith.constant 1024 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %sums = memref.alloc() : memref<4xf32>
  scf.for %i = %c0 to %cr step %c4 {
    %block = memref.subview %y[%i, 0] [4, 1024] [1, 1] : memref<64x1024xf32> to memref<4x1024xf32, strided<[1024, 1], offset: ?>>
    scf.for %r = %c0 to %c4 step %c1 {
      %row = arith.addi %i, %r : index
      scf.for %c = %c0 to %cc step %c16 {
        %v = vector.transfer_read %x[%row, %c], %zero {in_bounds = [true]} : memref<64x1024xf32>, vector<16xf32>
        %e = math.exp %v : vector<16xf32>
        vector.transfer_write %e, %block[%r, %c] {in_bounds = [true]} : vector<16xf32>, memref<4x1024xf32, strided<[1024, 1], offset: ?>>
      }
    }
    scf.for %r = %c0 to %c4 step %c1 {
      %s = scf.for %c = %c0 to %cc step %c16 iter_args(%acc = %zero) -> f32 {
        %v = vector.transfer_read %block[%r, %c], %zero {in_bounds = [true]} : memref<4x1024xf32, strided<[1024, 1], offset: ?>>, vector<16xf32>
        %t = vector.reduction <add>, %v, %acc : vector<16xf32> into f32
        scf.yield %t : f32
      }
      memref.store %s, %sums[%r] : memref<4xf32>
    }
    %first = vector.transfer_read %y[%c0, %c0], %zero {in_bounds = [true]} : memref<64x1024xf32>, vector<16xf32>
    vector.transfer_write %first, %x[%c0, %c0] {in_bounds = [true]} : vector<16xf32>, memref<64x1024xf32>
    scf.for %r = %c0 to %c4 step %c1 {
      %s = memref.load %sums[%r] : memref<4xf32>
      %inv = arith.divf %one, %s : f32
      %b = vector.broadcast %inv : f32 to vector<16xf32>
      scf.for %c = %c0 to %cc step %c16 {
        %v = vector.transfer_read %block[%r, %c], %zero {in_bounds = [true]} : memref<4x1024xf32, strided<[1024, 1], offset: ?>>, vector<16xf32>
        %p = arith.mulf %v, %b : vector<16xf32>
        vector.transfer_write %p, %block[%r, %c] {in_bounds = [true]} : vector<16xf32>, memref<4x1024xf32, strided<[1024, 1], offset: ?>>
      }
    }
  } {kiln.row_blocks}
  memref.dealloc %sums : memref<4xf32>
  return
}

// -----

// The last pass writes only the first half of each row: the rest, written
// by the exp pass, would be lost, so nothing changes.
// CHECK-LABEL: func.func @half_rows
// CHECK-NOT: nontemporal
// CHECK: return
func.func @half_rows(%x: memref<64x1024xf32>, %y: memref<64x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %cr = arith.constant 64 : index
  %cc = arith.constant 1024 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %sums = memref.alloc() : memref<4xf32>
  scf.for %i = %c0 to %cr step %c4 {
    %block = memref.subview %y[%i, 0] [4, 1024] [1, 1] : memref<64x1024xf32> to memref<4x1024xf32, strided<[1024, 1], offset: ?>>
    scf.for %r = %c0 to %c4 step %c1 {
      %row = arith.addi %i, %r : index
      scf.for %c = %c0 to %cc step %c16 {
        %v = vector.transfer_read %x[%row, %c], %zero {in_bounds = [true]} : memref<64x1024xf32>, vector<16xf32>
        %e = math.exp %v : vector<16xf32>
        vector.transfer_write %e, %block[%r, %c] {in_bounds = [true]} : vector<16xf32>, memref<4x1024xf32, strided<[1024, 1], offset: ?>>
      }
    }
    scf.for %r = %c0 to %c4 step %c1 {
      %s = scf.for %c = %c0 to %cc step %c16 iter_args(%acc = %zero) -> f32 {
        %v = vector.transfer_read %block[%r, %c], %zero {in_bounds = [true]} : memref<4x1024xf32, strided<[1024, 1], offset: ?>>, vector<16xf32>
        %t = vector.reduction <add>, %v, %acc : vector<16xf32> into f32
        scf.yield %t : f32
      }
      memref.store %s, %sums[%r] : memref<4xf32>
    }
    scf.for %r = %c0 to %c4 step %c1 {
      %s = memref.load %sums[%r] : memref<4xf32>
      %inv = arith.divf %one, %s : f32
      %b = vector.broadcast %inv : f32 to vector<16xf32>
      %half = arith.constant 512 : index
      scf.for %c = %c0 to %half step %c16 {
        %v = vector.transfer_read %block[%r, %c], %zero {in_bounds = [true]} : memref<4x1024xf32, strided<[1024, 1], offset: ?>>, vector<16xf32>
        %p = arith.mulf %v, %b : vector<16xf32>
        vector.transfer_write %p, %block[%r, %c] {in_bounds = [true]} : vector<16xf32>, memref<4x1024xf32, strided<[1024, 1], offset: ?>>
      }
    }
  } {kiln.row_blocks}
  memref.dealloc %sums : memref<4xf32>
  return
}

// -----

// An elementwise tile loop writing a large output directly: the loop around
// the write is versioned on %y's alignment, and a fence follows the tiles.
// CHECK-LABEL: func.func @elementwise
// CHECK: scf.for %[[I:.*]] = %c0 to %c64 step %c1 {
// CHECK: memref.extract_aligned_pointer_as_index %arg1
// CHECK: scf.if
// CHECK-NEXT: scf.for
// CHECK: math.exp
// CHECK-NEXT: vector.store %{{.*}}, %arg1[%[[I]], %{{.*}}] {nontemporal = true}
// CHECK: } else {
// CHECK: vector.transfer_write %{{.*}}, %arg1
// CHECK: } {kiln.parallel}
// CHECK-NEXT: llvm.fence seq_cst
// CHECK-NEXT: return
func.func @elementwise(%x: memref<64x1024xf32>, %y: memref<64x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %c256 = arith.constant 256 : index
  %c1024 = arith.constant 1024 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %c0 to %c64 step %c1 {
    scf.for %c = %c0 to %c1024 step %c64 {
      %v = vector.transfer_read %x[%i, %c], %zero {in_bounds = [true]} : memref<64x1024xf32>, vector<64xf32>
      %e = math.exp %v : vector<64xf32>
      vector.transfer_write %e, %y[%i, %c] {in_bounds = [true]} : vector<64xf32>, memref<64x1024xf32>
    }
  } {kiln.parallel}
  return
}

// -----

// Through a subview at a line-aligned column (a multiple of 256), at
// columns j + k with k a multiple of 64: streamed.
// CHECK-LABEL: func.func @staged
// CHECK: %[[TILE:.*]] = memref.subview %arg1
// CHECK: scf.if
// CHECK: vector.store %{{.*}}, %[[TILE]][%c0, %{{.*}}] {nontemporal = true}
// CHECK: llvm.fence seq_cst
func.func @staged(%x: memref<64x1024xf32>, %y: memref<64x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %c256 = arith.constant 256 : index
  %c1024 = arith.constant 1024 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %c0 to %c64 step %c1 {
    scf.for %j = %c0 to %c1024 step %c256 {
      %tile = memref.subview %y[%i, %j] [1, 256] [1, 1] : memref<64x1024xf32> to memref<1x256xf32, strided<[1024, 1], offset: ?>>
      scf.for %k = %c0 to %c256 step %c64 {
        %c = affine.apply affine_map<()[s0, s1] -> (s0 + s1)>()[%j, %k]
        %v = vector.transfer_read %x[%i, %c], %zero {in_bounds = [true]} : memref<64x1024xf32>, vector<64xf32>
        vector.transfer_write %v, %tile[%c0, %k] {in_bounds = [true]} : vector<64xf32>, memref<1x256xf32, strided<[1024, 1], offset: ?>>
      }
    }
  } {kiln.parallel}
  return
}

// -----

// Columns c + 4 do not start a line: nothing changes.
// CHECK-LABEL: func.func @offset_columns
// CHECK-NOT: nontemporal
// CHECK: return
func.func @offset_columns(%x: memref<64x1024xf32>, %y: memref<64x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %c256 = arith.constant 256 : index
  %c1024 = arith.constant 1024 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %c0 to %c64 step %c1 {
    scf.for %c = %c0 to %c64 step %c64 {
      %v = vector.transfer_read %x[%i, %c], %zero {in_bounds = [true]} : memref<64x1024xf32>, vector<64xf32>
      %e = math.exp %v : vector<64xf32>
      %d = affine.apply affine_map<(d0) -> (d0 + 4)>(%c)
      vector.transfer_write %e, %y[%i, %d] {in_bounds = [true]} : vector<64xf32>, memref<64x1024xf32>
    }
  } {kiln.parallel}
  return
}

// -----

// The loop reads the output (an update in place): nothing changes.
// CHECK-LABEL: func.func @reads_output
// CHECK-NOT: nontemporal
// CHECK: return
func.func @reads_output(%x: memref<64x1024xf32>, %y: memref<64x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %c256 = arith.constant 256 : index
  %c1024 = arith.constant 1024 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %c0 to %c64 step %c1 {
    scf.for %c = %c0 to %c1024 step %c64 {
      %v = vector.transfer_read %y[%i, %c], %zero {in_bounds = [true]} : memref<64x1024xf32>, vector<64xf32>
      %e = math.exp %v : vector<64xf32>
      vector.transfer_write %e, %y[%i, %c] {in_bounds = [true]} : vector<64xf32>, memref<64x1024xf32>
    }
  } {kiln.parallel}
  return
}

// -----

// Written by the tile loop itself, with no loop inside to version: nothing
// changes.
// CHECK-LABEL: func.func @written_by_tiles
// CHECK-NOT: nontemporal
// CHECK: return
func.func @written_by_tiles(%x: memref<64x1024xf32>, %y: memref<64x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %c256 = arith.constant 256 : index
  %c1024 = arith.constant 1024 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %c0 to %c64 step %c1 {
    %v = vector.transfer_read %x[%i, %c0], %zero {in_bounds = [true]} : memref<64x1024xf32>, vector<1024xf32>
    vector.transfer_write %v, %y[%i, %c0] {in_bounds = [true]} : vector<1024xf32>, memref<64x1024xf32>
  } {kiln.parallel}
  return
}

// -----

// The last pass scales the output's own contents, which no earlier pass
// wrote: a scratch block would hand it nothing, so nothing changes.
// CHECK-LABEL: func.func @in_place
// CHECK-NOT: nontemporal
// CHECK: return
func.func @in_place(%x: memref<64x1024xf32>, %y: memref<64x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  %c256 = arith.constant 256 : index
  %c1024 = arith.constant 1024 : index
  %zero = arith.constant 0.0 : f32
  %two = arith.constant dense<2.0> : vector<16xf32>
  scf.for %i = %c0 to %c64 step %c4 {
    %block = memref.subview %y[%i, 0] [4, 1024] [1, 1] : memref<64x1024xf32> to memref<4x1024xf32, strided<[1024, 1], offset: ?>>
    scf.for %r = %c0 to %c4 step %c1 {
      scf.for %c = %c0 to %c1024 step %c16 {
        %v = vector.transfer_read %block[%r, %c], %zero {in_bounds = [true]} : memref<4x1024xf32, strided<[1024, 1], offset: ?>>, vector<16xf32>
        %p = arith.mulf %v, %two : vector<16xf32>
        vector.transfer_write %p, %block[%r, %c] {in_bounds = [true]} : vector<16xf32>, memref<4x1024xf32, strided<[1024, 1], offset: ?>>
      }
    }
  } {kiln.row_blocks}
  return
}

// -----

// The last pass reads the element it has just written, which a scratch
// block would not hold: nothing changes.
// CHECK-LABEL: func.func @read_after_write
// CHECK-NOT: nontemporal
// CHECK: return
func.func @read_after_write(%x: memref<64x1024xf32>, %y: memref<64x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  %c256 = arith.constant 256 : index
  %c1024 = arith.constant 1024 : index
  %zero = arith.constant 0.0 : f32
  %two = arith.constant dense<2.0> : vector<16xf32>
  scf.for %i = %c0 to %c64 step %c4 {
    %block = memref.subview %y[%i, 0] [4, 1024] [1, 1] : memref<64x1024xf32> to memref<4x1024xf32, strided<[1024, 1], offset: ?>>
    scf.for %r = %c0 to %c4 step %c1 {
      scf.for %c = %c0 to %c1024 step %c16 {
        %v = vector.transfer_read %x[%r, %c], %zero {in_bounds = [true]} : memref<64x1024xf32>, vector<16xf32>
        vector.transfer_write %v, %block[%r, %c] {in_bounds = [true]} : vector<16xf32>, memref<4x1024xf32, strided<[1024, 1], offset: ?>>
      }
    }
    scf.for %r = %c0 to %c4 step %c1 {
      scf.for %c = %c0 to %c1024 step %c16 {
        %v = vector.transfer_read %block[%r, %c], %zero {in_bounds = [true]} : memref<4x1024xf32, strided<[1024, 1], offset: ?>>, vector<16xf32>
        %p = arith.mulf %v, %two : vector<16xf32>
        vector.transfer_write %p, %block[%r, %c] {in_bounds = [true]} : vector<16xf32>, memref<4x1024xf32, strided<[1024, 1], offset: ?>>
        %again = vector.transfer_read %block[%r, %c], %zero {in_bounds = [true]} : memref<4x1024xf32, strided<[1024, 1], offset: ?>>, vector<16xf32>
      }
    }
  } {kiln.row_blocks}
  return
}

// -----

// One loop indexes two dimensions: the pass writes only the block's
// diagonal rows, so nothing changes.
// CHECK-LABEL: func.func @diagonal
// CHECK-NOT: nontemporal
// CHECK: return
func.func @diagonal(%x: memref<64x1024xf32>, %y: memref<64x4x256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  %c256 = arith.constant 256 : index
  %c1024 = arith.constant 1024 : index
  %zero = arith.constant 0.0 : f32
  %two = arith.constant dense<2.0> : vector<16xf32>
  scf.for %i = %c0 to %c64 step %c4 {
    %block = memref.subview %y[%i, 0, 0] [4, 4, 256] [1, 1, 1] : memref<64x4x256xf32> to memref<4x4x256xf32, strided<[1024, 256, 1], offset: ?>>
    scf.for %a = %c0 to %c4 step %c1 {
      scf.for %c = %c0 to %c256 step %c16 {
        %v = vector.transfer_read %x[%a, %c], %zero {in_bounds = [true]} : memref<64x1024xf32>, vector<16xf32>
        vector.transfer_write %v, %block[%a, %a, %c] {in_bounds = [true]} : vector<16xf32>, memref<4x4x256xf32, strided<[1024, 256, 1], offset: ?>>
      }
    }
  } {kiln.row_blocks}
  return
}

// -----

// A last pass with results is not versioned: nothing changes.
// CHECK-LABEL: func.func @carried
// CHECK-NOT: nontemporal
// CHECK: return
func.func @carried(%x: memref<64x1024xf32>, %y: memref<64x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  %c256 = arith.constant 256 : index
  %c1024 = arith.constant 1024 : index
  %zero = arith.constant 0.0 : f32
  %two = arith.constant dense<2.0> : vector<16xf32>
  scf.for %i = %c0 to %c64 step %c4 {
    %block = memref.subview %y[%i, 0] [4, 1024] [1, 1] : memref<64x1024xf32> to memref<4x1024xf32, strided<[1024, 1], offset: ?>>
    %sum = scf.for %r = %c0 to %c4 step %c1 iter_args(%acc = %zero) -> f32 {
      %t = scf.for %c = %c0 to %c1024 step %c16 iter_args(%a = %acc) -> f32 {
        %v = vector.transfer_read %x[%r, %c], %zero {in_bounds = [true]} : memref<64x1024xf32>, vector<16xf32>
        vector.transfer_write %v, %block[%r, %c] {in_bounds = [true]} : vector<16xf32>, memref<4x1024xf32, strided<[1024, 1], offset: ?>>
        %e = vector.extract %v[0] : f32 from vector<16xf32>
        %n = arith.addf %a, %e : f32
        scf.yield %n : f32
      }
      scf.yield %t : f32
    }
  } {kiln.row_blocks}
  return
}
