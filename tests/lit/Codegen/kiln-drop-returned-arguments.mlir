// RUN: kiln-opt %s -pass-pipeline='builtin.module(kiln-drop-returned-arguments)' | FileCheck %s

// A kernel writing its destination argument in place no longer returns it;
// at each call, the origin of the dropped result moves to
// kernel.updated_origins as [argument index, origin]. The result it
// computes elsewhere stays.
// CHECK-LABEL: func.func private @kernel
// CHECK-SAME: (%[[X:.*]]: memref<4xf32>, %[[D:.*]]: memref<4xf32>) -> memref<4xf32> {
// CHECK: %[[A:.*]] = memref.alloc() : memref<4xf32>
// CHECK: return %[[A]] : memref<4xf32>
func.func private @kernel(%x: memref<4xf32>, %d: memref<4xf32>) -> (memref<4xf32>, memref<4xf32>) {
  %a = memref.alloc() : memref<4xf32>
  memref.copy %x, %a : memref<4xf32> to memref<4xf32>
  memref.copy %x, %d : memref<4xf32> to memref<4xf32>
  return %a, %d : memref<4xf32>, memref<4xf32>
}

// CHECK-LABEL: func.func private @counter
// CHECK-SAME: (%{{.*}}: memref<i64>, %{{.*}}: memref<i64>) {
// CHECK-NEXT: return{{$}}
func.func private @counter(%x: memref<i64>, %c: memref<i64>) -> memref<i64> {
  return %c : memref<i64>
}

// A function whose symbol is used other than by calls keeps its results.
// CHECK-LABEL: func.func private @referenced
// CHECK-SAME: (%[[R:.*]]: memref<4xf32>) -> memref<4xf32>
// CHECK-NEXT: return %[[R]] : memref<4xf32>
func.func private @referenced(%r: memref<4xf32>) -> memref<4xf32> {
  return %r : memref<4xf32>
}

// Callers use the argument they passed for a dropped result. An entry
// point keeps its results, and returns a memref.cast of an argument instead
// of the argument itself.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: (%[[IN:.*]]: memref<4xf32>, %[[W:.*]]: memref<4xf32>, %[[C:.*]]: memref<i64>) -> (memref<4xf32>, memref<4xf32>, memref<i64>, memref<4xf32>)
// CHECK: %[[NEW:.*]] = call @kernel(%[[IN]], %[[W]]) {kernel.origins = ["graph.mul in m"], kernel.updated_origins = {{\[}}[1, "graph.sub in update of w"]]} : (memref<4xf32>, memref<4xf32>) -> memref<4xf32>
// CHECK: %[[ONE:.*]] = memref.alloc() : memref<i64>
// Updated origins already there come first.
// CHECK: call @counter(%[[ONE]], %[[C]]) {kernel.origins = [], kernel.updated_origins = {{\[}}[0, "earlier"], [1, "graph.add in step"]]} : (memref<i64>, memref<i64>) -> (){{$}}
// CHECK: %[[REF:.*]] = call @referenced(%[[IN]]) : (memref<4xf32>) -> memref<4xf32>
// CHECK: memref.copy %[[W]], %[[IN]] : memref<4xf32> to memref<4xf32>
// CHECK: %[[CW:.*]] = memref.cast %[[W]] : memref<4xf32> to memref<4xf32>
// CHECK: %[[CC:.*]] = memref.cast %[[C]] : memref<i64> to memref<i64>
// CHECK: return %[[NEW]], %[[CW]], %[[CC]], %[[REF]] : memref<4xf32>, memref<4xf32>, memref<i64>, memref<4xf32>
func.func @train_step(%x: memref<4xf32>, %w: memref<4xf32>, %c: memref<i64>) -> (memref<4xf32>, memref<4xf32>, memref<i64>, memref<4xf32>) {
  %r:2 = call @kernel(%x, %w) {kernel.origins = ["graph.mul in m", "graph.sub in update of w"]} : (memref<4xf32>, memref<4xf32>) -> (memref<4xf32>, memref<4xf32>)
  %one = memref.alloc() : memref<i64>
  %s = call @counter(%one, %c) {kernel.origins = ["graph.add in step"], kernel.updated_origins = [[0, "earlier"]]} : (memref<i64>, memref<i64>) -> memref<i64>
  %f = func.constant @referenced : (memref<4xf32>) -> memref<4xf32>
  %q = call @referenced(%x) : (memref<4xf32>) -> memref<4xf32>
  memref.copy %r#1, %x : memref<4xf32> to memref<4xf32>
  return %r#0, %r#1, %s, %q : memref<4xf32>, memref<4xf32>, memref<i64>, memref<4xf32>
}
