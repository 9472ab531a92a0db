// RUN: kiln-opt %s -pass-pipeline='builtin.module(func.func(kiln-approximate-math))' | FileCheck %s

// float32 transcendental math becomes polynomial arithmetic on vectors;
// float64 keeps the exact math op (libm).
// CHECK-LABEL: func.func @approximate
// CHECK-NOT: math.exp {{.*}} : vector<16xf32>
// CHECK-NOT: math.tanh {{.*}} : vector<16xf32>
// CHECK: arith.mulf {{.*}} : vector<16xf32>
// CHECK: math.exp %{{.*}} : f64
func.func @approximate(%x: vector<16xf32>, %d: f64) -> (vector<16xf32>, vector<16xf32>, f64) {
  %0 = math.exp %x : vector<16xf32>
  %1 = math.tanh %x : vector<16xf32>
  %2 = math.exp %d : f64
  return %0, %1, %2 : vector<16xf32>, vector<16xf32>, f64
}
