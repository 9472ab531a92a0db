// RUN: kiln-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(kiln-byte-booleans)' | FileCheck %s

// Vector loads and stores of booleans read and write one byte per element;
// other vectors and scalar booleans are left alone.
// CHECK-LABEL: llvm.func @masks
// CHECK-SAME: (%[[P:.*]]: !llvm.ptr, %[[Q:.*]]: !llvm.ptr)
// CHECK-NEXT: %[[B:.*]] = llvm.load %[[P]] {alignment = 1 : i64} : !llvm.ptr -> vector<16xi8>
// CHECK-NEXT: %[[M:.*]] = llvm.trunc %[[B]] : vector<16xi8> to vector<16xi1>
// CHECK-NEXT: %[[F:.*]] = llvm.load %[[Q]] : !llvm.ptr -> vector<16xf32>
// CHECK-NEXT: %[[S:.*]] = llvm.load %[[P]] : !llvm.ptr -> i1
// CHECK-NEXT: %[[W:.*]] = llvm.zext %[[M]] : vector<16xi1> to vector<16xi8>
// CHECK-NEXT: llvm.store %[[W]], %[[P]] {alignment = 1 : i64} : vector<16xi8>, !llvm.ptr
// CHECK-NEXT: llvm.store %[[F]], %[[Q]] : vector<16xf32>, !llvm.ptr
// CHECK-NEXT: llvm.store %[[S]], %[[P]] : i1, !llvm.ptr
llvm.func @masks(%p: !llvm.ptr, %q: !llvm.ptr) {
  %m = llvm.load %p : !llvm.ptr -> vector<16xi1>
  %f = llvm.load %q : !llvm.ptr -> vector<16xf32>
  %s = llvm.load %p : !llvm.ptr -> i1
  llvm.store %m, %p : vector<16xi1>, !llvm.ptr
  llvm.store %f, %q : vector<16xf32>, !llvm.ptr
  llvm.store %s, %p : i1, !llvm.ptr
  llvm.return
}

// -----

// A masked load of float data (its mask is an i1 vector) is fine.
// CHECK-LABEL: llvm.func @masked_floats
// CHECK: llvm.intr.masked.load
llvm.func @masked_floats(%p: !llvm.ptr, %m: vector<16xi1>, %pass: vector<16xf32>) -> vector<16xf32> {
  %v = llvm.intr.masked.load %p, %m, %pass {alignment = 4 : i32} : (!llvm.ptr, vector<16xi1>, vector<16xf32>) -> vector<16xf32>
  llvm.return %v : vector<16xf32>
}

// -----

// A masked load of boolean data cannot be read bytewise here: an error.
llvm.func @masked_booleans(%p: !llvm.ptr, %m: vector<16xi1>) -> vector<16xi1> {
  // expected-error @+1 {{kiln-byte-booleans: masked or gathered access to a boolean buffer}}
  %v = llvm.intr.masked.load %p, %m, %m {alignment = 1 : i32} : (!llvm.ptr, vector<16xi1>, vector<16xi1>) -> vector<16xi1>
  llvm.return %v : vector<16xi1>
}
