// RUN: kiln-opt %s -convert-library-calls -split-input-file -verify-diagnostics | FileCheck %s

// Each operand becomes its data address (base + offset * element size),
// absent slots null, then the int64 and double scalars.
// CHECK: func.func private @kiln_matmul_f32(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, f64)
// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[X:.*]]: memref<8x16xf32>, %[[W:.*]]: memref<4x16xf32>, %[[O:.*]]: memref<8x4xf32>)
// CHECK: %[[PX:.*]] = memref.extract_aligned_pointer_as_index %[[X]]
// CHECK: %[[AX:.*]] = arith.index_cast %{{.*}} : index to i64
// CHECK: %[[PW:.*]] = memref.extract_aligned_pointer_as_index %[[W]]
// CHECK: %[[AW:.*]] = arith.index_cast
// CHECK: %[[NULL:.*]] = arith.constant 0 : i64
// CHECK: %[[PO:.*]] = memref.extract_aligned_pointer_as_index %[[O]]
// CHECK: %[[AO:.*]] = arith.index_cast
// CHECK: call @kiln_matmul_f32(%[[AX]], %[[AW]], %[[NULL]], %{{.*}}, %[[AO]], %{{.*}}) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, f64) -> ()
func.func @matmul(%x: memref<8x16xf32>, %w: memref<4x16xf32>, %o: memref<8x4xf32>) {
  kernel.library_call "kiln_matmul_f32" ins(%x, %w : memref<8x16xf32>, memref<4x16xf32>) outs(%o : memref<8x4xf32>) {slots = array<i64: 0, 1, -1, -1>, ints = array<i64: 8, 4, 16, 0, 1, 0>, floats = array<f64: 0.0>}
  return
}

// -----

// A strided input is copied into a contiguous buffer first.
// CHECK-LABEL: func.func @strided
// CHECK: %[[C:.*]] = memref.alloc() : memref<4x4xf32>
// CHECK: memref.copy %{{.*}}, %[[C]]
// CHECK: memref.extract_aligned_pointer_as_index %[[C]]
// CHECK: call @f(
// CHECK-NEXT: memref.dealloc %[[C]]
func.func @strided(%x: memref<4x4xf32, strided<[8, 1]>>, %o: memref<4x4xf32>) {
  kernel.library_call "f" ins(%x : memref<4x4xf32, strided<[8, 1]>>) outs(%o : memref<4x4xf32>) {slots = array<i64: 0>, ints = array<i64>, floats = array<f64>}
  return
}

// -----

func.func @tensors(%x: tensor<4xf32>, %e: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{must be bufferized before it becomes a C call}}
  %0 = kernel.library_call "f" ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {slots = array<i64: 0>, ints = array<i64>, floats = array<f64>} -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
