// RUN: kiln-opt %s -pass-pipeline='builtin.module(kiln-align-stream-stores)' | FileCheck %s

// Non-temporal stores of whole lines (64 bytes, or a multiple) get a line's
// alignment; shorter ones, ordinary stores and scalars keep theirs.
// CHECK-LABEL: llvm.func @stores
// CHECK-NEXT: llvm.store %{{.*}}, %{{.*}} {alignment = 64 : i64, nontemporal} : vector<16xf32>, !llvm.ptr
// CHECK-NEXT: llvm.store %{{.*}}, %{{.*}} {alignment = 64 : i64, nontemporal} : vector<64xf32>, !llvm.ptr
// CHECK-NEXT: llvm.store %{{.*}}, %{{.*}} {alignment = 64 : i64, nontemporal} : vector<8xf64>, !llvm.ptr
// CHECK-NEXT: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64, nontemporal} : vector<8xf32>, !llvm.ptr
// CHECK-NEXT: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : vector<16xf32>, !llvm.ptr
// CHECK-NEXT: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64, nontemporal} : f32, !llvm.ptr
llvm.func @stores(%p: !llvm.ptr, %a: vector<16xf32>, %b: vector<64xf32>,
                  %c: vector<8xf64>, %d: vector<8xf32>, %s: f32) {
  llvm.store %a, %p {alignment = 4 : i64, nontemporal} : vector<16xf32>, !llvm.ptr
  llvm.store %b, %p {alignment = 4 : i64, nontemporal} : vector<64xf32>, !llvm.ptr
  llvm.store %c, %p {alignment = 8 : i64, nontemporal} : vector<8xf64>, !llvm.ptr
  llvm.store %d, %p {alignment = 4 : i64, nontemporal} : vector<8xf32>, !llvm.ptr
  llvm.store %a, %p {alignment = 4 : i64} : vector<16xf32>, !llvm.ptr
  llvm.store %s, %p {alignment = 4 : i64, nontemporal} : f32, !llvm.ptr
  llvm.return
}
