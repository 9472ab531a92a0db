//===- GraphShapes.cpp - Shape rules of the graph dialect -----------------===//

#include "dialects/Graph/IR/GraphShapes.h"

#include <cmath>
#include <cstdio>

#include <algorithm>
#include <limits>
#include <sstream>
#include <tuple>

namespace kiln::shapes {
namespace {

std::string cat(std::initializer_list<std::string> parts) {
  std::string out;
  for (const std::string &p : parts)
    out += p;
  return out;
}

std::string num(int64_t v) { return std::to_string(v); }

/// Checks an attribute that must hold `count` values, each at least `min`.
std::string checkAttr(const char *name, const Shape &values, size_t count,
                      int64_t min) {
  if (values.size() != count)
    return cat({name, " must have ", num(count), " values, got ", str(values)});
  for (int64_t v : values)
    if (v < min)
      return cat({name, " values must be >= ", num(min), ", got ",
                  str(values)});
  return {};
}

/// Size arithmetic that remembers whether any step left the range of int64_t,
/// so that a rule rejects absurd dimensions or attributes instead of wrapping.
class Checked {
public:
  Checked(int64_t value) : value_(value) {}

  int64_t value() const { return value_; }
  bool overflowed() const { return overflowed_; }

  friend Checked operator+(Checked a, Checked b) {
    return combine(a, b, __builtin_add_overflow(a.value_, b.value_, &a.value_));
  }
  friend Checked operator-(Checked a, Checked b) {
    return combine(a, b, __builtin_sub_overflow(a.value_, b.value_, &a.value_));
  }
  friend Checked operator*(Checked a, Checked b) {
    return combine(a, b, __builtin_mul_overflow(a.value_, b.value_, &a.value_));
  }

private:
  static Checked combine(Checked result, Checked other, bool overflowed) {
    result.overflowed_ |= other.overflowed_ || overflowed;
    return result;
  }

  int64_t value_;
  bool overflowed_ = false;
};

std::string overflowError(const std::string &what) {
  return what + " overflows 64-bit sizes";
}

Shape trailing(const Shape &shape, size_t count) {
  return Shape(shape.end() - count, shape.end());
}

} // namespace

std::string str(const Shape &shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i)
    os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

int64_t numElements(const Shape &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n))
      return std::numeric_limits<int64_t>::max();
  return n;
}

bool normalizeAxis(int64_t &axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return false;
  if (axis < 0)
    axis += rank;
  return true;
}

Inferred broadcast(const Shape &lhs, const Shape &rhs) {
  size_t rank = std::max(lhs.size(), rhs.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t l = i < rank - lhs.size() ? 1 : lhs[i - (rank - lhs.size())];
    int64_t r = i < rank - rhs.size() ? 1 : rhs[i - (rank - rhs.size())];
    if (l != r && l != 1 && r != 1)
      return Inferred::fail(cat({"shapes ", str(lhs), " and ", str(rhs),
                                 " are not broadcastable (", num(l), " vs ",
                                 num(r), " in result dimension ", num(i),
                                 ")"}));
    out[i] = l == 1 ? r : l;
  }
  return {out, {}};
}

Inferred broadcast3(const Shape &cond, const Shape &lhs, const Shape &rhs) {
  Inferred values = broadcast(lhs, rhs);
  if (!values.ok())
    return values;
  Inferred all = broadcast(cond, values.shape);
  if (!all.ok())
    return Inferred::fail("condition: " + all.error);
  return all;
}

Inferred matmul(const Shape &lhs, const Shape &rhs, bool transposeLhs,
                bool transposeRhs) {
  if (lhs.size() != 2 || rhs.size() != 2)
    return Inferred::fail(cat({"operands must be rank 2, got ", str(lhs),
                               " and ", str(rhs)}));
  int64_t m = transposeLhs ? lhs[1] : lhs[0];
  int64_t k = transposeLhs ? lhs[0] : lhs[1];
  int64_t k2 = transposeRhs ? rhs[1] : rhs[0];
  int64_t n = transposeRhs ? rhs[0] : rhs[1];
  if (k != k2)
    return Inferred::fail(cat({"contraction dimensions differ: lhs ", str(lhs),
                               transposeLhs ? " (transposed)" : "", " has K=",
                               num(k), ", rhs ", str(rhs),
                               transposeRhs ? " (transposed)" : "", " has K=",
                               num(k2)}));
  return {{m, n}, {}};
}

