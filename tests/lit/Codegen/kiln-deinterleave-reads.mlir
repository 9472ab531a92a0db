// RUN: kiln-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(kiln-deinterleave-reads),canonicalize)' | FileCheck %s

// A max pool's window, every other element of a row: a masked load of the
// 27 elements from the first to the last, through a contiguous view at the
// first one (1 + 784 r, as the subview's offset and strides say), and a
// shuffle of the even lanes.
// CHECK-LABEL: func.func @window
// CHECK-SAME: (%[[X:.*]]: memref<4x28x28xf32>, %[[R:.*]]: index)
// CHECK: %[[W:.*]] = memref.subview %[[X]]
// CHECK: %[[BASE:.*]], %{{.*}}, %{{.*}}:3, %{{.*}}:3 = memref.extract_strided_metadata %[[W]]
// CHECK: %[[ROW:.*]] = arith.muli %[[R]], %c784
// CHECK: %[[FIRST:.*]] = arith.addi %[[ROW]], %c1
// CHECK: %[[FLAT:.*]] = memref.reinterpret_cast %[[BASE]] to offset: [%[[FIRST]]], sizes: [28], strides: [1] : memref<f32> to memref<28xf32, strided<[1], offset: ?>>
// CHECK: %[[MASK:.*]] = vector.constant_mask [27] : vector<28xi1>
// CHECK: %[[WIDE:.*]] = vector.maskedload %[[FLAT]][%c0], %[[MASK]], %{{.*}} : memref<28xf32, strided<[1], offset: ?>>, vector<28xi1>, vector<28xf32> into vector<28xf32>
// CHECK: %[[V:.*]] = vector.shuffle %[[WIDE]], %[[WIDE]] [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26] : vector<28xf32>, vector<28xf32>
// CHECK: return %[[V]]
func.func @window(%x: memref<4x28x28xf32>, %r: index) -> vector<14xf32> {
  %c0 = arith.constant 0 : index
  %pad = arith.constant 0.0 : f32
  %w = memref.subview %x[0, 0, 1] [4, 14, 14] [1, 2, 2] : memref<4x28x28xf32> to memref<4x14x14xf32, strided<[784, 56, 2], offset: 1>>
  %v = vector.transfer_read %w[%r, %c0, %c0], %pad {in_bounds = [true]} : memref<4x14x14xf32, strided<[784, 56, 2], offset: 1>>, vector<14xf32>
  return %v : vector<14xf32>
}

// -----

// Unit strides, strides past 4, reads that may run out of bounds, 2-D
// vectors, transposing reads and booleans are left alone.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: vector.maskedload
// CHECK-NOT: vector.shuffle
// CHECK-COUNT-6: vector.transfer_read
// CHECK: return
func.func @left_alone(%x: memref<64x64xf32>, %m: memref<64x64xi1>, %r: index)
    -> (vector<16xf32>, vector<8xf32>, vector<16xf32>, vector<2x8xf32>, vector<8xf32>, vector<16xi1>) {
  %c0 = arith.constant 0 : index
  %pad = arith.constant 0.0 : f32
  %unit = vector.transfer_read %x[%r, %c0], %pad {in_bounds = [true]} : memref<64x64xf32>, vector<16xf32>
  %s8 = memref.subview %x[0, 0] [64, 8] [1, 8] : memref<64x64xf32> to memref<64x8xf32, strided<[64, 8]>>
  %wide = vector.transfer_read %s8[%r, %c0], %pad {in_bounds = [true]} : memref<64x8xf32, strided<[64, 8]>>, vector<8xf32>
  %s2 = memref.subview %x[0, 0] [64, 32] [1, 2] : memref<64x64xf32> to memref<64x32xf32, strided<[64, 2]>>
  %maybe = vector.transfer_read %s2[%r, %r], %pad : memref<64x32xf32, strided<[64, 2]>>, vector<16xf32>
  %two = vector.transfer_read %s2[%r, %c0], %pad {in_bounds = [true, true]} : memref<64x32xf32, strided<[64, 2]>>, vector<2x8xf32>
  %column = vector.transfer_read %s2[%c0, %r], %pad {in_bounds = [true], permutation_map = affine_map<(d0, d1) -> (d0)>} : memref<64x32xf32, strided<[64, 2]>>, vector<8xf32>
  %false = arith.constant false
  %sm = memref.subview %m[0, 0] [64, 32] [1, 2] : memref<64x64xi1> to memref<64x32xi1, strided<[64, 2]>>
  %mask = vector.transfer_read %sm[%r, %c0], %false {in_bounds = [true]} : memref<64x32xi1, strided<[64, 2]>>, vector<16xi1>
  return %unit, %wide, %maybe, %two, %column, %mask : vector<16xf32>, vector<8xf32>, vector<16xf32>, vector<2x8xf32>, vector<8xf32>, vector<16xi1>
}
