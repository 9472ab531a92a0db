//===- Passes.td - Code generation passes ---------------------------------===//
//
// The passes every target runs (elementwise fusion, the manifest, the entry
// points' results, updates and kernels) are defined here; the host's are in
// CPU/Passes.td and --target=cuda's in GPU/Passes.td, beside their sources,
// and included below. mlir-tblgen runs on this file (Passes.h.inc).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_PASSES
#define KILN_CODEGEN_PASSES

include "mlir/Pass/PassBase.td"

def KilnFuseElementwise : Pass<"kiln-fuse-elementwise", "::mlir::func::FuncOp"> {
  let summary = "Fuses elementwise generics and folds reshapes into them, keeping each op's innermost loop at least a vector long";
  let description = [{
    linalg-fuse-elementwise-ops, with one rule more: a `tensor.expand_shape`
    of a structured op's result, or a `tensor.collapse_shape` one reads, is
    folded into the op (expanding its loops) only where that does not split
    the dimension the op walks with its innermost loop into several of size
    above 1, the innermost of them shorter than a vector (16 elements).
    kiln-vectorize makes vectors along that loop, so split it would give
    vectors of a few lanes: group norm's per-channel sums ([N, C], C
    innermost), summed per group as [N, groups, C / groups] with 4 or 8
    channels a group, stay sums over whole rows of channels. Attention's
    [B, T, heads * 16 or more] split per head still folds.

    Kept (the reshape stays, a view after bufferization):
    ```mlir
    %s = linalg.generic {iterator_types = ["parallel", "reduction", "parallel"]}
        ins(%x : tensor<64x784x64xf32>) outs(%acc : tensor<64x64xf32>) ...
    %g = tensor.expand_shape %s [[0], [1, 2]] : tensor<64x64xf32> into tensor<64x8x8xf32>
    ```
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect"
  ];
}

