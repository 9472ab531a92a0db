// RUN: kiln-opt %s -split-input-file -verify-diagnostics -kiln-gpu-merge-modules | FileCheck %s

// Two outlined kernels (each in its own gpu.module, as gpu-kernel-outlining
// leaves them, both functions named alike) end in one gpu.module under
// their modules' names, and the launches follow them.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: func.func @entry
// CHECK: gpu.launch_func  @kiln_kernels::@entry_kernel blocks
// CHECK: gpu.launch_func  @kiln_kernels::@entry_kernel_0 blocks
// CHECK: gpu.module @kiln_kernels {
// CHECK: gpu.func @entry_kernel(
// CHECK: gpu.func @entry_kernel_0(
// CHECK-NOT: gpu.module
module attributes {gpu.container_module} {
  func.func @entry(%a: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @entry_kernel::@entry_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    gpu.launch_func @entry_kernel_0::@entry_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    return
  }
  gpu.module @entry_kernel {
    gpu.func @entry_kernel(%a: memref<4xf32>) kernel {
      gpu.return
    }
  }
  gpu.module @entry_kernel_0 {
    gpu.func @entry_kernel(%a: memref<4xf32>) kernel {
      gpu.return
    }
  }
}

// -----

// expected-error @+1 {{the module already has a symbol 'kiln_kernels'}}
module attributes {gpu.container_module} {
  func.func @kiln_kernels() {
    return
  }
  gpu.module @k {
    gpu.func @k() kernel {
      gpu.return
    }
  }
}
