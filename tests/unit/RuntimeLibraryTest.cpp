//===- RuntimeLibraryTest.cpp - oneDNN matmul, cache, threads, errors -----===//
//
// The runtime library's matmul against float64 loops, its primitive cache
// and thread counts, and the errors of bad calls. The convolutions are
// RuntimeConvolutionTest.cpp's.
//
//===----------------------------------------------------------------------===//

#include "LibraryTestSupport.h"

#include "kiln/runtime/Library.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace kiln::librarytest;

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
