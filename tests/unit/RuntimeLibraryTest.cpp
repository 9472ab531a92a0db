//===- RuntimeLibraryTest.cpp - oneDNN matmul/conv against float64 loops --===//

#include "kiln/runtime/Library.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr double leakySlope = 0.125;

/// `x` through activation `code`, in double precision from the formulas.
double activate(int64_t code, double x) {
  switch (code) {
  case KILN_ACTIVATION_RELU:
    return x > 0 ? x : 0;
  case KILN_ACTIVATION_LEAKY_RELU:
    return x > 0 ? x : leakySlope * x;
  case KILN_ACTIVATION_GELU:
    return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
  case KILN_ACTIVATION_SILU:
    return x / (1 + std::exp(-x));
  case KILN_ACTIVATION_SIGMOID:
    return 1 / (1 + std::exp(-x));
  case KILN_ACTIVATION_TANH:
    return std::tanh(x);
  default:
    return x;
  }
}

const char *activationName(int64_t code) {
  static const char *names[] = {"None", "Relu",    "Leaky", "Gelu",
                                "Silu", "Sigmoid", "Tanh"};
  return names[code];
}

/// `count` values uniform in [-1, 1), the same for the same `seed`.
std::vector<float> randomValues(size_t count, unsigned seed) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> values(count);
  for (float &value : values)
    value = uniform(engine);
  return values;
}

/// Checks max |actual - expected| <= 1e-4 * max(1, max |expected|).
void expectClose(const std::vector<float> &actual,
                 const std::vector<double> &expected) {
  ASSERT_EQ(actual.size(), expected.size());
  double largest = 1, worst = 0;
  size_t worstIndex = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    largest = std::max(largest, std::abs(expected[i]));
    double error = std::abs(actual[i] - expected[i]);
    if (!(error <= worst)) {
      worst = error;
      worstIndex = i;
    }
  }
  EXPECT_LE(worst, 1e-4 * largest)
      << "at index " << worstIndex << ": " << actual[worstIndex] << " vs "
      << expected[worstIndex];
}

//===----------------------------------------------------------------------===//
// Matmul
//===----------------------------------------------------------------------===//

struct MatmulCase {
  int64_t m, n, k;
  bool transposeLhs, transposeRhs, bias, residual;
  int64_t activation;
};

std::string matmulName(const testing::TestParamInfo<MatmulCase> &info) {
  const MatmulCase &c = info.param;
  return std::to_string(c.m) + "x" + std::to_string(c.n) + "x" +
         std::to_string(c.k) + (c.transposeLhs ? "_Tl" : "") +
         (c.transposeRhs ? "_Tr" : "") + (c.bias ? "_Bias" : "") +
         (c.residual ? "_Residual" : "") + "_" + activationName(c.activation);
}

/// The float64 reference of kiln_matmul_f32.
std::vector<double> referenceMatmul(const MatmulCase &c,
                                    const std::vector<float> &lhs,
                                    const std::vector<float> &rhs,
                                    const float *bias, const float *residual) {
  std::vector<double> result(c.m * c.n);
  for (int64_t i = 0; i < c.m; ++i)
    for (int64_t j = 0; j < c.n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < c.k; ++p) {
        double a = c.transposeLhs ? lhs[p * c.m + i] : lhs[i * c.k + p];
        double b = c.transposeRhs ? rhs[j * c.k + p] : rhs[p * c.n + j];
        sum += a * b;
      }
      if (bias)
        sum += bias[j];
      if (residual)
        sum += residual[i * c.n + j];
      result[i * c.n + j] = activate(c.activation, sum);
    }
  return result;
}

class MatmulTest : public testing::TestWithParam<MatmulCase> {};

TEST_P(MatmulTest, MatchesFloat64Reference) {
  const MatmulCase &c = GetParam();
  std::vector<float> lhs = randomValues(c.m * c.k, 1);
  std::vector<float> rhs = randomValues(c.k * c.n, 2);
  std::vector<float> bias = randomValues(c.n, 3);
  std::vector<float> residual = randomValues(c.m * c.n, 4);
  const float *biasData = c.bias ? bias.data() : nullptr;
  const float *residualData = c.residual ? residual.data() : nullptr;
  std::vector<float> result(c.m * c.n, 1e30f);
  kiln_matmul_f32(lhs.data(), rhs.data(), biasData, residualData, result.data(),
                  c.m, c.n, c.k, c.transposeLhs, c.transposeRhs, c.activation,
                  leakySlope);
  expectClose(result, referenceMatmul(c, lhs, rhs, biasData, residualData));

  // The residual may be the result buffer itself.
  if (c.residual) {
    std::vector<float> inPlace = residual;
    kiln_matmul_f32(lhs.data(), rhs.data(), biasData, inPlace.data(),
                    inPlace.data(), c.m, c.n, c.k, c.transposeLhs,
                    c.transposeRhs, c.activation, leakySlope);
    EXPECT_EQ(inPlace, result);
  }
}

