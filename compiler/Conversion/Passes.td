//===- Passes.td - Conversions between Kiln's dialects and upstream -------===//

#ifndef KILN_CONVERSION_PASSES
#define KILN_CONVERSION_PASSES

include "mlir/Pass/PassBase.td"

def ConvertGraphToLinalg : Pass<"convert-graph-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lowers graph ops and kernel library calls to linalg on tensors";
  let description = [{
    Every graph op becomes linalg.generic ops (and tensor ops for views and
    padding) on tensors with static shapes; `kernel.matmul` and
    `kernel.conv2d` become the same contraction plus one epilogue generic
    (the generated path; float64 always takes it). Run after
    `kernel-outline`, so each kernel is a function of its own.

    Before:
    ```mlir
    %0 = graph.relu %x : tensor<4x8xf32>
    ```
    After:
    ```mlir
    %e = tensor.empty() : tensor<4x8xf32>
    %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
    ^bb0(%a: f32, %o: f32):
      %z = arith.constant 0.0 : f32
      %r = arith.maximumf %a, %z : f32
      linalg.yield %r : f32
    } -> tensor<4x8xf32>
    ```
  }];
  let options = [
    Option<"libraryCalls", "library-calls", "bool", /*default=*/"true",
           "Lower float32 kernel.matmul / kernel.conv2d to oneDNN-backed "
           "runtime calls (off: generated code)">,
    Option<"cuda", "cuda", "bool", /*default=*/"false",
           "Library calls are the CUDA runtime's: float32 kernel.matmul "
           "on cuBLASLt, with its bias, residual and ReLU; channels-first "
           "convolutions on cuDNN; recurrences and other epilogues are "
           "generated code">,
    Option<"fusedAttention", "fused-attention", "bool", /*default=*/"false",
           "graph.attention and graph.attention_grad become kiln.attention_* "
           "calls that kiln-expand-attention writes as loop nests over rows "
           "(off: scores and probabilities as tensors; attention_grad must "
           "be decomposed before)">,
    Option<"gpuMath", "gpu-math", "std::string", /*default=*/"\"fp32\"",
           "With cuda: how cuBLASLt and cuDNN compute float32 (fp32, tf32 "
           "or bf16)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect", "::kiln::kernel::KernelDialect"];
}

def ConvertLibraryCalls : Pass<"convert-library-calls", "::mlir::ModuleOp"> {
  let summary = "Turns bufferized kernel.library_call ops into C calls";
  let description = [{
    After bufferization, each `kernel.library_call` on memrefs becomes a
    `func.call` of its runtime function with plain C arguments: the data
    pointer of each operand (base plus offset; contiguous copies are made of
    strided inputs), null for absent slots, then int64 and double scalars.
    The callee is declared once per module.

    ```mlir
    %p = memref.extract_aligned_pointer_as_index %x : memref<64x3136xf32> -> index
    ...
    call @kiln_matmul_f32(%px, %pw, %pb, %c0, %pr, %c64, ...) : (i64, ..., f64) -> ()
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
    "::mlir::memref::MemRefDialect"];
}

#endif // KILN_CONVERSION_PASSES
