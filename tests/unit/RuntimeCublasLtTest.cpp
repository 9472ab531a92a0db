//===- RuntimeCublasLtTest.cpp - GPU matrix products without a GPU --------===//
//
// kiln_cuda_matmul_f32 on the fake driver and the fake cuBLASLt
// (FakeCublasLt.cpp), which computes cuBLASLt's column-major product on the
// host: every combination of transposes, bias, residual and ReLU must give
// kiln_matmul_f32's row-major result, and a missing cuBLASLt one clear
// error.
//
//===----------------------------------------------------------------------===//

#include "CudaTestSupport.h"
#include "FakeDriverSupport.h"
#include "kiln/runtime/Cuda.h"
#include "kiln/runtime/Library.h"

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace {

using kiln::rt::test::finish;
using kiln::rt::test::onDevice;
template <typename F> F symbol(const char *library, const char *name) {
  return kiln::rt::test::loadedSymbol<F>(library, name);
}
std::vector<float> random(size_t count, std::mt19937 &rng) {
  return kiln::rt::test::randomValues(count, rng);
}

/// Row-major act(op(lhs) op(rhs) + bias + residual) in float64.
std::vector<float> reference(const std::vector<float> &lhs,
                             const std::vector<float> &rhs, const float *bias,
                             const float *residual, int64_t m, int64_t n,
                             int64_t k, bool tl, bool tr, bool relu) {
  std::vector<float> out(m * n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t l = 0; l < k; ++l)
        sum += double(tl ? lhs[l * m + i] : lhs[i * k + l]) *
               (tr ? rhs[j * k + l] : rhs[l * n + j]);
      if (bias)
        sum += bias[j];
      if (residual)
        sum += residual[i * n + j];
      out[i * n + j] = static_cast<float>(relu && sum < 0 ? 0 : sum);
    }
  return out;
}

class CudaMatmul : public ::testing::Test {
protected:
  void SetUp() override {
    setenv("KILN_CUDA_DRIVER", KILN_FAKE_CUDA_DRIVER, 1);
    char error[512] = "";
    ASSERT_EQ(api.initialize(error, sizeof(error)), 0) << error;
  }
  void TearDown() override { unsetenv("KILN_CUBLASLT"); }

  const KilnCudaApi &api = *kiln_cuda_api();
};

TEST_F(CudaMatmul, MissingLibraryIsOneError) {
  setenv("KILN_CUBLASLT", "/nonexistent/libcublasLt.so", 1);
  std::vector<float> values(4, 1.0f);
  float *a = onDevice(api, values), *b = onDevice(api, values),
        *c = onDevice(api, values);
  api.beginEntry("forward");
  kiln_cuda_matmul_f32(a, b, nullptr, nullptr, c, 2, 2, 2, 0, 0, 0,
                       KILN_GPU_MATH_FLOAT32, 0.0);
  std::string failure = finish(api);
  EXPECT_EQ(failure.rfind("matmul [2 x 2] x [2 x 2] on cuBLASLt: cannot load "
                          "cuBLASLt (/nonexistent/libcublasLt.so: ",
                          0),
            0u)
      << failure;
  EXPECT_NE(failure.find("set KILN_CUBLASLT to libcublasLt.so's path, or "
                         "compile with --library-calls=false"),
            std::string::npos)
      << failure;
  EXPECT_NE(failure.find("(entry point 'forward')"), std::string::npos)
      << failure;
  for (float *buffer : {a, b, c})
    api.release(buffer);
  EXPECT_EQ(finish(api), "");
}

