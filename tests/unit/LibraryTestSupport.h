//===- LibraryTestSupport.h - What the library tests share ----------------===//
//
// The float64 formulas, random inputs, tolerance check and thread-count
// fixture of the runtime library's tests (RuntimeLibraryTest.cpp: matmul,
// cache, threads, errors; RuntimeConvolutionTest.cpp: convolutions).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_LIBRARYTESTSUPPORT_H
#define KILN_TESTS_UNIT_LIBRARYTESTSUPPORT_H

#include "kiln/runtime/Library.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace kiln::librarytest {
inline constexpr double leakySlope = 0.125;

/// `x` through activation `code`, in double precision from the formulas.
inline double activate(int64_t code, double x) {
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

inline const char *activationName(int64_t code) {
  static const char *names[] = {"None", "Relu",    "Leaky", "Gelu",
                                "Silu", "Sigmoid", "Tanh"};
  return names[code];
}

/// `count` values uniform in [-1, 1), the same for the same `seed`.
inline std::vector<float> randomValues(size_t count, unsigned seed) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> values(count);
  for (float &value : values)
    value = uniform(engine);
  return values;
}

/// Checks max |actual - expected| <= 1e-4 * max(1, max |expected|).
inline void expectClose(const std::vector<float> &actual,
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

} // namespace kiln::librarytest

#endif // KILN_TESTS_UNIT_LIBRARYTESTSUPPORT_H
