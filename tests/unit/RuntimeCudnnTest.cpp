//===- RuntimeCudnnTest.cpp - GPU convolutions without a GPU --------------===//
//
// kiln_cuda_conv2d_f32, kiln_cuda_conv_transpose2d_f32 and
// kiln_cuda_conv2d_weight_grad_f32 on the fake driver and the fake cuDNN
// (FakeCudnn.cpp), which computes cuDNN's convolutions on the host: each
// must give what the CPU's oneDNN convolutions give for the same operands
// (strides, padding, dilation, groups, a transposed convolution's output
// padding), each call's workspace must be freed, and a missing cuDNN or an
// operand out of its buffer must be one clear error.
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
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace {

using kiln::rt::test::finish;
template <typename F> F symbol(const char *library, const char *name) {
  return kiln::rt::test::loadedSymbol<F>(library, name);
}
std::vector<float> random(size_t count, std::mt19937 &rng) {
  return kiln::rt::test::randomValues(count, rng);
}

/// A convolution of x [n, c, h, w] by the filter [k, c / groups, kh, kw]
/// to y [n, k, oh, ow].
struct Geometry {
  int64_t n, c, h, w, k, kh, kw, strideH, strideW, padH, padW, dilationH,
      dilationW, groups;

  int64_t oh() const {
    return (h + 2 * padH - dilationH * (kh - 1) - 1) / strideH + 1;
  }
  int64_t ow() const {
    return (w + 2 * padW - dilationW * (kw - 1) - 1) / strideW + 1;
  }
  size_t xSize() const { return n * c * h * w; }
  size_t ySize() const { return n * k * oh() * ow(); }
  size_t filterSize() const { return k * (c / groups) * kh * kw; }
  /// The output padding of the transposed convolution from y back to x.
  int64_t outputPadH() const {
    return h - ((oh() - 1) * strideH - 2 * padH + dilationH * (kh - 1) + 1);
  }
  int64_t outputPadW() const {
    return w - ((ow() - 1) * strideW - 2 * padW + dilationW * (kw - 1) + 1);
  }
  std::string name() const {
    return "x " + std::to_string(n) + "x" + std::to_string(c) + "x" +
           std::to_string(h) + "x" + std::to_string(w) + ", filter " +
           std::to_string(k) + "x" + std::to_string(c / groups) + "x" +
           std::to_string(kh) + "x" + std::to_string(kw) + ", stride " +
           std::to_string(strideH) + "x" + std::to_string(strideW) +
           ", groups " + std::to_string(groups);
  }
};

class CudaConvolution : public ::testing::Test {
public:
  void SetUp() override {
    setenv("KILN_CUDA_DRIVER", KILN_FAKE_CUDA_DRIVER, 1);
    char error[512] = "";
    ASSERT_EQ(api.initialize(error, sizeof(error)), 0) << error;
  }
  void TearDown() override { unsetenv("KILN_CUDNN"); }

  /// `values` on the device.
  float *onDevice(const std::vector<float> &values) {
    return kiln::rt::test::onDevice(api, values);
  }
  std::vector<float> toHost(const float *device, size_t count) {
    std::vector<float> values(count);
    api.copyToHost(values.data(), device, count * 4);
    return values;
  }

  const KilnCudaApi &api = *kiln_cuda_api();
};

TEST_F(CudaConvolution, MissingLibraryIsOneError) {
  setenv("KILN_CUDNN", "/nonexistent/libcudnn.so", 1);
  std::vector<float> values(16, 1.0f);
  float *x = onDevice(values), *w = onDevice(values), *y = onDevice(values);
  api.beginEntry("forward");
  kiln_cuda_conv2d_f32(x, w, y, 1, 1, 4, 4, 1, 1, 1, 4, 4, 1, 1, 0, 0, 1, 1, 1,
                       KILN_GPU_MATH_FLOAT32);
  std::string failure = finish(api);
  EXPECT_EQ(failure.rfind("conv2d of [1 x 1 x 4 x 4] by [1 x 1 x 1 x 1] "
                          "(stride 1x1, padding 0x0, dilation 1x1, groups 1) "
                          "on cuDNN: cannot load cuDNN "
                          "(/nonexistent/libcudnn.so: ",
                          0),
            0u)
      << failure;
  EXPECT_NE(failure.find("set KILN_CUDNN to libcudnn.so's path, or compile "
                         "with --library-calls=false"),
            std::string::npos)
      << failure;
  EXPECT_NE(failure.find("(entry point 'forward')"), std::string::npos)
      << failure;
  for (float *buffer : {x, w, y})
    api.release(buffer);
  EXPECT_EQ(finish(api), "");
}

/// The geometries the passes are checked on: strides, padding, dilation,
/// groups and a transposed convolution's output padding.
const Geometry kGeometries[] = {
    {2, 3, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {1, 4, 7, 5, 6, 3, 2, 2, 1, 1, 0, 2, 1, 2},
    {2, 3, 6, 6, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1}, // output padding 1
};

/// `values` with `bits` mantissa bits (23: as they are).
std::vector<float> rounded(std::vector<float> values, int bits) {
  if (bits < 23)
    for (float &v : values)
      v = kiln::fake::roundMantissa(v, bits);
  return values;
}

/// Runs the three passes of `g` on the GPU computing as `math` says, and on
/// oneDNN from the operands rounded to `bits` mantissa bits: each GPU
/// result must be within 1e-4 of oneDNN's. Returns the largest difference
/// between the GPU's results and oneDNN's from the unrounded operands.
double checkPasses(CudaConvolution &t, const Geometry &g, int64_t math,
                   int bits, std::mt19937 &rng) {
  const KilnCudaApi &api = t.api;
  std::vector<float> x = random(g.xSize(), rng),
                     filter = random(g.filterSize(), rng),
                     dy = random(g.ySize(), rng);
  float *dx = t.onDevice(x), *dFilter = t.onDevice(filter),
        *dDy = t.onDevice(dy);
  auto *out = static_cast<float *>(
      api.allocate(std::max({g.xSize(), g.ySize(), g.filterSize()}) * 4));
  double apart = 0;
  // Compares the GPU's `count` results with oneDNN's `pass` (run on the
  // operands rounded, and as they are).
  auto compare = [&](const char *name, size_t count, auto pass) {
    std::vector<float> got = t.toHost(out, count);
    ASSERT_EQ(finish(api), "");
    std::vector<float> expected(count), exact(count);
    pass(rounded(x, bits), rounded(filter, bits), rounded(dy, bits),
         expected.data());
    pass(x, filter, dy, exact.data());
    for (size_t i = 0; i < count; ++i) {
      ASSERT_NEAR(got[i], expected[i], 1e-4) << name << ", element " << i;
      apart = std::max(apart, double(std::fabs(got[i] - exact[i])));
    }
  };
  using Values = const std::vector<float> &;
  kiln_cuda_conv2d_f32(dx, dFilter, out, g.n, g.c, g.h, g.w, g.k, g.kh, g.kw,
                       g.oh(), g.ow(), g.strideH, g.strideW, g.padH, g.padW,
                       g.dilationH, g.dilationW, g.groups, math);
  compare("conv2d", g.ySize(), [&](Values x, Values w, Values, float *out) {
    kiln_conv2d_f32(x.data(), w.data(), nullptr, nullptr, out, g.n, g.c, g.h,
                    g.w, g.k, g.kh, g.kw, g.oh(), g.ow(), g.strideH, g.strideW,
                    g.padH, g.padW, g.dilationH, g.dilationW, g.groups,
                    KILN_ACTIVATION_NONE, 0.0);
  });
  // The transposed convolution takes y's shape back to x's.
  kiln_cuda_conv_transpose2d_f32(dDy, dFilter, out, g.n, g.k, g.oh(), g.ow(),
                                 g.c, g.kh, g.kw, g.h, g.w, g.strideH,
                                 g.strideW, g.padH, g.padW, g.dilationH,
                                 g.dilationW, g.groups, math);
  compare("conv_transpose2d", g.xSize(),
          [&](Values, Values w, Values dy, float *out) {
            kiln_conv_transpose2d_f32(
                dy.data(), w.data(), nullptr, nullptr, out, g.n, g.k, g.oh(),
                g.ow(), g.c, g.kh, g.kw, g.h, g.w, g.strideH, g.strideW, g.padH,
                g.padW, g.outputPadH(), g.outputPadW(), g.dilationH,
                g.dilationW, g.groups, KILN_ACTIVATION_NONE, 0.0);
          });
  kiln_cuda_conv2d_weight_grad_f32(dx, dDy, out, g.n, g.c, g.h, g.w, g.k, g.kh,
                                   g.kw, g.oh(), g.ow(), g.strideH, g.strideW,
                                   g.padH, g.padW, g.dilationH, g.dilationW,
                                   g.groups, math);
  compare("conv2d_weight_grad", g.filterSize(),
          [&](Values x, Values, Values dy, float *out) {
            kiln_conv2d_weight_grad_f32(x.data(), dy.data(), out, g.n, g.c, g.h,
                                        g.w, g.k, g.kh, g.kw, g.oh(), g.ow(),
                                        g.strideH, g.strideW, g.padH, g.padW,
                                        g.dilationH, g.dilationW, g.groups);
          });
  for (float *buffer : {dx, dFilter, dDy, out})
    api.release(buffer);
  return apart;
}

// The three passes in float32 against oneDNN's. The fake's heuristic ranks
// a TF32 algorithm and an unsupported one first: a pass that took either
// fails, or computes on rounded operands.
TEST_F(CudaConvolution, EveryPassMatchesOneDnn) {
  setenv("KILN_CUDNN", KILN_FAKE_CUDNN, 1);
  auto liveAllocations = symbol<size_t (*)()>(
      KILN_FAKE_CUDA_DRIVER, "kiln_fake_cuda_live_allocations");
  ASSERT_NE(liveAllocations, nullptr);
  size_t liveBefore = liveAllocations();
  // The fake's count so far (none before the runtime first loads it).
  auto count = [] {
    auto convolutions =
        symbol<int (*)()>(KILN_FAKE_CUDNN, "kiln_fake_cudnn_convolutions");
    return convolutions ? convolutions() : 0;
  };
  int before = count();
  std::mt19937 rng(3);
  for (const Geometry &g : kGeometries) {
    SCOPED_TRACE(g.name());
    checkPasses(*this, g, KILN_GPU_MATH_FLOAT32, 23, rng);
  }
  ASSERT_EQ(finish(api), "");
  EXPECT_EQ(count() - before, 3 * int(std::size(kGeometries)));
  // Each call's workspace is freed after it.
  EXPECT_EQ(liveAllocations(), liveBefore);
}

// --gpu-math=tf32 (and bf16, whose convolutions are TF32's): cuDNN's
// default math, whose tensor-op algorithm (the one the fake's heuristic
// ranks first, with a larger workspace) computes on TF32 operands.
TEST_F(CudaConvolution, Tf32MathRoundsTheOperands) {
  setenv("KILN_CUDNN", KILN_FAKE_CUDNN, 1);
  std::mt19937 rng(17);
  for (int64_t math : {KILN_GPU_MATH_TF32, KILN_GPU_MATH_BF16}) {
    SCOPED_TRACE("math=" + std::to_string(math));
    double apart = checkPasses(*this, kGeometries[0], math, 10, rng);
    EXPECT_GT(apart, 1e-5) << "the operands were not rounded";
  }
  EXPECT_EQ(finish(api), "");
}

// A result buffer too small for the convolution: cuDNN's kernel would
// write past it, which the fake reports as a failed execution, named with
// the convolution and entry point.
TEST_F(CudaConvolution, OperandOutsideItsBufferIsNamed) {
  setenv("KILN_CUDNN", KILN_FAKE_CUDNN, 1);
  std::vector<float> values(2 * 3 * 5 * 5, 0.5f);
  float *x = onDevice(values), *w = onDevice(values);
  auto *y = static_cast<float *>(api.allocate(4));
  api.beginEntry("train_step");
  kiln_cuda_conv2d_f32(x, w, y, 2, 3, 5, 5, 2, 3, 3, 3, 3, 1, 1, 0, 0, 1, 1, 1,
                       KILN_GPU_MATH_FLOAT32);
  std::string failure = finish(api);
  EXPECT_NE(failure.find("conv2d of [2 x 3 x 5 x 5] by [2 x 3 x 3 x 3] "
                         "(stride 1x1, padding 0x0, dilation 1x1, groups 1) "
                         "on cuDNN: cudnnConvolutionForward: "
                         "CUDNN_STATUS_EXECUTION_FAILED"),
            std::string::npos)
      << failure;
  EXPECT_NE(failure.find("(entry point 'train_step')"), std::string::npos)
      << failure;
  for (float *buffer : {x, w, y})
    api.release(buffer);
  EXPECT_EQ(finish(api), "");
}

} // namespace