Inferred batchMatmul(const Shape &lhs, const Shape &rhs, bool transposeLhs,
                     bool transposeRhs) {
  if (lhs.size() < 3 || lhs.size() != rhs.size())
    return Inferred::fail(cat({"operands must have the same rank >= 3, got ",
                               str(lhs), " and ", str(rhs)}));
  size_t r = lhs.size();
  if (!std::equal(lhs.begin(), lhs.end() - 2, rhs.begin()))
    return Inferred::fail(cat({"batch dimensions differ: ", str(lhs), " and ",
                               str(rhs)}));
  Inferred mat = matmul(trailing(lhs, 2), trailing(rhs, 2), transposeLhs,
                        transposeRhs);
  if (!mat.ok())
    return Inferred::fail(cat({"in ", str(lhs), " x ", str(rhs), ": ",
                               mat.error}));
  Shape out(lhs.begin(), lhs.begin() + (r - 2));
  out.insert(out.end(), mat.shape.begin(), mat.shape.end());
  return {out, {}};
}

namespace {
/// Common checks of conv2d and conv_transpose2d attributes and ranks.
std::string checkConvCommon(const Shape &input, const Shape &weight,
                            const Shape &strides, const Shape &padding,
                            const Shape &dilation, int64_t groups) {
  if (input.size() != 4)
    return "input must be NCHW (rank 4), got " + str(input);
  if (weight.size() != 4)
    return "weight must be rank 4, got " + str(weight);
  for (auto [name, values, min] :
       {std::make_tuple("strides", &strides, 1),
        std::make_tuple("padding", &padding, 0),
        std::make_tuple("dilation", &dilation, 1)})
    if (std::string e = checkAttr(name, *values, 2, min); !e.empty())
      return e;
  if (groups < 1)
    return "groups must be >= 1, got " + num(groups);
  if (input[1] % groups != 0)
    return cat({"input channels ", num(input[1]), " of ", str(input),
                " are not divisible by groups=", num(groups)});
  return {};
}

std::string checkBias(const Shape *bias, int64_t channels) {
  if (bias && (bias->size() != 1 || (*bias)[0] != channels))
    return cat({"bias must be [", num(channels), "], got ", str(*bias)});
  return {};
}
} // namespace

Shape toChannelsFirst(const Shape &nhwc) {
  if (nhwc.size() != 4)
    return nhwc;
  return {nhwc[0], nhwc[3], nhwc[1], nhwc[2]};
}

Shape toChannelsLast(const Shape &nchw) {
  if (nchw.size() != 4)
    return nchw;
  return {nchw[0], nchw[2], nchw[3], nchw[1]};
}

namespace {
/// A channels-last convolution's result: inferred channels-first, its shape
/// converted back.
Inferred backToChannelsLast(Inferred inferred) {
  if (inferred.ok())
    inferred.shape = toChannelsLast(inferred.shape);
  return inferred;
}
} // namespace

