//===- FakeCudnn.cpp - cuDNN's convolutions on the host, for tests --------===//
//
// The cuDNN functions Kiln's CUDA runtime loads, computing on host memory
// (the fake driver's device buffers are host buffers) as cuDNN documents
// its convolutions: cross-correlation of NCHW tensors with a [k, c / groups,
// kh, kw] filter, and its backward data and filter passes, each
// y = alpha * result + beta * y. Loaded with $KILN_CUDNN, it checks what the
// runtime asks for: float32 data and compute, NCHW, descriptors whose sizes
// agree (y is the forward convolution's output), a stream set, one of the
// algorithms its heuristic offered with at least the workspace that
// algorithm needs, and a math type that algorithm runs under. Invalid calls
// return CUDNN_STATUS_BAD_PARAM. Under CUDNN_FMA_MATH it computes in
// float32; under CUDNN_DEFAULT_MATH or CUDNN_TENSOR_OP_MATH, on operands
// rounded to TF32, as tensor cores read them. On the fake driver
// ($KILN_CUDA_DRIVER), an operand that starts in one of its allocations must
// end in it, else the call fails as a kernel reading out of bounds does
// (CUDNN_STATUS_EXECUTION_FAILED).
//
// Each heuristic ranks three algorithms: first one on TF32 tensor cores
// (CUDNN_TENSOR_OP_MATH, a 2 MiB workspace), then one cuDNN does not
// support for the descriptors, then one of the descriptor's math type (a
// 1 MiB workspace). In float32 the runtime must pass over the first two; a
// tensor-op algorithm run under CUDNN_FMA_MATH fails.
//
// While the fake driver's stream is captured, a convolution is recorded
// into the graph and computed at each launch of it.
//
//   KILN_FAKE_CUDNN_LOG=FILE   appends one line per convolution
//
//===----------------------------------------------------------------------===//

#include "FakeDriverSupport.h"
#include "cuda/CudnnApi.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

