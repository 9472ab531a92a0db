// RUN: kiln-opt %s -pass-pipeline='builtin.module(kiln-inline-kernels)' | FileCheck %s

// A kernel called once inlines into its caller; one called twice stays a
// function, called from both places.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X:.*]]: memref<4xf32>, %[[Y:.*]]: memref<4xf32>)
// CHECK-NEXT: memref.copy %[[X]], %[[Y]]
// CHECK-NEXT: call @shared(%[[Y]], %[[X]])
// CHECK-NEXT: call @shared(%[[X]], %[[Y]])
// CHECK-NEXT: return
// CHECK-NOT: func.func private @once
// CHECK: func.func private @shared
func.func @forward(%x: memref<4xf32>, %y: memref<4xf32>) {
  call @once(%x, %y) : (memref<4xf32>, memref<4xf32>) -> ()
  call @shared(%y, %x) : (memref<4xf32>, memref<4xf32>) -> ()
  call @shared(%x, %y) : (memref<4xf32>, memref<4xf32>) -> ()
  return
}
func.func private @once(%a: memref<4xf32>, %b: memref<4xf32>) {
  memref.copy %a, %b : memref<4xf32> to memref<4xf32>
  return
}
func.func private @shared(%a: memref<4xf32>, %b: memref<4xf32>) {
  memref.copy %a, %b : memref<4xf32> to memref<4xf32>
  return
}