Inferred conv2d(const Shape &input, const Shape &weight, const Shape *bias,
                const Shape &strides, const Shape &padding,
                const Shape &dilation, int64_t groups, bool channelsLast) {
  if (channelsLast)
    return backToChannelsLast(conv2d(toChannelsFirst(input), weight, bias,
                                     strides, padding, dilation, groups));
  if (std::string e =
          checkConvCommon(input, weight, strides, padding, dilation, groups);
      !e.empty())
    return Inferred::fail(e);
  Checked inChannels = Checked(weight[1]) * groups;
  if (inChannels.overflowed())
    return Inferred::fail(overflowError(
        cat({"weight ", str(weight), " with groups=", num(groups)})));
  if (inChannels.value() != input[1])
    return Inferred::fail(
        cat({"weight ", str(weight), " expects ", num(inChannels.value()),
             " input channels (groups=", num(groups), ") but input ",
             str(input), " has ", num(input[1])}));
  if (weight[0] % groups != 0)
    return Inferred::fail(cat({"output channels ", num(weight[0]), " of weight ",
                               str(weight), " are not divisible by groups=",
                               num(groups)}));
  if (std::string e = checkBias(bias, weight[0]); !e.empty())
    return Inferred::fail(e);
  Shape out{input[0], weight[0], 0, 0};
  for (int i = 0; i < 2; ++i) {
    Checked span = Checked(dilation[i]) * (weight[2 + i] - 1) + 1;
    Checked padded = Checked(input[2 + i]) + Checked(2) * padding[i];
    if (span.overflowed() || padded.overflowed())
      return Inferred::fail(overflowError(cat(
          {"kernel ", str(trailing(weight, 2)), " (dilation ", str(dilation),
           ") on input ", str(input), " (padding ", str(padding), ")"})));
    if (padded.value() < span.value())
      return Inferred::fail(cat({"kernel ", str(trailing(weight, 2)),
                                 " (dilation ", str(dilation),
                                 ") does not fit the padded input ",
                                 str(input), " (padding ", str(padding), ")"}));
    out[2 + i] = (padded.value() - span.value()) / strides[i] + 1;
  }
  return {out, {}};
}

Inferred convTranspose2d(const Shape &input, const Shape &weight,
                         const Shape *bias, const Shape &strides,
                         const Shape &padding, const Shape &outputPadding,
                         const Shape &dilation, int64_t groups,
                         bool channelsLast) {
  if (channelsLast)
    return backToChannelsLast(convTranspose2d(toChannelsFirst(input), weight,
                                              bias, strides, padding,
                                              outputPadding, dilation, groups));
  if (std::string e =
          checkConvCommon(input, weight, strides, padding, dilation, groups);
      !e.empty())
    return Inferred::fail(e);
  if (weight[0] != input[1])
    return Inferred::fail(cat({"weight ", str(weight), " expects ",
                               num(weight[0]), " input channels but input ",
                               str(input), " has ", num(input[1])}));
  if (std::string e = checkAttr("output_padding", outputPadding, 2, 0);
      !e.empty())
    return Inferred::fail(e);
  for (int i = 0; i < 2; ++i)
    if (outputPadding[i] >= std::max(strides[i], dilation[i]))
      return Inferred::fail(cat({"output_padding ", str(outputPadding),
                                 " must be smaller than the stride or the "
                                 "dilation ",
                                 str(strides), " / ", str(dilation)}));
  Checked outChannels = Checked(weight[1]) * groups;
  if (outChannels.overflowed())
    return Inferred::fail(overflowError(
        cat({"weight ", str(weight), " with groups=", num(groups)})));
  if (std::string e = checkBias(bias, outChannels.value()); !e.empty())
    return Inferred::fail(e);
  Shape out{input[0], outChannels.value(), 0, 0};
  for (int i = 0; i < 2; ++i) {
    Checked size =
        (Checked(input[2 + i]) - 1) * strides[i] - Checked(2) * padding[i] +
        Checked(dilation[i]) * (weight[2 + i] - 1) + outputPadding[i] + 1;
    if (size.overflowed())
      return Inferred::fail(overflowError(
          cat({"the result of input ", str(input), ", weight ", str(weight),
               ", strides ", str(strides), ", padding ", str(padding),
               " and dilation ", str(dilation)})));
    out[2 + i] = size.value();
    if (out[2 + i] < 1)
      return Inferred::fail(cat({"padding ", str(padding),
                                 " leaves no output for input ", str(input),
                                 " and weight ", str(weight)}));
  }
  return {out, {}};
}