TEST_F(CudaMatmul, EveryEpilogueMatchesTheRowMajorProduct) {
  setenv("KILN_CUBLASLT", KILN_FAKE_CUBLASLT, 1);
  auto liveAllocations = symbol<size_t (*)()>(
      KILN_FAKE_CUDA_DRIVER, "kiln_fake_cuda_live_allocations");
  ASSERT_NE(liveAllocations, nullptr);
  size_t liveBefore = liveAllocations();
  std::mt19937 rng(7);
  const int64_t m = 5, n = 7, k = 3;
  int calls = 0;
  for (int tl = 0; tl < 2; ++tl)
    for (int tr = 0; tr < 2; ++tr)
      for (int withBias = 0; withBias < 2; ++withBias)
        for (int withResidual = 0; withResidual < 3; ++withResidual)
          for (int relu = 0; relu < 2; ++relu) {
            SCOPED_TRACE("transposeLhs=" + std::to_string(tl) +
                         " transposeRhs=" + std::to_string(tr) +
                         " bias=" + std::to_string(withBias) +
                         " residual=" + std::to_string(withResidual) +
                         " relu=" + std::to_string(relu));
            std::vector<float> lhs = random(m * k, rng),
                               rhs = random(k * n, rng), bias = random(n, rng),
                               residual = random(m * n, rng);
            const float *hostBias = withBias ? bias.data() : nullptr;
            const float *hostResidual =
                withResidual ? residual.data() : nullptr;
            std::vector<float> expected = reference(
                lhs, rhs, hostBias, hostResidual, m, n, k, tl, tr, relu);
            float *dl = onDevice(api, lhs), *dr = onDevice(api, rhs),
                  *db = onDevice(api, bias), *ds = onDevice(api, residual);
            // withResidual 2: the result written over the residual.
            float *result = withResidual == 2
                                ? ds
                                : static_cast<float *>(api.allocate(m * n * 4));
            kiln_cuda_matmul_f32(
                dl, dr, withBias ? db : nullptr, withResidual ? ds : nullptr,
                result, m, n, k, tl, tr,
                relu ? KILN_ACTIVATION_RELU : KILN_ACTIVATION_NONE,
                KILN_GPU_MATH_FLOAT32, 0.0);
            ++calls;
            std::vector<float> got(m * n);
            api.copyToHost(got.data(), result, m * n * 4);
            ASSERT_EQ(finish(api), "");
            for (int64_t i = 0; i < m * n; ++i)
              EXPECT_NEAR(got[i], expected[i], 1e-5) << "element " << i;
            for (float *buffer : {dl, dr, db, ds})
              api.release(buffer);
            if (result != ds)
              api.release(result);
          }
  ASSERT_EQ(finish(api), "");
  auto matmuls =
      symbol<int (*)()>(KILN_FAKE_CUBLASLT, "kiln_fake_cublaslt_matmuls");
  ASSERT_NE(matmuls, nullptr);
  EXPECT_EQ(matmuls(), calls);
  // Each call's workspace is freed after it.
  EXPECT_EQ(liveAllocations(), liveBefore);
}

// A batch of products ([batch, M, K] x [batch, K, N], attention's scores
// and their gradients) is one strided-batch call: each matrix is its own
// product.
TEST_F(CudaMatmul, BatchesOfProducts) {
  setenv("KILN_CUBLASLT", KILN_FAKE_CUBLASLT, 1);
  std::mt19937 rng(5);
  const int64_t batch = 3, m = 4, n = 2, k = 5;
  for (int tl = 0; tl < 2; ++tl)
    for (int tr = 0; tr < 2; ++tr) {
      SCOPED_TRACE("transposeLhs=" + std::to_string(tl) +
                   " transposeRhs=" + std::to_string(tr));
      std::vector<float> lhs = random(batch * m * k, rng),
                         rhs = random(batch * k * n, rng);
      float *dl = onDevice(api, lhs), *dr = onDevice(api, rhs);
      auto *result = static_cast<float *>(api.allocate(batch * m * n * 4));
      kiln_cuda_batch_matmul_f32(dl, dr, result, batch, m, n, k, tl, tr,
                                 KILN_GPU_MATH_FLOAT32);
      std::vector<float> got(batch * m * n);
      api.copyToHost(got.data(), result, got.size() * 4);
      ASSERT_EQ(finish(api), "");
      for (int64_t i = 0; i < batch; ++i) {
        std::vector<float> expected =
            reference(std::vector<float>(lhs.begin() + i * m * k,
                                         lhs.begin() + (i + 1) * m * k),
                      std::vector<float>(rhs.begin() + i * k * n,
                                         rhs.begin() + (i + 1) * k * n),
                      nullptr, nullptr, m, n, k, tl, tr, false);
        for (int64_t j = 0; j < m * n; ++j)
          EXPECT_NEAR(got[i * m * n + j], expected[j], 1e-5)
              << "product " << i << ", element " << j;
      }
      for (float *buffer : {dl, dr, result})
        api.release(buffer);
    }
  EXPECT_EQ(finish(api), "");
}

