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

template <typename T> T sigmoid(T x) { return T(1) / (T(1) + std::exp(-x)); }

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
      const T *gx = gates + (b * T_ + t) * G * H;
      const T *gh = &projected[b * G * H];
      T *hb = &h[b * H], *cb = &c[b * H];
      T *out = hidden + (b * T_ + t) * H;
      T *keep = saved + (b * T_ + t) * W * H;
      for (int64_t j = 0; j < H; ++j) {
        T next;
        if (d.cell == KILN_CELL_LSTM) {
          T i = sigmoid(gx[j] + gh[j]);
          T f = sigmoid(gx[H + j] + gh[H + j]);
          T g = std::tanh(gx[2 * H + j] + gh[2 * H + j]);
          T o = sigmoid(gx[3 * H + j] + gh[3 * H + j]);
          T cn = f * cb[j] + i * g;
          next = o * std::tanh(cn);
          cb[j] = cn;
          keep[j] = i, keep[H + j] = f, keep[2 * H + j] = g,
          keep[3 * H + j] = o, keep[4 * H + j] = cn;
        } else if (d.cell == KILN_CELL_GRU) {
          T r = sigmoid(gx[j] + gh[j]);
          T z = sigmoid(gx[H + j] + gh[H + j]);
          T hn = gh[2 * H + j];
          T n = std::tanh(gx[2 * H + j] + r * hn);
          next = (T(1) - z) * n + z * hb[j];
          keep[j] = r, keep[H + j] = z, keep[2 * H + j] = n,
          keep[3 * H + j] = hn;
        } else {
          next = std::tanh(gx[j] + gh[j]);
          keep[j] = next;
        }
        hb[j] = next;
        out[j] = next;
      }
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
      step(B * G * H);
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
                               : (state ? state + b * S * H : nullptr);
      const T *cPrev = tp >= 0 ? saved + (b * T_ + tp) * W * H + 4 * H
                               : (state ? state + b * S * H + H : nullptr);
      T *before = &previous[(b * T_ + t) * H];
      for (int64_t j = 0; j < H; ++j)
        before[j] = hPrev ? hPrev[j] : T(0);
      const T *keep = saved + (b * T_ + t) * W * H;
      const T *keepGrad = savedGrad + (b * T_ + t) * W * H;
      const T *out = hidden + (b * T_ + t) * H;
      const T *outGrad = hiddenGrad + (b * T_ + t) * H;
      T *dgx = gatesGrad + (b * T_ + t) * G * H;
      T *dgh = &step[b * G * H];
      T *dhb = &dh[b * H], *dcb = &dc[b * H], *db = &direct[b * H];
      for (int64_t j = 0; j < H; ++j) {
        T g_h = dhb[j] + outGrad[j];
        if (d.cell == KILN_CELL_LSTM) {
          T i = keep[j], f = keep[H + j], g = keep[2 * H + j],
            o = keep[3 * H + j], cn = keep[4 * H + j];
          T tc = std::tanh(cn);
          T g_c = dcb[j] + keepGrad[4 * H + j] + g_h * o * (T(1) - tc * tc);
          T cp = cPrev ? cPrev[j] : T(0);
          dgx[j] = g_c * g * i * (T(1) - i);
          dgx[H + j] = g_c * cp * f * (T(1) - f);
          dgx[2 * H + j] = g_c * i * (T(1) - g * g);
          dgx[3 * H + j] = g_h * tc * o * (T(1) - o);
          for (int64_t k = 0; k < 4; ++k)
            dgh[k * H + j] = dgx[k * H + j];
          dcb[j] = g_c * f;
          db[j] = T(0);
        } else if (d.cell == KILN_CELL_GRU) {
          T r = keep[j], z = keep[H + j], n = keep[2 * H + j],
            hn = keep[3 * H + j];
          T hp = hPrev ? hPrev[j] : T(0);
          T g_npre = g_h * (T(1) - z) * (T(1) - n * n);
          T g_rpre = g_npre * hn * r * (T(1) - r);
          T g_zpre = g_h * (hp - n) * z * (T(1) - z);
          dgx[j] = dgh[j] = g_rpre;
          dgx[H + j] = dgh[H + j] = g_zpre;
          dgx[2 * H + j] = g_npre;
          dgh[2 * H + j] = g_npre * r;
          db[j] = g_h * z;
        } else {
          T hv = out[j];
          dgx[j] = dgh[j] = (g_h + keepGrad[j]) * (T(1) - hv * hv);
          db[j] = T(0);
        }
      }
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
