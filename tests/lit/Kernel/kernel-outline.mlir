// RUN: kiln-opt %s -kernel-outline | FileCheck %s

// Each call of a kernel records where its results come from
// (kernel.origins): the op, its module path and source line; and its cost
// (kernel.cost: FLOPs, one per element of each op, and the bytes of its
// operands and results) for the profiler.

// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>, %[[Y:.*]]: tensor<4x4xf32>)
// CHECK: %[[A:.*]] = call @forward_kernel0_elementwise(%[[X]]) {kernel.cost = array<i64: 4, 32>, kernel.origins = ["graph.exp in head at model.cpp:7"]} : (tensor<4xf32>) -> tensor<4xf32>
// CHECK: %[[B:.*]] = call @forward_kernel1_reduction(%[[Y]]) {kernel.cost = array<i64: 16, 128>, kernel.origins = ["graph.softmax at {{.*}}kernel-outline.mlir:{{[0-9]+}}"]} : (tensor<4x4xf32>) -> tensor<4x4xf32>
// CHECK: return %[[A]], %[[B]]
// CHECK: func.func private @forward_kernel1_reduction(%[[R:.*]]: tensor<4x4xf32>) -> tensor<4x4xf32> attributes {kernel.kind = "reduction"}
// CHECK-NEXT: %[[S:.*]] = graph.softmax %[[R]]
// CHECK-NEXT: return %[[S]]
// CHECK: func.func private @forward_kernel0_elementwise(%[[E:.*]]: tensor<4xf32>) -> tensor<4xf32> attributes {kernel.kind = "elementwise"}
// CHECK-NEXT: %[[V:.*]] = graph.exp %[[E]]
// CHECK-NEXT: return %[[V]]
func.func @forward(%x: tensor<4xf32>, %y: tensor<4x4xf32>) -> (tensor<4xf32>, tensor<4x4xf32>) {
  %0 = kernel.fused "elementwise" (%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    %1 = graph.exp %a : tensor<4xf32> loc("head"("model.cpp":7:0))
    kernel.yield %1 : tensor<4xf32>
  }
  %2 = kernel.fused "reduction" (%y) : (tensor<4x4xf32>) -> tensor<4x4xf32> {
  ^bb0(%b: tensor<4x4xf32>):
    %3 = graph.softmax %b : tensor<4x4xf32>
    kernel.yield %3 : tensor<4x4xf32>
  }
  return %0, %2 : tensor<4xf32>, tensor<4x4xf32>
}