// Views into buffers (a parameter inside the training state, a slice of an
// arena) are as aligned as their offset: the algorithm chosen must not
// rely on more (the fake rejects a call whose operands are less aligned
// than the preference stated).
TEST_F(CudaMatmul, OperandsAlignedOnlyToTheirElements) {
  setenv("KILN_CUBLASLT", KILN_FAKE_CUBLASLT, 1);
  std::mt19937 rng(11);
  const int64_t m = 3, n = 4, k = 5;
  std::vector<float> lhs = random(m * k + 1, rng), rhs = random(k * n + 3, rng);
  float *dl = onDevice(api, lhs), *dr = onDevice(api, rhs);
  auto *result = static_cast<float *>(api.allocate((m * n + 2) * 4));
  // lhs at 4 bytes, rhs at 12, the result at 8.
  kiln_cuda_matmul_f32(dl + 1, dr + 3, nullptr, nullptr, result + 2, m, n, k, 0,
                       0, KILN_ACTIVATION_NONE, KILN_GPU_MATH_FLOAT32, 0.0);
  std::vector<float> got(m * n);
  api.copyToHost(got.data(), result + 2, m * n * 4);
  ASSERT_EQ(finish(api), "");
  std::vector<float> expected =
      reference(std::vector<float>(lhs.begin() + 1, lhs.end()),
                std::vector<float>(rhs.begin() + 3, rhs.end()), nullptr,
                nullptr, m, n, k, false, false, false);
  for (int64_t i = 0; i < m * n; ++i)
    EXPECT_NEAR(got[i], expected[i], 1e-5) << "element " << i;
  for (float *buffer : {dl, dr, result})
    api.release(buffer);
  EXPECT_EQ(finish(api), "");
}

// --gpu-math=tf32 and bf16: cuBLASLt's fast compute types, whose tensor
// cores read operands rounded to 10 and 7 mantissa bits (the fake rounds
// them so): the product is the float32 product of the rounded operands, and
// not the float32 one.
TEST_F(CudaMatmul, FastMathRoundsTheOperands) {
  setenv("KILN_CUBLASLT", KILN_FAKE_CUBLASLT, 1);
  std::mt19937 rng(13);
  const int64_t m = 6, n = 5, k = 9;
  std::vector<float> lhs = random(m * k, rng), rhs = random(k * n, rng);
  float *dl = onDevice(api, lhs), *dr = onDevice(api, rhs);
  auto *result = static_cast<float *>(api.allocate(m * n * 4));
  std::vector<float> exact =
      reference(lhs, rhs, nullptr, nullptr, m, n, k, false, false, false);
  for (auto [math, bits] : {std::pair<int64_t, int>{KILN_GPU_MATH_TF32, 10},
                            std::pair<int64_t, int>{KILN_GPU_MATH_BF16, 7}}) {
    SCOPED_TRACE("math=" + std::to_string(math));
    kiln_cuda_matmul_f32(dl, dr, nullptr, nullptr, result, m, n, k, 0, 0,
                         KILN_ACTIVATION_NONE, math, 0.0);
    std::vector<float> got(m * n);
    api.copyToHost(got.data(), result, m * n * 4);
    ASSERT_EQ(finish(api), "");
    std::vector<float> roundedLhs = lhs, roundedRhs = rhs;
    for (float &v : roundedLhs)
      v = kiln::fake::roundMantissa(v, bits);
    for (float &v : roundedRhs)
      v = kiln::fake::roundMantissa(v, bits);
    std::vector<float> expected = reference(
        roundedLhs, roundedRhs, nullptr, nullptr, m, n, k, false, false, false);
    double apart = 0;
    for (int64_t i = 0; i < m * n; ++i) {
      EXPECT_NEAR(got[i], expected[i], 1e-6) << "element " << i;
      apart = std::max(apart, double(std::fabs(got[i] - exact[i])));
    }
    EXPECT_GT(apart, 1e-5) << "the operands were not rounded";
  }
  for (float *buffer : {dl, dr, result})
    api.release(buffer);
  EXPECT_EQ(finish(api), "");
}

} // namespace
