//===- CodegenSupport.h - Functions generated code calls into -------------===//
//
// The C ABI that compiled models may call: part of the runtime's contract
// with the compiler. The JIT registers these symbols with the engine; AOT
// artefacts link them from the runtime library.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CODEGENSUPPORT_H
#define KILN_RUNTIME_CODEGENSUPPORT_H

#include <cstddef>
#include <cstdint>

/// The functions below that generated code calls, listed once: the JIT
/// resolves generated code's calls from this list (with
/// KILN_LIBRARY_FUNCTIONS of Library.h).
#define KILN_CODEGEN_SUPPORT_FUNCTIONS(X)                                      \
  X(memrefCopy)                                                                \
  X(_mlir_memref_to_llvm_alloc)                                                \
  X(_mlir_memref_to_llvm_aligned_alloc)                                        \
  X(_mlir_memref_to_llvm_free)                                                 \
  X(kiln_parallel_for)                                                         \
  X(kiln_check_finite_f32)                                                     \
  X(kiln_check_finite_f64)

extern "C" {

/// An unranked memref as MLIR passes it: the rank and a pointer to a ranked
/// descriptor {allocated, aligned, offset, sizes[rank], strides[rank]}.
struct KilnUnrankedMemRef {
  int64_t rank;
  void *descriptor;
};

/// Copies a strided memref into another of the same shape, element by
/// element (`elementSize` bytes each). MLIR lowers non-contiguous
/// memref.copy ops to calls of this symbol.
void memrefCopy(int64_t elementSize, KilnUnrankedMemRef *source,
                KilnUnrankedMemRef *target);

/// The heap of generated code (memref.alloc/dealloc lower to these, the
/// names MLIR's finalize-memref-to-llvm{use-generic-functions} calls). A
/// freed block of 64 KiB or more is kept in a per-thread cache and handed
/// out again for a request it fits, so the arena an entry point allocates
/// on every call is faulted in once, not on every call. The cache holds at
/// most 8 blocks and 4 GiB per thread; blocks are returned to the system
/// when the thread exits. Blocks are 64-byte aligned.
void *_mlir_memref_to_llvm_alloc(size_t size);
void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t size);
void _mlir_memref_to_llvm_free(void *pointer);

/// Numerics checks: compiled code calls these after every kernel with the
/// kernel's float output (`count` elements at address `data`) and a
/// NUL-terminated description of the op that produced it (`origin`). They
/// return at once unless checks are on (kiln/runtime/Numerics.h); then the
/// first non-finite value since the last reset is recorded.
void kiln_check_finite_f32(uintptr_t data, uintptr_t origin, int64_t count);
void kiln_check_finite_f64(uintptr_t data, uintptr_t origin, int64_t count);

/// Where a copy of the runtime sends its numerics checks instead of
/// scanning itself: an artefact (.so) links its own runtime, and the
/// program that loads it forwards the artefact's checks to its own.
/// `wanted` says what the host wants reports for now (kiln::rt::
/// reportsWanted's bits): a GPU artefact copies a kernel's output to the
/// host, or waits for the kernel, only then. `recordTime` takes a kernel's
/// time measured on the GPU (kiln::rt::recordKernelTime).
struct KilnNumericsHooks {
  void (*checkF32)(uintptr_t data, uintptr_t origin, int64_t count);
  void (*checkF64)(uintptr_t data, uintptr_t origin, int64_t count);
  int (*wanted)(void);
  void (*recordTime)(uintptr_t origin, double seconds);
};
void kiln_numerics_forward_to(const KilnNumericsHooks *hooks);

/// Runs body(begin, end, b0, ..., b[count - 1]) over chunks of the loop
/// lb..ub (by step), one chunk per thread of the runtime's pool (OpenMP,
/// shared with oneDNN; --threads, KILN_NUM_THREADS). `body` is a loop of
/// generated code outlined by kiln-parallelize with its `count` buffers
/// (1 to 16; the others are null). Runs inline when one thread is asked for,
/// inside a parallel region, or for a single iteration.
void kiln_parallel_for(void *body, void *b0, void *b1, void *b2, void *b3, void *b4, void *b5, void *b6, void *b7, void *b8, void *b9, void *b10, void *b11, void *b12, void *b13, void *b14, void *b15,
                       int64_t count, int64_t lb, int64_t ub, int64_t step);

/// The number of cached blocks of the calling thread and their bytes, for
/// tests.
size_t kiln_workspace_cached_blocks(void);
size_t kiln_workspace_cached_bytes(void);
}

#endif // KILN_RUNTIME_CODEGENSUPPORT_H
