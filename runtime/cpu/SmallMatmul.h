//===- SmallMatmul.h - Matrix products of a few rows ----------------------===//
//
// A product of a few rows (a batch of one to four examples through a linear
// layer) reads each weight once and does two flops with it: its speed is the
// speed of streaming the weights. oneDNN's matmul spends more on packing them
// than on the product (a 1x3136 by 3136x128 product: 35 us in oneDNN, 20 us
// streamed, on one Zen 5 core). These rows therefore run on the runtime's
// own loop, vectorized for the CPU it runs on (AVX-512, AVX2 or SSE2), with
// bias, residual and activation applied as kiln_matmul_f32 documents.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_SMALLMATMUL_H
#define KILN_RUNTIME_CPU_SMALLMATMUL_H

#include <cstdint>

namespace kiln::rt {

/// The most rows smallMatmul takes.
constexpr int64_t kSmallMatmulRows = 4;

/// result[m,n] = act(lhs[m,k] x op(rhs) + bias[n] + residual[m,n]) for
/// m <= kSmallMatmulRows, lhs row-major (not transposed); op(rhs) is `rhs`
/// as [k,n], or with `transposeRhs` the transpose of `rhs` stored as [n,k].
/// `result` may be `residual`. Each result is summed in the same order
/// whatever the thread count. Throws std::invalid_argument for an unknown
/// activation code.
void smallMatmul(const float *lhs, const float *rhs, const float *bias,
                 const float *residual, float *result, int64_t m, int64_t n,
                 int64_t k, bool transposeRhs, int64_t activation,
                 double alpha, int64_t threads);

} // namespace kiln::rt

#endif // KILN_RUNTIME_CPU_SMALLMATMUL_H
