// RUN: kiln-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(kiln-insert-numerics-checks)' | FileCheck %s

// One private constant global per origin text, NUL-terminated:
// "graph.relu in m", "graph.relu in n", "graph.sub in update of w" and
// "matmul (oneDNN) in fc1 at m.py:7".
// CHECK-DAG: memref.global "private" constant @[[RELU:kiln_origin[_0-9]*]] : memref<16xi8> = dense<[103, 114, 97, 112, 104, 46, 114, 101, 108, 117, 32, 105, 110, 32, 109, 0]>
// CHECK-DAG: memref.global "private" constant @[[RELUN:kiln_origin[_0-9]*]] : memref<16xi8> = dense<[103, 114, 97, 112, 104, 46, 114, 101, 108, 117, 32, 105, 110, 32, 110, 0]>
// CHECK-DAG: memref.global "private" constant @[[SUB:kiln_origin[_0-9]*]] : memref<25xi8> = dense<[103, 114, 97, 112, 104, 46, 115, 117, 98, 32, 105, 110, 32, 117, 112, 100, 97, 116, 101, 32, 111, 102, 32, 119, 0]>
// CHECK-DAG: memref.global "private" constant @[[MATMUL:kiln_origin[_0-9]*]] : memref<33xi8> = dense<[109, 97, 116, 109, 117, 108, 32, 40, 111, 110, 101, 68, 78, 78, 41, 32, 105, 110, 32, 102, 99, 49, 32, 97, 116, 32, 109, 46, 112, 121, 58, 55, 0]>
// CHECK-NOT: memref.global

// Each call of a kernel reports its outputs (its last operands, one per
// kernel.origins entry) right after it, with their element counts: two
// calls of one kernel report under their own origins.
// CHECK-LABEL: func.func @run
// CHECK-SAME: (%[[X:[^:]*]]: memref<2x3xf32>, %[[O:[^:]*]]: memref<2x3xf32>, %[[W:[^:]*]]: memref<4xf64>, %[[A:[^:]*]]: memref<4xf64>, %[[B:[^:]*]]: memref<4xi64>, %[[D:[^:]*]]: memref<?xf32>, %[[S:[^:]*]]: memref<4xf32, strided<[2]>>)
// CHECK-NEXT: call @relu(%[[X]], %[[O]])
// CHECK-NEXT: %[[T:.*]] = memref.get_global @[[RELU]] : memref<16xi8>
// CHECK-NEXT: kernel.library_call "kiln_check_finite_f32" ins(%[[O]], %[[T]] : memref<2x3xf32>, memref<16xi8>) outs() {floats = array<f64>, ints = array<i64: 6>, slots = array<i64: 0, 1>}
// CHECK-NEXT: call @relu(%[[O]], %[[X]])
// CHECK-NEXT: %[[TN:.*]] = memref.get_global @[[RELUN]] : memref<16xi8>
// CHECK-NEXT: kernel.library_call "kiln_check_finite_f32" ins(%[[X]], %[[TN]] : memref<2x3xf32>, memref<16xi8>)
// f64 outputs use the f64 scan and share the global of an equal origin;
// integer outputs are not scanned; an argument written in place
// (kernel.updated_origins) is scanned too.
// CHECK-NEXT: call @mixed(%[[W]], %[[A]], %[[B]])
// CHECK-NEXT: %[[T0:.*]] = memref.get_global @[[RELU]] : memref<16xi8>
// CHECK-NEXT: kernel.library_call "kiln_check_finite_f64" ins(%[[A]], %[[T0]] : memref<4xf64>, memref<16xi8>) outs() {floats = array<f64>, ints = array<i64: 4>, slots = array<i64: 0, 1>}
// CHECK-NEXT: %[[T1:.*]] = memref.get_global @[[SUB]] : memref<25xi8>
// CHECK-NEXT: kernel.library_call "kiln_check_finite_f64" ins(%[[W]], %[[T1]] : memref<4xf64>, memref<25xi8>) outs() {floats = array<f64>, ints = array<i64: 4>, slots = array<i64: 0, 1>}
// Outputs without a static shape or with a non-identity layout are skipped;
// a call without kernel.origins is not a kernel's.
// CHECK-NEXT: call @skipped(%[[D]], %[[S]])
// CHECK-NEXT: call @helper(%[[X]])
// CHECK-NEXT: return
func.func private @relu(%x: memref<2x3xf32>, %out: memref<2x3xf32>) {
  memref.copy %x, %out : memref<2x3xf32> to memref<2x3xf32>
  return
}
func.func private @mixed(%w: memref<4xf64>, %a: memref<4xf64>, %b: memref<4xi64>) {
  return
}
func.func private @skipped(%d: memref<?xf32>, %s: memref<4xf32, strided<[2]>>) {
  return
}
func.func private @helper(%x: memref<2x3xf32>) {
  return
}
func.func @run(%x: memref<2x3xf32>, %o: memref<2x3xf32>, %w: memref<4xf64>, %a: memref<4xf64>, %b: memref<4xi64>, %d: memref<?xf32>, %s: memref<4xf32, strided<[2]>>) {
  call @relu(%x, %o) {kernel.origins = ["graph.relu in m"]} : (memref<2x3xf32>, memref<2x3xf32>) -> ()
  call @relu(%o, %x) {kernel.origins = ["graph.relu in n"]} : (memref<2x3xf32>, memref<2x3xf32>) -> ()
  call @mixed(%w, %a, %b) {kernel.origins = ["graph.relu in m", "graph.argmax in m"], kernel.updated_origins = [[0, "graph.sub in update of w"]]} : (memref<4xf64>, memref<4xf64>, memref<4xi64>) -> ()
  call @skipped(%d, %s) {kernel.origins = ["dynamic", "strided"]} : (memref<?xf32>, memref<4xf32, strided<[2]>>) -> ()
  call @helper(%x) : (memref<2x3xf32>) -> ()
  return
}

