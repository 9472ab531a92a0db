//===- Ops.h - The ops of the Kiln C++ DSL --------------------------------===//
//
// The functions a model's `forward` and `loss` are written with. They carry
// the names PyTorch's C++ frontend gives them (`torch::cat`, `permute`,
// `F::layer_norm`, `F::cross_entropy`), so code reads across; where Kiln
// differs from PyTorch, the comment says so. Each comment states the op's
// shape rule: `[B, C, H, W]` names dimensions, `...` any leading ones.
// Shapes are checked when the op is created: a mismatch throws GraphError
// naming the op and the caller's line (each function takes a trailing
// `SourceLoc` that defaults to that line; library layers pass theirs on).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DSL_OPS_H
#define KILN_DSL_OPS_H

#include "kiln/Tensor.h"

#include <optional>

namespace kiln {

/// An operand of an arithmetic operator: a tensor or a scalar, recording the
/// line of the expression (operators cannot take default arguments).
struct Operand {
  Operand(const Tensor &t, SourceLoc loc = SourceLoc::current())
      : tensor(t), loc(loc) {}
  Operand(double v, SourceLoc loc = SourceLoc::current())
      : scalar(v), loc(loc) {}
  Operand(int v, SourceLoc loc = SourceLoc::current())
      : scalar(v), loc(loc) {}
  std::optional<Tensor> tensor;
  double scalar = 0;
  SourceLoc loc;
};

/// Elementwise arithmetic with broadcasting (NumPy's rules: shapes aligned
/// at the last dimension, a dimension of 1 stretches). A scalar operand
/// becomes a constant of the tensor's dtype.
Tensor operator+(const Operand &lhs, const Operand &rhs);
Tensor operator-(const Operand &lhs, const Operand &rhs);
Tensor operator*(const Operand &lhs, const Operand &rhs);
Tensor operator/(const Operand &lhs, const Operand &rhs);
Tensor operator-(const Operand &x);

//===----------------------------------------------------------------------===//
// Constants and casts
//===----------------------------------------------------------------------===//

/// A 0-d constant in `like`'s graph, with `like`'s dtype: `[]`.
Tensor scalar_like(const Tensor &like, double value,
                   SourceLoc loc = SourceLoc::current());
/// A dense constant of `shape` holding `values` (row-major; as many values
/// as the shape has elements), like `torch::tensor(values).reshape(shape)`.
Tensor constant(Graph &graph, Shape shape, std::vector<double> values,
                DType dtype = DType::F32, SourceLoc loc = SourceLoc::current());
/// `x` converted to `dtype` (PyTorch's `x.to(dtype)`); same shape.
Tensor cast(const Tensor &x, DType dtype, SourceLoc loc = SourceLoc::current());

//===----------------------------------------------------------------------===//
// Elementwise math: the result has the (broadcast) shape of the operands.
//===----------------------------------------------------------------------===//

/// Binary ops: both operands of one dtype, shapes broadcast. `pow` and the
/// float ops below need float tensors.
Tensor add(const Tensor &a, const Tensor &b, SourceLoc loc = SourceLoc::current());
Tensor sub(const Tensor &a, const Tensor &b, SourceLoc loc = SourceLoc::current());
Tensor mul(const Tensor &a, const Tensor &b, SourceLoc loc = SourceLoc::current());
Tensor div(const Tensor &a, const Tensor &b, SourceLoc loc = SourceLoc::current());
Tensor pow(const Tensor &a, const Tensor &b, SourceLoc loc = SourceLoc::current());
Tensor maximum(const Tensor &a, const Tensor &b, SourceLoc loc = SourceLoc::current());
Tensor minimum(const Tensor &a, const Tensor &b, SourceLoc loc = SourceLoc::current());
/// Unary ops on a float tensor: same shape.
Tensor neg(const Tensor &x, SourceLoc loc = SourceLoc::current());
Tensor abs(const Tensor &x, SourceLoc loc = SourceLoc::current());
Tensor exp(const Tensor &x, SourceLoc loc = SourceLoc::current());
Tensor log(const Tensor &x, SourceLoc loc = SourceLoc::current());
Tensor sqrt(const Tensor &x, SourceLoc loc = SourceLoc::current());
Tensor rsqrt(const Tensor &x, SourceLoc loc = SourceLoc::current());
Tensor sin(const Tensor &x, SourceLoc loc = SourceLoc::current());
Tensor cos(const Tensor &x, SourceLoc loc = SourceLoc::current());
Tensor tanh(const Tensor &x, SourceLoc loc = SourceLoc::current());
Tensor erf(const Tensor &x, SourceLoc loc = SourceLoc::current());
Tensor sigmoid(const Tensor &x, SourceLoc loc = SourceLoc::current());
Tensor relu(const Tensor &x, SourceLoc loc = SourceLoc::current());
/// The exact (erf) GELU, PyTorch's default.
Tensor gelu(const Tensor &x, SourceLoc loc = SourceLoc::current());
Tensor silu(const Tensor &x, SourceLoc loc = SourceLoc::current());
/// `x` where positive, `negative_slope * x` elsewhere.
Tensor leaky_relu(const Tensor &x, double negative_slope = 0.01,
                  SourceLoc loc = SourceLoc::current());
/// `x` limited to [min, max] (min <= max).
Tensor clamp(const Tensor &x, double min, double max,
             SourceLoc loc = SourceLoc::current());

/// Comparisons of two tensors of one numeric dtype, shapes broadcast; the
/// result is i1 (bool). `compare` takes the predicate as a value.
enum class Compare { Eq = 0, Ne, Lt, Le, Gt, Ge };
Tensor compare(Compare predicate, const Tensor &a, const Tensor &b,
               SourceLoc loc = SourceLoc::current());
Tensor eq(const Tensor &a, const Tensor &b, SourceLoc loc = SourceLoc::current());
Tensor ne(const Tensor &a, const Tensor &b, SourceLoc loc = SourceLoc::current());
Tensor lt(const Tensor &a, const Tensor &b, SourceLoc loc = SourceLoc::current());
Tensor le(const Tensor &a, const Tensor &b, SourceLoc loc = SourceLoc::current());
Tensor gt(const Tensor &a, const Tensor &b, SourceLoc loc = SourceLoc::current());
Tensor ge(const Tensor &a, const Tensor &b, SourceLoc loc = SourceLoc::current());
/// `condition ? a : b` elementwise (i1 condition; `a` and `b` of one
/// dtype); the three shapes broadcast.
Tensor where(const Tensor &condition, const Tensor &a, const Tensor &b,
             SourceLoc loc = SourceLoc::current());

//===----------------------------------------------------------------------===//
// Contractions, convolution, pooling
//===----------------------------------------------------------------------===//

/// torch::matmul: `[M, K] x [K, N] -> [M, N]`; with a rank above 2 on
/// either side, a batched product `[..., M, K] x [..., K, N] -> [..., M, N]`
/// (as `bmm`). `transpose_a`/`transpose_b` read an operand's last two
/// dimensions swapped without a separate transpose (Kiln's addition).
Tensor matmul(const Tensor &a, const Tensor &b, bool transpose_a = false,
              bool transpose_b = false, SourceLoc loc = SourceLoc::current());
/// Batched product `[..., M, K] x [..., K, N] -> [..., M, N]`; the batch
/// dimensions broadcast (a rank-2 operand is shared by every batch).
Tensor bmm(const Tensor &a, const Tensor &b, bool transpose_a = false,
           bool transpose_b = false, SourceLoc loc = SourceLoc::current());

/// Options of the functional convolutions (`F::conv2d`'s arguments).
struct ConvOptions {
  Shape stride{1, 1};
  Shape padding{0, 0};
  Shape dilation{1, 1};
  int64_t groups = 1;
  Shape outputPadding{0, 0}; // conv-transpose only
};
/// `x [B, C, H, W]`, `weight [O, C/groups, kh, kw]`, `bias [O]` (an invalid,
/// default-constructed tensor for none) -> `[B, O, H', W']` with
/// H' = (H + 2 pad - dilation (kh - 1) - 1) / stride + 1, likewise W'.
Tensor conv2d(const Tensor &x, const Tensor &weight, const Tensor &bias,
              const ConvOptions &options = {},
              SourceLoc loc = SourceLoc::current());
/// `x [B, C, H, W]`, `weight [C, O/groups, kh, kw]`, `bias [O]` ->
/// `[B, O, H', W']` with H' = (H - 1) stride - 2 pad + dilation (kh - 1) +
/// output_padding + 1, likewise W'.
Tensor conv_transpose2d(const Tensor &x, const Tensor &weight,
                        const Tensor &bias, const ConvOptions &options = {},
                        SourceLoc loc = SourceLoc::current());
/// `[B, C, H, W] -> [B, C, H', W']`, H' = (H + 2 pad - k) / stride + 1
/// (floor; PyTorch's ceil_mode is not offered). Padding counts as -inf.
Tensor max_pool2d(const Tensor &x, Shape kernel, Shape stride,
                  Shape padding = {0, 0},
                  SourceLoc loc = SourceLoc::current());
/// As max_pool2d, averaging; `count_include_pad` divides by the whole
/// window (PyTorch's default) rather than by its elements inside the input.
Tensor avg_pool2d(const Tensor &x, Shape kernel, Shape stride,
                  Shape padding = {0, 0}, bool count_include_pad = true,
                  SourceLoc loc = SourceLoc::current());
/// `[B, C, H, W] -> [B, C, oh, ow]` where oh divides H and ow divides W
/// (PyTorch also allows uneven windows; Kiln refuses them). `{1, 1}` is the
/// global average.
Tensor adaptive_avg_pool2d(const Tensor &x, Shape output_size,
                           SourceLoc loc = SourceLoc::current());

//===----------------------------------------------------------------------===//
// Reductions and normalization
//===----------------------------------------------------------------------===//

/// Reductions over `dims` (negative counts from the end): the dimensions
/// are removed, or kept as 1 with `keepdim`. `amax`/`amin` are torch's
/// value-only maximum and minimum.
Tensor sum(const Tensor &x, Shape dims, bool keepdim = false,
           SourceLoc loc = SourceLoc::current());
Tensor mean(const Tensor &x, Shape dims, bool keepdim = false,
            SourceLoc loc = SourceLoc::current());
Tensor amax(const Tensor &x, Shape dims, bool keepdim = false,
            SourceLoc loc = SourceLoc::current());
Tensor amin(const Tensor &x, Shape dims, bool keepdim = false,
            SourceLoc loc = SourceLoc::current());
/// The index of the largest element along `dim` (the first on ties): i64,
/// the shape without `dim` (or with it as 1 under `keepdim`).
Tensor argmax(const Tensor &x, int64_t dim, bool keepdim = false,
              SourceLoc loc = SourceLoc::current());
/// Along `dim` (negative counts from the end); same shape.
Tensor softmax(const Tensor &x, int64_t dim = -1,
               SourceLoc loc = SourceLoc::current());
Tensor log_softmax(const Tensor &x, int64_t dim = -1,
                   SourceLoc loc = SourceLoc::current());
/// Normalizes over the last dimension D: `x [..., D]`, `weight`, `bias`
/// `[D]`; same shape (PyTorch's `normalized_shape` of one dimension).
Tensor layer_norm(const Tensor &x, const Tensor &weight, const Tensor &bias,
                  double eps = 1e-5, SourceLoc loc = SourceLoc::current());
/// Batch norm with given statistics (PyTorch's F::batch_norm, training
/// false): `x [B, C, ...]`, the four per-channel tensors `[C]`; same shape.
Tensor batch_norm(const Tensor &x, const Tensor &running_mean,
                  const Tensor &running_var, const Tensor &weight,
                  const Tensor &bias, double eps = 1e-5,
                  SourceLoc loc = SourceLoc::current());
/// Batch norm in training (F::batch_norm with training true): normalizes
/// with the batch's statistics (biased variance) and, because Kiln's graphs
/// are functional, returns the updated running statistics instead of
/// writing them: mean' = (1 - momentum) mean + momentum batch mean, the
/// variance likewise with the unbiased batch variance.
struct BatchNormResult {
  Tensor output, running_mean, running_var;
};
BatchNormResult batch_norm_training(const Tensor &x,
                                    const Tensor &running_mean,
                                    const Tensor &running_var,
                                    const Tensor &weight, const Tensor &bias,
                                    double momentum = 0.1, double eps = 1e-5,
                                    SourceLoc loc = SourceLoc::current());
/// `x [B, C, ...]` with C divisible by `num_groups`; `weight`, `bias` `[C]`;
/// same shape.
Tensor group_norm(const Tensor &x, int64_t num_groups, const Tensor &weight,
                  const Tensor &bias, double eps = 1e-5,
                  SourceLoc loc = SourceLoc::current());

//===----------------------------------------------------------------------===//
// Shapes and gathers
//===----------------------------------------------------------------------===//

/// Rows of `weight [N, D]` picked by integer `indices [...]` -> `[..., D]`.
/// Indices are checked against N when the compiled code is called.
Tensor embedding(const Tensor &weight, const Tensor &indices,
                 SourceLoc loc = SourceLoc::current());
/// `indices [...]` (integer) -> `[..., num_classes]` of `dtype`: 1 at the
/// index, 0 elsewhere (and everywhere for an index outside [0, classes)).
Tensor one_hot(const Tensor &indices, int64_t num_classes,
               DType dtype = DType::F32, SourceLoc loc = SourceLoc::current());
/// Joins tensors of one dtype along `dim`; the other dimensions must agree.
Tensor cat(const std::vector<Tensor> &tensors, int64_t dim,
           SourceLoc loc = SourceLoc::current());
/// torch::slice: elements [start, end) with `step` along `dim`; negative
/// `start`/`end` count from the end, and both are clamped to the dimension.
Tensor slice(const Tensor &x, int64_t dim, int64_t start, int64_t end,
             int64_t step = 1, SourceLoc loc = SourceLoc::current());
/// torch::narrow: `length` elements from `start` along `dim`.
Tensor narrow(const Tensor &x, int64_t dim, int64_t start, int64_t length,
              SourceLoc loc = SourceLoc::current());
/// Every dimension at once: elements [starts[i], limits[i]) with
/// strides[i] (all 1 when empty), e.g. `strided_slice(x, {0, 2}, {4, 5})`.
Tensor strided_slice(const Tensor &x, Shape starts, Shape limits,
                     Shape strides = {},
                     SourceLoc loc = SourceLoc::current());
/// Same elements in row-major order, new `shape`; one -1 is inferred.
Tensor reshape(const Tensor &x, Shape shape,
               SourceLoc loc = SourceLoc::current());
/// Collapses dimensions start_dim..end_dim into one, as torch::flatten
/// (whose defaults flatten everything; nn::Flatten's start at 1).
Tensor flatten(const Tensor &x, int64_t start_dim = 0, int64_t end_dim = -1,
               SourceLoc loc = SourceLoc::current());
/// Inserts a dimension of 1 at `dim` (-1: last).
Tensor unsqueeze(const Tensor &x, int64_t dim,
                 SourceLoc loc = SourceLoc::current());
/// Removes dimension `dim`, which must be 1.
Tensor squeeze(const Tensor &x, int64_t dim,
               SourceLoc loc = SourceLoc::current());
/// Reorders the dimensions: result dimension i is x's dims[i].
Tensor permute(const Tensor &x, Shape dims,
               SourceLoc loc = SourceLoc::current());
/// Swaps two dimensions (negative counts from the end).
Tensor transpose(const Tensor &x, int64_t dim0, int64_t dim1,
                 SourceLoc loc = SourceLoc::current());
/// Broadcasts `x` to `shape` (NumPy's rules; leading dimensions may be
/// added).
Tensor broadcast_to(const Tensor &x, Shape shape,
                    SourceLoc loc = SourceLoc::current());

//===----------------------------------------------------------------------===//
// Attention and recurrences
//===----------------------------------------------------------------------===//

struct AttentionOptions {
  bool causal = false;         ///< PyTorch's is_causal.
  std::optional<double> scale; ///< Default 1/sqrt(head dim).
};
/// `q [..., Tq, D]`, `k [..., Tk, D]`, `v [..., Tk, Dv]` -> `[..., Tq, Dv]`:
/// softmax(q k^T scale + mask) v in one fused kernel that never stores the
/// Tq x Tk matrix. `mask` (i1, true = attend, broadcast to [..., Tq, Tk]) may
/// be an invalid tensor for none.
Tensor scaled_dot_product_attention(const Tensor &q, const Tensor &k,
                                    const Tensor &v, const Tensor &mask,
                                    const AttentionOptions &options = {},
                                    SourceLoc loc = SourceLoc::current());

/// The cell of a recurrence (graph.recurrence); PyTorch's gate order.
enum class Cell { Tanh = 0, Lstm = 1, Gru = 2 };
struct RecurrenceResult {
  Tensor hidden; ///< [B, T, H]: the hidden state after each step.
  Tensor saved;  ///< [B, T, W*H]: the gate values the gradient reads;
                 ///< for Lstm, the cell states are its last H columns.
};
/// A recurrent layer's loop over time (what nn::RNN/LSTM/GRU run): `gates`
/// [B, T, G*H] is the input projection of every step (x W_ih^T + b_ih,
/// computed before the loop), `weight` W_hh [G*H, H], `bias` b_hh [G*H],
/// `state` the initial state [B, S*H] (invalid for zeros; S = 2 for Lstm: h
/// then c). With `reverse` the steps run last to first; hidden[:, t] is
/// still the state at t.
RecurrenceResult recurrence(Cell cell, const Tensor &gates,
                            const Tensor &weight, const Tensor &bias,
                            const Tensor &state = Tensor(),
                            bool reverse = false,
                            SourceLoc loc = SourceLoc::current());

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

/// How a loss reduces its per-element values: kNone keeps them (the
/// shape of the target), kSum and kMean give a scalar `[]`.
enum class Reduction { None = 0, Sum = 1, Mean = 2 };
inline constexpr Reduction kNone = Reduction::None;
inline constexpr Reduction kSum = Reduction::Sum;
inline constexpr Reduction kMean = Reduction::Mean;

/// F::cross_entropy's options. Kiln ignores no label unless `ignore_index`
/// is set (PyTorch ignores -100 by default); without it, every label is
/// checked to be a class when the compiled code is called.
struct CrossEntropyOptions {
  CrossEntropyOptions(Reduction reduction = kMean) : reduction_(reduction) {}
  CrossEntropyOptions &reduction(Reduction r) { reduction_ = r; return *this; }
  /// Labels equal to `index` add nothing; kMean divides by the others.
  CrossEntropyOptions &ignore_index(int64_t index) { ignore_index_ = index; return *this; }
  /// Targets (1 - s) on the label and s/C on every class, in [0, 1].
  CrossEntropyOptions &label_smoothing(double s) { label_smoothing_ = s; return *this; }
  Reduction reduction_;
  std::optional<int64_t> ignore_index_;
  double label_smoothing_ = 0;
};
/// Softmax cross-entropy of `logits [N, C]` against integer class labels
/// `labels [N]`: `[N]` under kNone, `[]` otherwise. Without an ignored
/// index or smoothing, one fused op (graph.cross_entropy).
Tensor cross_entropy(const Tensor &logits, const Tensor &labels,
                     const CrossEntropyOptions &options = {},
                     SourceLoc loc = SourceLoc::current());

/// F::nll_loss's options (see CrossEntropyOptions for ignore_index).
struct NllLossOptions {
  NllLossOptions(Reduction reduction = kMean) : reduction_(reduction) {}
  NllLossOptions &reduction(Reduction r) { reduction_ = r; return *this; }
  NllLossOptions &ignore_index(int64_t index) { ignore_index_ = index; return *this; }
  Reduction reduction_;
  std::optional<int64_t> ignore_index_;
};
/// -log_probs[n, labels[n]] for `log_probs [N, C]` (log-probabilities, e.g.
/// from log_softmax) and `labels [N]`: `[N]` or `[]`. Labels outside
/// [0, C) that are not ignored contribute 0.
Tensor nll_loss(const Tensor &log_probs, const Tensor &labels,
                const NllLossOptions &options = {},
                SourceLoc loc = SourceLoc::current());

/// Elementwise losses of `input` and `target` of one shape: that shape
/// under kNone, `[]` otherwise.
/// (input - target)^2.
Tensor mse_loss(const Tensor &input, const Tensor &target,
                Reduction reduction = kMean,
                SourceLoc loc = SourceLoc::current());
/// |input - target|.
Tensor l1_loss(const Tensor &input, const Tensor &target,
               Reduction reduction = kMean,
               SourceLoc loc = SourceLoc::current());
/// 0.5 d^2 / beta where d = |input - target| < beta, d - 0.5 beta elsewhere
/// (beta > 0; PyTorch's default 1).
Tensor smooth_l1_loss(const Tensor &input, const Tensor &target,
                      Reduction reduction = kMean, double beta = 1.0,
                      SourceLoc loc = SourceLoc::current());
/// -[target log sigmoid(logits) + (1 - target) log(1 - sigmoid(logits))],
/// computed stably from the logits.
Tensor binary_cross_entropy_with_logits(const Tensor &logits,
                                        const Tensor &target,
                                        Reduction reduction = kMean,
                                        SourceLoc loc = SourceLoc::current());

/// F::kl_div's reductions: kBatchMean (the sum divided by the first
/// dimension) is the one that gives the KL divergence.
enum class KLDivReduction { None, BatchMean, Sum, Mean };
struct KLDivOptions {
  KLDivOptions(KLDivReduction reduction = KLDivReduction::Mean)
      : reduction_(reduction) {}
  KLDivOptions &reduction(KLDivReduction r) { reduction_ = r; return *this; }
  /// `target` holds log-probabilities too.
  KLDivOptions &log_target(bool on) { log_target_ = on; return *this; }
  KLDivReduction reduction_;
  bool log_target_ = false;
};
/// target (log target - input) elementwise (0 where target is 0), for
/// `input` log-probabilities and `target` probabilities of one shape, as
/// F::kl_div; reduced as the options say (PyTorch's default, kMean, averages
/// over every element).
Tensor kl_div(const Tensor &input, const Tensor &target,
              const KLDivOptions &options = {},
              SourceLoc loc = SourceLoc::current());

//===----------------------------------------------------------------------===//
// Random numbers
//===----------------------------------------------------------------------===//

/// Counter-based random numbers of `shape`: the same `seed` and `offset`
/// (0-d i64 tensors, usually the inputs a Graph::randomStream adds) give
/// the same values on any machine and thread count. Uniform in
/// [low, high), normal with `mean` and `std`, integers in [low, high).
Tensor rand(const Tensor &seed, const Tensor &offset, Shape shape,
            double low = 0, double high = 1, DType dtype = DType::F32,
            SourceLoc loc = SourceLoc::current());
Tensor randn(const Tensor &seed, const Tensor &offset, Shape shape,
             double mean = 0, double std = 1, DType dtype = DType::F32,
             SourceLoc loc = SourceLoc::current());
Tensor randint(const Tensor &seed, const Tensor &offset, Shape shape,
               int64_t low, int64_t high, DType dtype = DType::I64,
               SourceLoc loc = SourceLoc::current());

} // namespace kiln

#endif // KILN_DSL_OPS_H