def KilnExpandAttention : Pass<"kiln-expand-attention", "::mlir::func::FuncOp"> {
  let summary = "Writes fused attention's calls as loop nests, one row per iteration";
  let description = [{
    Runs on bufferized code. Each `kernel.library_call` of fused attention
    (`kiln.attention`, `kiln.attention_grad_rows`,
    `kiln.attention_grad_columns`; compiler/Conversion/LibraryCalls.h states
    their operands) becomes an `scf.parallel` over the batch dimensions and
    the rows, whose body recomputes each score `q[i] . k[j] * scale` it needs
    (masked: -inf; causal: the loop over keys stops at the diagonal) and
    keeps what it accumulates along a row in scalars carried by the loop
    (at most 128 at a time; wider rows take several passes over the keys).
    No `[..., Tq, Tk]` buffer exists.

    - `kiln.attention`, per query row i: the maximum m and the sum l of
      `exp(s - m)` in one pass over the keys (l rescaled by `exp(m - m')`
      when the maximum grows), then `out[i] = sum_j exp(s_ij - m) / l v[j]`.
    - `kiln.attention_grad_rows`, per query row: m and l as above,
      `D = out_grad[i] . out[i]`, and
      `q_grad[i] = scale sum_j p_ij (out_grad[i] . v[j] - D) k[j]`;
      `stats[i] = (m, l, D)`.
    - `kiln.attention_grad_columns`, per key row j, over the queries i that
      see it: `v_grad[j] = sum_i p_ij out_grad[i]` and
      `k_grad[j] = scale sum_i p_ij (out_grad[i] . v[j] - D_i) q[i]`, with
      `p_ij = exp(s_ij - m_i) / l_i` from the rows' stats.

    On the GPU, kiln-gpu-map-loops maps the rows to threads: one thread per
    row, its accumulators in registers. On the CPU the loops run in order.

    Before:
    ```mlir
    kernel.library_call "kiln.attention" ins(%q, %k, %v : memref<2x8x4xf32>, memref<2x8x4xf32>, memref<2x8x4xf32>)
        outs(%o : memref<2x8x4xf32>) {slots = array<i64: 0, 1, 2, -1>, ints = array<i64: 1>, floats = array<f64: 0.5>}
    ```
    After (shortened):
    ```mlir
    scf.parallel (%b, %i) = (%c0, %c0) to (%c2, %c8) step (%c1, %c1) {
      %end = arith.minsi %i1, %c8 : index    // causal: keys 0..i
      %m, %l = scf.for %j = %c0 to %end step %c1 iter_args(...) {
        %s = ... q[b, i, :] . k[b, j, :] * 0.5
        ...
      }
      %acc:4 = scf.for %j = %c0 to %end step %c1 iter_args(...) { ... }
      memref.store %acc#0, %o[%b, %i, %c0] : memref<2x8x4xf32>
      ...
    }
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def KilnRecordManifest : Pass<"kiln-record-manifest", "::mlir::ModuleOp"> {
  let summary = "Records the entry points of a graph module as its manifest";
  let description = [{
    Reads every public function (its graph.param / graph.input / graph.output
    names, dtypes and shapes) and stores the manifest JSON in the module
    attribute `kiln.manifest`, where `kiln-emit-abi` finds it after lowering
    has rewritten the signatures.

    After: `module @mlp attributes {kiln.manifest = "{"version": 1, ...}"}`
  }];
}

def KilnCopyReturnedArguments : Pass<"kiln-copy-returned-arguments",
                                     "::mlir::func::FuncOp"> {
  let summary = "Returns a copy where a function would return an argument";
  let description = [{
    After bufferization every result is written to an out-parameter of its
    own; a function that returns one of its arguments (directly, or after an
    identity slice or concat folded away) gets an explicit copy, run just
    before bufferization.

    Before: `return %arg0 : tensor<4xf32>`
    After:
    ```mlir
    %e = tensor.empty() : tensor<4xf32>
    %c = linalg.copy ins(%arg0 : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
    return %c : tensor<4xf32>
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def KilnUpdateInPlace : Pass<"kiln-update-in-place", "::mlir::ModuleOp"> {
  let summary = "Kernels write updated arguments in place";
  let description = [{
    On tensors, before bufferization. In `train_step`, which donates its
    arguments, the kernel computing a result marked `graph.update = "<name>"`
    (a parameter, optimizer state, running statistics) writes it into the
    argument, when the kernel's op writes a fresh tensor: into the kernel's
    own argument holding the old value if the call passes it (the op then
    reads the old value through its init), else into a new destination
    argument. One-shot bufferization then writes the new value into the
    argument's buffer, unless the argument is still read later (then it
    copies, as always). Donated arguments are writable for bufferization,
    all others (and every argument of other entry points) are not. Every
    public function with updated results records which argument each
    updates in `kiln.updates`, for kiln-alias-updated-results. Two results
    updating one argument are an error.

    Before:
    ```mlir
    func.func @train_step(%w: tensor<4xf32> {graph.param = "w"}, ...)
        -> (..., tensor<4xf32> {graph.update = "w"}) {
      %n = call @train_step_kernel3_elementwise(%w, %g) : ...
    func.func private @train_step_kernel3_elementwise(%w: tensor<4xf32>, %g: tensor<4xf32>) -> tensor<4xf32> {
      %e = tensor.empty() : tensor<4xf32>
      %r = linalg.generic ... ins(%w, %g : ...) outs(%e : tensor<4xf32>) {
      ^bb0(%old: f32, %grad: f32, %out: f32): ... uses %old ...
    ```
    After: the generic writes the kernel's argument `%w` and reads the old
    value through its init:
    ```mlir
      %r = linalg.generic ... ins(%g : ...) outs(%w : tensor<4xf32>) {
      ^bb0(%grad: f32, %old: f32): ...
    ```
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect"];
}

def KilnDropReturnedArguments : Pass<"kiln-drop-returned-arguments",
                                     "::mlir::ModuleOp"> {
  let summary = "Private functions stop returning their own memref arguments";
  let description = [{
    After one-shot bufferization: a private function (a kernel) that returns
    one of its memref arguments, as a kernel writing a destination argument
    in place does, no longer returns it; its callers use the argument they
    passed. So no out-parameter and no copy are made for it.

    Before:
    ```mlir
    func.func private @k(%x: memref<4xf32>, %d: memref<4xf32>) -> memref<4xf32> {
      ... writes %d ...
      return %d : memref<4xf32>
    }
    %r = call @k(%x, %w) : (memref<4xf32>, memref<4xf32>) -> memref<4xf32>
    ```
    After: `func.func private @k(%x, %d) { ... return }`, `call @k(%x, %w)`,
    and uses of `%r` use `%w`. On each call, the entry of `kernel.origins`
    of a dropped result moves to `kernel.updated_origins` as [argument
    index, origin], so numerics checks still scan it.

    Public functions (entry points) keep their results; one that returns an
    argument returns a `memref.cast` of it instead, which
    buffer-results-to-out-params copies into the out-parameter (with
    hoist-static-allocs it fails on a returned block argument).
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def KilnDedupKernels : Pass<"kiln-dedup-kernels", "::mlir::ModuleOp"> {
  let summary = "Kernels with equal bodies become one function";
  let description = [{
    After kernel-outline and the lowering to linalg: private kernel
    functions (marked `kernel.kind`) whose types, attributes and bodies are
    equal merge into the first of them, and every call calls it. Repeated
    blocks (a Transformer's layers, a ResNet's stages) and the entry points
    that repeat each other (loss, grad and train_step all run the forward
    pass) then compile each kernel once: a GPT's 597 kernels are 42
    functions. Calls keep their own `kernel.origins`.

    Before:
    ```mlir
    func.func private @forward_kernel0_elementwise(%a: tensor<4xf32>) -> tensor<4xf32> { <body> }
    func.func private @forward_kernel3_elementwise(%a: tensor<4xf32>) -> tensor<4xf32> { <same body> }
    %0 = call @forward_kernel0_elementwise(%x) {kernel.origins = ["graph.gelu in blocks.0.mlp"]}
    %1 = call @forward_kernel3_elementwise(%y) {kernel.origins = ["graph.gelu in blocks.1.mlp"]}
    ```
    After: one function, `@forward_kernel0_elementwise`, called twice.
  }];
}

def KilnResultsToOutParams : Pass<"kiln-results-to-out-params",
                                  "::mlir::ModuleOp"> {
  let summary = "buffer-results-to-out-params, keeping the calls' attributes";
  let description = [{
    Upstream's buffer-results-to-out-params (with hoist-static-allocs):
    memref results become out-parameters, and calls pass a buffer for each.
    The calls it rebuilds keep their discardable attributes
    (`kernel.origins`), which upstream drops.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def KilnInlineKernels : Pass<"kiln-inline-kernels", "::mlir::ModuleOp"> {
  let summary = "Kernels called once inline into their caller";
  let description = [{
    Each private function with exactly one call inlines into its caller,
    whose temporaries then share one planned arena (kiln-plan-memory). A
    kernel called from several places (kiln-dedup-kernels) stays one
    function, so its code is generated once.
  }];
}

def KilnForwardResultCopies : Pass<"kiln-forward-result-copies",
                                   "::mlir::ModuleOp"> {
  let summary = "Entry points compute results straight into their out-parameters";
  let description = [{
    After buffer-results-to-out-params: in a public function, where an
    out-parameter (an argument marked `graph.output`) is used only by a final
    `memref.copy` from an allocation of the function's body, and nothing uses
    that allocation after the copy, the allocation is replaced by the
    out-parameter and the copy goes. Kernels then write the result where the
    caller wants it: one read and one write of the result less, and the
    arena no longer holds it. Out-parameters of updated results (also marked
    `graph.update`) are left to kiln-alias-updated-results, since the caller
    may pass the updated argument's own buffer for them. Other result
    buffers must not overlap any argument or each other: the runtime's
    tensors own their storage, and the C header of an object file says so
    to direct callers.

    Before:
    ```mlir
    func.func @f(%x: memref<4xf32>, %y: memref<4xf32> {graph.output = "y"}) {
      %a = memref.alloc() : memref<4xf32>
      call @f_kernel0(%x, %a) : (memref<4xf32>, memref<4xf32>) -> ()
      memref.copy %a, %y : memref<4xf32> to memref<4xf32>
      return
    }
    ```
    After: `call @f_kernel0(%x, %y)` and nothing else.
  }];
}

def KilnAliasUpdatedResults : Pass<"kiln-alias-updated-results",
                                   "::mlir::ModuleOp"> {
  let summary = "Out-parameters of updated results may alias their argument";
  let description = [{
    After buffer-results-to-out-params, for functions with `kiln.updates`:
    the out-parameter of a result that updates an argument may be given the
    argument's own buffer by the caller (the runtime does, for train_step).
    Where bufferization updated the argument in place, the final copy into
    the out-parameter runs only if the two buffers differ; where the result
    was computed elsewhere, it is copied in last, after every read of the
    argument.

    Before: `memref.copy %w, %out : memref<4xf32> to memref<4xf32>`
    After:
    ```mlir
    scf.if %buffers_differ {
      memref.copy %w, %out : memref<4xf32> to memref<4xf32>
    }
    ```
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

//===----------------------------------------------------------------------===//
// CPU (the host)
//===----------------------------------------------------------------------===//

include "compiler/Codegen/CPU/Passes.td"

//===----------------------------------------------------------------------===//
// GPU (--target=cuda)
//===----------------------------------------------------------------------===//

include "compiler/Codegen/GPU/Passes.td"

#endif // KILN_CODEGEN_PASSES
