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

def Kernel_Activation : I64EnumAttr<"Activation",
    "activation applied in a library call's epilogue", [
  I64EnumAttrCase<"none", 0>, I64EnumAttrCase<"relu", 1>,
  I64EnumAttrCase<"leaky_relu", 2>, I64EnumAttrCase<"gelu", 3>,
  I64EnumAttrCase<"silu", 4>, I64EnumAttrCase<"sigmoid", 5>,
  I64EnumAttrCase<"tanh", 6>]> {
  let cppNamespace = "::kiln::kernel";
}

class Kernel_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kernel_Dialect, mnemonic, traits>;

#endif // KILN_KERNEL_DIALECT
