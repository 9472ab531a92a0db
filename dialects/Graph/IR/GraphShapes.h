//===- GraphShapes.h - Shape rules of the graph dialect, without MLIR -----===//
//
// The single source of truth for result shapes and shape errors of `graph`
// ops. The dialect's type inference and the C++ DSL both call these
// functions, so a model that builds in the DSL always verifies, and both report
// the same message. Plain C++17: no MLIR or LLVM headers.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECTS_GRAPH_IR_GRAPHSHAPES_H
#define KILN_DIALECTS_GRAPH_IR_GRAPHSHAPES_H

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::shapes {

using Shape = std::vector<int64_t>;

/// A result shape, or the reason there is none.
struct Inferred {
  Shape shape;
  std::string error;
  bool ok() const { return error.empty(); }
  static Inferred fail(std::string message) { return {{}, std::move(message)}; }
};

/// "[64, 3136]".
std::string str(const Shape &shape);
/// The product of the dimensions; INT64_MAX where it overflows.
int64_t numElements(const Shape &shape);

/// Numpy broadcasting of two shapes.
Inferred broadcast(const Shape &lhs, const Shape &rhs);
/// Broadcasting of a predicate and two values (graph.select).
Inferred broadcast3(const Shape &cond, const Shape &lhs, const Shape &rhs);

/// [M,K] x [K,N]; either side may be transposed.
Inferred matmul(const Shape &lhs, const Shape &rhs, bool transposeLhs,
                bool transposeRhs);
/// [..., M, K] x [..., K, N] with equal batch dimensions.
Inferred batchMatmul(const Shape &lhs, const Shape &rhs, bool transposeLhs,
                     bool transposeRhs);

/// A channels-last shape [N, H, W, C] as [N, C, H, W], and back; shapes of
/// another rank stay as they are (the rules then reject them).
Shape toChannelsFirst(const Shape &nhwc);
Shape toChannelsLast(const Shape &nchw);

/// Conv2d, NCHW, weight [O, I/groups, KH, KW], optional bias [O]. With
/// `channelsLast`, input and result are NHWC.
Inferred conv2d(const Shape &input, const Shape &weight, const Shape *bias,
                const Shape &strides, const Shape &padding,
                const Shape &dilation, int64_t groups,
                bool channelsLast = false);
/// ConvTranspose2d, NCHW (or NHWC), weight [I, O/groups, KH, KW], optional
/// bias [O].
Inferred convTranspose2d(const Shape &input, const Shape &weight,
                         const Shape *bias, const Shape &strides,
                         const Shape &padding, const Shape &outputPadding,
                         const Shape &dilation, int64_t groups,
                         bool channelsLast = false);
/// The weight gradient [O, I/groups, KH, KW] of a conv2d of `input` whose
/// result gradient is `grad` ([N, O, OH, OW], or both NHWC with
/// `channelsLast`); `kernel` is [KH, KW].
Inferred conv2dWeightGrad(const Shape &input, const Shape &grad,
                          const Shape &kernel, const Shape &strides,
                          const Shape &padding, const Shape &dilation,
                          int64_t groups, bool channelsLast = false);
/// Max or average pooling of NCHW input.
Inferred pool2d(const Shape &input, const Shape &kernel, const Shape &strides,
                const Shape &padding, bool channelsLast = false);
/// [N, C, H, W] -> [N, C, 1, 1] (NHWC with `channelsLast`).
Inferred globalPool2d(const Shape &input, bool channelsLast = false);

/// Reduction over `dims` (each in [-rank, rank), no repeats).
Inferred reduce(const Shape &input, const Shape &dims,
                bool keepDims);
/// Checks that `axis` is in [-rank, rank) and returns the input shape.
Inferred alongAxis(const Shape &input, int64_t axis);

/// Layer norm: weight and bias equal the trailing dimensions of input.
Inferred layerNorm(const Shape &input, const Shape &weight, const Shape &bias);
/// Batch norm: input [N, C, ...] (or [N, ..., C] with `channelsLast`),
/// every other operand [C].
Inferred batchNorm(const Shape &input, const std::vector<Shape> &perChannel,
                   bool channelsLast = false);
/// Group norm: input [N, C, ...], C divisible by groups, weight/bias [C].
Inferred groupNorm(const Shape &input, const Shape &weight, const Shape &bias,
                   int64_t numGroups, bool channelsLast = false);

/// Embedding gather: weight [V, D], indices [...] -> [..., D].
Inferred embedding(const Shape &weight, const Shape &indices);

Inferred concat(const std::vector<Shape> &inputs, int64_t axis);
Inferred slice(const Shape &input, const Shape &starts, const Shape &limits,
               const Shape &strides);
Inferred reshape(const Shape &input, const Shape &shape);
Inferred transpose(const Shape &input, const Shape &permutation);
Inferred broadcastTo(const Shape &input, const Shape &shape);

/// Scaled dot-product attention: q [..., Tq, D], k [..., Tk, D],
/// v [..., Tk, Dv], optional mask broadcastable to [..., Tq, Tk].
Inferred attention(const Shape &query, const Shape &key, const Shape &value,
                   const Shape *mask);

/// The cell a recurrence applies at each step; values match the graph
/// dialect's RecurrentCell.
///   tanh  h' = tanh(gx + W_hh h + b_hh)                          (1 gate)
///   lstm  i, f, g, o = gx + W_hh h + b_hh (sigmoid, sigmoid, tanh, sigmoid);
///         c' = f c + i g; h' = o tanh(c')                         (4 gates)
///   gru   r, z = sigmoid(gx_rz + W_hh,rz h + b_hh,rz);
///         n = tanh(gx_n + r (W_hn h + b_hn)); h' = (1 - z) n + z h (3 gates)
enum class Cell : int64_t { Tanh = 0, Lstm = 1, Gru = 2 };
/// The number of gates G: a step's input projection is [G*H].
int64_t cellGates(Cell cell);
/// The state a step carries, in multiples of H: 2 for lstm (h, c), else 1.
int64_t cellStateWidth(Cell cell);
/// What each step keeps for the gradient, in multiples of H: tanh 1 (h),
/// lstm 5 (i, f, g, o after their activations, then c), gru 4 (r, z, n,
/// then W_hn h + b_hn).
int64_t cellSavedWidth(Cell cell);

/// A recurrence over the time steps of `gates` [B, T, G*H] (the input
/// projection of every step, input bias included) with `weight` W_hh
/// [G*H, H], `bias` b_hh [G*H] and an optional initial `state`
/// [B, S*H] (S = cellStateWidth; zero when absent). The result is the hidden
/// state of every step, [B, T, H].
Inferred recurrence(const Shape &gates, const Shape &weight, const Shape &bias,
                    const Shape *state, Cell cell);
/// The gradient of a recurrence: `weight` [G*H, H], initial `state`
/// [B, S*H], the forward's `hidden` [B, T, H] and `saved` [B, T, W*H], and
/// their gradients of the same shapes. The result is the gradient of the
/// gates, [B, T, G*H].
Inferred recurrenceGrad(const Shape &weight, const Shape &state,
                        const Shape &hidden, const Shape &saved,
                        const Shape &hiddenGrad, const Shape &savedGrad,
                        Cell cell);

/// How a loss reduces over the batch.
enum class Reduction : int64_t { None = 0, Sum = 1, Mean = 2 };

/// Cross-entropy with class indices: logits [N, C], labels [N].
Inferred crossEntropy(const Shape &logits, const Shape &labels,
                      Reduction reduction);
/// Elementwise losses (MSE, BCE-with-logits) of two equal shapes.
Inferred elementwiseLoss(const Shape &input, const Shape &target,
                         Reduction reduction);
/// Shapes produced from an attribute (random numbers): no negative dims.
Inferred fromAttribute(const Shape &shape);

/// One-hot encoding: indices [...] -> [..., numClasses].
Inferred oneHot(const Shape &indices, int64_t numClasses);
/// The gradient of max pooling: `grad` must have the pooled shape of
/// `input`; the result has the input's shape.
Inferred poolGrad(const Shape &input, const Shape &grad, const Shape &kernel,
                  const Shape &strides, const Shape &padding,
                  bool channelsLast = false);

// Checks of attribute values, shared by the dialect's verifiers and the DSL:
// each returns the error message, or an empty string when the values are
// valid. Numbers are written as a person would: 1, 0.5, 1e-05.

/// A double as a person would write it (printf's %g).
std::string number(double value);
/// graph.clamp: min <= max.
std::string checkClampBounds(double min, double max);
/// graph.attention: a given scale is positive.
std::string checkAttentionScale(double scale);
/// graph.random_uniform: low < high.
std::string checkUniformRange(double low, double high);
/// graph.random_normal: stddev > 0.
std::string checkNormalStddev(double stddev);
/// graph.random_integers: low < high.
std::string checkIntegerRange(int64_t low, int64_t high);

/// Normalizes `axis` against `rank`; returns false when out of range.
bool normalizeAxis(int64_t &axis, int64_t rank);

} // namespace kiln::shapes

#endif // KILN_DIALECTS_GRAPH_IR_GRAPHSHAPES_H
