// RUN: kiln-opt %s -pass-pipeline='builtin.module(func.func(kiln-plan-memory{report=true}))' 2>%t.report | FileCheck %s
// RUN: FileCheck %s --check-prefix=REPORT --input-file=%t.report

// Three temporaries: %a and %b are live together, %c reuses %a's bytes.
// CHECK-LABEL: func.func @chain
// CHECK: %[[ARENA:.*]] = memref.alloc() {alignment = 64 : i64} : memref<8192xi8>
// CHECK: %[[A:.*]] = memref.view %[[ARENA]][%{{.*}}][] : memref<8192xi8> to memref<32x32xf32>
// CHECK: %[[B:.*]] = memref.view %[[ARENA]][%{{.*}}][] : memref<8192xi8> to memref<32x32xf32>
// CHECK: %[[C:.*]] = memref.view %[[ARENA]][%{{.*}}][] : memref<8192xi8> to memref<32x32xf32>
// CHECK-NOT: memref.dealloc %[[A]]
// CHECK: memref.dealloc %[[ARENA]]
// CHECK-NEXT: return
// REPORT: memory plan of 'chain': arena 8.0 KiB for 3 buffers (12.0 KiB without reuse)
func.func @chain(%x: memref<32x32xf32>, %y: memref<32x32xf32>) {
  %a = memref.alloc() : memref<32x32xf32>
  memref.copy %x, %a : memref<32x32xf32> to memref<32x32xf32>
  %b = memref.alloc() : memref<32x32xf32>
  memref.copy %a, %b : memref<32x32xf32> to memref<32x32xf32>
  memref.dealloc %a : memref<32x32xf32>
  %c = memref.alloc() : memref<32x32xf32>
  memref.copy %b, %c : memref<32x32xf32> to memref<32x32xf32>
  memref.dealloc %b : memref<32x32xf32>
  memref.copy %c, %y : memref<32x32xf32> to memref<32x32xf32>
  memref.dealloc %c : memref<32x32xf32>
  return
}

// A buffer that is returned is not this function's to plan.
// CHECK-LABEL: func.func @escapes
// CHECK: memref.alloc() : memref<4xf32>
// CHECK-NOT: memref.view
func.func @escapes() -> memref<4xf32> {
  %a = memref.alloc() : memref<4xf32>
  return %a : memref<4xf32>
}
