//===- Library.h - Matrix products and convolutions for generated code ----===//
//
// The C ABI through which compiled models hand their matrix products and
// convolutions, with bias, residual and activation fused, to the runtime's
// oneDNN-backed library. Part of the runtime's contract with the compiler.
//
// Every pointer is a contiguous row-major (NCHW for images) float buffer; a
// null `bias` or `residual` means the term is absent. `result` may be the
// same buffer as `residual` but must not overlap any other operand. Sizes,
// strides, dilations and groups are positive, padding is not negative and
// shapes agree with each other. These are the compiler's to get right: a
// violation, or an unknown activation code, is a programming error, reported
// on stderr (naming the call and its arguments) before the process aborts.
//
// Primitives are created once per shape and configuration and cached for the
// life of the process; the cache is safe to use from several threads.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LIBRARY_H
#define KILN_RUNTIME_LIBRARY_H

#include <cstddef>
#include <cstdint>

/// The activations a library call applies, applied last, after bias and
/// residual; declared once here. X(NAME, dialectName, code, oneDnnAlgorithm,
/// oneDnnAlpha): KILN_ACTIVATION_NAME = code is the `activation` argument;
/// dialectName is the graph dialect's Activation case with the same value
/// (the compiler static_asserts it); the runtime applies the oneDNN eltwise
/// post-op dnnl::algorithm::oneDnnAlgorithm with alpha oneDnnAlpha (an
/// expression in the call's `alpha`).
///   relu        max(x, 0)
///   leaky_relu  max(x, 0) + alpha * min(x, 0): `alpha` is the negative slope
///   gelu        the exact form x * (1 + erf(x / sqrt(2))) / 2
///   silu        x * sigmoid(x)
#define KILN_ACTIVATIONS(X)                                                    \
  X(RELU, relu, 1, eltwise_relu, 0.0)                                          \
  X(LEAKY_RELU, leaky_relu, 2, eltwise_relu, alpha)                            \
  X(GELU, gelu, 3, eltwise_gelu_erf, 0.0)                                      \
  X(SILU, silu, 4, eltwise_swish, 1.0)                                         \
  X(SIGMOID, sigmoid, 5, eltwise_logistic, 0.0)                                \
  X(TANH, tanh, 6, eltwise_tanh, 0.0)

/// The library's entry points for generated code, declared below; the JIT
/// resolves generated code's calls from this list.
#define KILN_LIBRARY_FUNCTIONS(X)                                              \
  X(kiln_matmul_f32)                                                           \
  X(kiln_conv2d_f32)                                                           \
  X(kiln_conv_transpose2d_f32)                                                 \
  X(kiln_conv2d_weight_grad_f32)                                               \
  X(kiln_conv2d_nhwc_f32)                                                      \
  X(kiln_conv_transpose2d_nhwc_f32)                                            \
  X(kiln_conv2d_weight_grad_nhwc_f32)                                          \
  X(kiln_recurrence_f32)                                                       \
  X(kiln_recurrence_f64)                                                       \
  X(kiln_recurrence_grad_f32)                                                  \
  X(kiln_recurrence_grad_f64)

