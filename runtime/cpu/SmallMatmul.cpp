//===- SmallMatmul.cpp - Matrix products of a few rows --------------------===//

#include "cpu/SmallMatmul.h"
#include "cpu/Vector.h"

#include "kiln/runtime/Library.h"

#include <algorithm>
#include <cmath>
#include <omp.h>
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln::rt {
namespace {

using namespace simd;

// Each kernel is compiled three times (KILN_CLONES); the row-count
// templates below are inlined into each clone, which compiles them for its
// CPU.

KILN_INLINE float sum(Vector v) {
  float total = 0;
  for (int i = 0; i < kLanes; ++i)
    total += v[i];
  return total;
}

/// Columns [first, last) of result rows 0..M-1 for a transposed rhs [n,k]:
/// each result is one dot product of a lhs row with a rhs row, read once for
/// all M rows.
template <int M>
KILN_INLINE void dotColumns(const float *lhs, const float *rhs, float *sums,
                            int64_t n, int64_t k, int64_t first,
                            int64_t last) {
  int64_t body = k - k % (2 * kLanes);
  for (int64_t j = first; j < last; ++j) {
    const float *w = rhs + j * k;
    Vector even[M] = {}, odd[M] = {};
    for (int64_t p = 0; p < body; p += 2 * kLanes) {
      Vector w0 = load(w + p), w1 = load(w + p + kLanes);
      for (int i = 0; i < M; ++i) {
        even[i] += w0 * load(lhs + i * k + p);
        odd[i] += w1 * load(lhs + i * k + p + kLanes);
      }
    }
    for (int i = 0; i < M; ++i) {
      float total = sum(even[i] + odd[i]);
      for (int64_t p = body; p < k; ++p)
        total += w[p] * lhs[i * k + p];
      sums[i * n + j] = total;
    }
  }
}

/// Columns [first, last) of result rows 0..M-1 for rhs [k,n]: rows of rhs,
/// 32 columns at a time, scaled by each lhs row's element and accumulated.
template <int M>
KILN_INLINE void axpyColumns(const float *lhs, const float *rhs, float *sums,
                             int64_t n, int64_t k, int64_t first,
                             int64_t last) {
  int64_t j = first;
  for (; j + 2 * kLanes <= last; j += 2 * kLanes) {
    Vector low[M] = {}, high[M] = {};
    for (int64_t p = 0; p < k; ++p) {
      Vector w0 = load(rhs + p * n + j), w1 = load(rhs + p * n + j + kLanes);
      for (int i = 0; i < M; ++i) {
        float x = lhs[i * k + p];
        low[i] += w0 * x;
        high[i] += w1 * x;
      }
    }
    for (int i = 0; i < M; ++i) {
      store(sums + i * n + j, low[i]);
      store(sums + i * n + j + kLanes, high[i]);
    }
  }
  for (; j < last; ++j)
    for (int i = 0; i < M; ++i) {
      float total = 0;
      for (int64_t p = 0; p < k; ++p)
        total += lhs[i * k + p] * rhs[p * n + j];
      sums[i * n + j] = total;
    }
}

template <int M>
KILN_INLINE void columnsOf(const float *lhs, const float *rhs, float *sums,
                           int64_t n, int64_t k, bool transposeRhs,
                           int64_t first, int64_t last) {
  if (transposeRhs)
    dotColumns<M>(lhs, rhs, sums, n, k, first, last);
  else
    axpyColumns<M>(lhs, rhs, sums, n, k, first, last);
}

/// Result columns [first, last) of the `m` rows, as sums.
KILN_CLONES void columns(int64_t m, const float *lhs, const float *rhs,
                         float *sums, int64_t n, int64_t k, bool transposeRhs,
                         int64_t first, int64_t last) {
  switch (m) {
  case 1:
    return columnsOf<1>(lhs, rhs, sums, n, k, transposeRhs, first, last);
  case 2:
    return columnsOf<2>(lhs, rhs, sums, n, k, transposeRhs, first, last);
  case 3:
    return columnsOf<3>(lhs, rhs, sums, n, k, transposeRhs, first, last);
  default:
    return columnsOf<4>(lhs, rhs, sums, n, k, transposeRhs, first, last);
  }
}

float activate(float v, int64_t activation, double alpha) {
  switch (activation) {
  case KILN_ACTIVATION_RELU:
    return v > 0.0f ? v : 0.0f;
  case KILN_ACTIVATION_LEAKY_RELU:
    return v > 0.0f ? v : static_cast<float>(alpha) * v;
  case KILN_ACTIVATION_GELU:
    return 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f));
  case KILN_ACTIVATION_SILU:
    return v / (1.0f + std::exp(-v));
  case KILN_ACTIVATION_SIGMOID:
    return 1.0f / (1.0f + std::exp(-v));
  case KILN_ACTIVATION_TANH:
    return std::tanh(v);
  default:
    return v;
  }
}

} // namespace

void smallMatmul(const float *lhs, const float *rhs, const float *bias,
                 const float *residual, float *result, int64_t m, int64_t n,
                 int64_t k, bool transposeRhs, int64_t activation,
                 double alpha, int64_t threads) {
  switch (activation) {
  case KILN_ACTIVATION_NONE:
#define KILN_KNOWN_ACTIVATION(NAME, name, code, algorithm, algorithmAlpha)     \
  case KILN_ACTIVATION_##NAME:
    KILN_ACTIVATIONS(KILN_KNOWN_ACTIVATION)
#undef KILN_KNOWN_ACTIVATION
    break;
  default:
    throw std::invalid_argument("unknown activation code " +
                                std::to_string(activation));
  }
  // The sums go to `result`, except where the residual is `result` itself:
  // then to a buffer of their own, so that the residual is read intact.
  std::vector<float> own;
  float *sums = result;
  if (residual == result) {
    own.resize(static_cast<size_t>(m * n));
    sums = own.data();
  }
  auto compute = [&](int64_t first, int64_t last) {
    columns(m, lhs, rhs, sums, n, k, transposeRhs, first, last);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = first; j < last; ++j) {
        float v = sums[i * n + j];
        if (bias)
          v += bias[j];
        if (residual)
          v += residual[i * n + j];
        result[i * n + j] = activate(v, activation, alpha);
      }
  };
  // Threads take contiguous column ranges, each column summed by one thread
  // in one order: results do not depend on the thread count.
  int64_t parts =
      std::min({threads, n, std::max<int64_t>(1, (n * k) >> 15)});
  if (parts <= 1 || omp_in_parallel()) {
    compute(0, n);
    return;
  }
  // Ranges start on the 32-column blocks of axpyColumns, so that a column
  // is summed by the same code whatever the split.
  int64_t blocks = (n + 2 * kLanes - 1) / (2 * kLanes);
  parts = std::min(parts, blocks);
  if (parts <= 1) {
    compute(0, n);
    return;
  }
#pragma omp parallel num_threads(static_cast<int>(parts))
  {
    int64_t t = omp_get_thread_num(), count = omp_get_num_threads();
    int64_t first = std::min(n, blocks * t / count * 2 * kLanes);
    int64_t last = std::min(n, blocks * (t + 1) / count * 2 * kLanes);
    compute(first, last);
  }
}

} // namespace kiln::rt
