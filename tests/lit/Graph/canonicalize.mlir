// RUN: kiln-opt %s -canonicalize -split-input-file | FileCheck %s

// CHECK-LABEL: func.func @add_zero
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK-NOT: graph.add
// CHECK: return %[[X]], %[[X]]
func.func @add_zero(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %zero = graph.constant dense<0.0> : tensor<8xf32>
  %0 = graph.add %x, %zero : tensor<4x8xf32>, tensor<8xf32>
  %1 = graph.add %zero, %x : tensor<8xf32>, tensor<4x8xf32>
  return %0, %1 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Adding zero that broadcasts the operand to a larger shape is not a no-op.
// CHECK-LABEL: func.func @add_zero_broadcasting
// CHECK: graph.add
func.func @add_zero_broadcasting(%x: tensor<8xf32>) -> tensor<4x8xf32> {
  %zero = graph.constant dense<0.0> : tensor<4x8xf32>
  %0 = graph.add %x, %zero : tensor<8xf32>, tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @sub_zero_mul_one_div_one
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>, %[[I:.*]]: tensor<4xi64>)
// CHECK-NOT: graph.sub
// CHECK-NOT: graph.mul
// CHECK-NOT: graph.div
// CHECK: return %[[X]], %[[X]], %[[X]], %[[I]]
func.func @sub_zero_mul_one_div_one(%x: tensor<4xf32>, %i: tensor<4xi64>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xi64>) {
  %zero = graph.constant dense<0.0> : tensor<f32>
  %one = graph.constant dense<1.0> : tensor<f32>
  %ione = graph.constant dense<1> : tensor<i64>
  %0 = graph.sub %x, %zero : tensor<4xf32>, tensor<f32>
  %1 = graph.mul %one, %x : tensor<f32>, tensor<4xf32>
  %2 = graph.div %x, %one : tensor<4xf32>, tensor<f32>
  %3 = graph.mul %i, %ione : tensor<4xi64>, tensor<i64>
  return %0, %1, %2, %3 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xi64>
}

// -----

// Zero minus x and x times a non-one constant stay.
// CHECK-LABEL: func.func @not_identities
// CHECK: graph.sub
// CHECK: graph.mul
func.func @not_identities(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %zero = graph.constant dense<0.0> : tensor<f32>
  %two = graph.constant dense<2.0> : tensor<f32>
  %0 = graph.sub %zero, %x : tensor<f32>, tensor<4xf32>
  %1 = graph.mul %x, %two : tensor<4xf32>, tensor<f32>
  return %0, %1 : tensor<4xf32>, tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @neg_neg
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK-NEXT: return %[[X]]
func.func @neg_neg(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = graph.neg %x : tensor<4xf32>
  %1 = graph.neg %0 : tensor<4xf32>
  return %1 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_reshape
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK-NEXT: %[[R:.*]] = graph.reshape %[[X]] {shape = array<i64: 2, 16>} : tensor<4x8xf32>
// CHECK-NEXT: return %[[R]]
func.func @reshape_reshape(%x: tensor<4x8xf32>) -> tensor<2x16xf32> {
  %0 = graph.reshape %x {shape = array<i64: 32>} : tensor<4x8xf32>
  %1 = graph.reshape %0 {shape = array<i64: 2, 16>} : tensor<32xf32>
  return %1 : tensor<2x16xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_identity
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK-NEXT: return %[[X]]
func.func @reshape_identity(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = graph.reshape %x {shape = array<i64: 32>} : tensor<4x8xf32>
  %1 = graph.reshape %0 {shape = array<i64: 4, 8>} : tensor<32xf32>
  return %1 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_constant
// CHECK-NEXT: %[[C:.*]] = graph.constant dense<[
// CHECK-SAME: [1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]
// CHECK-SAME: ]> : tensor<2x2xf32>
// CHECK-NEXT: return %[[C]]
func.func @reshape_constant() -> tensor<2x2xf32> {
  %c = graph.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %0 = graph.reshape %c {shape = array<i64: 2, 2>} : tensor<4xf32>
  return %0 : tensor<2x2xf32>
}

// -----

// CHECK-LABEL: func.func @transpose_transpose
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT: %[[T:.*]] = graph.transpose %[[X]] {permutation = array<i64: 2, 0, 1>} : tensor<2x3x4xf32>
// CHECK-NEXT: return %[[T]]
func.func @transpose_transpose(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %0 = graph.transpose %x {permutation = array<i64: 1, 2, 0>} : tensor<2x3x4xf32>
  %1 = graph.transpose %0 {permutation = array<i64: 1, 2, 0>} : tensor<3x4x2xf32>
  return %1 : tensor<4x2x3xf32>
}

// -----

// CHECK-LABEL: func.func @transpose_inverse
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT: return %[[X]], %[[X]]
func.func @transpose_inverse(%x: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>) {
  %0 = graph.transpose %x {permutation = array<i64: 1, 2, 0>} : tensor<2x3x4xf32>
  %1 = graph.transpose %0 {permutation = array<i64: 2, 0, 1>} : tensor<3x4x2xf32>
  %2 = graph.transpose %x {permutation = array<i64: 0, 1, 2>} : tensor<2x3x4xf32>
  return %1, %2 : tensor<2x3x4xf32>, tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func.func @noop_broadcast_and_cast
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK-NEXT: return %[[X]], %[[X]]
func.func @noop_broadcast_and_cast(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %0 = graph.broadcast_to %x {shape = array<i64: 4>} : tensor<4xf32>
  %1 = graph.cast %x : tensor<4xf32> to f32
  return %0, %1 : tensor<4xf32>, tensor<4xf32>
}
