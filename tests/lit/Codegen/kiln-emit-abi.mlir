// RUN: kiln-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(kiln-emit-abi)' | FileCheck %s

// Two entry points, forward(w, x) -> y and loss(x) -> loss, in model @net.
// The manifest attribute is consumed.
// CHECK-LABEL: module @net {
// Per-call-site declarations of a runtime function merge into one symbol.
// CHECK-NEXT: llvm.func @kiln_parallel_for(!llvm.ptr, i64)
// External declarations keep their linkage.
// CHECK-NEXT: llvm.func @malloc(i64) -> !llvm.ptr
// Defined functions other than entry points become internal.
// CHECK-NEXT: llvm.func internal @body(
// Entry points are renamed <model>_<entry>, uses included.
// CHECK: llvm.func @net_forward(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr) {
// CHECK: llvm.call @kiln_parallel_for(%{{.*}}, %{{.*}}) : (!llvm.ptr, i64) -> ()
// CHECK-NEXT: llvm.call @kiln_parallel_for(%{{.*}}, %{{.*}}) : (!llvm.ptr, i64) -> ()
// CHECK: llvm.func @net_loss(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr) {
// CHECK-NEXT: llvm.call @net_forward(
// Each entry gets a packed wrapper: args[i] points at argument i, then
// at each result.
// CHECK: llvm.func internal @kiln_packed_net_forward(%[[ARGS:.*]]: !llvm.ptr) {
// CHECK-NEXT: %[[S0:.*]] = llvm.getelementptr %[[ARGS]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK-NEXT: %[[P0:.*]] = llvm.load %[[S0]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT: %[[S1:.*]] = llvm.getelementptr %[[ARGS]][1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK-NEXT: %[[P1:.*]] = llvm.load %[[S1]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT: %[[S2:.*]] = llvm.getelementptr %[[ARGS]][2] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK-NEXT: %[[P2:.*]] = llvm.load %[[S2]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT: llvm.call @net_forward(%[[P0]], %[[P1]], %[[P2]]) : (!llvm.ptr, !llvm.ptr, !llvm.ptr) -> ()
// CHECK-NEXT: llvm.return
// CHECK: llvm.mlir.global internal constant @kiln_entry_name_0("forward\00")
// CHECK: llvm.func internal @kiln_packed_net_loss(%{{.*}}: !llvm.ptr) {
// CHECK: llvm.call @net_loss(%{{.*}}, %{{.*}}) : (!llvm.ptr, !llvm.ptr) -> ()
// CHECK: llvm.mlir.global internal constant @kiln_entry_name_1("loss\00")
// The manifest text, NUL-terminated, and its accessor.
// CHECK: llvm.mlir.global internal constant @kiln_manifest_text("{\22version\22: 1, \22model\22: \22net\22, {{.*}}\00")
// CHECK: llvm.func @kiln_manifest() -> !llvm.ptr {
// CHECK-NEXT: %[[M:.*]] = llvm.mlir.addressof @kiln_manifest_text : !llvm.ptr
// CHECK-NEXT: llvm.return %[[M]] : !llvm.ptr
// CHECK: llvm.func @kiln_num_entries() -> i64 {
// CHECK-NEXT: %[[N:.*]] = llvm.mlir.constant(2 : i64) : i64
// CHECK-NEXT: llvm.return %[[N]] : i64
// The entry table: {name, packed function} per entry.
// CHECK: llvm.mlir.global internal constant @kiln_entry_records() {{.*}} : !llvm.array<2 x struct<(ptr, ptr)>> {
// CHECK-NEXT: %[[U:.*]] = llvm.mlir.undef : !llvm.array<2 x struct<(ptr, ptr)>>
// CHECK-NEXT: %[[N0:.*]] = llvm.mlir.addressof @kiln_entry_name_0 : !llvm.ptr
// CHECK-NEXT: %[[F0:.*]] = llvm.mlir.addressof @kiln_packed_net_forward : !llvm.ptr
// CHECK-NEXT: %[[V0:.*]] = llvm.insertvalue %[[N0]], %[[U]][0, 0]
// CHECK-NEXT: %[[V1:.*]] = llvm.insertvalue %[[F0]], %[[V0]][0, 1]
// CHECK-NEXT: %[[N1:.*]] = llvm.mlir.addressof @kiln_entry_name_1 : !llvm.ptr
// CHECK-NEXT: %[[F1:.*]] = llvm.mlir.addressof @kiln_packed_net_loss : !llvm.ptr
// CHECK-NEXT: %[[V2:.*]] = llvm.insertvalue %[[N1]], %[[V1]][1, 0]
// CHECK-NEXT: %[[V3:.*]] = llvm.insertvalue %[[F1]], %[[V2]][1, 1]
// CHECK-NEXT: llvm.return %[[V3]]
// CHECK: llvm.func @kiln_entry_table() -> !llvm.ptr {
// CHECK-NEXT: %[[T:.*]] = llvm.mlir.addressof @kiln_entry_records : !llvm.ptr
// CHECK-NEXT: llvm.return %[[T]] : !llvm.ptr
module @net attributes {kiln.manifest = "{\22version\22: 1, \22model\22: \22net\22, \22entries\22: [{\22name\22: \22forward\22, \22arguments\22: [{\22name\22: \22w\22, \22kind\22: \22parameter\22, \22dtype\22: \22f32\22, \22shape\22: [4]}, {\22name\22: \22x\22, \22kind\22: \22input\22, \22dtype\22: \22f32\22, \22shape\22: [2, 4]}], \22results\22: [{\22name\22: \22y\22, \22dtype\22: \22f32\22, \22shape\22: [2, 4]}]}, {\22name\22: \22loss\22, \22arguments\22: [{\22name\22: \22x\22, \22kind\22: \22input\22, \22dtype\22: \22f32\22, \22shape\22: [2, 4]}], \22results\22: [{\22name\22: \22loss\22, \22dtype\22: \22f32\22, \22shape\22: []}]}]}"} {
  llvm.func @kiln_parallel_for.1(!llvm.ptr, i64)
  llvm.func @kiln_parallel_for.2(!llvm.ptr, i64)
  llvm.func @malloc(i64) -> !llvm.ptr
  llvm.func @body(%p: !llvm.ptr) {
    llvm.return
  }
  llvm.func @forward(%w: !llvm.ptr, %x: !llvm.ptr, %y: !llvm.ptr) {
    %f = llvm.mlir.addressof @body : !llvm.ptr
    %n = llvm.mlir.constant(4 : i64) : i64
    llvm.call @kiln_parallel_for.1(%f, %n) : (!llvm.ptr, i64) -> ()
    llvm.call @kiln_parallel_for.2(%f, %n) : (!llvm.ptr, i64) -> ()
    llvm.return
  }
  llvm.func @loss(%x: !llvm.ptr, %l: !llvm.ptr) {
    llvm.call @forward(%x, %x, %x) : (!llvm.ptr, !llvm.ptr, !llvm.ptr) -> ()
    llvm.return
  }
}