// A library call's outputs are reported right after it, named after the
// call and its location; a library call without outputs is not checked.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[FX:.*]]: memref<2x4xf32>, %[[FW:.*]]: memref<4x4xf32>, %[[FY:.*]]: memref<2x4xf32>)
// CHECK-NEXT: kernel.library_call "kiln_matmul_f32" ins(%[[FX]], %[[FW]] : memref<2x4xf32>, memref<4x4xf32>) outs(%[[FY]] : memref<2x4xf32>)
// CHECK-NEXT: %[[T2:.*]] = memref.get_global @[[MATMUL]] : memref<33xi8>
// CHECK-NEXT: kernel.library_call "kiln_check_finite_f32" ins(%[[FY]], %[[T2]] : memref<2x4xf32>, memref<33xi8>) outs() {floats = array<f64>, ints = array<i64: 8>, slots = array<i64: 0, 1>}
// CHECK-NEXT: kernel.library_call "kiln_sink" ins(%[[FY]] : memref<2x4xf32>) outs()
// CHECK-NEXT: return
func.func @forward(%x: memref<2x4xf32>, %w: memref<4x4xf32>, %y: memref<2x4xf32>) {
  kernel.library_call "kiln_matmul_f32" ins(%x, %w : memref<2x4xf32>, memref<4x4xf32>) outs(%y : memref<2x4xf32>) {floats = array<f64: 0.000000e+00>, ints = array<i64: 2, 4, 4, 0, 0, 0>, slots = array<i64: 0, 1, -1, -1>} loc("fc1"("m.py":7:1))
  kernel.library_call "kiln_sink" ins(%y : memref<2x4xf32>) outs() {floats = array<f64>, ints = array<i64>, slots = array<i64: 0>}
  return
}

// -----

func.func private @k(%out: memref<4xf32>) {
  return
}
func.func @bad(%out: memref<4xf32>) {
  // expected-error @+1 {{kernel.origins names 2 outputs, but the call has 1 operands}}
  call @k(%out) {kernel.origins = ["a", "b"]} : (memref<4xf32>) -> ()
  return
}
