//===- Ops.h - The ops of the Kiln C++ DSL --------------------------------===//
//
// One function per `graph` dialect op, plus arithmetic operators. Each takes
// a trailing `SourceLoc` that defaults to the caller's line; library layers
// pass theirs on so errors point at the user's code.
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

Tensor operator+(const Operand &lhs, const Operand &rhs);
Tensor operator-(const Operand &lhs, const Operand &rhs);
Tensor operator*(const Operand &lhs, const Operand &rhs);
Tensor operator/(const Operand &lhs, const Operand &rhs);
Tensor operator-(const Operand &x);

// Constants and casts.
/// A 0-d constant in `like`'s graph, with `like`'s dtype.
Tensor scalarLike(const Tensor &like, double value,
                  SourceLoc loc = SourceLoc::current());
/// A dense constant of `shape` holding `values` (row-major).
Tensor constant(Graph &graph, Shape shape, std::vector<double> values,
                DType dtype = DType::F32, SourceLoc loc = SourceLoc::current());
Tensor cast(const Tensor &x, DType dtype, SourceLoc loc = SourceLoc::current());

// Elementwise math.
Tensor add(const Tensor &a, const Tensor &b, SourceLoc loc = SourceLoc::current());
Tensor sub(const Tensor &a, const Tensor &b, SourceLoc loc = SourceLoc::current());
Tensor mul(const Tensor &a, const Tensor &b, SourceLoc loc = SourceLoc::current());
Tensor div(const Tensor &a, const Tensor &b, SourceLoc loc = SourceLoc::current());
Tensor pow(const Tensor &a, const Tensor &b, SourceLoc loc = SourceLoc::current());
Tensor maximum(const Tensor &a, const Tensor &b, SourceLoc loc = SourceLoc::current());
Tensor minimum(const Tensor &a, const Tensor &b, SourceLoc loc = SourceLoc::current());
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
Tensor gelu(const Tensor &x, SourceLoc loc = SourceLoc::current());
Tensor silu(const Tensor &x, SourceLoc loc = SourceLoc::current());
Tensor leakyRelu(const Tensor &x, double alpha,
                 SourceLoc loc = SourceLoc::current());
Tensor clamp(const Tensor &x, double min, double max,
             SourceLoc loc = SourceLoc::current());

enum class Compare { Eq = 0, Ne, Lt, Le, Gt, Ge };
Tensor compare(Compare predicate, const Tensor &a, const Tensor &b,
               SourceLoc loc = SourceLoc::current());
/// `condition ? a : b` elementwise, with broadcasting.
Tensor select(const Tensor &condition, const Tensor &a, const Tensor &b,
              SourceLoc loc = SourceLoc::current());

// Contractions, convolution, pooling.
Tensor matmul(const Tensor &a, const Tensor &b, bool transposeA = false,
              bool transposeB = false, SourceLoc loc = SourceLoc::current());
Tensor batchMatmul(const Tensor &a, const Tensor &b, bool transposeA = false,
                   bool transposeB = false,
                   SourceLoc loc = SourceLoc::current());

struct ConvOptions {
  Shape stride{1, 1};
  Shape padding{0, 0};
  Shape dilation{1, 1};
  int64_t groups = 1;
  Shape outputPadding{0, 0}; // conv-transpose only
};
/// `bias` may be an invalid (default-constructed) tensor for none.
Tensor conv2d(const Tensor &x, const Tensor &weight, const Tensor &bias,
              const ConvOptions &options = {},
              SourceLoc loc = SourceLoc::current());
Tensor convTranspose2d(const Tensor &x, const Tensor &weight,
                       const Tensor &bias, const ConvOptions &options = {},
                       SourceLoc loc = SourceLoc::current());
Tensor maxPool2d(const Tensor &x, Shape kernel, Shape stride, Shape padding = {0, 0},
                 SourceLoc loc = SourceLoc::current());
Tensor avgPool2d(const Tensor &x, Shape kernel, Shape stride, Shape padding = {0, 0},
                 bool countIncludePad = true,
                 SourceLoc loc = SourceLoc::current());
Tensor globalAvgPool2d(const Tensor &x, SourceLoc loc = SourceLoc::current());

// Reductions and normalization.
Tensor sum(const Tensor &x, Shape dims, bool keepDims = false,
           SourceLoc loc = SourceLoc::current());
Tensor mean(const Tensor &x, Shape dims, bool keepDims = false,
            SourceLoc loc = SourceLoc::current());
Tensor max(const Tensor &x, Shape dims, bool keepDims = false,
           SourceLoc loc = SourceLoc::current());
Tensor min(const Tensor &x, Shape dims, bool keepDims = false,
           SourceLoc loc = SourceLoc::current());
Tensor argmax(const Tensor &x, int64_t dim, bool keepDims = false,
              SourceLoc loc = SourceLoc::current());
Tensor softmax(const Tensor &x, int64_t axis = -1,
               SourceLoc loc = SourceLoc::current());
