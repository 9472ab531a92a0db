// RUN: kiln-opt %s -pass-pipeline='builtin.module(func.func(kiln-reciprocal-divisions))' -split-input-file | FileCheck %s

// A division by a value defined outside the loop becomes a multiplication by
// its reciprocal, taken once before the loop; a division by a value the loop
// computes stays.
// CHECK-LABEL: func.func @scale
// CHECK-SAME: (%[[X:.*]]: tensor<256xf32>, %[[SUM:.*]]: vector<16xf32>)
// CHECK: %[[ONES:.*]] = arith.constant dense<1.000000e+00> : vector<16xf32>
// CHECK: %[[R:.*]] = arith.divf %[[ONES]], %[[SUM]] : vector<16xf32>
// CHECK: scf.for
// CHECK: %[[V:.*]] = vector.transfer_read
// CHECK: arith.mulf %[[V]], %[[R]] : vector<16xf32>
// CHECK: arith.divf %{{.*}}, %[[V]] : vector<16xf32>
func.func @scale(%x: tensor<256xf32>, %sum: vector<16xf32>) -> tensor<256xf32> {
  %c0 = arith.constant 0 : index
  %c16 = arith.constant 16 : index
  %c256 = arith.constant 256 : index
  %pad = arith.constant 0.0 : f32
  %r = scf.for %i = %c0 to %c256 step %c16 iter_args(%acc = %x) -> tensor<256xf32> {
    %v = vector.transfer_read %acc[%i], %pad : tensor<256xf32>, vector<16xf32>
    %q = arith.divf %v, %sum : vector<16xf32>
    %p = arith.divf %q, %v : vector<16xf32>
    %w = vector.transfer_write %p, %acc[%i] : vector<16xf32>, tensor<256xf32>
    scf.yield %w : tensor<256xf32>
  }
  return %r : tensor<256xf32>
}
