// RUN: kiln-opt %s -pass-pipeline='builtin.module(kiln-forward-result-copies)' | FileCheck %s

func.func private @k(%x: memref<4xf32>, %out: memref<4xf32>)
func.func private @read(%x: memref<4xf32>)

// The kernels write the out-parameter itself; allocation and copy go.
// CHECK-LABEL: func.func @forwarded
// CHECK-SAME: (%[[X:.*]]: memref<4xf32>, %[[Y:.*]]: memref<4xf32> {graph.output = "y"})
// CHECK-NEXT: call @k(%[[X]], %[[Y]])
// CHECK-NEXT: call @read(%[[Y]])
// CHECK-NEXT: return
func.func @forwarded(%x: memref<4xf32>, %y: memref<4xf32> {graph.output = "y"}) {
  %a = memref.alloc() : memref<4xf32>
  call @k(%x, %a) : (memref<4xf32>, memref<4xf32>) -> ()
  call @read(%a) : (memref<4xf32>) -> ()
  memref.copy %a, %y : memref<4xf32> to memref<4xf32>
  return
}

// One value returned twice: the last copy's out-parameter holds it, and the
// other out-parameter is copied from there.
// CHECK-LABEL: func.func @twice
// CHECK-SAME: (%[[X:.*]]: memref<4xf32>, %[[Y:.*]]: memref<4xf32> {graph.output = "y"}, %[[Z:.*]]: memref<4xf32> {graph.output = "z"})
// CHECK-NEXT: call @k(%[[X]], %[[Z]])
// CHECK-NEXT: memref.copy %[[Z]], %[[Y]]
// CHECK-NEXT: return
func.func @twice(%x: memref<4xf32>, %y: memref<4xf32> {graph.output = "y"},
                 %z: memref<4xf32> {graph.output = "z"}) {
  %a = memref.alloc() : memref<4xf32>
  call @k(%x, %a) : (memref<4xf32>, memref<4xf32>) -> ()
  memref.copy %a, %y : memref<4xf32> to memref<4xf32>
  memref.copy %a, %z : memref<4xf32> to memref<4xf32>
  return
}

// Left alone: the allocation is written after the copy; the out-parameter
// of an updated result (the caller may pass the updated argument's buffer);
// an out-parameter with another use; a copy from an argument; a private
// function.
// CHECK-LABEL: func.func @used_after
// CHECK: memref.alloc
// CHECK: memref.copy
// CHECK: call @k
func.func @used_after(%x: memref<4xf32>, %y: memref<4xf32> {graph.output = "y"}) {
  %a = memref.alloc() : memref<4xf32>
  call @k(%x, %a) : (memref<4xf32>, memref<4xf32>) -> ()
  memref.copy %a, %y : memref<4xf32> to memref<4xf32>
  call @k(%x, %a) : (memref<4xf32>, memref<4xf32>) -> ()
  return
}

// CHECK-LABEL: func.func @updated
// CHECK: memref.alloc
// CHECK: memref.copy
func.func @updated(%w: memref<4xf32> {graph.param = "w"},
                   %y: memref<4xf32> {graph.output = "w", graph.update = "w"}) {
  %a = memref.alloc() : memref<4xf32>
  call @k(%w, %a) : (memref<4xf32>, memref<4xf32>) -> ()
  memref.copy %a, %y : memref<4xf32> to memref<4xf32>
  return
}

// CHECK-LABEL: func.func @out_read
// CHECK: memref.alloc
// CHECK: memref.copy
func.func @out_read(%x: memref<4xf32>, %y: memref<4xf32> {graph.output = "y"}) {
  call @read(%y) : (memref<4xf32>) -> ()
  %a = memref.alloc() : memref<4xf32>
  call @k(%x, %a) : (memref<4xf32>, memref<4xf32>) -> ()
  memref.copy %a, %y : memref<4xf32> to memref<4xf32>
  return
}

// CHECK-LABEL: func.func @from_argument
// CHECK: memref.copy %{{.*}}, %{{.*}}
func.func @from_argument(%x: memref<4xf32>, %y: memref<4xf32> {graph.output = "y"}) {
  memref.copy %x, %y : memref<4xf32> to memref<4xf32>
  return
}

// CHECK-LABEL: func.func private @kernel
// CHECK: memref.alloc
// CHECK: memref.copy
func.func private @kernel(%x: memref<4xf32>, %y: memref<4xf32> {graph.output = "y"}) {
  %a = memref.alloc() : memref<4xf32>
  call @k(%x, %a) : (memref<4xf32>, memref<4xf32>) -> ()
  memref.copy %a, %y : memref<4xf32> to memref<4xf32>
  return
}
