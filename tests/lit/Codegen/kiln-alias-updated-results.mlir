// RUN: kiln-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(kiln-alias-updated-results)' | FileCheck %s

#map = affine_map<(d0) -> (d0)>

// Out-parameters of updated results, after buffer-results-to-out-params:
// kiln.updates = [-1, 1, 2, 3] says results 1, 2 and 3 update arguments
// %w, %v and %s; their out-parameters are %ow, %ov and %os. The attribute
// is consumed.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: (%[[X:[^:]*]]: memref<4xf32>, %[[W:[^:]*]]: memref<4xf32>, %[[V:[^:]*]]: memref<4xf32>, %[[S:[^:]*]]: memref<4xf32>, %[[OY:[^:]*]]: memref<4xf32>, %[[OW:[^:]*]]: memref<4xf32>, %[[OV:[^:]*]]: memref<4xf32>, %[[OS:[^:]*]]: memref<4xf32>) {
// %s's result was computed into its out-parameter, which may be %s
// itself: it is computed into a temporary and copied in last.
// CHECK: %[[TMP:.*]] = memref.alloc() : memref<4xf32>
// CHECK-NEXT: linalg.generic {{.*}} ins(%[[S]] : memref<4xf32>) outs(%[[TMP]] : memref<4xf32>)
// CHECK: %[[NV:.*]] = memref.alloc() : memref<4xf32>
// CHECK: linalg.generic {{.*}} ins(%[[V]] : memref<4xf32>) outs(%[[NV]] : memref<4xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[S]] : memref<4xf32>) outs(%[[W]] : memref<4xf32>)
// CHECK: %[[CW:.*]] = memref.cast %[[W]]
// A result that updates nothing is copied as before.
// CHECK-NEXT: memref.copy %[[X]], %[[OY]] : memref<4xf32> to memref<4xf32>
// %w was updated in place: it is copied only into a buffer of its own.
// CHECK-NEXT: %[[PW:.*]] = memref.extract_aligned_pointer_as_index %[[W]] : memref<4xf32> -> index
// CHECK-NEXT: %[[PO:.*]] = memref.extract_aligned_pointer_as_index %[[OW]] : memref<4xf32> -> index
// CHECK-NEXT: %[[NE:.*]] = arith.cmpi ne, %[[PW]], %[[PO]] : index
// CHECK-NEXT: scf.if %[[NE]] {
// CHECK-NEXT: memref.copy %[[CW]], %[[OW]] : memref<4xf32> to memref<4xf32>
// CHECK-NEXT: }
// %v's result was computed elsewhere and is copied in last: unchanged.
// CHECK-NEXT: memref.copy %[[NV]], %[[OV]] : memref<4xf32> to memref<4xf32>
// CHECK-NEXT: memref.copy %[[TMP]], %[[OS]] : memref<4xf32> to memref<4xf32>
// CHECK-NEXT: return
func.func @train_step(%x: memref<4xf32>, %w: memref<4xf32>, %v: memref<4xf32>, %s: memref<4xf32>, %oy: memref<4xf32>, %ow: memref<4xf32>, %ov: memref<4xf32>, %os: memref<4xf32>) attributes {kiln.updates = array<i64: -1, 1, 2, 3>} {
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%s : memref<4xf32>) outs(%os : memref<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.negf %a : f32
    linalg.yield %n : f32
  }
  %nv = memref.alloc() : memref<4xf32>
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%v : memref<4xf32>) outs(%nv : memref<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.negf %a : f32
    linalg.yield %n : f32
  }
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%s : memref<4xf32>) outs(%w : memref<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.addf %a, %o : f32
    linalg.yield %n : f32
  }
  %cw = memref.cast %w : memref<4xf32> to memref<4xf32>
  memref.copy %x, %oy : memref<4xf32> to memref<4xf32>
  memref.copy %cw, %ow : memref<4xf32> to memref<4xf32>
  memref.copy %nv, %ov : memref<4xf32> to memref<4xf32>
  return
}

// A function without kiln.updates keeps its copies unguarded.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[FW:.*]]: memref<4xf32>, %[[FO:.*]]: memref<4xf32>)
// CHECK-NEXT: memref.copy %[[FW]], %[[FO]] : memref<4xf32> to memref<4xf32>
// CHECK-NEXT: return
func.func @forward(%w: memref<4xf32>, %o: memref<4xf32>) {
  memref.copy %w, %o : memref<4xf32> to memref<4xf32>
  return
}

// The new value of %w is copied in last even when a later final copy still
// reads the old %w (the caller may pass %w's buffer as %ow).
// CHECK-LABEL: func.func @reads_later
// CHECK-SAME: (%[[RW:[^:]*]]: memref<4xf32>, %[[RV:[^:]*]]: memref<4xf32>, %[[ROW:[^:]*]]: memref<4xf32>, %[[ROV:[^:]*]]: memref<4xf32>)
// CHECK: %[[NW:.*]] = memref.alloc() : memref<4xf32>
// CHECK-NEXT: memref.copy %[[RW]], %[[ROV]] : memref<4xf32> to memref<4xf32>
// CHECK-NEXT: memref.copy %[[NW]], %[[ROW]] : memref<4xf32> to memref<4xf32>
// CHECK-NEXT: return
func.func @reads_later(%w: memref<4xf32>, %v: memref<4xf32>, %ow: memref<4xf32>, %ov: memref<4xf32>) attributes {kiln.updates = array<i64: 0, 1>} {
  %nw = memref.alloc() : memref<4xf32>
  memref.copy %nw, %ow : memref<4xf32> to memref<4xf32>
  memref.copy %w, %ov : memref<4xf32> to memref<4xf32>
  return
}

// -----

// Results must already be out-parameters.
// expected-error @+1 {{kiln-alias-updated-results runs after buffer-results-to-out-params}}
func.func @train_step(%w: memref<4xf32>) -> memref<4xf32> attributes {kiln.updates = array<i64: 0>} {
  return %w : memref<4xf32>
}