namespace {

namespace dnn = kiln::cudnn;

constexpr dnn::Status kBadParam = 2000;        // CUDNN_STATUS_BAD_PARAM
constexpr dnn::Status kNotSupported = 3000;    // CUDNN_STATUS_NOT_SUPPORTED
constexpr dnn::Status kExecutionFailed = 5000; // ..._EXECUTION_FAILED

/// The algorithms the fake computes with, and their workspaces.
constexpr int kTensorOpAlgorithm = 0;
constexpr int kAlgorithm = 1;
constexpr size_t kTensorOpWorkspaceBytes = size_t(2) << 20;
constexpr size_t kWorkspaceBytes = size_t(1) << 20;

struct Handle {
  void *stream = nullptr;
  bool streamSet = false;
};

struct Tensor {
  int format = -1, type = -1, n = 0, c = 0, h = 0, w = 0;
};

struct Filter {
  int type = -1, format = -1, k = 0, c = 0, h = 0, w = 0;
};

struct Convolution {
  int padH = -1, padW = -1, strideH = 0, strideW = 0, dilationH = 0,
      dilationW = 0, mode = -1, computeType = -1, groups = 1, mathType = 0;
};

int convolutions = 0;

/// A forward output size, or -1.
int outputSize(int in, int kernel, int stride, int pad, int dilation) {
  long span = long(dilation) * (kernel - 1) + 1;
  long padded = long(in) + 2L * pad;
  return padded < span ? -1 : static_cast<int>((padded - span) / stride + 1);
}

/// Whether x, the filter and y describe a convolution the fake computes.
bool valid(const Tensor &x, const Filter &f, const Convolution &conv,
           const Tensor &y) {
  for (const Tensor *t : {&x, &y})
    if (t->format != dnn::kNchw || t->type != dnn::kFloat || t->n <= 0 ||
        t->c <= 0 || t->h <= 0 || t->w <= 0)
      return false;
  if (f.type != dnn::kFloat || f.format != dnn::kNchw || f.k <= 0 || f.c <= 0 ||
      f.h <= 0 || f.w <= 0)
    return false;
  if (conv.mode != dnn::kCrossCorrelation || conv.computeType != dnn::kFloat ||
      (conv.mathType != dnn::kFmaMath && conv.mathType != dnn::kDefaultMath &&
       conv.mathType != dnn::kTensorOpMath) ||
      conv.groups <= 0 || conv.strideH <= 0 || conv.strideW <= 0 ||
      conv.dilationH <= 0 || conv.dilationW <= 0 || conv.padH < 0 ||
      conv.padW < 0)
    return false;
  return x.n == y.n && x.c == f.c * conv.groups && y.c == f.k &&
         f.k % conv.groups == 0 &&
         y.h == outputSize(x.h, f.h, conv.strideH, conv.padH, conv.dilationH) &&
         y.w == outputSize(x.w, f.w, conv.strideW, conv.padW, conv.dilationW);
}

size_t elements(const Tensor &t) { return size_t(t.n) * t.c * t.h * t.w; }
size_t elements(const Filter &f) { return size_t(f.k) * f.c * f.h * f.w; }

/// The fake's three ranked algorithms (see the file's comment).
dnn::Status rank(const Tensor &x, const Filter &f, const Convolution &conv,
                 const Tensor &y, int requested, int *returned,
                 dnn::AlgoPerf *results) {
  *returned = 0;
  if (!valid(x, f, conv, y) || requested < 1)
    return kBadParam;
  dnn::AlgoPerf offered[3] = {};
  offered[0].algo = kTensorOpAlgorithm;
  offered[0].memory = kTensorOpWorkspaceBytes;
  offered[0].mathType = dnn::kTensorOpMath;
  offered[1].algo = 7;
  offered[1].status = kNotSupported;
  offered[1].mathType = conv.mathType;
  offered[2].algo = kAlgorithm;
  offered[2].memory = kWorkspaceBytes;
  offered[2].mathType = conv.mathType;
  for (int i = 0; i < 3 && i < requested; ++i)
    results[(*returned)++] = offered[i];
  return dnn::kSuccess;
}

enum class Pass { Forward, BackwardData, BackwardFilter };

/// One convolution pass as it was called.
struct Work {
  Pass pass;
  Tensor x, y;
  Filter f;
  Convolution conv;
  // Forward: x, w -> y. Backward data: w, dy -> dx. Backward filter:
  // x, dy -> dw.
  const float *a, *b;
  float *out;
  float alpha, beta;
};

/// Calls `visit(xIndex, wIndex, yIndex)` for each term of the convolution:
/// y[yIndex] += x[xIndex] * w[wIndex].
template <typename Visit>
void eachTerm(const Tensor &x, const Filter &f, const Convolution &conv,
              const Tensor &y, Visit visit) {
  int perGroup = y.c / conv.groups;
  for (int n = 0; n < y.n; ++n)
    for (int k = 0; k < y.c; ++k)
      for (int oy = 0; oy < y.h; ++oy)
        for (int ox = 0; ox < y.w; ++ox)
          for (int c = 0; c < f.c; ++c)
            for (int i = 0; i < f.h; ++i)
              for (int j = 0; j < f.w; ++j) {
                int iy = oy * conv.strideH - conv.padH + i * conv.dilationH;
                int ix = ox * conv.strideW - conv.padW + j * conv.dilationW;
                if (iy < 0 || iy >= x.h || ix < 0 || ix >= x.w)
                  continue;
                int channel = k / perGroup * f.c + c;
                size_t xIndex =
                    ((size_t(n) * x.c + channel) * x.h + iy) * x.w + ix;
                size_t wIndex = ((size_t(k) * f.c + c) * f.h + i) * f.w + j;
                size_t yIndex = ((size_t(n) * y.c + k) * y.h + oy) * y.w + ox;
                visit(xIndex, wIndex, yIndex);
              }
}

/// Computes a Work (void *: the fake driver's recorded operations call it),
/// counts and logs it.
void compute(void *data) {
  const Work &work = *static_cast<const Work *>(data);
  const Tensor &x = work.x, &y = work.y;
  const Filter &f = work.f;
  size_t outElements = work.pass == Pass::Forward        ? elements(y)
                       : work.pass == Pass::BackwardData ? elements(x)
                                                         : elements(f);
  std::vector<double> sum(outElements, 0.0);
  // Tensor cores read TF32 operands.
  bool tf32 = work.conv.mathType != dnn::kFmaMath;
  std::vector<float> aValues, bValues;
  const float *a = work.a, *b = work.b;
  if (tf32) {
    size_t aElements =
        work.pass == Pass::BackwardData ? elements(f) : elements(x);
    size_t bElements = work.pass == Pass::Forward ? elements(f) : elements(y);
    for (size_t i = 0; i < aElements; ++i)
      aValues.push_back(kiln::fake::roundMantissa(a[i], 10));
    for (size_t i = 0; i < bElements; ++i)
      bValues.push_back(kiln::fake::roundMantissa(b[i], 10));
    a = aValues.data();
    b = bValues.data();
  }
  switch (work.pass) {
  case Pass::Forward:
    eachTerm(x, f, work.conv, y, [&](size_t xi, size_t wi, size_t yi) {
      sum[yi] += double(a[xi]) * b[wi];
    });
    break;
  case Pass::BackwardData: // a: the filter, b: dy
    eachTerm(x, f, work.conv, y, [&](size_t xi, size_t wi, size_t yi) {
      sum[xi] += double(a[wi]) * b[yi];
    });
    break;
  case Pass::BackwardFilter: // a: x, b: dy
    eachTerm(x, f, work.conv, y, [&](size_t xi, size_t wi, size_t yi) {
      sum[wi] += double(a[xi]) * b[yi];
    });
    break;
  }
  for (size_t i = 0; i < outElements; ++i)
    work.out[i] = static_cast<float>(
        work.alpha * sum[i] + (work.beta != 0 ? work.beta * work.out[i] : 0));
  ++convolutions;
  if (const char *path = std::getenv("KILN_FAKE_CUDNN_LOG"); path && *path)
    if (FILE *file = std::fopen(path, "a")) {
      const char *names[] = {"forward", "backward-data", "backward-filter"};
      std::fprintf(file,
                   "conv %s x=%dx%dx%dx%d w=%dx%dx%dx%d y=%dx%dx%dx%d "
                   "stride=%dx%d pad=%dx%d dilation=%dx%d groups=%d%s\n",
                   names[static_cast<int>(work.pass)], x.n, x.c, x.h, x.w, f.k,
                   f.c, f.h, f.w, y.n, y.c, y.h, y.w, work.conv.strideH,
                   work.conv.strideW, work.conv.padH, work.conv.padW,
                   work.conv.dilationH, work.conv.dilationW, work.conv.groups,
                   tf32 ? " tf32" : "");
      std::fclose(file);
    }
}

/// Checks and runs (or records) one pass.
dnn::Status execute(void *handle, Pass pass, const void *alpha, const Tensor &x,
                    const Filter &f, const Convolution &conv, const Tensor &y,
                    int algo, void *workspace, size_t workspaceBytes,
                    const void *beta, const void *a, const void *b, void *out) {
  // The tensor-op algorithm runs under its own math type only.
  bool knownAlgorithm =
      algo == kAlgorithm ||
      (algo == kTensorOpAlgorithm && conv.mathType == dnn::kTensorOpMath);
  size_t needed =
      algo == kTensorOpAlgorithm ? kTensorOpWorkspaceBytes : kWorkspaceBytes;
  if (!handle || !static_cast<Handle *>(handle)->streamSet ||
      !valid(x, f, conv, y) || !knownAlgorithm || workspaceBytes < needed ||
      !workspace || !alpha || !beta || !a || !b || !out)
    return kBadParam;
  size_t xBytes = elements(x) * sizeof(float),
         yBytes = elements(y) * sizeof(float),
         fBytes = elements(f) * sizeof(float);
  size_t bytes[3] = {pass == Pass::BackwardData ? fBytes : xBytes,
                     pass == Pass::Forward ? fBytes : yBytes,
                     pass == Pass::Forward        ? yBytes
                     : pass == Pass::BackwardData ? xBytes
                                                  : fBytes};
  const void *operands[3] = {a, b, out};
  for (int i = 0; i < 3; ++i)
    if (!kiln::fake::allocated(operands[i], bytes[i]))
      return kExecutionFailed;
  if (!kiln::fake::allocated(workspace, workspaceBytes))
    return kExecutionFailed;
  auto work = std::make_shared<Work>(Work{
      pass, x, y, f, conv, static_cast<const float *>(a),
      static_cast<const float *>(b), static_cast<float *>(out),
      *static_cast<const float *>(alpha), *static_cast<const float *>(beta)});
  kiln::fake::runOrRecord(&compute, work);
  return dnn::kSuccess;
}

const Tensor &tensor(void *desc) { return *static_cast<Tensor *>(desc); }
const Filter &filter(void *desc) { return *static_cast<Filter *>(desc); }
const Convolution &convolution(void *desc) {
  return *static_cast<Convolution *>(desc);
}

} // namespace

