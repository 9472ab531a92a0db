//===- Recurrence.cpp - The time loops of tanh RNNs, LSTMs and GRUs -------===//
//
// graph.recurrence and its gradient become one call each (Library.h). A
// forward step is one matrix product, h W_hh^T + b_hh on oneDNN (float32),
// and one pass over the gates that applies the cell; a backward step is one
// pass over the gates and one matrix product, dgates W_hh. The recurrent
// weight's gradient is one matrix product over all steps at the end.
// Elementwise passes split the batch rows across the library's threads and
// never split a sum, so results do not depend on the thread count.
//
// Layouts are batch-first: gates [B, T, G*H], hidden [B, T, H], saved
// [B, T, W*H]; a step reads and writes rows b*T + t of them.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/Library.h"

#include "dnnl/OneDnnSupport.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <omp.h>
#include <vector>

namespace {

/// One recurrence's sizes and cell.
struct Dims {
  int64_t batch, steps, hidden, cell;
  bool reverse;
  int64_t gates() const {
    return cell == KILN_CELL_LSTM ? 4 : cell == KILN_CELL_GRU ? 3 : 1;
  }
  int64_t savedWidth() const {
    return cell == KILN_CELL_LSTM ? 5 : cell == KILN_CELL_GRU ? 4 : 1;
  }
  int64_t stateWidth() const { return cell == KILN_CELL_LSTM ? 2 : 1; }
  /// The position of the s-th step to run.
  int64_t position(int64_t s) const { return reverse ? steps - 1 - s : s; }
};

/// result[m,n] = lhs x op(rhs) + bias[n] + (accumulate ? result : 0), where
/// lhs is [m,k] (or [k,m] with transposeLhs) and op(rhs) is rhs [k,n] or,
/// with transposeRhs, the transpose of rhs [n,k]. float32 goes to oneDNN;
/// float64 (reference runs) to a plain loop.
void product(const float *lhs, const float *rhs, const float *bias,
             float *result, int64_t m, int64_t n, int64_t k, bool transposeLhs,
             bool transposeRhs, bool accumulate) {
  kiln_matmul_f32(lhs, rhs, bias, accumulate ? result : nullptr, result, m, n,
                  k, transposeLhs, transposeRhs, KILN_ACTIVATION_NONE, 0.0);
}

void product(const double *lhs, const double *rhs, const double *bias,
             double *result, int64_t m, int64_t n, int64_t k,
             bool transposeLhs, bool transposeRhs, bool accumulate) {
  for (int64_t i = 0; i < m; ++i) {
    double *row = result + i * n;
    for (int64_t j = 0; j < n; ++j)
      row[j] = (accumulate ? row[j] : 0.0) + (bias ? bias[j] : 0.0);
    for (int64_t p = 0; p < k; ++p) {
      double a = transposeLhs ? lhs[p * m + i] : lhs[i * k + p];
      if (transposeRhs)
        for (int64_t j = 0; j < n; ++j)
          row[j] += a * rhs[j * k + p];
      else
        for (int64_t j = 0; j < n; ++j)
          row[j] += a * rhs[p * n + j];
    }
  }
}

/// exp for the gates. float: Cephes' expf (range reduction by ln 2, a
/// degree-6 polynomial; about 1 ulp), written so that the row loops below
/// vectorize; double (reference runs): the C library's.
inline float gateExp(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  float t = x * 1.44269504088896341f;
  int32_t n = static_cast<int32_t>(t + (t < 0.0f ? -0.5f : 0.5f));
  float k = static_cast<float>(n);
  float r = x - k * 0.693359375f + k * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = p * r * r + r + 1.0f;
  uint32_t bits = static_cast<uint32_t>(n + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return y * scale;
}
inline double gateExp(double x) { return std::exp(x); }

template <typename T> inline T sigmoidOf(T x) {
  return T(1) / (T(1) + gateExp(-x));
}
/// tanh(x) = sign(x) (1 - e) / (1 + e) with e = exp(-2|x|) <= 1: no
/// overflow; near 0 the absolute error stays at float rounding.
inline float tanhOf(float x) {
  float e = gateExp(-2.0f * (x < 0.0f ? -x : x));
  float t = (1.0f - e) / (1.0f + e);
  return x < 0.0f ? -t : t;
}
inline double tanhOf(double x) { return std::tanh(x); }

/// Runs body(b) for every batch row, the rows split across the library's
/// threads when there is enough work.
template <typename Body> void forRows(const Dims &d, Body body) {
  int64_t threads = kiln::rt::onednn::useLibraryThreads();
  if (threads <= 1 || omp_in_parallel() || d.batch * d.hidden < 4096) {
    for (int64_t b = 0; b < d.batch; ++b)
      body(b);
    return;
  }
#pragma omp parallel for num_threads(static_cast<int>(threads)) schedule(static)
  for (int64_t b = 0; b < d.batch; ++b)
    body(b);
}

// The row loops read and write a row's gates at offsets 0, H, 2H, ... of
// one pointer; `#pragma GCC ivdep` tells the vectorizer that these never
// overlap (each gate's range is H long), which it cannot prove for an H
// only known at run time.

/// One batch row of a forward step: from the row's input gates `gx` and
/// recurrent projection `gh`, updates the state `h` (and `c`), writes the
/// step's output and what the gradient keeps.
template <typename T>
inline __attribute__((always_inline)) void
forwardRow(int64_t cell, int64_t H, const T *__restrict gx,
           const T *__restrict gh, T *__restrict h, T *__restrict c,
           T *__restrict out, T *__restrict keep) {
  if (cell == KILN_CELL_LSTM) {
#pragma GCC ivdep
    for (int64_t j = 0; j < H; ++j) {
      T i = sigmoidOf(gx[j] + gh[j]);
      T f = sigmoidOf(gx[H + j] + gh[H + j]);
      T g = tanhOf(gx[2 * H + j] + gh[2 * H + j]);
      T o = sigmoidOf(gx[3 * H + j] + gh[3 * H + j]);
      T cn = f * c[j] + i * g;
      T next = o * tanhOf(cn);
      c[j] = cn;
      keep[j] = i, keep[H + j] = f, keep[2 * H + j] = g, keep[3 * H + j] = o;
      keep[4 * H + j] = cn;
      h[j] = next, out[j] = next;
    }
  } else if (cell == KILN_CELL_GRU) {
#pragma GCC ivdep
    for (int64_t j = 0; j < H; ++j) {
      T r = sigmoidOf(gx[j] + gh[j]);
      T z = sigmoidOf(gx[H + j] + gh[H + j]);
      T hn = gh[2 * H + j];
      T n = tanhOf(gx[2 * H + j] + r * hn);
      T next = (T(1) - z) * n + z * h[j];
      keep[j] = r, keep[H + j] = z, keep[2 * H + j] = n, keep[3 * H + j] = hn;
      h[j] = next, out[j] = next;
    }
  } else {
#pragma GCC ivdep
    for (int64_t j = 0; j < H; ++j) {
      T next = tanhOf(gx[j] + gh[j]);
      keep[j] = next;
      h[j] = next, out[j] = next;
    }
  }
}

/// One batch row of a backward step: from what the forward kept, the
/// gradient of the step's output and the gradients carried from the next
/// step (dh, dc), writes the gradients of the input gates (`dgx`) and of
/// the recurrent projection (`dgh`), updates dc, and writes into `direct`
/// the part of the previous state's gradient that bypasses W_hh (gru).
template <typename T>
inline __attribute__((always_inline)) void
backwardRow(int64_t cell, int64_t H, const T *__restrict keep,
            const T *__restrict keepGrad, const T *__restrict out,
            const T *__restrict outGrad, const T *__restrict hPrev,
            const T *__restrict cPrev, const T *__restrict dh,
            T *__restrict dc, T *__restrict dgx, T *__restrict dgh,
            T *__restrict direct) {
  if (cell == KILN_CELL_LSTM) {
#pragma GCC ivdep
    for (int64_t j = 0; j < H; ++j) {
      T g_h = dh[j] + outGrad[j];
      T i = keep[j], f = keep[H + j], g = keep[2 * H + j],
        o = keep[3 * H + j], cn = keep[4 * H + j];
      T tc = tanhOf(cn);
      T g_c = dc[j] + keepGrad[4 * H + j] + g_h * o * (T(1) - tc * tc);
      T di = g_c * g * i * (T(1) - i);
      T df = g_c * cPrev[j] * f * (T(1) - f);
      T dg = g_c * i * (T(1) - g * g);
      T d_o = g_h * tc * o * (T(1) - o);
      dgx[j] = di, dgx[H + j] = df, dgx[2 * H + j] = dg, dgx[3 * H + j] = d_o;
      dgh[j] = di, dgh[H + j] = df, dgh[2 * H + j] = dg, dgh[3 * H + j] = d_o;
      dc[j] = g_c * f;
      direct[j] = T(0);
    }
  } else if (cell == KILN_CELL_GRU) {
#pragma GCC ivdep
    for (int64_t j = 0; j < H; ++j) {
      T g_h = dh[j] + outGrad[j];
      T r = keep[j], z = keep[H + j], n = keep[2 * H + j],
        hn = keep[3 * H + j];
      T g_npre = g_h * (T(1) - z) * (T(1) - n * n);
      T g_rpre = g_npre * hn * r * (T(1) - r);
      T g_zpre = g_h * (hPrev[j] - n) * z * (T(1) - z);
      dgx[j] = g_rpre, dgh[j] = g_rpre;
      dgx[H + j] = g_zpre, dgh[H + j] = g_zpre;
      dgx[2 * H + j] = g_npre;
      dgh[2 * H + j] = g_npre * r;
      direct[j] = g_h * z;
    }
  } else {
#pragma GCC ivdep
    for (int64_t j = 0; j < H; ++j) {
      T g_h = dh[j] + outGrad[j];
      T hv = out[j];
      T d = (g_h + keepGrad[j]) * (T(1) - hv * hv);
      dgx[j] = d, dgh[j] = d;
      direct[j] = T(0);
    }
  }
}

// float32 rows are compiled for AVX-512, AVX2 and baseline x86-64, picked
// when the library loads (the file builds with -fno-trapping-math, so that
// the clamps and sign selections vectorize).
#define KILN_ROW_TARGETS                                                       \
  __attribute__((target_clones("avx512f", "avx2", "default")))

KILN_ROW_TARGETS void forwardRowF32(int64_t cell, int64_t H, const float *gx,
                                    const float *gh, float *h, float *c,
                                    float *out, float *keep) {
  forwardRow(cell, H, gx, gh, h, c, out, keep);
}

KILN_ROW_TARGETS void backwardRowF32(int64_t cell, int64_t H,
                                     const float *keep, const float *keepGrad,
                                     const float *out, const float *outGrad,
                                     const float *hPrev, const float *cPrev,
                                     const float *dh, float *dc, float *dgx,
                                     float *dgh, float *direct) {
  backwardRow(cell, H, keep, keepGrad, out, outGrad, hPrev, cPrev, dh, dc,
              dgx, dgh, direct);
}

void stepForward(int64_t cell, int64_t H, const float *gx, const float *gh,
                 float *h, float *c, float *out, float *keep) {
  forwardRowF32(cell, H, gx, gh, h, c, out, keep);
}
void stepForward(int64_t cell, int64_t H, const double *gx, const double *gh,
                 double *h, double *c, double *out, double *keep) {
  forwardRow(cell, H, gx, gh, h, c, out, keep);
}
void stepBackward(int64_t cell, int64_t H, const float *keep,
                  const float *keepGrad, const float *out,
                  const float *outGrad, const float *hPrev, const float *cPrev,
                  const float *dh, float *dc, float *dgx, float *dgh,
                  float *direct) {
  backwardRowF32(cell, H, keep, keepGrad, out, outGrad, hPrev, cPrev, dh, dc,
                 dgx, dgh, direct);
}
void stepBackward(int64_t cell, int64_t H, const double *keep,
                  const double *keepGrad, const double *out,
                  const double *outGrad, const double *hPrev,
                  const double *cPrev, const double *dh, double *dc,
                  double *dgx, double *dgh, double *direct) {
  backwardRow(cell, H, keep, keepGrad, out, outGrad, hPrev, cPrev, dh, dc,
              dgx, dgh, direct);
}

template <typename T>
void forward(const T *gates, const T *weight, const T *bias, const T *state,
             T *hidden, T *saved, const Dims &d) {
  int64_t B = d.batch, T_ = d.steps, H = d.hidden, G = d.gates(),
          W = d.savedWidth();
  // The state carried from step to step: h [B, H], then c [B, H] (lstm).
  std::vector<T> h(B * H, T(0)), c(B * H, T(0)), projected(B * G * H);
  if (state)
    for (int64_t b = 0; b < B; ++b) {
      std::memcpy(&h[b * H], state + b * d.stateWidth() * H, H * sizeof(T));
      if (d.cell == KILN_CELL_LSTM)
        std::memcpy(&c[b * H], state + b * 2 * H + H, H * sizeof(T));
    }
  for (int64_t s = 0; s < T_; ++s) {
    int64_t t = d.position(s);
    product(h.data(), weight, bias, projected.data(), B, G * H, H, false, true,
            false);
    forRows(d, [&](int64_t b) {
      stepForward(d.cell, H, gates + (b * T_ + t) * G * H,
                  &projected[b * G * H], &h[b * H], &c[b * H],
                  hidden + (b * T_ + t) * H, saved + (b * T_ + t) * W * H);
    });
  }
}

template <typename T>
void backward(const T *weight, const T *state, const T *hidden, const T *saved,
              const T *hiddenGrad, const T *savedGrad, T *gatesGrad,
              T *weightGrad, T *biasGrad, T *stateGrad, const Dims &d) {
  int64_t B = d.batch, T_ = d.steps, H = d.hidden, G = d.gates(),
          W = d.savedWidth(), S = d.stateWidth();
  // dh, dc: the gradients carried to the previous step. step: this step's
  // gradient of h W_hh^T + b_hh, contiguous for the matrix product.
  std::vector<T> dh(B * H, T(0)), dc(B * H, T(0)), direct(B * H, T(0)),
      step(B * G * H), zeros(H, T(0));
  // The gradient of every step's h W_hh^T + b_hh: the gates' own gradient,
  // except for gru, whose n gate sees r (W_hn h + b_hn).
  std::vector<T> recurrentOwn;
  if (d.cell == KILN_CELL_GRU)
    recurrentOwn.resize(B * T_ * G * H);
  T *recurrentGrad = d.cell == KILN_CELL_GRU ? recurrentOwn.data() : gatesGrad;
  // The state each step started from, for the weight's gradient.
  std::vector<T> previous(B * T_ * H);
  for (int64_t s = T_ - 1; s >= 0; --s) {
    int64_t t = d.position(s);
    int64_t tp = s > 0 ? d.position(s - 1) : -1;
    forRows(d, [&](int64_t b) {
      const T *hPrev = tp >= 0 ? hidden + (b * T_ + tp) * H
                               : (state ? state + b * S * H : zeros.data());
      const T *cPrev =
          d.cell != KILN_CELL_LSTM ? zeros.data()
          : tp >= 0                ? saved + (b * T_ + tp) * W * H + 4 * H
                   : (state ? state + b * S * H + H : zeros.data());
      std::memcpy(&previous[(b * T_ + t) * H], hPrev, H * sizeof(T));
      T *dgh = &step[b * G * H];
      stepBackward(d.cell, H, saved + (b * T_ + t) * W * H,
                   savedGrad + (b * T_ + t) * W * H, hidden + (b * T_ + t) * H,
                   hiddenGrad + (b * T_ + t) * H, hPrev, cPrev, &dh[b * H],
                   &dc[b * H], gatesGrad + (b * T_ + t) * G * H, dgh,
                   &direct[b * H]);
      if (d.cell == KILN_CELL_GRU)
        std::memcpy(recurrentGrad + (b * T_ + t) * G * H, dgh,
                    G * H * sizeof(T));
    });
    // dh_prev = direct + dgh W_hh.
    std::memcpy(dh.data(), direct.data(), B * H * sizeof(T));
    product(step.data(), weight, nullptr, dh.data(), B, H, G * H, false,
            false, true);
  }
  // dW_hh [G*H, H] = sum over rows of dgh^T h_prev; db_hh = sum of dgh.
  product(recurrentGrad, previous.data(), nullptr, weightGrad, G * H, H,
          B * T_, true, false, false);
  for (int64_t j = 0; j < G * H; ++j)
    biasGrad[j] = T(0);
  for (int64_t r = 0; r < B * T_; ++r)
    for (int64_t j = 0; j < G * H; ++j)
      biasGrad[j] += recurrentGrad[r * G * H + j];
  for (int64_t b = 0; b < B; ++b) {
    std::memcpy(stateGrad + b * S * H, &dh[b * H], H * sizeof(T));
    if (d.cell == KILN_CELL_LSTM)
      std::memcpy(stateGrad + b * S * H + H, &dc[b * H], H * sizeof(T));
  }
}

} // namespace

extern "C" {

void kiln_recurrence_f32(const float *gates, const float *weight,
                         const float *bias, const float *state, float *hidden,
                         float *saved, int64_t batch, int64_t steps,
                         int64_t hiddenSize, int64_t cell, int64_t reverse) {
  forward(gates, weight, bias, state, hidden, saved,
          Dims{batch, steps, hiddenSize, cell, reverse != 0});
}

void kiln_recurrence_f64(const double *gates, const double *weight,
                         const double *bias, const double *state,
                         double *hidden, double *saved, int64_t batch,
                         int64_t steps, int64_t hiddenSize, int64_t cell,
                         int64_t reverse) {
  forward(gates, weight, bias, state, hidden, saved,
          Dims{batch, steps, hiddenSize, cell, reverse != 0});
}

void kiln_recurrence_grad_f32(const float *weight, const float *state,
                              const float *hidden, const float *saved,
                              const float *hiddenGrad, const float *savedGrad,
                              float *gatesGrad, float *weightGrad,
                              float *biasGrad, float *stateGrad, int64_t batch,
                              int64_t steps, int64_t hiddenSize, int64_t cell,
                              int64_t reverse) {
  backward(weight, state, hidden, saved, hiddenGrad, savedGrad, gatesGrad,
           weightGrad, biasGrad, stateGrad,
           Dims{batch, steps, hiddenSize, cell, reverse != 0});
}

void kiln_recurrence_grad_f64(const double *weight, const double *state,
                              const double *hidden, const double *saved,
                              const double *hiddenGrad,
                              const double *savedGrad, double *gatesGrad,
                              double *weightGrad, double *biasGrad,
                              double *stateGrad, int64_t batch, int64_t steps,
                              int64_t hiddenSize, int64_t cell,
                              int64_t reverse) {
  backward(weight, state, hidden, saved, hiddenGrad, savedGrad, gatesGrad,
           weightGrad, biasGrad, stateGrad,
           Dims{batch, steps, hiddenSize, cell, reverse != 0});
}

} // extern "C"
