// kiln-approximate-math refuses a vector far larger than any tile instead of
// unrolling it into millions of ops (one register or one row at a time: a
// vector<100000x16xf32> took seconds, larger ones gigabytes).
// RUN: not kiln-opt %s -pass-pipeline='builtin.module(func.func(kiln-approximate-math{avx512=true}))' 2>&1 | FileCheck %s
// CHECK: error: 'math.exp' op works on 'vector<100000x16xf32>' (1600000 elements); kiln-approximate-math takes vectors of at most 65536 elements (tile the computation first, as kiln-vectorize does)
func.func @huge(%x: vector<100000x16xf32>) -> vector<100000x16xf32> {
  %0 = math.exp %x : vector<100000x16xf32>
  return %0 : vector<100000x16xf32>
}