std::vector<MatmulCase> matmulCases() {
  struct Size {
    int64_t m, n, k;
  };
  // Up to four rows run on the runtime's own loop (SmallMatmul.h): one to
  // four rows, with and without tails of the 32-wide blocks of k and n.
  std::vector<Size> sizes{{1, 1, 1},     {7, 13, 5},   {64, 10, 3136},
                          {33, 65, 17},  {1, 128, 3136}, {2, 70, 45},
                          {3, 33, 64},   {4, 100, 97}};
  std::vector<MatmulCase> cases;
  for (Size s : sizes)
    for (int transposes = 0; transposes < 4; ++transposes) {
      bool tl = transposes & 1, tr = transposes & 2;
      for (int fusions = 0; fusions < 4; ++fusions)
        cases.push_back({s.m, s.n, s.k, tl, tr, bool(fusions & 1),
                         bool(fusions & 2), KILN_ACTIVATION_NONE});
      for (int64_t act = KILN_ACTIVATION_RELU; act <= KILN_ACTIVATION_TANH;
           ++act)
        cases.push_back({s.m, s.n, s.k, tl, tr, true, true, act});
    }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Library, MatmulTest, testing::ValuesIn(matmulCases()),
                         matmulName);

//===----------------------------------------------------------------------===//
// Convolution
//===----------------------------------------------------------------------===//

/// NCHW data [n, c, h, w] as NHWC [n, h, w, c] (`toChannelsLast`), or
/// NHWC data back to NCHW.
std::vector<float> relayout(const std::vector<float> &data, int64_t n,
                            int64_t c, int64_t h, int64_t w,
                            bool toChannelsLast) {
  std::vector<float> out(data.size());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
          int64_t nchw = ((b * c + ch) * h + y) * w + x;
          int64_t nhwc = ((b * h + y) * w + x) * c + ch;
          if (toChannelsLast)
            out[nhwc] = data[nchw];
          else
            out[nchw] = data[nhwc];
        }
  return out;
}

struct ConvShape {
  const char *name;
  int64_t n, c, h, w, o, kh, kw, strideH, strideW, padH, padW, dilationH,
      dilationW, groups;

  int64_t outH() const {
    return (h + 2 * padH - dilationH * (kh - 1) - 1) / strideH + 1;
  }
  int64_t outW() const {
    return (w + 2 * padW - dilationW * (kw - 1) - 1) / strideW + 1;
  }
};

struct ConvCase {
  ConvShape shape;
  bool bias, residual;
  int64_t activation;
};

std::string convName(const testing::TestParamInfo<ConvCase> &info) {
  const ConvCase &c = info.param;
  return std::string(c.shape.name) + (c.bias ? "_Bias" : "") +
         (c.residual ? "_Residual" : "") + "_" + activationName(c.activation);
}

/// The float64 reference of kiln_conv2d_f32, as PyTorch defines conv2d.
std::vector<double> referenceConv(const ConvCase &c,
                                  const std::vector<float> &input,
                                  const std::vector<float> &weight,
                                  const float *bias, const float *residual) {
  const ConvShape &s = c.shape;
  int64_t oh = s.outH(), ow = s.outW();
  int64_t groupIn = s.c / s.groups, groupOut = s.o / s.groups;
  std::vector<double> result(s.n * s.o * oh * ow);
  for (int64_t b = 0; b < s.n; ++b)
    for (int64_t oc = 0; oc < s.o; ++oc)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t x = 0; x < ow; ++x) {
          double sum = bias ? bias[oc] : 0;
          int64_t group = oc / groupOut;
          for (int64_t ic = 0; ic < groupIn; ++ic)
            for (int64_t ky = 0; ky < s.kh; ++ky)
              for (int64_t kx = 0; kx < s.kw; ++kx) {
                int64_t iy = y * s.strideH - s.padH + ky * s.dilationH;
                int64_t ix = x * s.strideW - s.padW + kx * s.dilationW;
                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w)
                  continue;
                int64_t channel = group * groupIn + ic;
                sum +=
                    double(input[((b * s.c + channel) * s.h + iy) * s.w + ix]) *
                    weight[((oc * groupIn + ic) * s.kh + ky) * s.kw + kx];
              }
          int64_t index = ((b * s.o + oc) * oh + y) * ow + x;
          if (residual)
            sum += residual[index];
          result[index] = activate(c.activation, sum);
        }
  return result;
}

class ConvTest : public testing::TestWithParam<ConvCase> {};

TEST_P(ConvTest, MatchesFloat64Reference) {
  const ConvCase &c = GetParam();
  const ConvShape &s = c.shape;
  int64_t oh = s.outH(), ow = s.outW();
  std::vector<float> input = randomValues(s.n * s.c * s.h * s.w, 5);
  std::vector<float> weight =
      randomValues(s.o * (s.c / s.groups) * s.kh * s.kw, 6);
  std::vector<float> bias = randomValues(s.o, 7);
  std::vector<float> residual = randomValues(s.n * s.o * oh * ow, 8);
  const float *biasData = c.bias ? bias.data() : nullptr;
  const float *residualData = c.residual ? residual.data() : nullptr;
  auto run = [&](const float *residualArg, float *result) {
    kiln_conv2d_f32(input.data(), weight.data(), biasData, residualArg, result,
                    s.n, s.c, s.h, s.w, s.o, s.kh, s.kw, oh, ow, s.strideH,
                    s.strideW, s.padH, s.padW, s.dilationH, s.dilationW,
                    s.groups, c.activation, leakySlope);
  };
  std::vector<float> result(residual.size(), 1e30f);
  run(residualData, result.data());
  expectClose(result, referenceConv(c, input, weight, biasData, residualData));

  if (c.residual) {
    std::vector<float> inPlace = residual;
    run(inPlace.data(), inPlace.data());
    EXPECT_EQ(inPlace, result);
  }
}

