// Vectorized float32 math never calls libm: transcendentals are polynomials
// (kiln-approximate-math) and floor, fabs and sqrt become LLVM intrinsics
// (one vector instruction each) before math-to-libm runs, which would unroll
// them into a scalar call per element. float64 tanh does call libm.
// RUN: kilnc %s --emit=llvm | FileCheck %s
// CHECK-NOT: llvm.func @{{(floorf|fabsf|sqrtf|expf|tanhf|erff|logf)}}(
// CHECK: llvm.func @tanh(f64) -> f64
// CHECK-NOT: llvm.func @{{(floorf|fabsf|sqrtf|expf|tanhf|erff|logf)}}(
func.func @f(%x: tensor<64x64xf32> {graph.input = "x"},
             %d: tensor<64xf64> {graph.input = "d"})
    -> (tensor<64x64xf32> {graph.output = "y"},
        tensor<64xf64> {graph.output = "z"}) {
  %0 = graph.exp %x : tensor<64x64xf32>
  %1 = graph.floor %0 : tensor<64x64xf32>
  %2 = graph.abs %1 : tensor<64x64xf32>
  %3 = graph.sqrt %2 : tensor<64x64xf32>
  %4 = graph.tanh %3 : tensor<64x64xf32>
  %5 = graph.erf %4 : tensor<64x64xf32>
  %6 = graph.log %5 : tensor<64x64xf32>
  %7 = graph.tanh %d : tensor<64xf64>
  return %6, %7 : tensor<64x64xf32>, tensor<64xf64>
}
