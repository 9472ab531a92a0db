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

// The polynomials' fused multiply-adds are LLVM intrinsics (one vfmadd per
// 1-D vector; rows of n-D vectors one by one), never math.fma, which
// convert-math-to-libm would unroll into scalar fmaf calls.
// CHECK-LABEL: func.func @fma
// CHECK-NOT: math.fma
// CHECK: llvm.intr.fma({{.*}}) : (vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
// CHECK: vector.extract %{{.*}}[1] : vector<16xf32> from vector<2x16xf32>
// CHECK: llvm.intr.fma
// CHECK: vector.insert %{{.*}}, %{{.*}} [1] : vector<16xf32> into vector<2x16xf32>
// CHECK-NOT: math.fma
func.func @fma(%x: vector<16xf32>, %y: vector<2x16xf32>) -> (vector<16xf32>, vector<2x16xf32>) {
  %0 = math.exp %x : vector<16xf32>
  %1 = math.fma %y, %y, %y : vector<2x16xf32>
  return %0, %1 : vector<16xf32>, vector<2x16xf32>
}