// The channels-last entry point on the same data, transposed to NHWC: the
// result, transposed back, matches the same reference.
TEST_P(ConvTest, ChannelsLastMatchesFloat64Reference) {
  const ConvCase &c = GetParam();
  const ConvShape &s = c.shape;
  int64_t oh = s.outH(), ow = s.outW();
  std::vector<float> input = randomValues(s.n * s.c * s.h * s.w, 5);
  std::vector<float> weight =
      randomValues(s.o * (s.c / s.groups) * s.kh * s.kw, 6);
  std::vector<float> bias = randomValues(s.o, 7);
  std::vector<float> residual = randomValues(s.n * s.o * oh * ow, 8);
  std::vector<float> nhwcInput = relayout(input, s.n, s.c, s.h, s.w, true);
  std::vector<float> nhwcResidual = relayout(residual, s.n, s.o, oh, ow, true);
  const float *biasData = c.bias ? bias.data() : nullptr;
  std::vector<float> result(residual.size(), 1e30f);
  kiln_conv2d_nhwc_f32(nhwcInput.data(), weight.data(), biasData,
                       c.residual ? nhwcResidual.data() : nullptr,
                       result.data(), s.n, s.c, s.h, s.w, s.o, s.kh, s.kw, oh,
                       ow, s.strideH, s.strideW, s.padH, s.padW, s.dilationH,
                       s.dilationW, s.groups, c.activation, leakySlope);
  expectClose(relayout(result, s.n, s.o, oh, ow, false),
              referenceConv(c, input, weight, biasData,
                            c.residual ? residual.data() : nullptr));
}

std::vector<ConvCase> convCases() {
  // name, n, c, h, w, o, kh, kw, strideH, strideW, padH, padW, dilationH,
  // dilationW, groups.
  std::vector<ConvShape> shapes{
      {"Basic3x3", 2, 3, 9, 11, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1},
      {"Stride2Pad1", 2, 8, 15, 13, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1},
      {"Kernel5Pad2", 1, 4, 10, 9, 5, 5, 5, 1, 1, 2, 2, 1, 1, 1},
      {"Dilation2", 2, 5, 13, 12, 3, 3, 3, 1, 1, 2, 2, 2, 2, 1},
      {"Groups2", 2, 6, 9, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2},
      {"Groups2Wide", 1, 32, 8, 8, 32, 3, 3, 1, 1, 1, 1, 1, 1, 2},
      {"Depthwise", 2, 8, 11, 10, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8},
      {"DepthwiseStride2", 1, 32, 13, 13, 32, 3, 3, 2, 2, 1, 1, 1, 1, 32},
      {"DepthwiseMultiplier", 2, 4, 7, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 4},
      // Pointwise (a matmul per image on NCHW), also with one image and
      // dilated (a 1x1 kernel ignores its dilation); not with a stride.
      {"Pointwise", 3, 16, 7, 7, 10, 1, 1, 1, 1, 0, 0, 1, 1, 1},
      {"PointwiseOneImage", 1, 24, 5, 3, 40, 1, 1, 1, 1, 0, 0, 1, 1, 1},
      {"PointwiseDilated", 2, 5, 6, 6, 7, 1, 1, 1, 1, 0, 0, 2, 2, 1},
      {"PointwiseStride2", 2, 32, 9, 9, 16, 1, 1, 2, 2, 0, 0, 1, 1, 1},
      {"OneChannel", 4, 1, 28, 28, 8, 5, 5, 1, 1, 2, 2, 1, 1, 1},
      {"OneChannelStride2", 3, 1, 17, 15, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1},
      {"Blocked", 2, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1},
      {"OddChannels", 1, 20, 7, 9, 24, 3, 3, 2, 2, 1, 1, 1, 1, 1},
      {"Asymmetric", 2, 3, 11, 8, 5, 3, 1, 2, 1, 1, 0, 2, 1, 1},
      // Channels-last, these run Winograd's F(4x4) (sides multiples of 4)
      // and F(2x2) (a ragged edge) without an activation.
      {"Winograd4x4", 3, 16, 8, 12, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1},
      {"Winograd2x2Ragged", 2, 32, 9, 10, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1},
  };
  std::vector<ConvCase> cases;
  for (const ConvShape &shape : shapes) {
    for (int fusions = 0; fusions < 3; ++fusions)
      cases.push_back(
          {shape, fusions == 1, fusions == 2, KILN_ACTIVATION_NONE});
    for (int64_t act = KILN_ACTIVATION_RELU; act <= KILN_ACTIVATION_TANH; ++act)
      cases.push_back({shape, true, true, act});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Library, ConvTest, testing::ValuesIn(convCases()),
                         convName);

/// The float64 weight gradient of conv2d: every weight tap's input times
/// output gradient, summed over the batch and the output positions.
std::vector<double> referenceWeightGrad(const ConvShape &s,
                                        const std::vector<float> &input,
                                        const std::vector<float> &grad) {
  int64_t oh = s.outH(), ow = s.outW();
  int64_t groupIn = s.c / s.groups, groupOut = s.o / s.groups;
  std::vector<double> result(s.o * groupIn * s.kh * s.kw, 0.0);
  for (int64_t oc = 0; oc < s.o; ++oc)
    for (int64_t ic = 0; ic < groupIn; ++ic)
      for (int64_t ky = 0; ky < s.kh; ++ky)
        for (int64_t kx = 0; kx < s.kw; ++kx) {
          double sum = 0;
          int64_t channel = oc / groupOut * groupIn + ic;
          for (int64_t b = 0; b < s.n; ++b)
            for (int64_t y = 0; y < oh; ++y)
              for (int64_t x = 0; x < ow; ++x) {
                int64_t iy = y * s.strideH - s.padH + ky * s.dilationH;
                int64_t ix = x * s.strideW - s.padW + kx * s.dilationW;
                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w)
                  continue;
                sum += double(input[((b * s.c + channel) * s.h + iy) * s.w +
                                    ix]) *
                       grad[((b * s.o + oc) * oh + y) * ow + x];
              }
          result[((oc * groupIn + ic) * s.kh + ky) * s.kw + kx] = sum;
        }
  return result;
}