extern "C" {

dnn::Status cudnnCreate(dnn::Handle *handle) {
  *handle = new Handle;
  return dnn::kSuccess;
}

dnn::Status cudnnSetStream(dnn::Handle handle, void *stream) {
  auto *h = static_cast<Handle *>(handle);
  h->stream = stream;
  h->streamSet = true;
  return dnn::kSuccess;
}

const char *cudnnGetErrorString(dnn::Status status) {
  switch (status) {
  case dnn::kSuccess:
    return "CUDNN_STATUS_SUCCESS";
  case kBadParam:
    return "CUDNN_STATUS_BAD_PARAM";
  case kNotSupported:
    return "CUDNN_STATUS_NOT_SUPPORTED";
  case kExecutionFailed:
    return "CUDNN_STATUS_EXECUTION_FAILED";
  default:
    return "CUDNN_UNKNOWN_STATUS";
  }
}

dnn::Status cudnnCreateTensorDescriptor(dnn::TensorDesc *desc) {
  *desc = new Tensor;
  return dnn::kSuccess;
}

dnn::Status cudnnSetTensor4dDescriptor(dnn::TensorDesc desc, int format,
                                       int type, int n, int c, int h, int w) {
  if (n <= 0 || c <= 0 || h <= 0 || w <= 0)
    return kBadParam;
  *static_cast<Tensor *>(desc) = Tensor{format, type, n, c, h, w};
  return dnn::kSuccess;
}

dnn::Status cudnnDestroyTensorDescriptor(dnn::TensorDesc desc) {
  delete static_cast<Tensor *>(desc);
  return dnn::kSuccess;
}

dnn::Status cudnnCreateFilterDescriptor(dnn::FilterDesc *desc) {
  *desc = new Filter;
  return dnn::kSuccess;
}

dnn::Status cudnnSetFilter4dDescriptor(dnn::FilterDesc desc, int type,
                                       int format, int k, int c, int h, int w) {
  if (k <= 0 || c <= 0 || h <= 0 || w <= 0)
    return kBadParam;
  *static_cast<Filter *>(desc) = Filter{type, format, k, c, h, w};
  return dnn::kSuccess;
}

dnn::Status cudnnDestroyFilterDescriptor(dnn::FilterDesc desc) {
  delete static_cast<Filter *>(desc);
  return dnn::kSuccess;
}

dnn::Status cudnnCreateConvolutionDescriptor(dnn::ConvolutionDesc *desc) {
  *desc = new Convolution;
  return dnn::kSuccess;
}

dnn::Status cudnnSetConvolution2dDescriptor(dnn::ConvolutionDesc desc, int padH,
                                            int padW, int strideH, int strideW,
                                            int dilationH, int dilationW,
                                            int mode, int computeType) {
  auto &conv = *static_cast<Convolution *>(desc);
  conv.padH = padH;
  conv.padW = padW;
  conv.strideH = strideH;
  conv.strideW = strideW;
  conv.dilationH = dilationH;
  conv.dilationW = dilationW;
  conv.mode = mode;
  conv.computeType = computeType;
  return dnn::kSuccess;
}

dnn::Status cudnnSetConvolutionGroupCount(dnn::ConvolutionDesc desc,
                                          int groups) {
  if (groups <= 0)
    return kBadParam;
  static_cast<Convolution *>(desc)->groups = groups;
  return dnn::kSuccess;
}

dnn::Status cudnnSetConvolutionMathType(dnn::ConvolutionDesc desc,
                                        int mathType) {
  static_cast<Convolution *>(desc)->mathType = mathType;
  return dnn::kSuccess;
}

dnn::Status cudnnDestroyConvolutionDescriptor(dnn::ConvolutionDesc desc) {
  delete static_cast<Convolution *>(desc);
  return dnn::kSuccess;
}

dnn::Status cudnnGetConvolutionForwardAlgorithm_v7(
    dnn::Handle, dnn::TensorDesc x, dnn::FilterDesc w,
    dnn::ConvolutionDesc conv, dnn::TensorDesc y, int requested, int *returned,
    dnn::AlgoPerf *results) {
  return rank(tensor(x), filter(w), convolution(conv), tensor(y), requested,
              returned, results);
}

dnn::Status cudnnGetConvolutionBackwardDataAlgorithm_v7(
    dnn::Handle, dnn::FilterDesc w, dnn::TensorDesc dy,
    dnn::ConvolutionDesc conv, dnn::TensorDesc dx, int requested, int *returned,
    dnn::AlgoPerf *results) {
  return rank(tensor(dx), filter(w), convolution(conv), tensor(dy), requested,
              returned, results);
}

dnn::Status cudnnGetConvolutionBackwardFilterAlgorithm_v7(
    dnn::Handle, dnn::TensorDesc x, dnn::TensorDesc dy,
    dnn::ConvolutionDesc conv, dnn::FilterDesc dw, int requested, int *returned,
    dnn::AlgoPerf *results) {
  return rank(tensor(x), filter(dw), convolution(conv), tensor(dy), requested,
              returned, results);
}

dnn::Status cudnnConvolutionForward(dnn::Handle handle, const void *alpha,
                                    dnn::TensorDesc xDesc, const void *x,
                                    dnn::FilterDesc wDesc, const void *w,
                                    dnn::ConvolutionDesc conv, int algo,
                                    void *workspace, size_t workspaceBytes,
                                    const void *beta, dnn::TensorDesc yDesc,
                                    void *y) {
  return execute(handle, Pass::Forward, alpha, tensor(xDesc), filter(wDesc),
                 convolution(conv), tensor(yDesc), algo, workspace,
                 workspaceBytes, beta, x, w, y);
}

dnn::Status cudnnConvolutionBackwardData(dnn::Handle handle, const void *alpha,
                                         dnn::FilterDesc wDesc, const void *w,
                                         dnn::TensorDesc dyDesc, const void *dy,
                                         dnn::ConvolutionDesc conv, int algo,
                                         void *workspace, size_t workspaceBytes,
                                         const void *beta,
                                         dnn::TensorDesc dxDesc, void *dx) {
  return execute(handle, Pass::BackwardData, alpha, tensor(dxDesc),
                 filter(wDesc), convolution(conv), tensor(dyDesc), algo,
                 workspace, workspaceBytes, beta, w, dy, dx);
}

dnn::Status cudnnConvolutionBackwardFilter(
    dnn::Handle handle, const void *alpha, dnn::TensorDesc xDesc, const void *x,
    dnn::TensorDesc dyDesc, const void *dy, dnn::ConvolutionDesc conv, int algo,
    void *workspace, size_t workspaceBytes, const void *beta,
    dnn::FilterDesc dwDesc, void *dw) {
  return execute(handle, Pass::BackwardFilter, alpha, tensor(xDesc),
                 filter(dwDesc), convolution(conv), tensor(dyDesc), algo,
                 workspace, workspaceBytes, beta, x, dy, dw);
}

int kiln_fake_cudnn_convolutions() { return convolutions; }

} // extern "C"
