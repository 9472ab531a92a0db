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

// RUN: kiln-opt %s -pass-pipeline='builtin.module(func.func(kiln-approximate-math{avx512=true}))' | FileCheck %s --check-prefix=AVX512

// With AVX-512, exp of whole 16-lane registers clamps x (keeping NaN),
// rounds x log2 e to k by adding and subtracting 1.5 * 2^23 (0x4B400000),
// reduces x by k ln 2 in two parts, evaluates a degree-6 polynomial in
// Horner form (six FMAs) and scales it by 2^k with vscalefps, one register
// at a time; other exps (lanes not a multiple of 16, scalars) take the
// generic approximation.
// AVX512-LABEL: func.func @approximate
// AVX512-DAG: %[[MAGIC:.*]] = arith.constant dense<0x4B400000> : vector<16xf32>
// AVX512-DAG: %[[LOG2E:.*]] = arith.constant dense<1.44269502> : vector<16xf32>
// AVX512: arith.cmpf olt
// AVX512: arith.cmpf ogt
// AVX512-NEXT: %[[X:.*]] = arith.select
// AVX512: %[[T:.*]] = llvm.intr.fma(%[[X]], %[[LOG2E]], %[[MAGIC]])
// AVX512-NEXT: %[[K:.*]] = arith.subf %[[T]], %[[MAGIC]] : vector<16xf32>
// AVX512-NEXT: %[[R1:.*]] = llvm.intr.fma(%[[K]], %{{.*}}, %[[X]])
// AVX512-NEXT: %[[R:.*]] = llvm.intr.fma(%[[K]], %{{.*}}, %[[R1]])
// AVX512-COUNT-6: llvm.intr.fma(%{{.*}}, %[[R]], %{{.*}})
// AVX512: llvm.call_intrinsic "llvm.x86.avx512.mask.scalef.ps.512"
// AVX512-NOT: math.exp {{.*}} : vector<16xf32>
// AVX512-LABEL: func.func @fma
// AVX512-LABEL: func.func @wide
// AVX512: llvm.intr.fma({{.*}}) : (vector<32xf32>, vector<32xf32>, vector<32xf32>) -> vector<32xf32>
// AVX512: vector.extract_strided_slice %{{.*}} {offsets = [0], sizes = [16], strides = [1]} : vector<32xf32> to vector<16xf32>
// AVX512: llvm.call_intrinsic "llvm.x86.avx512.mask.scalef.ps.512"({{.*}}) : (vector<16xf32>, vector<16xf32>, vector<16xf32>, i16, i32) -> vector<16xf32>
// AVX512: vector.extract_strided_slice %{{.*}} {offsets = [16], sizes = [16], strides = [1]} : vector<32xf32> to vector<16xf32>
// AVX512: llvm.call_intrinsic "llvm.x86.avx512.mask.scalef.ps.512"
// AVX512-NOT: llvm.call_intrinsic
// AVX512-NOT: math.exp {{.*}} : vector<32xf32>
// AVX512: return
func.func @wide(%x: vector<32xf32>, %y: vector<10xf32>) -> (vector<32xf32>, vector<10xf32>) {
  %0 = math.exp %x : vector<32xf32>
  %1 = math.exp %y : vector<10xf32>
  return %0, %1 : vector<32xf32>, vector<10xf32>
}
