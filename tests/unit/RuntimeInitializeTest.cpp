//===- RuntimeInitializeTest.cpp - Parameters start as the manifest says --===//

#include "runtime/train/Initialize.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

using namespace kiln::rt;
using ::testing::HasSubstr;

namespace {

ArgumentSpec parameter(const std::string &init, DType dtype = DType::F64) {
  ArgumentSpec arg;
  arg.kind = ArgKind::Parameter;
  arg.tensor.name = "layer.weight";
  arg.tensor.dtype = dtype;
  arg.tensor.shape = {100, 100};
  arg.init = init;
  return arg;
}

/// The values of `init` on 10,000 elements: min, max, mean, stddev.
struct Summary {
  double min, max, mean, stddev;
};
Summary drawn(const std::string &init) {
  std::mt19937_64 rng(7);
  StatusOr<HostTensor> t = initialize(parameter(init), rng);
  EXPECT_TRUE(t.ok()) << init << ": " << t.status().message();
  const double *v = t.value().data<double>();
  int64_t n = t.value().numElements();
  Summary s{v[0], v[0], 0, 0};
  for (int64_t i = 0; i < n; ++i)
    s.min = std::min(s.min, v[i]), s.max = std::max(s.max, v[i]),
    s.mean += v[i] / n;
  for (int64_t i = 0; i < n; ++i)
    s.stddev += (v[i] - s.mean) * (v[i] - s.mean) / n;
  s.stddev = std::sqrt(s.stddev);
  return s;
}

TEST(InitializeTest, DrawsEachDistribution) {
  Summary zeros = drawn("zeros"), ones = drawn("ones"),
          constant = drawn("constant:-2.5");
  EXPECT_EQ(zeros.min, 0);
  EXPECT_EQ(zeros.max, 0);
  EXPECT_EQ(ones.min, 1);
  EXPECT_EQ(ones.max, 1);
  EXPECT_EQ(constant.min, -2.5);
  EXPECT_EQ(constant.max, -2.5);
  // U(-0.5, 0.5): mean 0, stddev 1/sqrt(12); 5 sigma bounds on 10^4 draws.
  Summary symmetric = drawn("uniform:0.5");
  EXPECT_GE(symmetric.min, -0.5);
  EXPECT_LT(symmetric.max, 0.5);
  EXPECT_NEAR(symmetric.mean, 0, 5 * 0.2887 / 100);
  EXPECT_NEAR(symmetric.stddev, 0.2887, 0.01);
  Summary shifted = drawn("uniform:-1:3");
  EXPECT_GE(shifted.min, -1);
  EXPECT_LT(shifted.max, 3);
  EXPECT_NEAR(shifted.mean, 1, 5 * 1.1547 / 100);
  Summary normal = drawn("normal:0.02"), moved = drawn("normal:5:0.1");
  EXPECT_NEAR(normal.mean, 0, 5 * 0.02 / 100);
  EXPECT_NEAR(normal.stddev, 0.02, 0.001);
  EXPECT_NEAR(moved.mean, 5, 5 * 0.1 / 100);
  EXPECT_NEAR(moved.stddev, 0.1, 0.005);
}

TEST(InitializeTest, RefusesWhatItCannotDraw) {
  for (const char *bad :
       {"uniform:3:1", "uniform:-1", "normal:1:-2", "constant:x", "constant:",
        "uniform:1:2:3", "normal:nan", "constant:inf", "orthogonal", "ones:1"}) {
    std::mt19937_64 rng(1);
    StatusOr<HostTensor> t = initialize(parameter(bad), rng);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_THAT(t.status().message(),
                HasSubstr("'layer.weight': unknown initializer '" +
                          std::string(bad) + "'"));
  }
  std::mt19937_64 rng(1);
  StatusOr<HostTensor> t = initialize(parameter("ones", DType::I64), rng);
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("cannot initialize"));
}

TEST(InitializeTest, ReadsTheNumbersOfAKind) {
  using Numbers = std::optional<std::vector<double>>;
  EXPECT_EQ(initializerNumbers("uniform:-1:2", "uniform"),
            Numbers(std::vector<double>{-1, 2}));
  EXPECT_EQ(initializerNumbers("normal:0.02", "normal"),
            Numbers(std::vector<double>{0.02}));
  for (const char *other : {"uniform:1", "uniformx:1", "uniform", "normal:",
                            "normal:1:2:3", "normal:1:", "normal:inf"})
    EXPECT_EQ(initializerNumbers(other, "normal"), std::nullopt) << other;
}

} // namespace