Inferred pool2d(const Shape &input, const Shape &kernel, const Shape &strides,
                const Shape &padding, bool channelsLast) {
  if (channelsLast)
    return backToChannelsLast(
        pool2d(toChannelsFirst(input), kernel, strides, padding));
  if (input.size() != 4)
    return Inferred::fail("input must be NCHW (rank 4), got " + str(input));
  for (auto [name, values, min] :
       {std::make_tuple("kernel", &kernel, 1),
        std::make_tuple("strides", &strides, 1),
        std::make_tuple("padding", &padding, 0)})
    if (std::string e = checkAttr(name, *values, 2, min); !e.empty())
      return Inferred::fail(e);
  Shape out{input[0], input[1], 0, 0};
  for (int i = 0; i < 2; ++i) {
    if (padding[i] > kernel[i] / 2)
      return Inferred::fail(cat({"padding ", str(padding),
                                 " must be at most half the kernel ",
                                 str(kernel)}));
    Checked padded = Checked(input[2 + i]) + Checked(2) * padding[i];
    if (padded.overflowed())
      return Inferred::fail(overflowError(
          cat({"input ", str(input), " with padding ", str(padding)})));
    if (padded.value() < kernel[i])
      return Inferred::fail(cat({"kernel ", str(kernel),
                                 " does not fit the padded input ", str(input),
                                 " (padding ", str(padding), ")"}));
    out[2 + i] = (padded.value() - kernel[i]) / strides[i] + 1;
  }
  return {out, {}};
}

Inferred globalPool2d(const Shape &input, bool channelsLast) {
  if (channelsLast)
    return backToChannelsLast(globalPool2d(toChannelsFirst(input)));
  if (input.size() != 4)
    return Inferred::fail("input must be NCHW (rank 4), got " + str(input));
  return {{input[0], input[1], 1, 1}, {}};
}

Inferred reduce(const Shape &input, const Shape &dims, bool keepDims) {
  int64_t rank = input.size();
  std::vector<bool> reduced(rank, false);
  for (int64_t d : dims) {
    int64_t axis = d;
    if (!normalizeAxis(axis, rank))
      return Inferred::fail(cat({"dimension ", num(d), " is out of range for ",
                                 str(input)}));
    if (reduced[axis])
      return Inferred::fail(cat({"dimension ", num(d),
                                 " is reduced twice in dims ", str(dims)}));
    reduced[axis] = true;
  }
  Shape out;
  for (int64_t i = 0; i < rank; ++i) {
    if (!reduced[i])
      out.push_back(input[i]);
    else if (keepDims)
      out.push_back(1);
  }
  return {out, {}};
}

Inferred alongAxis(const Shape &input, int64_t axis) {
  int64_t a = axis;
  if (!normalizeAxis(a, input.size()))
    return Inferred::fail(cat({"axis ", num(axis), " is out of range for ",
                               str(input)}));
  return {input, {}};
}

Inferred layerNorm(const Shape &input, const Shape &weight, const Shape &bias) {
  if (weight.empty() || weight.size() > input.size() ||
      trailing(input, weight.size()) != weight)
    return Inferred::fail(cat({"weight ", str(weight),
                               " must equal the trailing dimensions of input ",
                               str(input)}));
  if (bias != weight)
    return Inferred::fail(cat({"bias ", str(bias), " must have the shape of "
                                                   "weight ",
                               str(weight)}));
  return {input, {}};
}

Inferred batchNorm(const Shape &input, const std::vector<Shape> &perChannel,
                   bool channelsLast) {
  if (input.size() < 2)
    return Inferred::fail("input must be [N, C, ...], got " + str(input));
  int64_t channels = channelsLast ? input.back() : input[1];
  for (const Shape &s : perChannel)
    if (s != Shape{channels})
      return Inferred::fail(cat({"per-channel operand ", str(s), " must be [",
                                 num(channels), "] for input ", str(input)}));
  return {input, {}};
}

Inferred groupNorm(const Shape &input, const Shape &weight, const Shape &bias,
                   int64_t numGroups, bool channelsLast) {
  if (input.size() < 2)
    return Inferred::fail("input must be [N, C, ...], got " + str(input));
  int64_t channels = channelsLast ? input.back() : input[1];
  if (numGroups < 1 || channels % numGroups != 0)
    return Inferred::fail(
        cat({"channels ", num(channels), " of ", str(input),
             " are not divisible by num_groups=", num(numGroups)}));
  return batchNorm(input, {weight, bias}, channelsLast);
}

Inferred embedding(const Shape &weight, const Shape &indices) {
  if (weight.size() != 2)
    return Inferred::fail("weight must be [num_embeddings, dim], got " +
                          str(weight));
  Shape out = indices;
  out.push_back(weight[1]);
  return {out, {}};
}

