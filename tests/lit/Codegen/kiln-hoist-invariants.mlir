// RUN: kiln-opt %s -pass-pipeline='builtin.module(func.func(kiln-hoist-invariants))' -split-input-file | FileCheck %s

// A broadcast and a square root of values the loop does not change move
// before it; what depends on the induction variable stays.
// CHECK-LABEL: func.func @row
// CHECK: %[[ROOT:.*]] = math.sqrt %{{.*}} : f32
// CHECK: %[[B:.*]] = vector.broadcast %[[ROOT]] : f32 to vector<16xf32>
// CHECK: scf.for
// CHECK-NOT: math.sqrt
// CHECK-NOT: vector.broadcast
// CHECK: vector.transfer_read
// CHECK: arith.mulf %{{.*}}, %[[B]] : vector<16xf32>
func.func @row(%x: tensor<256xf32>, %var: f32) -> tensor<256xf32> {
  %c0 = arith.constant 0 : index
  %c16 = arith.constant 16 : index
  %c256 = arith.constant 256 : index
  %pad = arith.constant 0.0 : f32
  %r = scf.for %i = %c0 to %c256 step %c16 iter_args(%acc = %x) -> tensor<256xf32> {
    %root = math.sqrt %var : f32
    %b = vector.broadcast %root : f32 to vector<16xf32>
    %v = vector.transfer_read %acc[%i], %pad : tensor<256xf32>, vector<16xf32>
    %m = arith.mulf %v, %b : vector<16xf32>
    %w = vector.transfer_write %m, %acc[%i] : vector<16xf32>, tensor<256xf32>
    scf.yield %w : tensor<256xf32>
  }
  return %r : tensor<256xf32>
}

// -----

// A loop that may not run (a dynamic trip count) keeps its body.
// CHECK-LABEL: func.func @maybe_empty
// CHECK: scf.for
// CHECK: math.sqrt
func.func @maybe_empty(%n: index, %var: f32, %x: f32) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %x) -> f32 {
    %root = math.sqrt %var : f32
    %s = arith.addf %acc, %root : f32
    scf.yield %s : f32
  }
  return %r : f32
}
