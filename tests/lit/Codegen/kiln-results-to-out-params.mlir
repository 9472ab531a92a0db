// RUN: kiln-opt %s -pass-pipeline='builtin.module(kiln-results-to-out-params)' | FileCheck %s

// A memref result becomes an out-parameter (its static allocation hoisted
// to the caller) and the rebuilt call keeps its attributes.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X:.*]]: memref<4xf32>, %[[OUT:.*]]: memref<4xf32>)
// CHECK: %[[R:.*]] = memref.alloc() : memref<4xf32>
// CHECK: call @kernel(%[[X]], %[[R]]) {kernel.origins = ["graph.exp in m"]} : (memref<4xf32>, memref<4xf32>) -> ()
// CHECK: memref.copy %[[R]], %[[OUT]]
// CHECK-LABEL: func.func private @kernel
// CHECK-SAME: (%{{.*}}: memref<4xf32>, %{{.*}}: memref<4xf32>) {
func.func @forward(%x: memref<4xf32>) -> memref<4xf32> {
  %0 = call @kernel(%x) {kernel.origins = ["graph.exp in m"]} : (memref<4xf32>) -> memref<4xf32>
  return %0 : memref<4xf32>
}
func.func private @kernel(%a: memref<4xf32>) -> memref<4xf32> {
  %0 = memref.alloc() : memref<4xf32>
  memref.copy %a, %0 : memref<4xf32> to memref<4xf32>
  return %0 : memref<4xf32>
}