extern "C" {

/// Activation codes of the `activation` argument: none (0) or one of
/// KILN_ACTIVATIONS.
enum KilnActivation : int64_t {
  KILN_ACTIVATION_NONE = 0,
#define KILN_ACTIVATION_CODE(NAME, name, code, algorithm, algorithmAlpha)      \
  KILN_ACTIVATION_##NAME = code,
  KILN_ACTIVATIONS(KILN_ACTIVATION_CODE)
#undef KILN_ACTIVATION_CODE
};

/// result[M,N] = act(op(lhs) x op(rhs) + bias[N] + residual[M,N]), with the
/// bias broadcast over rows. op(lhs) is `lhs` as [M,K], or with
/// `transposeLhs` the transpose of `lhs` stored as [K,M]; op(rhs) is `rhs` as
/// [K,N], or with `transposeRhs` the transpose of `rhs` stored as [N,K] (a
/// PyTorch Linear weight). `alpha` is only read by leaky ReLU.
void kiln_matmul_f32(const float *lhs, const float *rhs, const float *bias,
                     const float *residual, float *result, int64_t m, int64_t n,
                     int64_t k, int64_t transposeLhs, int64_t transposeRhs,
                     int64_t activation, double alpha);

/// result[n,o,oh,ow] = act(conv2d(input, weight) + bias[o] + residual), as
/// PyTorch's conv2d computes it: `input` is [n,c,h,w], `weight` is
/// [o, c/groups, kh, kw], padding is symmetric (`padH` rows above and below,
/// `padW` columns left and right) and a dilation of 1 means a dense kernel.
/// `alpha` is only read by leaky ReLU.
void kiln_conv2d_f32(const float *input, const float *weight, const float *bias,
                     const float *residual, float *result, int64_t n, int64_t c,
                     int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw,
                     int64_t oh, int64_t ow, int64_t strideH, int64_t strideW,
                     int64_t padH, int64_t padW, int64_t dilationH,
                     int64_t dilationW, int64_t groups, int64_t activation,
                     double alpha);

/// result[n,o,oh,ow] = act(conv_transpose2d(input, weight) + bias[o] +
/// residual), as PyTorch's conv_transpose2d computes it: `input` is
/// [n,c,h,w], `weight` is [c, o/groups, kh, kw], `padH`/`padW` crop the full
/// result symmetrically and `outputPadH`/`outputPadW` (at most the padding)
/// give back rows at the bottom and columns at the right.
void kiln_conv_transpose2d_f32(
    const float *input, const float *weight, const float *bias,
    const float *residual, float *result, int64_t n, int64_t c, int64_t h,
    int64_t w, int64_t o, int64_t kh, int64_t kw, int64_t oh, int64_t ow,
    int64_t strideH, int64_t strideW, int64_t padH, int64_t padW,
    int64_t outputPadH, int64_t outputPadW, int64_t dilationH,
    int64_t dilationW, int64_t groups, int64_t activation, double alpha);

/// result[o, c/groups, kh, kw] = the gradient of conv2d(input, weight) (as
/// in kiln_conv2d_f32, without bias) with respect to its weight, given
/// `grad`, the [n,o,oh,ow] gradient of its result.
void kiln_conv2d_weight_grad_f32(const float *input, const float *grad,
                                 float *result, int64_t n, int64_t c,
                                 int64_t h, int64_t w, int64_t o, int64_t kh,
                                 int64_t kw, int64_t oh, int64_t ow,
                                 int64_t strideH, int64_t strideW,
                                 int64_t padH, int64_t padW,
                                 int64_t dilationH, int64_t dilationW,
                                 int64_t groups);

/// The three convolutions above on channels-last activations: `input`,
/// `residual`, `result` and `grad` are [n,h,w,c] (NHWC) where the functions
/// above take [n,c,h,w]; the arguments, weights and sizes are the same.
void kiln_conv2d_nhwc_f32(const float *input, const float *weight,
                          const float *bias, const float *residual,
                          float *result, int64_t n, int64_t c, int64_t h,
                          int64_t w, int64_t o, int64_t kh, int64_t kw,
                          int64_t oh, int64_t ow, int64_t strideH,
                          int64_t strideW, int64_t padH, int64_t padW,
                          int64_t dilationH, int64_t dilationW, int64_t groups,
                          int64_t activation, double alpha);
void kiln_conv_transpose2d_nhwc_f32(
    const float *input, const float *weight, const float *bias,
    const float *residual, float *result, int64_t n, int64_t c, int64_t h,
    int64_t w, int64_t o, int64_t kh, int64_t kw, int64_t oh, int64_t ow,
    int64_t strideH, int64_t strideW, int64_t padH, int64_t padW,
    int64_t outputPadH, int64_t outputPadW, int64_t dilationH,
    int64_t dilationW, int64_t groups, int64_t activation, double alpha);
void kiln_conv2d_weight_grad_nhwc_f32(
    const float *input, const float *grad, float *result, int64_t n, int64_t c,
    int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw, int64_t oh,
    int64_t ow, int64_t strideH, int64_t strideW, int64_t padH, int64_t padW,
    int64_t dilationH, int64_t dilationW, int64_t groups);

/// The cells of a recurrence (the graph dialect's RecurrentCell values).
enum KilnCell : int64_t {
  KILN_CELL_TANH = 0,
  KILN_CELL_LSTM = 1,
  KILN_CELL_GRU = 2,
};

/// A recurrent layer's loop over time (graph.recurrence): runs `cell` over
/// the `steps` positions of `gates` [batch, steps, G*hidden], the input
/// projection of every step, with the recurrent weight [G*hidden, hidden]
/// and bias [G*hidden], from `state` [batch, S*hidden] (null: zero; S is 2
/// for an LSTM, h then c, else 1); with `reverse` from the last position to
/// the first. Writes the hidden state after each step to `hidden`
/// [batch, steps, hidden] and what the gradient reads to `saved`
/// [batch, steps, W*hidden]: tanh h (W = 1); LSTM i, f, g, o and c (W = 5);
/// GRU r, z, n and W_hn h + b_hn (W = 4). Gate order as PyTorch's.
void kiln_recurrence_f32(const float *gates, const float *weight,
                         const float *bias, const float *state, float *hidden,
                         float *saved, int64_t batch, int64_t steps,
                         int64_t hiddenSize, int64_t cell, int64_t reverse);
void kiln_recurrence_f64(const double *gates, const double *weight,
                         const double *bias, const double *state,
                         double *hidden, double *saved, int64_t batch,
                         int64_t steps, int64_t hiddenSize, int64_t cell,
                         int64_t reverse);

/// Backpropagation through time of kiln_recurrence_*: from the forward's
/// `weight`, `state` (not null: zeros when the forward had none), `hidden`
/// and `saved`, and the gradients `hiddenGrad` and `savedGrad` of the last
/// two (only an LSTM's c and a tanh cell's h are read from `savedGrad`),
/// writes the gradients of the gates, the weight, the bias and the state.
void kiln_recurrence_grad_f32(const float *weight, const float *state,
                              const float *hidden, const float *saved,
                              const float *hiddenGrad, const float *savedGrad,
                              float *gatesGrad, float *weightGrad,
                              float *biasGrad, float *stateGrad, int64_t batch,
                              int64_t steps, int64_t hiddenSize, int64_t cell,
                              int64_t reverse);
void kiln_recurrence_grad_f64(const double *weight, const double *state,
                              const double *hidden, const double *saved,
                              const double *hiddenGrad,
                              const double *savedGrad, double *gatesGrad,
                              double *weightGrad, double *biasGrad,
                              double *stateGrad, int64_t batch, int64_t steps,
                              int64_t hiddenSize, int64_t cell,
                              int64_t reverse);

/// Sets the number of threads the library computes with; `n <= 0` restores
/// the default (see kiln_num_threads). Takes effect on the next call.
void kiln_set_num_threads(int64_t n);

/// With `on` non-zero, results no longer depend on the number of threads:
/// the library calls whose floating-point sums oneDNN splits across threads
/// (convolution weight gradients) run on one thread, at some cost in speed.
/// Generated kernels never split a sum across threads. Off by default.
void kiln_set_deterministic(int64_t on);
int64_t kiln_deterministic(void);

/// The number of threads the library computes with: the value last given to
/// kiln_set_num_threads, else the environment variable KILN_NUM_THREADS when
/// it holds a positive integer, else the number of CPUs this process may run
/// on.
int64_t kiln_num_threads(void);

/// The number of primitives in the library's cache, for tests: a repeated
/// call with the same shapes and configuration does not change it.
size_t kiln_library_cache_size(void);
}

#endif // KILN_RUNTIME_LIBRARY_H