Inferred concat(const std::vector<Shape> &inputs, int64_t axis) {
  if (inputs.empty())
    return Inferred::fail("needs at least one input");
  const Shape &first = inputs.front();
  int64_t a = axis;
  if (!normalizeAxis(a, first.size()))
    return Inferred::fail(cat({"axis ", num(axis), " is out of range for ",
                               str(first)}));
  Shape out = first;
  for (size_t i = 1; i < inputs.size(); ++i) {
    const Shape &s = inputs[i];
    bool same = s.size() == first.size();
    for (size_t d = 0; same && d < s.size(); ++d)
      same = int64_t(d) == a || s[d] == first[d];
    if (!same)
      return Inferred::fail(cat({"input ", num(i), " ", str(s),
                                 " does not match input 0 ", str(first),
                                 " outside axis ", num(a)}));
    Checked sum = Checked(out[a]) + s[a];
    if (sum.overflowed())
      return Inferred::fail(
          overflowError(cat({"axis ", num(a), " of the concatenation"})));
    out[a] = sum.value();
  }
  return {out, {}};
}

Inferred slice(const Shape &input, const Shape &starts, const Shape &limits,
               const Shape &strides) {
  size_t rank = input.size();
  if (starts.size() != rank || limits.size() != rank || strides.size() != rank)
    return Inferred::fail(cat({"starts ", str(starts), ", limits ", str(limits),
                               " and strides ", str(strides),
                               " must each have one value per dimension of ",
                               str(input)}));
  Shape out(rank);
  for (size_t d = 0; d < rank; ++d) {
    if (strides[d] < 1 || starts[d] < 0 || limits[d] > input[d] ||
        starts[d] > limits[d])
      return Inferred::fail(cat({"dimension ", num(d), ": slice [",
                                 num(starts[d]), ":", num(limits[d]), ":",
                                 num(strides[d]), "] is invalid for ",
                                 str(input)}));
    int64_t length = limits[d] - starts[d];
    out[d] = length == 0 ? 0 : (length - 1) / strides[d] + 1;
  }
  return {out, {}};
}

Inferred reshape(const Shape &input, const Shape &shape) {
  for (int64_t d : shape)
    if (d < 0)
      return Inferred::fail("shape " + str(shape) + " has a negative dimension");
  if (numElements(input) != numElements(shape))
    return Inferred::fail(cat({"cannot reshape ", str(input), " (",
                               num(numElements(input)), " elements) to ",
                               str(shape), " (", num(numElements(shape)),
                               " elements)"}));
  return {shape, {}};
}

Inferred transpose(const Shape &input, const Shape &permutation) {
  size_t rank = input.size();
  Shape sorted = permutation;
  std::sort(sorted.begin(), sorted.end());
  bool valid = permutation.size() == rank;
  for (size_t i = 0; valid && i < rank; ++i)
    valid = sorted[i] == int64_t(i);
  if (!valid)
    return Inferred::fail(cat({"permutation ", str(permutation),
                               " is not a permutation of the dimensions of ",
                               str(input)}));
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i)
    out[i] = input[permutation[i]];
  return {out, {}};
}

Inferred broadcastTo(const Shape &input, const Shape &shape) {
  Inferred b = broadcast(input, shape);
  if (!b.ok() || b.shape != shape)
    return Inferred::fail(cat({"cannot broadcast ", str(input), " to ",
                               str(shape)}));
  return b;
}