Tensor logSoftmax(const Tensor &x, int64_t axis = -1,
                  SourceLoc loc = SourceLoc::current());
Tensor layerNorm(const Tensor &x, const Tensor &weight, const Tensor &bias,
                 double epsilon = 1e-5, SourceLoc loc = SourceLoc::current());
struct BatchNormResult {
  Tensor output, runningMean, runningVar;
};
BatchNormResult batchNormTraining(const Tensor &x, const Tensor &weight,
                                  const Tensor &bias, const Tensor &runningMean,
                                  const Tensor &runningVar,
                                  double epsilon = 1e-5, double momentum = 0.1,
                                  SourceLoc loc = SourceLoc::current());
Tensor batchNormInference(const Tensor &x, const Tensor &weight,
                          const Tensor &bias, const Tensor &mean,
                          const Tensor &variance, double epsilon = 1e-5,
                          SourceLoc loc = SourceLoc::current());
Tensor groupNorm(const Tensor &x, const Tensor &weight, const Tensor &bias,
                 int64_t numGroups, double epsilon = 1e-5,
                 SourceLoc loc = SourceLoc::current());

// Shapes and gathers.
Tensor embedding(const Tensor &weight, const Tensor &indices,
                 SourceLoc loc = SourceLoc::current());
Tensor concat(const std::vector<Tensor> &inputs, int64_t axis,
              SourceLoc loc = SourceLoc::current());
/// Elements [start, limit) with `stride` along each dimension.
Tensor slice(const Tensor &x, Shape starts, Shape limits, Shape strides = {},
             SourceLoc loc = SourceLoc::current());
/// `shape` may hold one -1, inferred from the element count.
Tensor reshape(const Tensor &x, Shape shape,
               SourceLoc loc = SourceLoc::current());
/// Collapses dimensions `startDim..` into one, as torch.flatten.
Tensor flatten(const Tensor &x, int64_t startDim = 1,
               SourceLoc loc = SourceLoc::current());
Tensor transpose(const Tensor &x, Shape permutation,
                 SourceLoc loc = SourceLoc::current());
Tensor broadcastTo(const Tensor &x, Shape shape,
                   SourceLoc loc = SourceLoc::current());

// Attention, losses, random numbers.
struct AttentionOptions {
  bool causal = false;
  std::optional<double> scale; // Default 1/sqrt(head dim).
};
/// `mask` (i1, true = attend) may be an invalid tensor for none.
Tensor attention(const Tensor &q, const Tensor &k, const Tensor &v,
                 const Tensor &mask, const AttentionOptions &options = {},
                 SourceLoc loc = SourceLoc::current());

/// The cell of a recurrence (graph.recurrence); PyTorch's gate order.
enum class Cell { Tanh = 0, Lstm = 1, Gru = 2 };
struct RecurrenceResult {
  Tensor hidden; ///< [B, T, H]: the hidden state after each step.
  Tensor saved;  ///< [B, T, W*H]: the gate values the gradient reads;
                 ///< for Lstm, the cell states are its last H columns.
};
/// A recurrent layer's loop over time: `gates` [B, T, G*H] is the input
/// projection of every step (x W_ih^T + b_ih, computed before the loop),
/// `weight` W_hh [G*H, H], `bias` b_hh [G*H], `state` the initial state
/// [B, S*H] (invalid for zeros; S = 2 for Lstm: h then c). With `reverse`
/// the steps run last to first; hidden[:, t] is still the state at t.
RecurrenceResult recurrence(Cell cell, const Tensor &gates,
                            const Tensor &weight, const Tensor &bias,
                            const Tensor &state = Tensor(),
                            bool reverse = false,
                            SourceLoc loc = SourceLoc::current());

enum class Reduction { None = 0, Sum = 1, Mean = 2 };
Tensor crossEntropy(const Tensor &logits, const Tensor &labels,
                    Reduction reduction = Reduction::Mean,
                    SourceLoc loc = SourceLoc::current());
Tensor mseLoss(const Tensor &input, const Tensor &target,
               Reduction reduction = Reduction::Mean,
               SourceLoc loc = SourceLoc::current());
Tensor bceWithLogits(const Tensor &logits, const Tensor &target,
                     Reduction reduction = Reduction::Mean,
                     SourceLoc loc = SourceLoc::current());

/// Counter-based random numbers; `seed` and `offset` are 0-d i64 tensors.
Tensor randomUniform(const Tensor &seed, const Tensor &offset, Shape shape,
                     double low = 0, double high = 1, DType dtype = DType::F32,
                     SourceLoc loc = SourceLoc::current());
Tensor randomNormal(const Tensor &seed, const Tensor &offset, Shape shape,
                    double mean = 0, double stddev = 1,
                    DType dtype = DType::F32,
                    SourceLoc loc = SourceLoc::current());
Tensor randomIntegers(const Tensor &seed, const Tensor &offset, Shape shape,
                      int64_t low, int64_t high, DType dtype = DType::I64,
                      SourceLoc loc = SourceLoc::current());

} // namespace kiln

#endif // KILN_DSL_OPS_H
