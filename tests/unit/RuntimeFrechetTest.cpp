//===- RuntimeFrechetTest.cpp - Fréchet distances and their moments -------===//
//
// The distance is checked against its closed form for covariances that
// share eigenvectors, C1 = Q D1 Q^T and C2 = Q D2 Q^T, where
// Tr (C1 C2)^(1/2) = sum sqrt(d1 d2), with Q a random rotation: the
// eigen-solver sees full matrices, the answer needs none.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/Sampling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace kiln::rt;

namespace {

/// A random orthogonal [n, n] matrix (Gram-Schmidt of Gaussian columns).
std::vector<double> rotation(int64_t n, std::mt19937_64 &rng) {
  std::normal_distribution<double> normal;
  std::vector<double> q(n * n);
  for (double &v : q)
    v = normal(rng);
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t k = 0; k < j; ++k) {
      double dot = 0;
      for (int64_t i = 0; i < n; ++i)
        dot += q[i * n + j] * q[i * n + k];
      for (int64_t i = 0; i < n; ++i)
        q[i * n + j] -= dot * q[i * n + k];
    }
    double norm = 0;
    for (int64_t i = 0; i < n; ++i)
      norm += q[i * n + j] * q[i * n + j];
    for (int64_t i = 0; i < n; ++i)
      q[i * n + j] /= std::sqrt(norm);
  }
  return q;
}

FeatureMoments rotated(const std::vector<double> &q,
                       const std::vector<double> &diagonal,
                       std::vector<double> mean) {
  int64_t n = static_cast<int64_t>(diagonal.size());
  FeatureMoments m;
  m.dim = n;
  m.count = 100;
  m.mean = std::move(mean);
  m.covariance.assign(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t k = 0; k < n; ++k)
        m.covariance[i * n + j] += q[i * n + k] * diagonal[k] * q[j * n + k];
  return m;
}

TEST(Frechet, MatchesTheClosedFormOfCommutingCovariances) {
  std::mt19937_64 rng(7);
  for (int64_t n : {1, 3, 16, 40}) {
    std::vector<double> q = rotation(n, rng);
    std::uniform_real_distribution<double> uniform(0.05, 3.0);
    std::vector<double> d1(n), d2(n), m1(n), m2(n);
    double expected = 0;
    for (int64_t i = 0; i < n; ++i) {
      d1[i] = uniform(rng);
      d2[i] = i % 5 == 0 ? 0.0 : uniform(rng); // singular C2
      m1[i] = uniform(rng);
      m2[i] = uniform(rng);
      expected += (m1[i] - m2[i]) * (m1[i] - m2[i]) + d1[i] + d2[i] -
                  2 * std::sqrt(d1[i] * d2[i]);
    }
    double got = frechetDistance(rotated(q, d1, m1), rotated(q, d2, m2));
    // A zero eigenvalue computed as ~1e-16 adds its square root, ~1e-8.
    EXPECT_NEAR(got, expected, 1e-7 * std::max(1.0, expected)) << "n = " << n;
  }
}

TEST(Frechet, IsZeroBetweenEqualGaussiansAndSymmetric) {
  std::mt19937_64 rng(3);
  std::vector<double> q = rotation(8, rng);
  FeatureMoments a = rotated(q, {1, 2, 3, 4, 0.5, 0.25, 2, 1},
                             {0, 1, 2, 3, 4, 5, 6, 7});
  EXPECT_NEAR(frechetDistance(a, a), 0.0, 1e-10);
  std::vector<double> r = rotation(8, rng);
  FeatureMoments b = rotated(r, {2, 1, 1, 1, 3, 1, 1, 0.1},
                             {1, 1, 2, 3, 4, 5, 6, 8});
  EXPECT_NEAR(frechetDistance(a, b), frechetDistance(b, a), 1e-9);
  EXPECT_GT(frechetDistance(a, b), 0.0);
}

TEST(Frechet, MomentsAreTheMeanAndUnbiasedCovariance) {
  HostTensor f = HostTensor::zeros(DType::F64, {3, 2}).value();
  double values[] = {1, 2, 3, 6, 5, 4};
  std::copy(values, values + 6, f.data<double>());
  StatusOr<FeatureMoments> m = featureMoments(f);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_DOUBLE_EQ(m.value().mean[0], 3.0);
  EXPECT_DOUBLE_EQ(m.value().mean[1], 4.0);
  // Centred rows (-2, -2), (0, 2), (2, 0), over N - 1 = 2.
  EXPECT_DOUBLE_EQ(m.value().covariance[0], 4.0);
  EXPECT_DOUBLE_EQ(m.value().covariance[1], 2.0);
  EXPECT_DOUBLE_EQ(m.value().covariance[2], 2.0);
  EXPECT_DOUBLE_EQ(m.value().covariance[3], 4.0);
}

TEST(Frechet, MomentsNeedTwoRowsOfFloat64) {
  HostTensor one = HostTensor::zeros(DType::F64, {1, 4}).value();
  EXPECT_FALSE(featureMoments(one).ok());
  HostTensor f32 = HostTensor::zeros(DType::F32, {5, 4}).value();
  StatusOr<FeatureMoments> m = featureMoments(f32);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("f64 features"), std::string::npos);
}

} // namespace