Inferred attention(const Shape &query, const Shape &key, const Shape &value,
                   const Shape *mask) {
  size_t r = query.size();
  if (r < 2 || key.size() != r || value.size() != r)
    return Inferred::fail(cat({"query ", str(query), ", key ", str(key),
                               " and value ", str(value),
                               " must have the same rank >= 2"}));
  bool batchOk = std::equal(query.begin(), query.end() - 2, key.begin()) &&
                 std::equal(query.begin(), query.end() - 2, value.begin());
  if (!batchOk)
    return Inferred::fail(cat({"batch dimensions of query ", str(query),
                               ", key ", str(key), " and value ", str(value),
                               " differ"}));
  if (query[r - 1] != key[r - 1])
    return Inferred::fail(cat({"query ", str(query), " and key ", str(key),
                               " have different feature sizes"}));
  if (key[r - 2] != value[r - 2])
    return Inferred::fail(cat({"key ", str(key), " and value ", str(value),
                               " have different sequence lengths"}));
  if (mask) {
    Shape scores(query.begin(), query.end() - 1);
    scores.push_back(key[r - 2]);
    Inferred b = broadcast(*mask, scores);
    if (!b.ok() || b.shape != scores)
      return Inferred::fail(cat({"mask ", str(*mask),
                                 " does not broadcast to the scores ",
                                 str(scores)}));
  }
  Shape out(query.begin(), query.end() - 1);
  out.push_back(value[r - 1]);
  return {out, {}};
}

int64_t cellGates(Cell cell) {
  return cell == Cell::Lstm ? 4 : cell == Cell::Gru ? 3 : 1;
}

int64_t cellStateWidth(Cell cell) { return cell == Cell::Lstm ? 2 : 1; }

int64_t cellSavedWidth(Cell cell) {
  return cell == Cell::Lstm ? 5 : cell == Cell::Gru ? 4 : 1;
}

namespace {
/// The largest hidden size of a recurrence: its widest stacked operand (an
/// LSTM's saved values, 5*H) stays within int64_t.
constexpr int64_t kMaxHidden = std::numeric_limits<int64_t>::max() / 8;
} // namespace

Inferred recurrence(const Shape &gates, const Shape &weight, const Shape &bias,
                    const Shape *state, Cell cell) {
  int64_t g = cellGates(cell);
  if (weight.size() != 2 || weight[1] > kMaxHidden ||
      weight[0] != g * weight[1])
    return Inferred::fail(cat({"weight must be [", num(g), "*H, H] (", num(g),
                               " gates of hidden size H), got ",
                               str(weight)}));
  int64_t h = weight[1];
  if (gates.size() != 3 || gates[2] != g * h)
    return Inferred::fail(cat({"gates must be [B, T, ", num(g * h),
                               "] (batch, time, ", num(g), "*", num(h),
                               "), got ", str(gates)}));
  if (bias != Shape{g * h})
    return Inferred::fail(cat({"bias must be [", num(g * h), "], got ",
                               str(bias)}));
  Shape stateShape{gates[0], cellStateWidth(cell) * h};
  if (state && *state != stateShape)
    return Inferred::fail(cat({"initial state must be ", str(stateShape),
                               ", got ", str(*state)}));
  return {{gates[0], gates[1], h}, {}};
}

Inferred recurrenceGrad(const Shape &weight, const Shape &state,
                        const Shape &hidden, const Shape &saved,
                        const Shape &hiddenGrad, const Shape &savedGrad,
                        Cell cell) {
  if (hidden.size() != 3)
    return Inferred::fail("hidden must be [B, T, H], got " + str(hidden));
  int64_t b = hidden[0], t = hidden[1], h = hidden[2];
  int64_t g = cellGates(cell);
  if (h > kMaxHidden)
    return Inferred::fail(overflowError("hidden " + str(hidden)));
  Shape gates{b, t, g * h};
  Shape bias{g * h};
  Inferred forward = recurrence(gates, weight, bias, &state, cell);
  if (!forward.ok())
    return forward;
  if (forward.shape != hidden)
    return Inferred::fail(cat({"hidden ", str(hidden), " does not match ",
                               "weight ", str(weight)}));
  Shape savedShape{b, t, cellSavedWidth(cell) * h};
  if (saved != savedShape)
    return Inferred::fail(cat({"saved must be ", str(savedShape), ", got ",
                               str(saved)}));
  if (hiddenGrad != hidden || savedGrad != saved)
    return Inferred::fail(cat({"gradients ", str(hiddenGrad), " and ",
                               str(savedGrad), " must have the shapes of ",
                               "hidden and saved"}));
  return {gates, {}};
}

namespace {
Shape reduced(const Shape &perExample, Reduction reduction) {
  return reduction == Reduction::None ? perExample : Shape{};
}
} // namespace

