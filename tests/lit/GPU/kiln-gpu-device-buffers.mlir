// RUN: kiln-opt %s -split-input-file -verify-diagnostics -kiln-gpu-device-buffers | FileCheck %s

// The host code's temporaries are allocated on the GPU by Kiln's CUDA
// runtime: the generic allocation functions are renamed, calls with them.
// CHECK-LABEL: module
// CHECK: llvm.func @kiln_cuda_alloc(i64) -> !llvm.ptr
// CHECK: llvm.func @kiln_cuda_free(!llvm.ptr)
// CHECK: llvm.func @step
// CHECK: llvm.call @kiln_cuda_alloc(%{{.*}}) : (i64) -> !llvm.ptr
// CHECK: llvm.call @kiln_cuda_free(%{{.*}}) : (!llvm.ptr) -> ()
// CHECK-NOT: _mlir_memref_to_llvm
module {
  llvm.func @_mlir_memref_to_llvm_alloc(i64) -> !llvm.ptr
  llvm.func @_mlir_memref_to_llvm_free(!llvm.ptr)
  llvm.func @step(%n: i64) {
    %p = llvm.call @_mlir_memref_to_llvm_alloc(%n) : (i64) -> !llvm.ptr
    llvm.call @_mlir_memref_to_llvm_free(%p) : (!llvm.ptr) -> ()
    llvm.return
  }
}

// -----

// A definition of its own is not the runtime's: an error.
module {
  // expected-error @below {{kiln-gpu-device-buffers: '_mlir_memref_to_llvm_alloc' is defined here; it must be the runtime's}}
  llvm.func @_mlir_memref_to_llvm_alloc(%n: i64) -> !llvm.ptr {
    %p = llvm.mlir.zero : !llvm.ptr
    llvm.return %p : !llvm.ptr
  }
}