class ConvWeightGradTest : public testing::TestWithParam<ConvShape> {};

TEST_P(ConvWeightGradTest, MatchesFloat64Reference) {
  const ConvShape &s = GetParam();
  int64_t oh = s.outH(), ow = s.outW();
  std::vector<float> input = randomValues(s.n * s.c * s.h * s.w, 21);
  std::vector<float> grad = randomValues(s.n * s.o * oh * ow, 22);
  std::vector<float> result(s.o * (s.c / s.groups) * s.kh * s.kw, 1e30f);
  kiln_conv2d_weight_grad_f32(input.data(), grad.data(), result.data(), s.n,
                              s.c, s.h, s.w, s.o, s.kh, s.kw, oh, ow,
                              s.strideH, s.strideW, s.padH, s.padW,
                              s.dilationH, s.dilationW, s.groups);
  expectClose(result, referenceWeightGrad(s, input, grad));
}

TEST_P(ConvWeightGradTest, ChannelsLastMatchesFloat64Reference) {
  const ConvShape &s = GetParam();
  int64_t oh = s.outH(), ow = s.outW();
  std::vector<float> input = randomValues(s.n * s.c * s.h * s.w, 21);
  std::vector<float> grad = randomValues(s.n * s.o * oh * ow, 22);
  std::vector<float> nhwcInput = relayout(input, s.n, s.c, s.h, s.w, true);
  std::vector<float> nhwcGrad = relayout(grad, s.n, s.o, oh, ow, true);
  std::vector<float> result(s.o * (s.c / s.groups) * s.kh * s.kw, 1e30f);
  kiln_conv2d_weight_grad_nhwc_f32(nhwcInput.data(), nhwcGrad.data(),
                                   result.data(), s.n, s.c, s.h, s.w, s.o, s.kh,
                                   s.kw, oh, ow, s.strideH, s.strideW, s.padH,
                                   s.padW, s.dilationH, s.dilationW, s.groups);
  expectClose(result, referenceWeightGrad(s, input, grad));
}

