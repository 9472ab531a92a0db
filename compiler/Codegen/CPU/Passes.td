//===- Passes.td - Code generation passes for the host CPU ----------------===//
//
// Included from compiler/Codegen/Passes.td, which mlir-tblgen runs on.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_CPU_PASSES
#define KILN_CODEGEN_CPU_PASSES

include "mlir/Pass/PassBase.td"

def KilnFuseRows : Pass<"kiln-fuse-rows", "::mlir::func::FuncOp"> {
  let summary = "Computes kernels that reduce rows (softmax, norms) block by block of rows";
  let description = [{
    In a kernel whose result is computed row by row from per-row reductions
    (softmax, layer norm, their gradients), the result's op is tiled into
    blocks of rows (up to `row-block-elements` elements) and the producers
    of its row slices are fused into that loop, so every pass over a block
    reads it from the L1 cache; producers whose slice does not move with
    the block (a reduction over all rows) stay outside. The loop is marked
    `kiln.parallel` (for kiln-parallelize) and `kiln.row_blocks` (for
    kiln-prefetch and kiln-stream-stores). A producer fused once per use is
    then computed once (CSE). An op whose result the block's last op reads
    only at the element it writes (softmax's exponentials) computes into
    the block's slice of the output, and the last op updates it in place,
    so the passes share two buffers, not three.

    Before (a row softmax, shortened):
    ```mlir
    %max = linalg.generic {... ["parallel", "reduction"]} ins(%x : tensor<512x1024xf32>) ...
    %e = linalg.generic {... ["parallel", "parallel"]} ins(%x, %max ...) ...
    %y = linalg.generic {... ["parallel", "parallel"]} ins(%e, %sum ...) ...
    ```
    After:
    ```mlir
    %y = scf.for %i = %c0 to %c512 step %c4 iter_args(%out = %init) {
      %max = linalg.generic ... tensor<4x1024xf32> ...
      ...
    } {kiln.parallel, kiln.row_blocks}
    ```
  }];
  let options = [
    Option<"rowBlockElements", "row-block-elements", "int64_t",
           /*default=*/"4096",
           "Elements per block of rows">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

def KilnVectorize : Pass<"kiln-vectorize", "::mlir::func::FuncOp"> {
  let summary = "Tiles linalg ops on tensors into static tiles and vectorizes them";
  let description = [{
    For every linalg op with static loop ranges: tile so that a tile is a
    small, fixed vector (innermost loop up to `vector-width` elements, at most
    `max-tile-elements` elements in all; tile sizes divide the ranges, so no
    tile is partial), then vectorize the tile with linalg's vectorizer
    (transfer reads and writes, elementwise vector math, multi-reductions,
    contractions, gathers). Ops the vectorizer does not take stay scalar and
    are reported with remarks when `report` is set.

    A reduction over the innermost loop is first split into a vector of
    per-lane partial results and their combination, so a row is reduced
    horizontally once, not once per tile. Tile loops over a parallel first
    dimension are marked `kiln.parallel` (for kiln-parallelize); a reduction
    over the first dimension (batch norm's statistics) iterates its parallel
    dimensions outermost, so that it has such a loop too. Ops whose loops
    are all parallel (elementwise kernels) take `parallel-vector-width`
    elements per tile instead: several independent vectors per iteration,
    whose long dependent chains (exp, tanh polynomials) the CPU then
    overlaps. A maximum reduction marked `kiln.nan_agnostic_max` (softmax's
    shift) becomes a tree of compare-and-selects (one vmaxps each). Last,
    transfers fold into their tensors and vectors drop their leading unit
    dimensions.

    Before:
    ```mlir
    %r = linalg.generic {... ["parallel", "parallel"]} ins(%x : tensor<128x256xf32>) ...
    ```
    After:
    ```mlir
    %r = scf.for %i = %c0 to %c128 step %c1 iter_args(%acc = %init) {
      %t = scf.for %j = %c0 to %c256 step %c16 ... {
        %v = vector.transfer_read %x[%i, %j] ... : tensor<128x256xf32>, vector<16xf32>
        ...
      }
    }
    ```
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "Elements per vector along the innermost loop">,
    Option<"parallelVectorWidth", "parallel-vector-width", "int64_t",
           /*default=*/"64",
           "Elements per tile along the innermost loop of ops without "
           "reductions">,
    Option<"maxTileElements", "max-tile-elements", "int64_t",
           /*default=*/"256", "Largest number of elements in one tile">,
    Option<"report", "report", "bool", /*default=*/"false",
           "Emit a remark for each op left scalar">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::tensor::TensorDialect"];
}

def KilnTreeReductions : Pass<"kiln-tree-reductions", "::mlir::func::FuncOp"> {
  let summary = "Vector reductions of one dimension as balanced trees";
  let description = [{
    A vector multi-reduction that reduces to one value, or reduces one
    dimension with only unit dimensions before it, becomes a balanced tree of
    elementwise combinations: a tile's vectors pairwise, a vector's lanes by
    halves (shuffles). Lowered as upstream does it, such a reduction is one
    chain, running at the combination's latency; as a tree only the
    combination with the accumulator stays on the loop's chain. Float sums
    are reassociated, as splitting them into partial results already does.

    Before:
    ```mlir
    %r = vector.multi_reduction <add>, %v, %acc [0] : vector<4x16xf32> to vector<16xf32>
    ```
    After:
    ```mlir
    %a = vector.extract %v[0] : vector<16xf32> from vector<4x16xf32>
    ...
    %s01 = arith.addf %a, %b : vector<16xf32>
    %s23 = arith.addf %c, %d : vector<16xf32>
    %s = arith.addf %s01, %s23 : vector<16xf32>
    %r = arith.addf %s, %acc : vector<16xf32>
    ```
  }];
  let dependentDialects = ["::mlir::vector::VectorDialect",
                           "::mlir::arith::ArithDialect"];
}

def KilnHoistInvariants : Pass<"kiln-hoist-invariants", "::mlir::func::FuncOp"> {
  let summary = "Moves what a tile loop computes the same in every iteration out of it";
  let description = [{
    Ops without memory effects or regions whose operands a `scf.for` does
    not change (a row's mean and 1/sqrt(var + eps), broadcast to a vector)
    move before the loop. On tensors every such op is free of memory
    effects; only loops with a static, non-zero trip count are touched, so
    even ops that are not speculatable (reads of a tensor element) run no
    more often than before.

    Before:
    ```mlir
    scf.for %j = %c0 to %c256 step %c16 ... {
      %b = vector.broadcast %mean : f32 to vector<16xf32>
      ...
    }
    ```
    After:
    ```mlir
    %b = vector.broadcast %mean : f32 to vector<16xf32>
    scf.for %j = %c0 to %c256 step %c16 ... { ... }
    ```
  }];
}

def KilnReciprocalDivisions : Pass<"kiln-reciprocal-divisions", "::mlir::func::FuncOp"> {
  let summary = "Divisions by a loop-invariant value become multiplications by its reciprocal";
  let description = [{
    In a `scf.for`, `arith.divf %x, %d` where `%d` is defined outside the
    loop (softmax's row sum) becomes `arith.mulf %x, %r` with `%r = 1 / %d`
    computed once before the loop: a vector division costs several
    multiplications. The quotient may differ from the correctly rounded one
    in the last bit, as it does in PyTorch's CPU softmax, which divides the
    same way; a subnormal divisor, whose reciprocal overflows, gives inf
    where x / d might still be finite.

    Before:
    ```mlir
    scf.for ... { %q = arith.divf %x, %sum : vector<16xf32> ... }
    ```
    After:
    ```mlir
    %r = arith.divf %ones, %sum : vector<16xf32>
    scf.for ... { %q = arith.mulf %x, %r : vector<16xf32> ... }
    ```
  }];
}

def KilnSelectBounds : Pass<"kiln-select-bounds", "::mlir::func::FuncOp"> {
  let summary = "maximumf/minimumf against a constant become a compare and a select";
  let description = [{
    `arith.maximumf` and `arith.minimumf` against a constant that is not NaN
    (ReLU's 0, a clamp's bounds) become an `arith.cmpf` and an
    `arith.select` with the same results, NaN and signed zeros included: x86
    has no instruction for the NaN-propagating maximum, and LLVM expands it
    into six. max(x, c) takes c where x <= c, except that with c = -0 it
    takes c only where x < c (max(+0, -0) is +0); min mirrors it.

    Before:
    ```mlir
    %y = arith.maximumf %x, %zero : vector<16xf32>
    ```
    After:
    ```mlir
    %le = arith.cmpf ole, %x, %zero : vector<16xf32>
    %y = arith.select %le, %zero, %x : vector<16xi1>, vector<16xf32>
    ```
  }];
}

def KilnStageElementwise : Pass<"kiln-stage-elementwise", "::mlir::func::FuncOp"> {
  let summary = "Splits long elementwise chains into stages computed block by block";
  let description = [{
    A fused elementwise generic (all loops parallel, one result) whose body
    holds two or more transcendentals (exp, tanh, log, erf, sin, ...) is
    split into one generic per transcendental: the i-th transcendental ends
    stage i, and every other op goes to the earliest stage that uses it.
    Values that later stages read travel in tensors of the result's shape.
    The last stage is then tiled into blocks of up to `block-elements`
    elements (inner dimensions first) and the other stages are fused into
    its loop, which is marked `kiln.parallel`; in each block the stages run
    one after the other, their block-sized tensors staying in L1.

    Per element the arithmetic is the same, in the same order, so results
    are bit-identical. What changes is the dependent chain per vector: a
    sigmoid, a tanh and an exp in one body are a chain of some 170 cycles,
    and an out-of-order CPU overlaps only as many such chains as its reorder
    buffer holds. One transcendental per stage leaves short chains over a
    block of independent vectors, which run at the FMA units' throughput.

    A generic that reads a reduction's result (softmax's quotient) is left
    to kiln-vectorize, which tiles such kernels by blocks of rows.

    Before: one `linalg.generic` computing sigmoid, tanh and exp per element.
    After: an `scf.for` over blocks (`kiln.parallel`) holding three
    generics on block-sized tensors, one per transcendental.
  }];
  let options = [
    Option<"blockElements", "block-elements", "int64_t", /*default=*/"256",
           "Elements per block">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::linalg::LinalgDialect"];
}

def KilnApproximateMath : Pass<"kiln-approximate-math", "::mlir::func::FuncOp"> {
  let summary = "Replaces float32 transcendental math with vectorizable polynomials";
  let description = [{
    exp, log, tanh, erf, sin, cos, log1p and rsqrt on f32 (scalars and
    vectors) become polynomial approximations (a few ulp), so vectorized
    kernels need no scalar libm calls. float64 keeps libm's exact results.

    The polynomials' fused multiply-adds become `llvm.intr.fma` here, so
    that convert-math-to-libm (which runs next, for float64) does not unroll
    them into scalar `fmaf` calls.

    With `avx512`, exp on f32 vectors of whole 16-lane registers scales its
    polynomial by 2^k with AVX-512's vscalefps (`llvm.call_intrinsic`),
    which handles overflow and underflow itself: about 15 instructions per
    vector instead of 21.

    Before: `%y = math.exp %x : vector<16xf32>`
    After: arithmetic and llvm.intr.fma on vector<16xf32> (range reduction
    and a polynomial).
  }];
  let options = [
    Option<"avx512", "avx512", "bool", /*default=*/"false",
           "The target has AVX-512F: exp scales with vscalefps">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def KilnByteBooleans : Pass<"kiln-byte-booleans", "::mlir::ModuleOp"> {
  let summary = "Vector loads and stores of booleans go through bytes";
  let description = [{
    On the LLVM dialect. A boolean buffer holds one byte (0 or 1) per
    element, as LLVM stores a scalar i1, but a vector of i1 in memory is a
    packed bitmask. Every `llvm.load` of a vector of i1 becomes a load of
    as many bytes and a truncation; every `llvm.store` a zero extension and
    a store of bytes. So kernels reading or writing boolean tensors (masks
    that the backward pass reads) vectorize. Masked or gathered accesses to
    boolean data are an error.

    Before: `%m = llvm.load %p : !llvm.ptr -> vector<16xi1>`
    After:
    ```mlir
    %b = llvm.load %p {alignment = 1 : i64} : !llvm.ptr -> vector<16xi8>
    %m = llvm.trunc %b : vector<16xi8> to vector<16xi1>
    ```
  }];
}

def KilnStripGraphAttrs : Pass<"kiln-strip-graph-attrs", "::mlir::ModuleOp"> {
  let summary = "Drops graph.param/graph.input/graph.output annotations";
  let description = [{
    The names of arguments and results belong to the manifest, which is read
    from the graph module; LLVM has no use for them.

    Before: `func.func @forward(%arg0: memref<4xf32> {graph.input = "x"})`
    After: `func.func @forward(%arg0: memref<4xf32>)`
  }];
}

def KilnEmitAbi : Pass<"kiln-emit-abi", "::mlir::ModuleOp"> {
  let summary = "Adds the artefact ABI: manifest, entry table, typed symbols";
  let description = [{
    On a module in the LLVM dialect: gives every defined function internal
    linkage except the entry points, renames each entry point E to
    `<model>_E` (plain C arguments: one pointer per argument, then one per
    result), and adds `kiln_manifest()` (the JSON of `kiln.manifest`),
    `kiln_num_entries()` and `kiln_entry_table()` (name and packed function
    `void(void **)` of every entry), which the runtime uses to load and call
    the artefact.

    Before: `llvm.func @forward(%arg0: !llvm.ptr, %arg1: !llvm.ptr)`
    After: `llvm.func @mlp_forward(...)`, `llvm.func internal
    @kiln_packed_forward(%args: !llvm.ptr)`, `llvm.func @kiln_manifest()`, ...
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def KilnPlanMemory : Pass<"kiln-plan-memory", "::mlir::func::FuncOp"> {
  let summary = "Places an entry point's temporary buffers in one arena";
  let description = [{
    Every statically shaped `memref.alloc` in the function's entry block
    that is freed in it becomes a `memref.view` into one arena allocated once
    per call. Offsets are planned from the buffers' lifetimes (from the
    allocation to the last use of the buffer or a view of it): two buffers
    share bytes only when their lifetimes do not overlap. Buffers are
    64-byte aligned. With `report`, prints the arena size, the total without
    reuse and the largest buffers.

    Before:
    ```mlir
    %a = memref.alloc() : memref<64x128xf32>
    ... uses of %a ...
    memref.dealloc %a : memref<64x128xf32>
    %b = memref.alloc() : memref<64x128xf32>
    ```
    After:
    ```mlir
    %arena = memref.alloc() {alignment = 64 : i64} : memref<32768xi8>
    %a = memref.view %arena[%c0][] : memref<32768xi8> to memref<64x128xf32>
    %b = memref.view %arena[%c0][] : memref<32768xi8> to memref<64x128xf32>
    ...
    memref.dealloc %arena : memref<32768xi8>
    ```
  }];
  let options = [
    Option<"report", "report", "bool", /*default=*/"false",
           "Print the plan of every function with an arena to stderr">,
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def KilnInsertNumericsChecks : Pass<"kiln-insert-numerics-checks",
                                    "::mlir::ModuleOp"> {
  let summary = "Reports every kernel's float output to the runtime's NaN/Inf scan";
  let description = [{
    On bufferized code, before kernels inline into their entry points: each
    call of an outlined kernel (a `func.call` with `kernel.origins`, whose
    last operands are the kernel's outputs, and `kernel.updated_origins` for
    outputs written into an argument in place) and each
    `kernel.library_call` with outputs passes every float output to the
    runtime's `kiln_check_finite_f32/f64(data, origin, count)` right after
    the call, as a library call without outputs; `origin` is a constant
    string naming the op that produced the output, its module path and DSL
    line. The checks sit at the calls, so a kernel shared by several calls
    (kiln-dedup-kernels) reports each under its own origin. The runtime
    scans only when numerics checks are on (`./model train
    --check-numerics`, `kiln-run --check-numerics`), so a run that does not
    ask pays one call per kernel.

    Before:
    ```mlir
    call @loss_kernel0_reduction(%a, %out)
        {kernel.origins = ["graph.cross_entropy in loss at model.cpp:58"]}
        : (memref<8x10xf32>, memref<f32>) -> ()
    ```
    After: after the call,
    ```mlir
    %0 = memref.get_global @kiln_origin : memref<44xi8>
    kernel.library_call "kiln_check_finite_f32" ins(%out, %0 : memref<f32>, memref<44xi8>)
        outs() {floats = array<f64>, ints = array<i64: 1>, slots = array<i64: 0, 1>}
    ```
  }];
  let dependentDialects = ["::kiln::kernel::KernelDialect",
                           "::mlir::memref::MemRefDialect"];
}

def KilnPrefetch : Pass<"kiln-prefetch", "::mlir::func::FuncOp"> {
  let summary = "Prefetches the next block of rows during this block's costliest pass";
  let description = [{
    On bufferized kernels, for each loop over blocks of rows that
    kiln-vectorize marked `kiln.row_blocks` (softmax, layer norm and their
    gradients): every buffer from the kernel's arguments with one row per
    loop row and at least `min-bytes` bytes gets its next block's rows
    prefetched (with write intent where the loop writes it), a share of the
    lines in each iteration of the block's costliest pass (the innermost loop
    with the most work; math functions count extra). The next block's misses
    then overlap this block's arithmetic: without them the block's first
    pass waits on its reads and its last pass on fetching the lines it
    writes. The last block prefetches the buffer's last line. A buffer the
    loop writes with non-temporal stores (kiln-stream-stores) is skipped:
    those stores write past the cache the lines a prefetch would fetch.

    Before:
    ```mlir
    scf.for %i = %c0 to %c4096 step %c4 {
      scf.for %r = %c0 to %c4 step %c1 {
        scf.for %c = %c0 to %c1024 step %c64 { ... math.exp ... }
      }
      ...
    } {kiln.row_blocks}
    ```
    After, first in the exp loop's body, four lines of each buffer per
    iteration (a block of 4 rows of 4 KiB is 256 lines, over 64
    iterations):
    ```mlir
    memref.prefetch %x_flat[%e], read, locality<3>, data : memref<4194304xf32>
    memref.prefetch %y_flat[%e], write, locality<3>, data : memref<4194304xf32>
    ```
  }];
  let options = [
    Option<"minBytes", "min-bytes", "int64_t", /*default=*/"1048576",
           "Smallest buffer, in bytes, worth prefetching">,
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def KilnDeinterleaveReads
    : Pass<"kiln-deinterleave-reads", "::mlir::func::FuncOp"> {
  let summary = "Vector reads with an innermost stride of 2 to 4 become a contiguous masked load and a shuffle";
  let description = [{
    On bufferized code. A `vector.transfer_read` of a 1-D vector, in bounds
    and unmasked, along the innermost dimension of a memref whose innermost
    stride is a constant from 2 to 4 (pooling's windows, strided slices)
    has no x86 instruction: LLVM makes it a gather or one load per element.
    It becomes a `vector.maskedload` of the span from the first element to
    the last (stride * (N - 1) + 1 elements, never past the last one read),
    through a contiguous view of the same buffer, and a `vector.shuffle` of
    every stride-th element, which x86 does with vpermt2ps.

    Before:
    ```mlir
    %v = vector.transfer_read %window[%n, %c, %y, %c0], %pad {in_bounds = [true]}
        : memref<64x32x14x14xf32, strided<[25088, 784, 56, 2], offset: 1>>, vector<14xf32>
    ```
    After:
    ```mlir
    %base, %offset, %sizes:4, %strides:4 = memref.extract_strided_metadata %window
    %flat = memref.reinterpret_cast %base to offset: [%first], sizes: [28], strides: [1]
    %mask = vector.create_mask %c27 : vector<28xi1>
    %wide = vector.maskedload %flat[%c0], %mask, %pads : ... into vector<28xf32>
    %v = vector.shuffle %wide, %wide [0, 2, 4, ..., 26] : vector<28xf32>, vector<28xf32>
    ```
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::vector::VectorDialect"];
}

def KilnStreamStores : Pass<"kiln-stream-stores", "::mlir::func::FuncOp"> {
  let summary = "Row-block kernels write outputs larger than the cache with non-temporal stores";
  let description = [{
    On bufferized kernels, before kiln-prefetch: in a loop over blocks of
    rows that kiln-vectorize marked `kiln.row_blocks`, where the last op is a
    pass writing the block's subview of an output argument of at least
    `min-bytes` bytes (the last-level cache, by default in Kiln's pipeline),
    with rows of whole 64-byte lines:

    - every other use of the block in the loop (softmax's exponentials,
      written there and summed) moves to a block-sized scratch buffer,
      allocated around the loop, which stays in cache;
    - the pass is versioned on the output's alignment: where it is 64-byte
      aligned, its writes become `vector.store {nontemporal = true}`, which
      kiln-align-stream-stores later aligns; otherwise it stays as it was;
    - a sequentially consistent fence follows the loop (kiln-parallelize
      moves it into each thread's body with the loop).

    An ordinary store to a line not in cache first reads it from memory; a
    non-temporal store writes the whole line past the cache. For an output
    too large to stay in cache, this cuts a third of the kernel's memory
    traffic.

    Only a pass whose single write covers the block exactly once (one loop
    per dimension, each over the whole dimension, the innermost by whole
    lines), and which reads the block only at the element it is about to
    write, before writing it, is changed; the output must be reached in the
    loop only through the block. Where the block has other uses, the first
    op of the loop body that uses it must be a loop that writes all of it
    the same way and does nothing else with it, so that the scratch holds
    whatever the block would have. A pass with results is left alone.

    In a top-level `kiln.parallel` tile loop (an elementwise kernel's), an
    output argument of at least `min-bytes` bytes that the loop only writes,
    with one write of whole lines at columns provably a multiple of a line
    (directly, or through unit-stride subviews starting at such columns), is
    streamed the same way: the loop around the write is versioned on the
    output's alignment, and a fence follows the tile loop.

    After, for softmax (exponentials in the scratch `%t`):
    ```mlir
    scf.if %aligned {
      scf.for %r = %c0 to %c4 step %c1 {
        scf.for %c = %c0 to %c1024 step %c64 {
          %e = vector.transfer_read %t[%r, %c] ...
          %y = arith.mulf %e, %scale : vector<64xf32>
          vector.store %y, %block[%r, %c] {nontemporal = true} ...
        }
      }
    } else { ... the pass as it was ... }
    ```
  }];
  let options = [
    Option<"minBytes", "min-bytes", "int64_t", /*default=*/"33554432",
           "Smallest output, in bytes, written past the cache">,
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

def KilnAlignStreamStores
    : Pass<"kiln-align-stream-stores", "::mlir::ModuleOp"> {
  let summary = "Non-temporal vector stores get a line's alignment";
  let description = [{
    On the LLVM dialect. Every non-temporal `llvm.store` of a vector a
    multiple of 64 bytes long gets alignment 64. MLIR lowers
    `vector.store {nontemporal = true}` with its element's alignment, and
    LLVM splits an under-aligned non-temporal store into scalar MOVNTI; at
    64 bytes it is one MOVNTPS per 16 floats. Kiln emits non-temporal
    stores only where kiln-stream-stores established that alignment.
  }];
}

def KilnParallelize : Pass<"kiln-parallelize", "::mlir::ModuleOp"> {
  let summary = "Runs kernels' parallel loops on the runtime's threads";
  let description = [{
    On bufferized kernels, before they inline: a top-level `scf.for` that
    kiln-vectorize marked `kiln.parallel` (the tile loop over a parallel
    first dimension), with constant bounds, at least two iterations, and
    nothing from outside but constants and contiguous, statically shaped
    buffers (1 to 16, the largest with at least `min-elements` elements),
    moves into a private function `body(begin, end, buffers...)`; scratch
    buffers the kernel allocates only for the loop are allocated in the
    body instead, one per thread. Before that, a scratch buffer a loop body
    allocates and frees in each iteration (a row block's statistics) is
    allocated once around the outermost such loop, unless it is handed to a
    call or a terminator. In its place, `kiln_parallel_for` (a library call naming the body in
    `kiln.body`) splits the iterations between the threads of the runtime's
    OpenMP pool, the one oneDNN uses.

    Before:
    ```mlir
    scf.for %i = %c0 to %c64 step %c1 { ... %in ... %out ... } {kiln.parallel}
    ```
    After:
    ```mlir
    kernel.library_call "kiln_parallel_for" ins(%in, %out : ...) outs()
        {kiln.body = @k_loop0, ints = array<i64: 2, 0, 64, 1>, slots = array<i64: 0, 1, -1, ...>}
    func.func private @k_loop0(%begin: index, %end: index, %in: ..., %out: ...) {
      scf.for %i = %begin to %end step %c1 { ... }
    }
    ```
  }];
  let options = [
    Option<"minElements", "min-elements", "int64_t", /*default=*/"262144",
           "Smallest buffer, in elements, a loop must touch to run in parallel">,
  ];
  let dependentDialects = ["::kiln::kernel::KernelDialect",
                           "::mlir::func::FuncDialect"];
}

#endif // KILN_CODEGEN_CPU_PASSES
