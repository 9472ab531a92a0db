//===- RuntimeConvolutionTest.cpp - oneDNN and Winograd convolutions ------===//
//
// The runtime library's convolutions, their weight gradients and transposed
// convolutions, NCHW and channels-last, against float64 loops; Winograd's
// 3x3 path for channels-last data, its accuracy and its thread counts.
//
//===----------------------------------------------------------------------===//

#include "LibraryTestSupport.h"

#include "kiln/runtime/Library.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using namespace kiln::librarytest;

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
                sum +=
                    double(input[((b * s.c + channel) * s.h + iy) * s.w + ix]) *
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
                              s.c, s.h, s.w, s.o, s.kh, s.kw, oh, ow, s.strideH,
                              s.strideW, s.padH, s.padW, s.dilationH,
                              s.dilationW, s.groups);
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
    return (h - 1) * strideH - 2 * padH + dilationH * (kh - 1) + outputPadH + 1;
  }
  int64_t outW() const {
    return (w - 1) * strideW - 2 * padW + dilationW * (kw - 1) + outputPadW + 1;
  }
};

struct ConvTransposeCase {
  ConvTransposeShape shape;
  bool bias, residual;
  int64_t activation;
};

std::string
convTransposeName(const testing::TestParamInfo<ConvTransposeCase> &info) {
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
    double sum =
        sums[i] + (bias ? bias[channel] : 0.0) + (residual ? residual[i] : 0.0);
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
  kiln_conv_transpose2d_f32(input.data(), weight.data(), biasData, residualData,
                            result.data(), s.n, s.c, s.h, s.w, s.o, s.kh, s.kw,
                            oh, ow, s.strideH, s.strideW, s.padH, s.padW,
                            s.outputPadH, s.outputPadW, s.dilationH,
                            s.dilationW, s.groups, c.activation, leakySlope);
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
      cases.push_back(
          {shape, fusions % 2 == 1, fusions >= 2, KILN_ACTIVATION_NONE});
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
// Winograd's algorithm
//===----------------------------------------------------------------------===//

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

} // namespace