INSTANTIATE_TEST_SUITE_P(
    Library, ConvWeightGradTest,
    testing::ValuesIn(std::vector<ConvShape>{
        // name, n, c, h, w, o, kh, kw, strideH, strideW, padH, padW,
        // dilationH, dilationW, groups.
        {"Basic3x3", 2, 3, 9, 11, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {"Stride2Pad1", 2, 8, 15, 13, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1},
        {"Dilation2", 2, 5, 13, 12, 3, 3, 3, 1, 1, 2, 2, 2, 2, 1},
        {"Groups2", 2, 6, 9, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2},
        {"Depthwise", 2, 8, 11, 10, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8},
        {"Pointwise", 3, 16, 7, 7, 10, 1, 1, 1, 1, 0, 0, 1, 1, 1},
        {"PointwiseManyImages", 17, 12, 5, 4, 9, 1, 1, 1, 1, 0, 0, 1, 1, 1},
        {"PointwiseStride2", 2, 8, 9, 9, 6, 1, 1, 2, 2, 0, 0, 1, 1, 1},
        {"OneChannel", 4, 1, 28, 28, 8, 5, 5, 1, 1, 2, 2, 1, 1, 1},
        {"Blocked", 2, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {"Asymmetric", 2, 3, 11, 8, 5, 3, 1, 2, 1, 1, 0, 2, 1, 1},
        // Channels-last: Winograd's F(4x4) and F(2x2) (a ragged edge).
        {"Winograd4x4", 3, 16, 8, 12, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {"Winograd2x2Ragged", 2, 32, 9, 10, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    }),
    [](const testing::TestParamInfo<ConvShape> &info) {
      return std::string(info.param.name);
    });

//===----------------------------------------------------------------------===//
// Transposed convolution
//===----------------------------------------------------------------------===//

struct ConvTransposeShape {
  const char *name;
  int64_t n, c, h, w, o, kh, kw, strideH, strideW, padH, padW, outputPadH,
      outputPadW, dilationH, dilationW, groups;

  int64_t outH() const {
    return (h - 1) * strideH - 2 * padH + dilationH * (kh - 1) + outputPadH +
           1;
  }
  int64_t outW() const {
    return (w - 1) * strideW - 2 * padW + dilationW * (kw - 1) + outputPadW +
           1;
  }
};

struct ConvTransposeCase {
  ConvTransposeShape shape;
  bool bias, residual;
  int64_t activation;
};

std::string convTransposeName(
    const testing::TestParamInfo<ConvTransposeCase> &info) {
  const ConvTransposeCase &c = info.param;
  return std::string(c.shape.name) + (c.bias ? "_Bias" : "") +
         (c.residual ? "_Residual" : "") + "_" + activationName(c.activation);
}

/// The float64 reference of kiln_conv_transpose2d_f32, as PyTorch defines
/// conv_transpose2d: every input pixel scatters its weighted kernel into the
/// result, whose border `pad` is cropped.
std::vector<double> referenceConvTranspose(const ConvTransposeCase &c,
                                           const std::vector<float> &input,
                                           const std::vector<float> &weight,
                                           const float *bias,
                                           const float *residual) {
  const ConvTransposeShape &s = c.shape;
  int64_t oh = s.outH(), ow = s.outW();
  int64_t groupIn = s.c / s.groups, groupOut = s.o / s.groups;
  std::vector<double> sums(s.n * s.o * oh * ow, 0.0);
  for (int64_t b = 0; b < s.n; ++b)
    for (int64_t ic = 0; ic < s.c; ++ic)
      for (int64_t y = 0; y < s.h; ++y)
        for (int64_t x = 0; x < s.w; ++x) {
          double value = input[((b * s.c + ic) * s.h + y) * s.w + x];
          int64_t group = ic / groupIn;
          for (int64_t oc = 0; oc < groupOut; ++oc)
            for (int64_t ky = 0; ky < s.kh; ++ky)
              for (int64_t kx = 0; kx < s.kw; ++kx) {
                int64_t oy = y * s.strideH - s.padH + ky * s.dilationH;
                int64_t ox = x * s.strideW - s.padW + kx * s.dilationW;
                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow)
                  continue;
                int64_t channel = group * groupOut + oc;
                sums[((b * s.o + channel) * oh + oy) * ow + ox] +=
                    value *
                    weight[((ic * groupOut + oc) * s.kh + ky) * s.kw + kx];
              }
        }
  std::vector<double> result(sums.size());
  for (int64_t i = 0; i < static_cast<int64_t>(sums.size()); ++i) {
    int64_t channel = (i / (oh * ow)) % s.o;
    double sum = sums[i] + (bias ? bias[channel] : 0.0) +
                 (residual ? residual[i] : 0.0);
    result[i] = activate(c.activation, sum);
  }
  return result;
}

class ConvTransposeTest : public testing::TestWithParam<ConvTransposeCase> {};

TEST_P(ConvTransposeTest, MatchesFloat64Reference) {
  const ConvTransposeCase &c = GetParam();
  const ConvTransposeShape &s = c.shape;
  int64_t oh = s.outH(), ow = s.outW();
  std::vector<float> input = randomValues(s.n * s.c * s.h * s.w, 25);
  std::vector<float> weight =
      randomValues(s.c * (s.o / s.groups) * s.kh * s.kw, 26);
  std::vector<float> bias = randomValues(s.o, 27);
  std::vector<float> residual = randomValues(s.n * s.o * oh * ow, 28);
  const float *biasData = c.bias ? bias.data() : nullptr;
  const float *residualData = c.residual ? residual.data() : nullptr;
  std::vector<float> result(residual.size(), 1e30f);
  kiln_conv_transpose2d_f32(input.data(), weight.data(), biasData,
                            residualData, result.data(), s.n, s.c, s.h, s.w,
                            s.o, s.kh, s.kw, oh, ow, s.strideH, s.strideW,
                            s.padH, s.padW, s.outputPadH, s.outputPadW,
                            s.dilationH, s.dilationW, s.groups, c.activation,
                            leakySlope);
  expectClose(result,
              referenceConvTranspose(c, input, weight, biasData, residualData));
}

TEST_P(ConvTransposeTest, ChannelsLastMatchesFloat64Reference) {
  const ConvTransposeCase &c = GetParam();
  const ConvTransposeShape &s = c.shape;
  int64_t oh = s.outH(), ow = s.outW();
  std::vector<float> input = randomValues(s.n * s.c * s.h * s.w, 25);
  std::vector<float> weight =
      randomValues(s.c * (s.o / s.groups) * s.kh * s.kw, 26);
  std::vector<float> bias = randomValues(s.o, 27);
  std::vector<float> residual = randomValues(s.n * s.o * oh * ow, 28);
  std::vector<float> nhwcInput = relayout(input, s.n, s.c, s.h, s.w, true);
  std::vector<float> nhwcResidual = relayout(residual, s.n, s.o, oh, ow, true);
  const float *biasData = c.bias ? bias.data() : nullptr;
  std::vector<float> result(residual.size(), 1e30f);
  kiln_conv_transpose2d_nhwc_f32(
      nhwcInput.data(), weight.data(), biasData,
      c.residual ? nhwcResidual.data() : nullptr, result.data(), s.n, s.c, s.h,
      s.w, s.o, s.kh, s.kw, oh, ow, s.strideH, s.strideW, s.padH, s.padW,
      s.outputPadH, s.outputPadW, s.dilationH, s.dilationW, s.groups,
      c.activation, leakySlope);
  expectClose(relayout(result, s.n, s.o, oh, ow, false),
              referenceConvTranspose(c, input, weight, biasData,
                                     c.residual ? residual.data() : nullptr));
}

std::vector<ConvTransposeCase> convTransposeCases() {
  // name, n, c, h, w, o, kh, kw, strideH, strideW, padH, padW, outputPadH,
  // outputPadW, dilationH, dilationW, groups.
  std::vector<ConvTransposeShape> shapes{
      {"Basic3x3", 2, 3, 7, 9, 4, 3, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1},
      {"Stride2", 2, 8, 7, 6, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
      {"Stride2NoPad", 1, 4, 5, 5, 3, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1},
      {"Dilation2", 2, 5, 6, 7, 3, 3, 3, 1, 1, 2, 2, 0, 0, 2, 2, 1},
      {"Groups2", 2, 6, 5, 5, 4, 3, 3, 2, 1, 1, 1, 1, 0, 1, 1, 2},
      {"Depthwise", 1, 8, 6, 6, 8, 3, 3, 1, 1, 1, 1, 0, 0, 1, 1, 8},
      {"Pointwise", 2, 16, 5, 5, 10, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},
      {"PointwiseOneImage", 1, 7, 4, 6, 33, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},
      {"Blocked", 2, 32, 7, 7, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
      {"Asymmetric", 1, 3, 5, 4, 5, 3, 1, 2, 1, 1, 0, 0, 0, 1, 1, 1},
      // Output padding beyond the padding (the input gradient of a 1x1,
      // stride-2 downsampling convolution): a margin no input reaches.
      {"MarginPointwise", 2, 16, 7, 7, 8, 1, 1, 2, 2, 0, 0, 1, 1, 1, 1, 1},
      {"Margin3x3", 1, 6, 5, 6, 4, 3, 3, 3, 2, 0, 1, 2, 1, 1, 1, 2},
      // At most four output channels, ungrouped: a matmul into columns and
      // a scatter (gan's last layer; a one-channel input's gradient).
      {"OneOutput", 3, 16, 7, 7, 1, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1},
      {"OneOutputSame", 2, 9, 6, 5, 1, 3, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1},
      {"TwoOutputsDilated", 2, 5, 5, 6, 2, 3, 2, 2, 1, 2, 0, 1, 0, 2, 1, 1},
      {"FourOutputsMargin", 2, 3, 4, 4, 4, 3, 3, 3, 2, 0, 1, 2, 1, 1, 1, 1},
      {"FiveOutputs", 2, 6, 5, 5, 5, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1},
      // Stride 1, padding 1 (a data gradient): Winograd's, channels-last.
      {"Winograd4x4", 2, 32, 8, 8, 16, 3, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1},
      {"Winograd2x2Ragged", 3, 16, 10, 9, 32, 3, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1},
  };
  std::vector<ConvTransposeCase> cases;
  for (const ConvTransposeShape &shape : shapes) {
    for (int fusions = 0; fusions < 4; ++fusions)
      cases.push_back({shape, fusions % 2 == 1, fusions >= 2,
                       KILN_ACTIVATION_NONE});
    // With a margin, an activation is refused (a death test below).
    if (shape.outputPadH <= shape.padH && shape.outputPadW <= shape.padW)
      cases.push_back({shape, true, true, KILN_ACTIVATION_RELU});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Library, ConvTransposeTest,
                         testing::ValuesIn(convTransposeCases()),
                         convTransposeName);

//===----------------------------------------------------------------------===//
// Cache, threads and errors
//===----------------------------------------------------------------------===//

TEST(LibraryCache, SameConfigurationReusesItsPrimitive) {
  // Shapes no other test uses, so the first call must add an entry.
  std::vector<float> lhs = randomValues(11 * 23, 9),
                     rhs = randomValues(23 * 19, 10);
  std::vector<float> first(11 * 19), second(11 * 19);
  size_t before = kiln_library_cache_size();
  kiln_matmul_f32(lhs.data(), rhs.data(), nullptr, nullptr, first.data(), 11,
                  19, 23, 0, 1, KILN_ACTIVATION_SILU, 0.0);
  EXPECT_EQ(kiln_library_cache_size(), before + 1);
  kiln_matmul_f32(lhs.data(), rhs.data(), nullptr, nullptr, second.data(), 11,
                  19, 23, 0, 1, KILN_ACTIVATION_SILU, 0.0);
  EXPECT_EQ(kiln_library_cache_size(), before + 1);
  EXPECT_EQ(first, second);
  // alpha only matters to leaky ReLU: another value is the same primitive.
  kiln_matmul_f32(lhs.data(), rhs.data(), nullptr, nullptr, second.data(), 11,
                  19, 23, 0, 1, KILN_ACTIVATION_SILU, 0.5);
  EXPECT_EQ(kiln_library_cache_size(), before + 1);

  std::vector<float> input = randomValues(2 * 3 * 10 * 10, 11);
  std::vector<float> weight = randomValues(7 * 3 * 3 * 3, 12);
  std::vector<float> out(2 * 7 * 5 * 5);
  for (int call = 0; call < 2; ++call) {
    kiln_conv2d_f32(input.data(), weight.data(), nullptr, nullptr, out.data(),
                    2, 3, 10, 10, 7, 3, 3, 5, 5, 2, 2, 1, 1, 1, 1, 1,
                    KILN_ACTIVATION_RELU, 0.0);
    EXPECT_EQ(kiln_library_cache_size(), before + 2);
  }
}

TEST(LibraryCache, ThreadsShareCachedPrimitivesSafely) {
  // A convolution with reorders (scratch buffers) and a matmul, run from
  // several threads at once, must agree with a run on this thread.
  std::vector<float> input = randomValues(2 * 32 * 9 * 9, 15);
  std::vector<float> weight = randomValues(48 * 32 * 3 * 3, 16);
  std::vector<float> lhs = randomValues(17 * 29, 17),
                     rhs = randomValues(29 * 31, 18);
  auto conv = [&](std::vector<float> &out) {
    kiln_conv2d_f32(input.data(), weight.data(), nullptr, nullptr, out.data(),
                    2, 32, 9, 9, 48, 3, 3, 9, 9, 1, 1, 1, 1, 1, 1, 1,
                    KILN_ACTIVATION_GELU, 0.0);
  };
  auto matmul = [&](std::vector<float> &out) {
    kiln_matmul_f32(lhs.data(), rhs.data(), nullptr, nullptr, out.data(), 17,
                    31, 29, 0, 0, KILN_ACTIVATION_TANH, 0.0);
  };
  std::vector<float> convExpected(2 * 48 * 9 * 9), matmulExpected(17 * 31);
  conv(convExpected);
  matmul(matmulExpected);

  constexpr int workers = 4;
  std::vector<int> mismatches(workers, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < workers; ++t)
    threads.emplace_back([&, t] {
      std::vector<float> convOut(convExpected.size());
      std::vector<float> matmulOut(matmulExpected.size());
      for (int i = 0; i < 10; ++i) {
        conv(convOut);
        matmul(matmulOut);
        mismatches[t] += convOut != convExpected;
        mismatches[t] += matmulOut != matmulExpected;
      }
    });
  for (std::thread &thread : threads)
    thread.join();
  for (int t = 0; t < workers; ++t)
    EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

/// Sets KILN_NUM_THREADS for one test and restores the environment after.
class ThreadCountTest : public testing::Test {
protected:
  void SetUp() override {
    if (const char *old = std::getenv("KILN_NUM_THREADS"))
      saved = old;
    kiln_set_num_threads(0);
  }
  void TearDown() override {
    if (saved.empty())
      unsetenv("KILN_NUM_THREADS");
    else
      setenv("KILN_NUM_THREADS", saved.c_str(), 1);
    kiln_set_num_threads(0);
  }
  std::string saved;
};

TEST_F(ThreadCountTest, HonoursEnvironmentThenExplicitSetting) {
  setenv("KILN_NUM_THREADS", "1", 1);
  EXPECT_EQ(kiln_num_threads(), 1);
  setenv("KILN_NUM_THREADS", "3", 1);
  EXPECT_EQ(kiln_num_threads(), 3);
  kiln_set_num_threads(2);
  EXPECT_EQ(kiln_num_threads(), 2);
  kiln_set_num_threads(0);
  EXPECT_EQ(kiln_num_threads(), 3);

  unsetenv("KILN_NUM_THREADS");
  int64_t fallback = kiln_num_threads();
  EXPECT_GE(fallback, 1);
  EXPECT_LE(fallback,
            std::max<int64_t>(1, std::thread::hardware_concurrency()));
  for (const char *bad : {"0", "-2", "two", "4x", ""}) {
    setenv("KILN_NUM_THREADS", bad, 1);
    EXPECT_EQ(kiln_num_threads(), fallback) << "KILN_NUM_THREADS=" << bad;
  }
}

TEST_F(ThreadCountTest, FewRowsGiveTheSameBitsOnAnyThreadCount) {
  // Each column of a few-row product is summed by one thread in one order.
  std::vector<float> lhs = randomValues(3 * 4096, 19),
                     rhs = randomValues(4096 * 96, 20);
  std::vector<float> one(3 * 96), two(3 * 96);
  for (int transpose = 0; transpose < 2; ++transpose) {
    kiln_set_num_threads(1);
    kiln_matmul_f32(lhs.data(), rhs.data(), nullptr, nullptr, one.data(), 3,
                    96, 4096, 0, transpose, KILN_ACTIVATION_NONE, 0.0);
    kiln_set_num_threads(2);
    kiln_matmul_f32(lhs.data(), rhs.data(), nullptr, nullptr, two.data(), 3,
                    96, 4096, 0, transpose, KILN_ACTIVATION_NONE, 0.0);
    EXPECT_EQ(one, two) << "transposeRhs " << transpose;
  }
}

TEST_F(ThreadCountTest, OneThreadComputesTheSameResult) {
  std::vector<float> lhs = randomValues(40 * 50, 13),
                     rhs = randomValues(50 * 30, 14);
  MatmulCase c{40, 30, 50, false, false, false, false, KILN_ACTIVATION_NONE};
  setenv("KILN_NUM_THREADS", "1", 1);
  std::vector<float> result(40 * 30);
  kiln_matmul_f32(lhs.data(), rhs.data(), nullptr, nullptr, result.data(), 40,
                  30, 50, 0, 0, KILN_ACTIVATION_NONE, 0.0);
  expectClose(result, referenceMatmul(c, lhs, rhs, nullptr, nullptr));
}

/// Expects `actual` within `bound` times the largest magnitude of
/// `expected`, naming `what`.
void expectWithin(const std::vector<float> &actual,
                  const std::vector<double> &expected, double bound,
                  const char *what) {
  double largest = 0, worst = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    largest = std::max(largest, std::abs(expected[i]));
    worst = std::max(worst, std::abs(actual[i] - expected[i]));
  }
  EXPECT_LE(worst, bound * largest) << what;
}

// ddpm's 3x3 layers, channels-last, run Winograd's algorithm: F(4x4) on
// 28x28, F(2x2) on 14x14, over a batch that leaves a partial last block of
// images. Within 2e-5 of the largest output of the float64 reference (the
// suites above allow 1e-4), bit for bit the same on one and two threads,
// and the same with the residual updated in place; so are the weight
// gradients.
TEST_F(ThreadCountTest, WinogradIsAccurateAndTheSameOnAnyThreadCount) {
  struct Layer {
    int64_t n, c, side, o;
    bool transposed;
  };
  for (const Layer &layer :
       {Layer{5, 32, 28, 32, false}, Layer{5, 32, 28, 64, true},
        Layer{3, 64, 14, 64, false}, Layer{3, 64, 14, 32, true}}) {
    int64_t n = layer.n, c = layer.c, side = layer.side, o = layer.o;
    std::vector<float> input = randomValues(n * c * side * side, 31);
    std::vector<float> weight = randomValues(o * c * 9, 32);
    std::vector<float> bias = randomValues(o, 33);
    std::vector<float> residual = randomValues(n * o * side * side, 34);
    std::vector<float> nhwcInput = relayout(input, n, c, side, side, true);
    std::vector<float> nhwcResidual =
        relayout(residual, n, o, side, side, true);
    auto run = [&](int64_t threads, const float *residualArg, float *result) {
      kiln_set_num_threads(threads);
      if (layer.transposed)
        kiln_conv_transpose2d_nhwc_f32(
            nhwcInput.data(), weight.data(), bias.data(), residualArg, result,
            n, c, side, side, o, 3, 3, side, side, 1, 1, 1, 1, 0, 0, 1, 1, 1,
            KILN_ACTIVATION_NONE, 0.0);
      else
        kiln_conv2d_nhwc_f32(nhwcInput.data(), weight.data(), bias.data(),
                             residualArg, result, n, c, side, side, o, 3, 3,
                             side, side, 1, 1, 1, 1, 1, 1, 1,
                             KILN_ACTIVATION_NONE, 0.0);
    };
    std::vector<float> one(residual.size()), two(residual.size());
    run(1, nhwcResidual.data(), one.data());
    run(2, nhwcResidual.data(), two.data());
    EXPECT_EQ(one, two) << "c " << c << " side " << side;
    std::vector<float> inPlace = nhwcResidual;
    run(2, inPlace.data(), inPlace.data());
    EXPECT_EQ(inPlace, one);

    std::vector<double> expected =
        layer.transposed
            ? referenceConvTranspose(
                  {{"", n, c, side, side, o, 3, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1},
                   true,
                   true,
                   KILN_ACTIVATION_NONE},
                  input, weight, bias.data(), residual.data())
            : referenceConv(
                  {{"", n, c, side, side, o, 3, 3, 1, 1, 1, 1, 1, 1, 1},
                   true,
                   true,
                   KILN_ACTIVATION_NONE},
                  input, weight, bias.data(), residual.data());
    std::vector<float> actual = relayout(one, n, o, side, side, false);
    expectWithin(actual, expected, 2e-5, "result");
    if (layer.transposed)
      continue;

    // The weight gradient, from the residual as the result's gradient.
    ConvShape shape{"", n, c, side, side, o, 3, 3, 1, 1, 1, 1, 1, 1, 1};
    auto weightGrad = [&](int64_t threads, float *result) {
      kiln_set_num_threads(threads);
      kiln_conv2d_weight_grad_nhwc_f32(nhwcInput.data(), nhwcResidual.data(),
                                       result, n, c, side, side, o, 3, 3, side,
                                       side, 1, 1, 1, 1, 1, 1, 1);
    };
    std::vector<float> gradOne(weight.size()), gradTwo(weight.size());
    weightGrad(1, gradOne.data());
    weightGrad(2, gradTwo.data());
    EXPECT_EQ(gradOne, gradTwo) << "c " << c << " side " << side;
    expectWithin(gradOne, referenceWeightGrad(shape, input, residual), 2e-5,
                 "weight gradient");
  }
}

TEST(LibraryDeathTest, UnknownActivationNamesTheCall) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::vector<float> a(4, 1.0f), result(4);
  EXPECT_DEATH(kiln_matmul_f32(a.data(), a.data(), nullptr, nullptr,
                               result.data(), 2, 2, 2, 0, 0, 9, 0.0),
               "kiln_matmul_f32\\(m=2, n=2, k=2.*unknown activation code 9");
  // The same from oneDNN's primitive (more rows than the small path takes).
  std::vector<float> b(64, 1.0f), big(64);
  EXPECT_DEATH(kiln_matmul_f32(b.data(), b.data(), nullptr, nullptr,
                               big.data(), 8, 8, 8, 0, 0, 9, 0.0),
               "kiln_matmul_f32\\(m=8, n=8, k=8.*unknown activation code 9");
}

TEST(LibraryDeathTest, InconsistentConvolutionShapeIsAOneDnnError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::vector<float> input(1 * 1 * 8 * 8), weight(9), result(1 * 1 * 9 * 9);
  // A 3x3 kernel over 8x8 without padding gives 6x6, not 9x9.
  EXPECT_DEATH(kiln_conv2d_f32(input.data(), weight.data(), nullptr, nullptr,
                               result.data(), 1, 1, 8, 8, 1, 3, 3, 9, 9, 1, 1,
                               0, 0, 1, 1, 1, 0, 0.0),
               "kiln_conv2d_f32\\(n=1, c=1, h=8, w=8.*oneDNN error");
}

TEST(LibraryDeathTest, TransposedMarginTakesNoActivation) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::vector<float> data(256);
  // Stride 2, no padding, output padding 1: the last row and column are the
  // margin, which the compiler never asks to activate.
  EXPECT_DEATH(kiln_conv_transpose2d_f32(
                   data.data(), data.data(), nullptr, nullptr, data.data(), 1,
                   1, 4, 4, 1, 3, 3, 10, 10, 2, 2, 0, 0, 1, 1, 1, 1, 1,
                   KILN_ACTIVATION_RELU, 0.0),
               "kiln_conv_transpose2d_f32\\(n=1, .*outputPadH=1.*output "
               "padding beyond the padding takes no activation");
}

TEST(LibraryDeathTest, GroupsMustDivideChannels) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::vector<float> data(64);
  EXPECT_DEATH(kiln_conv2d_f32(data.data(), data.data(), nullptr, nullptr,
                               data.data(), 1, 3, 4, 4, 2, 1, 1, 4, 4, 1, 1, 0,
                               0, 1, 1, 2, 0, 0.0),
               "groups=2.*groups must divide both channel counts");
}

} // namespace
