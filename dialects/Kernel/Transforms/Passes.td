//===- Passes.td - Passes on the kernel dialect ---------------------------===//

#ifndef KILN_KERNEL_PASSES
#define KILN_KERNEL_PASSES

include "mlir/Pass/PassBase.td"

def KernelOutline : Pass<"kernel-outline", "::mlir::ModuleOp"> {
  let summary = "Outlines every kernel.fused region into a private function";
  let description = [{
    Each `kernel.fused` becomes a private `func.func` named after its entry
    point, its position and its kind, called from where it stood. Lowering
    and code generation then treat one function as one kernel: linalg fusion
    inside it cannot cross into a neighbouring kernel. The call records
    where each result comes from (`kernel.origins`: op, module path, source
    line), for messages about its values.

    Before:
    ```mlir
    func.func @forward(%x: tensor<4xf32>) -> tensor<4xf32> {
      %0 = kernel.fused "elementwise" (%x) : (tensor<4xf32>) -> tensor<4xf32> {
      ^bb0(%a: tensor<4xf32>):
        %1 = graph.exp %a : tensor<4xf32>
        kernel.yield %1 : tensor<4xf32>
      }
      return %0 : tensor<4xf32>
    }
    ```
    After:
    ```mlir
    func.func @forward(%x: tensor<4xf32>) -> tensor<4xf32> {
      %0 = call @forward_kernel0_elementwise(%x) {kernel.origins = ["graph.exp"]}
          : (tensor<4xf32>) -> tensor<4xf32>
      return %0 : tensor<4xf32>
    }
    func.func private @forward_kernel0_elementwise(%a: tensor<4xf32>) -> tensor<4xf32>
        attributes {kernel.kind = "elementwise"} {
      %1 = graph.exp %a : tensor<4xf32>
      return %1 : tensor<4xf32>
    }
    ```
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

#endif // KILN_KERNEL_PASSES
