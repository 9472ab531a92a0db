// RUN: kiln-opt %s -pass-pipeline='builtin.module(func.func(kiln-select-bounds))' -split-input-file | FileCheck %s

// maximumf and minimumf against constants (relu, clamp) become a compare and
// a select with the same results for NaN and signed zeros: x <= c takes c for
// max with c = 0 (so max(-0, +0) = +0), x < c for c = -0, x > c for min with
// c = +0 (so min(-0, +0) = -0), x >= c otherwise. A max of two variables
// stays.
// CHECK-LABEL: func.func @clamps
// CHECK-SAME: (%[[X:.*]]: f32, %[[Y:.*]]: f32)
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[NZERO:.*]] = arith.constant -0.000000e+00 : f32
// CHECK-DAG: %[[SIX:.*]] = arith.constant 6.000000e+00 : f32
// CHECK: %[[C0:.*]] = arith.cmpf ole, %[[X]], %[[ZERO]] : f32
// CHECK: %[[S0:.*]] = arith.select %[[C0]], %[[ZERO]], %[[X]] : f32
// CHECK: %[[C1:.*]] = arith.cmpf olt, %[[X]], %[[NZERO]] : f32
// CHECK: %[[S1:.*]] = arith.select %[[C1]], %[[NZERO]], %[[X]] : f32
// CHECK: %[[C2:.*]] = arith.cmpf ogt, %[[X]], %[[ZERO]] : f32
// CHECK: %[[S2:.*]] = arith.select %[[C2]], %[[ZERO]], %[[X]] : f32
// CHECK: %[[C3:.*]] = arith.cmpf oge, %[[X]], %[[SIX]] : f32
// CHECK: %[[S3:.*]] = arith.select %[[C3]], %[[SIX]], %[[X]] : f32
// CHECK: arith.maximumf %[[X]], %[[Y]] : f32
func.func @clamps(%x: f32, %y: f32) -> (f32, f32, f32, f32, f32) {
  %zero = arith.constant 0.0 : f32
  %nzero = arith.constant -0.0 : f32
  %six = arith.constant 6.0 : f32
  %0 = arith.maximumf %zero, %x : f32
  %1 = arith.maximumf %x, %nzero : f32
  %2 = arith.minimumf %x, %zero : f32
  %3 = arith.minimumf %x, %six : f32
  %4 = arith.maximumf %x, %y : f32
  return %0, %1, %2, %3, %4 : f32, f32, f32, f32, f32
}

// -----

// Vectors too; a NaN bound stays a maximumf (a select would drop its NaN).
// CHECK-LABEL: func.func @vector_relu
// CHECK: %[[LE:.*]] = arith.cmpf ole, %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: arith.select %[[LE]], %{{.*}}, %{{.*}} : vector<16xi1>, vector<16xf32>
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : vector<16xf32>
func.func @vector_relu(%x: vector<16xf32>) -> (vector<16xf32>, vector<16xf32>) {
  %zero = arith.constant dense<0.0> : vector<16xf32>
  %nan = arith.constant dense<0x7FC00000> : vector<16xf32>
  %0 = arith.maximumf %x, %zero : vector<16xf32>
  %1 = arith.maximumf %x, %nan : vector<16xf32>
  return %0, %1 : vector<16xf32>, vector<16xf32>
}
