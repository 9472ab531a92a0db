// RUN: kiln-opt %s -kiln-record-manifest | FileCheck %s --check-prefix=MANIFEST
// RUN: kiln-opt %s -kiln-record-manifest -kiln-strip-graph-attrs | FileCheck %s --check-prefix=STRIP
// RUN: kiln-opt %s --kiln-graph-to-kernel --kiln-kernel-to-linalg --kiln-linalg-to-llvm | FileCheck %s --check-prefix=ABI

// The manifest records names, kinds, dtypes and shapes before lowering.
// MANIFEST: module @net attributes {kiln.manifest = "{\22version\22: 1, \22model\22: \22net\22, \22entries\22: [{\22name\22: \22forward\22, \22arguments\22: [{\22name\22: \22w\22, \22kind\22: \22parameter\22, \22dtype\22: \22f32\22, \22shape\22: [4]}, {\22name\22: \22x\22, \22kind\22: \22input\22, \22dtype\22: \22f32\22, \22shape\22: [2, 4]}], \22results\22: [{\22name\22: \22y\22, \22dtype\22: \22f32\22, \22shape\22: [2, 4]}]}]}"}

// STRIP: func.func @forward(%arg0: tensor<4xf32>, %arg1: tensor<2x4xf32>) -> tensor<2x4xf32>

// The artefact interface: a typed entry symbol, its packed wrapper, tables.
// ABI: llvm.func @net_forward(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// ABI: llvm.func internal @kiln_packed_net_forward(%[[ARGS:.*]]: !llvm.ptr)
// ABI: llvm.getelementptr %[[ARGS]][2] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// ABI: llvm.call @net_forward(
// ABI: llvm.func @kiln_manifest() -> !llvm.ptr
// ABI: llvm.func @kiln_num_entries() -> i64
// ABI: llvm.mlir.global internal constant @kiln_entry_records() {{.*}} : !llvm.array<1 x struct<(ptr, ptr)>>
// ABI: llvm.func @kiln_entry_table() -> !llvm.ptr
module @net {
  func.func @forward(%w: tensor<4xf32> {graph.param = "w"}, %x: tensor<2x4xf32> {graph.input = "x"}) -> (tensor<2x4xf32> {graph.output = "y"}) {
    %0 = graph.mul %x, %w : tensor<2x4xf32>, tensor<4xf32>
    return %0 : tensor<2x4xf32>
  }
}