// -----

// A module without a name is the model "model".
// CHECK: llvm.func @model_predict(%{{.*}}: !llvm.ptr)
// CHECK: llvm.func internal @kiln_packed_model_predict(
module attributes {kiln.manifest = "{\22version\22: 1, \22model\22: \22model\22, \22entries\22: [{\22name\22: \22predict\22, \22arguments\22: [], \22results\22: [{\22name\22: \22y\22, \22dtype\22: \22f32\22, \22shape\22: [1]}]}]}"} {
  llvm.func @predict(%y: !llvm.ptr) {
    llvm.return
  }
}

// -----

// expected-error @+1 {{no kiln.manifest attribute: run kiln-record-manifest on the graph module}}
module @net {
  llvm.func @forward(%x: !llvm.ptr) {
    llvm.return
  }
}

// -----

// expected-error @+1 {{manifest: version 2 is not supported (this runtime reads version 1)}}
module @net attributes {kiln.manifest = "{\22version\22: 2, \22entries\22: []}"} {
}

// -----

// forward takes one argument and returns one result: two pointers.
// expected-error @+1 {{entry 'forward' of the manifest has no function taking 2 pointers}}
module @net attributes {kiln.manifest = "{\22version\22: 1, \22model\22: \22net\22, \22entries\22: [{\22name\22: \22forward\22, \22arguments\22: [{\22name\22: \22x\22, \22kind\22: \22input\22, \22dtype\22: \22f32\22, \22shape\22: [4]}], \22results\22: [{\22name\22: \22y\22, \22dtype\22: \22f32\22, \22shape\22: [4]}]}]}"} {
  llvm.func @forward(%x: !llvm.ptr) {
    llvm.return
  }
}

// -----

module @net attributes {kiln.manifest = "{\22version\22: 1, \22model\22: \22net\22, \22entries\22: []}"} {
  llvm.func @kiln_parallel_for.1(!llvm.ptr, i64)
  // expected-error @+1 {{declares 'kiln_parallel_for' with another type}}
  llvm.func @kiln_parallel_for.2(!llvm.ptr, i32)
}
