//===- Passes.td - Code generation passes for --target=cuda ---------------===//
//
// Included from compiler/Codegen/Passes.td, which mlir-tblgen runs on.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_GPU_PASSES
#define KILN_CODEGEN_GPU_PASSES

include "mlir/Pass/PassBase.td"

def KilnGpuMapLoops : Pass<"kiln-gpu-map-loops", "::mlir::func::FuncOp"> {
  let summary = "Turns the bufferized linalg ops of a function into parallel loops shaped for GPU blocks and threads";
  let description = [{
    On bufferized code, before scf.parallel loops become `gpu.launch`:
    `memref.copy` becomes `linalg.copy`, and every linalg op becomes a
    parallel loop nest (its parallel dimensions in one `scf.parallel`, its
    reductions sequential loops inside). The parallel dimensions of each
    outermost nest are collapsed into one, which is tiled into blocks of up
    to `threads-per-block` threads, the tiles becoming the grid:
    consecutive threads take consecutive innermost elements, so loads and
    stores coalesce.
    Reductions along rows: a generic whose one reduction is its innermost
    loop, over at least `block-reduction-min-length` elements that every
    input reading along it holds contiguously, each output's update one
    combiner the GPU's all-reduce knows (sum, product, min, max), runs one
    block per row. The block's threads (a multiple of 32, up to
    `threads-per-block`, about a quarter of the row) stride along the row,
    consecutive threads reading consecutive elements, each combining its
    own partial value from the combiner's identity; `gpu.all_reduce`
    (warp shuffles, then shared memory across warps) combines the partial
    values, and thread 0 combines the result into the output.
    Row programs come first: a run of ops in one block (`memref.copy`
    counted as `linalg.copy`, pure ops such as views between them allowed)
    that all work on the same rows, at least one of them such a reduction,
    becomes one kernel of one block per row (RowPrograms.cpp). Its ops are
    stages the block's threads take in turn, each thread at the same
    elements of the row in every stage: reductions (a strided partial
    value, then `gpu.all_reduce`, whose result every thread keeps as a
    register), maps over the row's elements (loads and stores; the row's
    registers read with no load), and per-row formulas every thread
    computes into a register. The run may only read a row it writes at the
    elements it wrote, and its buffers may not share bytes (the memory
    plan's reuse, a view of another): blocks are at different ops at once.
    Runs that break either rule, and reductions to one value, are not
    programs. Thread 0 stores the registers at the end. A softmax
    (two fills, maximum, exponentials, sum, division) and a layer norm are
    one kernel each, reading their input once from memory.
    Work that no parallel loop covers (a reduction to one value: loops of
    loads and stores outside any `scf.parallel`) is wrapped in a one-thread
    parallel loop, so that no load or store of a buffer is left to the
    host. `gpu-map-parallel-loops` then maps the outer loop to blocks and
    the inner one to threads.

    Before:
    ```mlir
    linalg.generic {iterator_types = ["parallel", "parallel"]}
        ins(%a : memref<64x1000xf32>) outs(%b : memref<64x1000xf32>) { ... }
    ```
    After:
    ```mlir
    scf.parallel (%b) = (%c0) to (%c64000) step (%c256) {
      scf.parallel (%t) = (%c0) to (min(256, 64000 - %b)) ... {
        ...
      }
    }
    ```
  }];
  let options = [
    Option<"threadsPerBlock", "threads-per-block", "int64_t", /*default=*/"256",
           "Threads per block">,
    Option<"blockReductionMinLength", "block-reduction-min-length", "int64_t",
           /*default=*/"64",
           "Rows at least this long are reduced by a block of threads each "
           "(0: every row by one thread)">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::memref::MemRefDialect"];
}

def KilnGpuAlignVectors : Pass<"kiln-gpu-align-vectors", "::mlir::gpu::GPUModuleOp"> {
  let summary = "States the 16-byte alignment of the kernels' vector accesses";
  let description = [{
    Runs on the kernels after convert-gpu-to-nvvm, which gives a vector
    load or store its element's alignment (4 bytes for `vector<4xf32>`),
    so that the NVPTX back end would split it into four scalar accesses.
    The kernels' only vector accesses are kiln-gpu-map-loops' elementwise
    ones, made where the host checked that every buffer they touch is
    16-byte aligned: each 16-byte `llvm.load` and `llvm.store` gets
    `alignment = 16` and becomes one `ld.global.v4` / `st.global.v4`.

    ```mlir
    %v = llvm.load %p {alignment = 4 : i64} : !llvm.ptr -> vector<4xf32>
    // becomes
    %v = llvm.load %p {alignment = 16 : i64} : !llvm.ptr -> vector<4xf32>
    ```
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def KilnGpuMergeModules : Pass<"kiln-gpu-merge-modules", "::mlir::ModuleOp"> {
  let summary = "Moves every outlined GPU kernel into one gpu.module";
  let description = [{
    After `gpu-kernel-outlining`, which makes a `gpu.module` per kernel:
    every kernel moves into one `gpu.module @kiln_kernels` under its
    module's (unique) name, and each `gpu.launch_func` is pointed at it, so
    an artefact carries one PTX module, loaded once.
  }];
}

def KilnGpuDeviceBuffers : Pass<"kiln-gpu-device-buffers", "::mlir::ModuleOp"> {
  let summary = "The host code's buffers are allocated on the GPU";
  let description = [{
    After `finalize-memref-to-llvm` with generic allocation functions, on
    the host code of `--target=cuda`: the buffers an entry point allocates
    (temporaries between kernels) live in the GPU's memory, so the calls of
    `_mlir_memref_to_llvm_alloc`, `_mlir_memref_to_llvm_aligned_alloc` and
    `_mlir_memref_to_llvm_free` become calls of Kiln's CUDA runtime
    (`kiln_cuda_alloc`, `kiln_cuda_aligned_alloc`, `kiln_cuda_free`),
    which allocate in stream order on the artefact's stream. The numerics
    checks' `kiln_check_finite_f32/f64`, which would scan host memory,
    become `kiln_cuda_check_finite_f32/f64`, which copy the kernel's output
    from the GPU first (only while `--check-numerics` is on).
  }];
}

#endif // KILN_CODEGEN_GPU_PASSES
