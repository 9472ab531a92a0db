// RUN: kiln-opt %s -pass-pipeline='builtin.module(kiln-dedup-kernels)' | FileCheck %s

// Kernels with equal types and bodies merge into the first; calls keep their
// own origins. A kernel whose body differs in one constant stays apart, and
// so does a private function that is not a kernel.
// CHECK-LABEL: func.func @forward
// CHECK: %[[A:.*]] = call @k0(%{{.*}}) {kernel.origins = ["graph.exp in blocks.0"]}
// CHECK: %[[B:.*]] = call @k0(%[[A]]) {kernel.origins = ["graph.exp in blocks.1"]}
// CHECK: %[[C:.*]] = call @k2(%[[B]]) {kernel.origins = ["graph.mul in head"]}
// CHECK: call @helper(%[[C]])
// CHECK: call @helper2(%[[C]])
// CHECK-LABEL: func.func @loss
// CHECK: call @k0(
// CHECK: func.func private @k0(
// CHECK-NOT: func.func private @k1(
// CHECK: func.func private @k2(
// CHECK: func.func private @helper(
// CHECK: func.func private @helper2(
func.func @forward(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = call @k0(%x) {kernel.origins = ["graph.exp in blocks.0"]} : (tensor<4xf32>) -> tensor<4xf32>
  %1 = call @k1(%0) {kernel.origins = ["graph.exp in blocks.1"]} : (tensor<4xf32>) -> tensor<4xf32>
  %2 = call @k2(%1) {kernel.origins = ["graph.mul in head"]} : (tensor<4xf32>) -> tensor<4xf32>
  %3 = call @helper(%2) : (tensor<4xf32>) -> tensor<4xf32>
  %4 = call @helper2(%2) : (tensor<4xf32>) -> tensor<4xf32>
  return %3 : tensor<4xf32>
}
func.func @loss(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = call @k1(%x) {kernel.origins = ["graph.exp in blocks.0 in loss"]} : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
func.func private @k0(%a: tensor<4xf32>) -> tensor<4xf32> attributes {kernel.kind = "elementwise"} {
  %0 = math.exp %a : tensor<4xf32>
  return %0 : tensor<4xf32>
}
func.func private @k1(%a: tensor<4xf32>) -> tensor<4xf32> attributes {kernel.kind = "elementwise"} {
  %0 = math.exp %a : tensor<4xf32>
  return %0 : tensor<4xf32>
}
func.func private @k2(%a: tensor<4xf32>) -> tensor<4xf32> attributes {kernel.kind = "elementwise"} {
  %c = arith.constant dense<2.0> : tensor<4xf32>
  %0 = arith.mulf %a, %c : tensor<4xf32>
  return %0 : tensor<4xf32>
}
func.func private @helper(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}
func.func private @helper2(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}
