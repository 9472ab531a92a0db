//===- ParallelFor.cpp - Parallel loops of generated code -----------------===//
//
// kiln-parallelize outlines a kernel's parallel loop into a function
// body(begin, end, buffers...) and has it called through kiln_parallel_for,
// which splits the iterations into contiguous chunks, one per thread of the
// OpenMP pool that oneDNN's calls use too: generated code and library calls
// share one set of threads (--threads, KILN_NUM_THREADS).
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/CodegenSupport.h"

#include "dnnl/OneDnnSupport.h"

#include <algorithm>
#include <omp.h>

namespace {

/// Runs body(begin, end, b[0], ..., b[count - 1]).
void runBody(void *body, int64_t count, void *const *b, int64_t begin,
             int64_t end) {
  switch (count) {
  case 1:
    reinterpret_cast<void (*)(int64_t, int64_t, void *)>(body)(begin, end, b[0]);
    return;
  case 2:
    reinterpret_cast<void (*)(int64_t, int64_t, void *, void *)>(body)(begin, end, b[0], b[1]);
    return;
  case 3:
    reinterpret_cast<void (*)(int64_t, int64_t, void *, void *, void *)>(body)(begin, end, b[0], b[1], b[2]);
    return;
  case 4:
    reinterpret_cast<void (*)(int64_t, int64_t, void *, void *, void *, void *)>(body)(begin, end, b[0], b[1], b[2], b[3]);
    return;
  case 5:
    reinterpret_cast<void (*)(int64_t, int64_t, void *, void *, void *, void *, void *)>(body)(begin, end, b[0], b[1], b[2], b[3], b[4]);
    return;
  case 6:
    reinterpret_cast<void (*)(int64_t, int64_t, void *, void *, void *, void *, void *, void *)>(body)(begin, end, b[0], b[1], b[2], b[3], b[4], b[5]);
    return;
  case 7:
    reinterpret_cast<void (*)(int64_t, int64_t, void *, void *, void *, void *, void *, void *, void *)>(body)(begin, end, b[0], b[1], b[2], b[3], b[4], b[5], b[6]);
    return;
  case 8:
    reinterpret_cast<void (*)(int64_t, int64_t, void *, void *, void *, void *, void *, void *, void *, void *)>(body)(begin, end, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
    return;
  case 9:
    reinterpret_cast<void (*)(int64_t, int64_t, void *, void *, void *, void *, void *, void *, void *, void *, void *)>(body)(begin, end, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8]);
    return;
  case 10:
    reinterpret_cast<void (*)(int64_t, int64_t, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *)>(body)(begin, end, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9]);
    return;
  case 11:
    reinterpret_cast<void (*)(int64_t, int64_t, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *)>(body)(begin, end, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10]);
    return;
  case 12:
    reinterpret_cast<void (*)(int64_t, int64_t, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *)>(body)(begin, end, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11]);
    return;
  case 13:
    reinterpret_cast<void (*)(int64_t, int64_t, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *)>(body)(begin, end, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12]);
    return;
  case 14:
    reinterpret_cast<void (*)(int64_t, int64_t, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *)>(body)(begin, end, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13]);
    return;
  case 15:
    reinterpret_cast<void (*)(int64_t, int64_t, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *)>(body)(begin, end, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14]);
    return;
  case 16:
    reinterpret_cast<void (*)(int64_t, int64_t, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *)>(body)(begin, end, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return;
  default:
    return; // kiln-parallelize passes 1 to 16 buffers.
  }
}

} // namespace

extern "C" void kiln_parallel_for(void *body, void *b0, void *b1, void *b2, void *b3, void *b4, void *b5, void *b6, void *b7, void *b8, void *b9, void *b10, void *b11, void *b12, void *b13, void *b14, void *b15,
                                  int64_t count, int64_t lb, int64_t ub,
                                  int64_t step) {
  void *const b[16] = {b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15};
  int64_t trips = step > 0 && ub > lb ? (ub - lb + step - 1) / step : 0;
  int64_t threads =
      std::min<int64_t>(kiln::rt::onednn::useLibraryThreads(), trips);
  if (threads <= 1 || omp_in_parallel()) {
    if (trips > 0)
      runBody(body, count, b, lb, ub);
    return;
  }
#pragma omp parallel num_threads(static_cast<int>(threads))
  {
    int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
    int64_t first = trips * t / n, last = trips * (t + 1) / n;
    if (last > first)
      runBody(body, count, b, lb + first * step,
              std::min(ub, lb + last * step));
  }
}
