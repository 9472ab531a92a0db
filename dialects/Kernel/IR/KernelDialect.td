//===- KernelDialect.td - The kernel dialect ------------------------------===//

#ifndef KILN_KERNEL_DIALECT
#define KILN_KERNEL_DIALECT

include "mlir/IR/OpBase.td"
include "mlir/IR/EnumAttr.td"

def Kernel_Dialect : Dialect {
  let name = "kernel";
  let cppNamespace = "::kiln::kernel";
  let summary = "Fused kernels and library calls: what code generation sees";
  let description = [{
    A function in the `kernel` dialect is a sequence of kernels: each
    `kernel.fused` region is one loop nest after lowering (its body holds the
    `graph` ops it fuses, with explicit inputs and outputs), and each
    `kernel.matmul` / `kernel.conv2d` is one library call with its epilogue
    (bias, residual add, activation). Target-neutral: the CPU and GPU paths
    share these fusion decisions.
  }];
  let usePropertiesForAttributes = 0;
  let dependentDialects = ["::kiln::graph::GraphDialect"];
}

// The epilogue activation of kernel.matmul and kernel.conv2d is the graph
// dialect's Graph_Activation: graph ops name the activation they become.

class Kernel_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kernel_Dialect, mnemonic, traits>;

#endif // KILN_KERNEL_DIALECT
