// RUN: kiln-opt %s -pass-pipeline='builtin.module(func.func(kiln-prefetch{min-bytes=0}),canonicalize)' -split-input-file | FileCheck %s

// Blocks of 2 rows of 64 floats: 8 lines of 64 bytes per block and buffer.
// The exp pass (2 x 4 iterations, the most work) prefetches one line of the
// next block of %x (read) and of %y (written) per iteration, clamped to the
// buffers' last element; the cheaper max pass gets none. %bias has no row
// per loop row and is left alone.
// CHECK-LABEL: func.func private @rows
// CHECK: scf.for %[[I:.*]] = %c0 to %c8 step %c2 {
// CHECK-NEXT: %[[XF:.*]] = memref.collapse_shape %{{.*}} {{\[\[}}0, 1]] : memref<8x64xf32> into memref<512xf32>
// CHECK-NEXT: %[[YF:.*]] = memref.collapse_shape %{{.*}} {{\[\[}}0, 1]] : memref<8x64xf32> into memref<512xf32>
// CHECK-NEXT: scf.for
// CHECK-NOT: memref.prefetch
// CHECK: arith.maxnumf
// CHECK: scf.for %[[R:.*]] = %c0 to %c2 step %c1 {
// CHECK: scf.for %[[C:.*]] = %c0 to %c64 step %c16 {
// The iteration: r * 4 + c / 16, which prefetches line r * 4 + c / 16 of
// the next block (16 floats per line), which starts at element (i + 2) * 64.
// CHECK-NEXT: %[[COL:.*]] = arith.divui %[[C]], %c16
// CHECK-NEXT: %[[ROW:.*]] = arith.muli %[[R]], %c4
// CHECK-NEXT: %[[IT:.*]] = arith.addi %[[ROW]], %[[COL]]
// CHECK-NEXT: %[[NEXT:.*]] = arith.addi %[[I]], %c2
// CHECK-NEXT: %[[START:.*]] = arith.muli %[[NEXT]], %c64
// CHECK-NEXT: %[[OFF:.*]] = arith.muli %[[IT]], %c16
// CHECK-NEXT: %[[E:.*]] = arith.addi %[[START]], %[[OFF]]
// CHECK-NEXT: %[[XE:.*]] = arith.minui %[[E]], %c511
// CHECK-NEXT: memref.prefetch %[[XF]][%[[XE]]], read, locality<3>, data : memref<512xf32>
// CHECK: %[[YE:.*]] = arith.minui %{{.*}}, %c511
// CHECK-NEXT: memref.prefetch %[[YF]][%[[YE]]], write, locality<3>, data : memref<512xf32>
// CHECK-NOT: memref.prefetch
// CHECK: math.exp
// CHECK: } {kiln.row_blocks}
func.func private @rows(%x: memref<8x64xf32>, %bias: memref<64xf32>, %y: memref<8x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %acc = memref.alloc() : memref<16xf32>
  scf.for %i = %c0 to %c8 step %c2 {
    scf.for %c = %c0 to %c64 step %c16 {
      %v = vector.transfer_read %x[%i, %c], %zero {in_bounds = [true]} : memref<8x64xf32>, vector<16xf32>
      %a = vector.transfer_read %acc[%c0], %zero {in_bounds = [true]} : memref<16xf32>, vector<16xf32>
      %m = arith.maxnumf %v, %a : vector<16xf32>
      vector.transfer_write %m, %acc[%c0] {in_bounds = [true]} : vector<16xf32>, memref<16xf32>
    }
    scf.for %r = %c0 to %c2 step %c1 {
      %row = arith.addi %i, %r : index
      scf.for %c = %c0 to %c64 step %c16 {
        %v = vector.transfer_read %x[%row, %c], %zero {in_bounds = [true]} : memref<8x64xf32>, vector<16xf32>
        %b = vector.transfer_read %bias[%c], %zero {in_bounds = [true]} : memref<64xf32>, vector<16xf32>
        %s = arith.addf %v, %b : vector<16xf32>
        %e = math.exp %s : vector<16xf32>
        vector.transfer_write %e, %y[%row, %c] {in_bounds = [true]} : vector<16xf32>, memref<8x64xf32>
      }
    }
  } {kiln.row_blocks}
  memref.dealloc %acc : memref<16xf32>
  return
}

// -----

// Without kiln.row_blocks, nothing changes.
// CHECK-LABEL: func.func private @unmarked
// CHECK-NOT: memref.prefetch
func.func private @unmarked(%x: memref<8x64xf32>, %y: memref<8x64xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %c0 to %c8 step %c2 {
    %v = vector.transfer_read %x[%i, %c0], %zero {in_bounds = [true]} : memref<8x64xf32>, vector<64xf32>
    %e = math.exp %v : vector<64xf32>
    vector.transfer_write %e, %y[%i, %c0] {in_bounds = [true]} : vector<64xf32>, memref<8x64xf32>
  }
  return
}

// -----

// Blocks of 2 rows of 4 floats are one line each, and the pass has 2
// iterations: the line index is clamped to the block's last line (line 0,
// which folds away here), so both prefetch the next block's line instead of
// running into the block after it.
// CHECK-LABEL: func.func private @short_rows
// CHECK: scf.for %[[I:.*]] = %c0 to %c8 step %c2 {
// CHECK: scf.for %{{.*}} = %c0 to %c2 step %c1 {
// CHECK-NEXT: %[[NEXT:.*]] = arith.addi %[[I]], %c2
// CHECK-NEXT: %[[START:.*]] = arith.muli %[[NEXT]], %c4
// CHECK-NEXT: %[[CLAMPED:.*]] = arith.minui %[[START]], %c31
// CHECK-NEXT: memref.prefetch %{{.*}}[%[[CLAMPED]]], read
func.func private @short_rows(%x: memref<8x4xf32>, %y: memref<8x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %c0 to %c8 step %c2 {
    scf.for %r = %c0 to %c2 step %c1 {
      %row = arith.addi %i, %r : index
      %v = vector.transfer_read %x[%row, %c0], %zero {in_bounds = [true]} : memref<8x4xf32>, vector<4xf32>
      %e = math.exp %v : vector<4xf32>
      vector.transfer_write %e, %y[%row, %c0] {in_bounds = [true]} : vector<4xf32>, memref<8x4xf32>
    }
  } {kiln.row_blocks}
  return
}