Inferred crossEntropy(const Shape &logits, const Shape &labels,
                      Reduction reduction) {
  if (logits.size() != 2)
    return Inferred::fail("logits must be [N, C], got " + str(logits));
  if (labels != Shape{logits[0]})
    return Inferred::fail(cat({"labels ", str(labels), " must be [",
                               num(logits[0]), "] for logits ", str(logits)}));
  return {reduced(labels, reduction), {}};
}

Inferred elementwiseLoss(const Shape &input, const Shape &target,
                         Reduction reduction) {
  if (input != target)
    return Inferred::fail(cat({"input ", str(input), " and target ",
                               str(target), " must have the same shape"}));
  return {reduced(input, reduction), {}};
}

Inferred oneHot(const Shape &indices, int64_t numClasses) {
  if (numClasses < 1)
    return Inferred::fail("num_classes must be >= 1, got " + num(numClasses));
  Shape out = indices;
  out.push_back(numClasses);
  return {out, {}};
}

Inferred poolGrad(const Shape &input, const Shape &grad, const Shape &kernel,
                  const Shape &strides, const Shape &padding,
                  bool channelsLast) {
  if (channelsLast)
    return backToChannelsLast(poolGrad(toChannelsFirst(input),
                                       toChannelsFirst(grad), kernel, strides,
                                       padding));
  Inferred pooled = pool2d(input, kernel, strides, padding);
  if (!pooled.ok())
    return pooled;
  if (pooled.shape != grad)
    return Inferred::fail(cat({"gradient ", str(grad),
                               " must have the pooled shape ",
                               str(pooled.shape), " of input ", str(input)}));
  return {input, {}};
}

Inferred conv2dWeightGrad(const Shape &input, const Shape &grad,
                          const Shape &kernel, const Shape &strides,
                          const Shape &padding, const Shape &dilation,
                          int64_t groups, bool channelsLast) {
  if (channelsLast)
    return conv2dWeightGrad(toChannelsFirst(input), toChannelsFirst(grad),
                            kernel, strides, padding, dilation, groups);
  if (std::string e = checkAttr("kernel", kernel, 2, 1); !e.empty())
    return Inferred::fail(e);
  if (grad.size() != 4)
    return Inferred::fail("gradient must be NCHW (rank 4), got " + str(grad));
  if (input.size() != 4)
    return Inferred::fail("input must be NCHW (rank 4), got " + str(input));
  if (groups < 1 || input[1] % groups != 0 || grad[1] % groups != 0)
    return Inferred::fail(cat({"groups=", num(groups),
                               " must divide the input channels of ",
                               str(input), " and the gradient channels of ",
                               str(grad)}));
  Shape weight{grad[1], input[1] / groups, kernel[0], kernel[1]};
  Inferred result =
      conv2d(input, weight, nullptr, strides, padding, dilation, groups);
  if (!result.ok())
    return result;
  if (result.shape != grad)
    return Inferred::fail(cat({"gradient ", str(grad),
                               " must have the convolution's result shape ",
                               str(result.shape), " for input ", str(input)}));
  return {weight, {}};
}

Inferred fromAttribute(const Shape &shape) {
  for (int64_t d : shape)
    if (d < 0)
      return Inferred::fail("shape " + str(shape) + " has a negative dimension");
  return {shape, {}};
}

std::string number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", value);
  return buffer;
}

std::string checkClampBounds(double min, double max) {
  if (min > max)
    return "min " + number(min) + " is greater than max " + number(max);
  if (std::isnan(min) || std::isnan(max))
    return "min and max must be numbers, got " + number(min) + " and " +
           number(max);
  return "";
}

std::string checkAttentionScale(double scale) {
  return scale > 0 ? "" : "scale must be positive, got " + number(scale);
}

std::string checkUniformRange(double low, double high) {
  return low < high ? ""
                    : "low " + number(low) + " must be below high " +
                          number(high);
}

std::string checkNormalStddev(double stddev) {
  return stddev > 0 ? "" : "stddev must be positive, got " + number(stddev);
}

std::string checkIntegerRange(int64_t low, int64_t high) {
  return low < high ? ""
                    : "low " + std::to_string(low) + " must be below high " +
                          std::to_string(high);
}

} // namespace kiln::shapes
