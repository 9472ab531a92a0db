// RUN: kiln-opt %s -convert-graph-to-linalg -verify-diagnostics

func.func @not_outlined(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{must be outlined into a function (kernel-outline) before lowering to linalg}}
  %0 = kernel.fused "elementwise" (%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    kernel.yield %a : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}
