//===- Vector.h - Sixteen-float vectors for cloned kernels ------*- C++ -*-===//
//
// The runtime's hand-written kernels (SmallMatmul.cpp, dnnl/Winograd.cpp)
// work on 16 floats at a time and are compiled for three CPUs at once: the
// loader picks the clone the CPU runs (function multiversioning), and the
// inline helpers below are compiled into each clone for its CPU. A file
// including this passes 64-byte vectors between inlined helpers only: it
// is compiled with -Wno-psabi (runtime/CMakeLists.txt).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_VECTOR_H
#define KILN_RUNTIME_CPU_VECTOR_H

#include <cstdint>
#include <cstring>

/// A kernel compiled for x86-64-v4 (AVX-512), x86-64-v3 (AVX2) and plain
/// x86-64.
#define KILN_CLONES                                                            \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
/// A helper inlined into each clone of its caller.
#define KILN_INLINE inline __attribute__((always_inline))

namespace kiln::rt::simd {

/// Sixteen floats: one AVX-512 register, two AVX2 or four SSE registers in
/// the clone compiled for each.
typedef float Vector __attribute__((vector_size(64)));
constexpr int64_t kLanes = 16;

KILN_INLINE Vector load(const float *p) {
  Vector v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

KILN_INLINE void store(float *p, Vector v) { std::memcpy(p, &v, sizeof(v)); }

} // namespace kiln::rt::simd

#endif // KILN_RUNTIME_CPU_VECTOR_H
