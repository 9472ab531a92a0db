//===- Cudnn.cpp - GPU artefacts' convolutions on cuDNN -------------------===//
//
// kiln_cuda_conv2d_f32, kiln_cuda_conv_transpose2d_f32 and
// kiln_cuda_conv2d_weight_grad_f32 are the three passes of one 2-D
// convolution on device buffers, channels-first: cuDNN's forward, backward
// data and backward filter convolutions, each queued on the artefact's
// stream in order with its kernels. A transposed convolution is the
// backward-data pass of the convolution it transposes (PyTorch's weight
// layout, [in, out / groups, kh, kw], is that convolution's filter). The
// bias, residual and activation of a fused convolution are the generated
// epilogue kernel's, one pass over the result.
//
// Convolutions compute in float32: the descriptor asks for CUDNN_FMA_MATH,
// which rules out TF32 tensor cores, as on the CPU. Artefacts compiled with
// --gpu-math=tf32 or bf16 ask for CUDNN_DEFAULT_MATH instead, which allows
// TF32 tensor cores (cuDNN's legacy API has no bfloat16 compute for float32
// tensors).
//
// The library is loaded with dlopen on first use ($KILN_CUDNN, else
// libcudnn.so.9 or .8), so Kiln builds and runs on the CPU without it.
// Descriptors and the algorithm cuDNN's heuristic ranks first among those
// it supports are made once per geometry and kept; each call allocates the
// algorithm's workspace and frees it after the call, in stream order.
//
//===----------------------------------------------------------------------===//

#include "core/DynamicLibrary.h"
#include "cuda/CudnnApi.h"

#include "kiln/runtime/Cuda.h"

#include <dlfcn.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace {

namespace dnn = kiln::cudnn;

/// Workspaces beyond this are not asked for: an algorithm that needs more
/// is passed over for the next one cuDNN ranks.
constexpr size_t kMaxWorkspaceBytes = size_t(1) << 30;

/// The three passes of a convolution.
enum class Pass { Forward, BackwardData, BackwardFilter };

const char *nameOf(Pass pass) {
  switch (pass) {
  case Pass::Forward:
    return "conv2d";
  case Pass::BackwardData:
    return "conv_transpose2d";
  case Pass::BackwardFilter:
    return "conv2d_weight_grad";
  }
  return "convolution";
}

/// A forward convolution: x [n, c, h, w] with the filter [k, c / groups,
/// kh, kw] gives y [n, k, oh, ow], computing as `math` (KILN_GPU_MATH_*)
/// says. Each pass is stated in its terms.
struct Geometry {
  int64_t n, c, h, w, k, kh, kw, oh, ow;
  int64_t strideH, strideW, padH, padW, dilationH, dilationW, groups;
  int64_t math;

  auto key() const {
    return std::make_tuple(n, c, h, w, k, kh, kw, oh, ow, strideH, strideW,
                           padH, padW, dilationH, dilationW, groups, math);
  }

  /// A forward output size: -1 where the padded input is shorter than
  /// the dilated kernel.
  static int64_t outputSize(int64_t in, int64_t kernel, int64_t stride,
                            int64_t pad, int64_t dilation) {
    int64_t span = dilation * (kernel - 1) + 1;
    return in + 2 * pad < span ? -1 : (in + 2 * pad - span) / stride + 1;
  }

  /// Whether cuDNN's 4-D descriptors, whose sizes are int, describe it and
  /// the sizes agree.
  bool valid() const {
    for (int64_t v : {n, c, h, w, k, kh, kw, oh, ow, strideH, strideW,
                      dilationH, dilationW, groups})
      if (v <= 0 || v > INT_MAX)
        return false;
    if (padH < 0 || padW < 0 || padH > INT_MAX / 4 || padW > INT_MAX / 4)
      return false;
    // cuDNN's tensors hold fewer than 2^31 elements.
    auto fits = [](std::initializer_list<int64_t> sizes) {
      int64_t elements = 1;
      for (int64_t size : sizes)
        if (__builtin_mul_overflow(elements, size, &elements))
          return false;
      return elements <= INT_MAX;
    };
    if (!fits({n, c, h, w}) || !fits({n, k, oh, ow}) || !fits({k, c, kh, kw}))
      return false;
    if (math != KILN_GPU_MATH_FLOAT32 && math != KILN_GPU_MATH_TF32 &&
        math != KILN_GPU_MATH_BF16)
      return false;
    return c % groups == 0 && k % groups == 0 &&
           outputSize(h, kh, strideH, padH, dilationH) == oh &&
           outputSize(w, kw, strideW, padW, dilationW) == ow;
  }
};

/// What one pass of one geometry needs: its descriptors and algorithm.
struct Plan {
  dnn::TensorDesc x = nullptr, y = nullptr;
  dnn::FilterDesc filter = nullptr;
  dnn::ConvolutionDesc conv = nullptr;
  int algo = 0;
  size_t workspace = 0;
};

void destroy(const dnn::Functions &fn, const Plan &plan) {
  if (plan.x)
    fn.destroyTensor(plan.x);
  if (plan.y)
    fn.destroyTensor(plan.y);
  if (plan.filter)
    fn.destroyFilter(plan.filter);
  if (plan.conv)
    fn.destroyConvolution(plan.conv);
}

struct Library {
  std::mutex mutex;
  void *library = nullptr;
  dnn::Functions fn{};
  dnn::Handle handle = nullptr;
  std::map<std::pair<Pass, decltype(Geometry{}.key())>, Plan> plans;

  /// At exit, the descriptors (host memory) go; the handle, which may
  /// touch a driver already shut down, is left to the process's end.
  ~Library() {
    for (auto &[key, plan] : plans)
      destroy(fn, plan);
  }
};

Library &library() {
  static Library instance;
  return instance;
}

/// Loads cuDNN; "" or why not.
std::string load(Library &lib) {
  if (lib.library)
    return "";
  std::string tried;
  lib.library = kiln::rt::openFirst("KILN_CUDNN",
                                    {"libcudnn.so.9", "libcudnn.so.8"}, tried);
  if (!lib.library)
    return "cannot load cuDNN (" + tried +
           "): set KILN_CUDNN to libcudnn.so's path, or compile with "
           "--library-calls=false";
    // A library that lacks one is let go, not called through a null pointer.
#define KILN_RESOLVE(field, symbol)                                            \
  if (!kiln::rt::resolve(lib.library, symbol, lib.fn.field)) {                 \
    dlclose(lib.library);                                                      \
    lib.library = nullptr;                                                     \
    return std::string("cuDNN has no ") + symbol;                              \
  }
  KILN_CUDNN_SYMBOLS(KILN_RESOLVE)
#undef KILN_RESOLVE
  return "";
}

std::string statusText(const Library &lib, dnn::Status status) {
  const char *text = lib.fn.errorString ? lib.fn.errorString(status) : nullptr;
  return text && *text ? text : "cuDNN status " + std::to_string(status);
}

/// Ranked algorithms of `pass`, at most this many (each pass has fewer).
constexpr int kMaxAlgorithms = 16;

/// The plan of `pass` on `g`, made the first time: "" or why not.
std::string planFor(Library &lib, Pass pass, const Geometry &g, Plan *&plan) {
  auto key = std::make_pair(pass, g.key());
  if (auto found = lib.plans.find(key); found != lib.plans.end()) {
    plan = &found->second;
    return "";
  }
  const dnn::Functions &fn = lib.fn;
  Plan p;
  auto i = [](int64_t v) { return static_cast<int>(v); };
  // Float32 math rules out tensor cores; TF32 (and bfloat16, which cuDNN's
  // legacy API cannot state for float32 tensors) allows them, never a
  // conversion to half.
  bool float32 = g.math == KILN_GPU_MATH_FLOAT32;
  dnn::Status s = fn.createTensor(&p.x);
  if (s == dnn::kSuccess)
    s = fn.setTensor4d(p.x, dnn::kNchw, dnn::kFloat, i(g.n), i(g.c), i(g.h),
                       i(g.w));
  if (s == dnn::kSuccess)
    s = fn.createTensor(&p.y);
  if (s == dnn::kSuccess)
    s = fn.setTensor4d(p.y, dnn::kNchw, dnn::kFloat, i(g.n), i(g.k), i(g.oh),
                       i(g.ow));
  if (s == dnn::kSuccess)
    s = fn.createFilter(&p.filter);
  if (s == dnn::kSuccess)
    s = fn.setFilter4d(p.filter, dnn::kFloat, dnn::kNchw, i(g.k),
                       i(g.c / g.groups), i(g.kh), i(g.kw));
  if (s == dnn::kSuccess)
    s = fn.createConvolution(&p.conv);
  if (s == dnn::kSuccess)
    s = fn.setConvolution2d(p.conv, i(g.padH), i(g.padW), i(g.strideH),
                            i(g.strideW), i(g.dilationH), i(g.dilationW),
                            dnn::kCrossCorrelation, dnn::kFloat);
  if (s == dnn::kSuccess)
    s = fn.setGroupCount(p.conv, i(g.groups));
  if (s == dnn::kSuccess)
    s = fn.setMathType(p.conv, float32 ? dnn::kFmaMath : dnn::kDefaultMath);
  if (s != dnn::kSuccess) {
    destroy(fn, p);
    return "cuDNN descriptors: " + statusText(lib, s);
  }
  dnn::AlgoPerf ranked[kMaxAlgorithms] = {};
  int returned = 0;
  switch (pass) {
  case Pass::Forward:
    s = fn.forwardAlgorithms(lib.handle, p.x, p.filter, p.conv, p.y,
                             kMaxAlgorithms, &returned, ranked);
    break;
  case Pass::BackwardData:
    s = fn.backwardDataAlgorithms(lib.handle, p.filter, p.y, p.conv, p.x,
                                  kMaxAlgorithms, &returned, ranked);
    break;
  case Pass::BackwardFilter:
    s = fn.backwardFilterAlgorithms(lib.handle, p.x, p.y, p.conv, p.filter,
                                    kMaxAlgorithms, &returned, ranked);
    break;
  }
  if (s != dnn::kSuccess) {
    destroy(fn, p);
    return "cuDNN's algorithm heuristic: " + statusText(lib, s);
  }
  // The first that cuDNN supports for these descriptors, within the
  // workspace limit and of a math type the mode allows.
  auto allowed = [&](int mathType) {
    if (mathType == dnn::kTensorOpAllowConversion)
      return false;
    return !float32 || mathType != dnn::kTensorOpMath;
  };
  const dnn::AlgoPerf *chosen = nullptr;
  for (int r = 0; r < returned && r < kMaxAlgorithms && !chosen; ++r)
    if (ranked[r].status == dnn::kSuccess &&
        ranked[r].memory <= kMaxWorkspaceBytes && allowed(ranked[r].mathType))
      chosen = &ranked[r];
  if (!chosen) {
    destroy(fn, p);
    return float32 ? "cuDNN has no float32 algorithm for this convolution"
                   : "cuDNN has no algorithm for this convolution";
  }
  // A tensor-op algorithm runs under its own math type (as cuDNN's
  // heuristic reported it).
  if (!float32 && chosen->mathType == dnn::kTensorOpMath)
    if (s = fn.setMathType(p.conv, dnn::kTensorOpMath); s != dnn::kSuccess) {
      destroy(fn, p);
      return "cuDNN descriptors: " + statusText(lib, s);
    }
  p.algo = chosen->algo;
  p.workspace = chosen->memory;
  plan = &lib.plans.emplace(key, p).first->second;
  return "";
}

/// One pass: its operands as the pass names them (forward: x, filter -> y;
/// backward data: filter, dy -> dx; backward filter: x, dy -> dfilter).
struct Call {
  Pass pass;
  Geometry g;
  const float *a, *b;
  float *result;
};

/// "conv2d of [input] by [weight] (window)", with the op's own input: a
/// transposed convolution's is the forward convolution's result.
std::string describe(const Call &call) {
  const Geometry &g = call.g;
  bool transposed = call.pass == Pass::BackwardData;
  char text[256];
  std::snprintf(
      text, sizeof(text),
      "%s of [%lld x %lld x %lld x %lld] by [%lld x %lld x %lld x "
      "%lld] (stride %lldx%lld, padding %lldx%lld, dilation "
      "%lldx%lld, groups %lld)",
      nameOf(call.pass), static_cast<long long>(g.n),
      static_cast<long long>(transposed ? g.k : g.c),
      static_cast<long long>(transposed ? g.oh : g.h),
      static_cast<long long>(transposed ? g.ow : g.w),
      static_cast<long long>(g.k),
      static_cast<long long>(g.c / (g.groups ? g.groups : 1)),
      static_cast<long long>(g.kh), static_cast<long long>(g.kw),
      static_cast<long long>(g.strideH), static_cast<long long>(g.strideW),
      static_cast<long long>(g.padH), static_cast<long long>(g.padW),
      static_cast<long long>(g.dilationH), static_cast<long long>(g.dilationW),
      static_cast<long long>(g.groups));
  return text;
}

/// A call, its plan (once made) and its workspace (the plan's size).
struct Queued {
  const Call *call;
  const Plan *plan;
  void *workspace;
};

/// Queues a Queued's call on `stream` (the artefact's, its context
/// current).
int enqueue(void *stream, void *user, char *error, size_t capacity) {
  const Queued &queued = *static_cast<const Queued *>(user);
  const Call &call = *queued.call;
  const Plan &plan = *queued.plan;
  Library &lib = library();
  const dnn::Functions &fn = lib.fn;
  auto failed = [&](const std::string &why) {
    std::snprintf(error, capacity, "%s on cuDNN: %s", describe(call).c_str(),
                  why.c_str());
    return 1;
  };
  if (dnn::Status s = fn.setStream(lib.handle, stream); s != dnn::kSuccess)
    return failed("cudnnSetStream: " + statusText(lib, s));
  float one = 1.0f, zero = 0.0f;
  dnn::Status s = dnn::kSuccess;
  const char *function = "";
  switch (call.pass) {
  case Pass::Forward:
    function = "cudnnConvolutionForward";
    s = fn.forward(lib.handle, &one, plan.x, call.a, plan.filter, call.b,
                   plan.conv, plan.algo, queued.workspace, plan.workspace,
                   &zero, plan.y, call.result);
    break;
  case Pass::BackwardData:
    function = "cudnnConvolutionBackwardData";
    s = fn.backwardData(lib.handle, &one, plan.filter, call.a, plan.y, call.b,
                        plan.conv, plan.algo, queued.workspace, plan.workspace,
                        &zero, plan.x, call.result);
    break;
  case Pass::BackwardFilter:
    function = "cudnnConvolutionBackwardFilter";
    s = fn.backwardFilter(lib.handle, &one, plan.x, call.a, plan.y, call.b,
                          plan.conv, plan.algo, queued.workspace,
                          plan.workspace, &zero, plan.filter, call.result);
    break;
  }
  if (s != dnn::kSuccess)
    return failed(std::string(function) + ": " + statusText(lib, s));
  return 0;
}

/// Loads cuDNN, makes its handle (the first time) and `call`'s plan: "" or
/// why not.
std::string prepare(const Call &call, const Plan *&plan) {
  Library &lib = library();
  if (std::string why = load(lib); !why.empty())
    return why;
  if (!lib.handle)
    if (dnn::Status s = lib.fn.create(&lib.handle); s != dnn::kSuccess) {
      lib.handle = nullptr;
      return "cudnnCreate: " + statusText(lib, s);
    }
  Plan *made = nullptr;
  std::string why = planFor(lib, call.pass, call.g, made);
  plan = made;
  return why;
}

/// prepare, as work submitted to the runtime: with the GPU's context
/// current, which cuDNN's handle and heuristics use.
int prepareWork(void *, void *user, char *error, size_t capacity) {
  Queued &queued = *static_cast<Queued *>(user);
  std::string why = prepare(*queued.call, queued.plan);
  if (why.empty())
    return 0;
  std::snprintf(error, capacity, "%s on cuDNN: %s",
                describe(*queued.call).c_str(), why.c_str());
  return 1;
}

/// Queues `call` with a workspace of its own, freed after it in stream
/// order. Geometries are the compiler's to get right: one cuDNN's
/// descriptors cannot state is a programming error.
void run(const char *function, const Call &call) {
  if (!call.g.valid()) {
    std::fprintf(stderr, "%s: invalid call: %s\n", function,
                 describe(call).c_str());
    std::abort();
  }
  const KilnCudaApi *api = kiln_cuda_api();
  Queued queued{&call, nullptr, nullptr};
  {
    std::lock_guard<std::mutex> lock(library().mutex);
    api->submit(&prepareWork, &queued);
  }
  if (!queued.plan)
    return; // the runtime has recorded why; finish reports it
  if (queued.plan->workspace) {
    queued.workspace = api->allocate(queued.plan->workspace);
    if (!queued.workspace)
      return;
  }
  {
    std::lock_guard<std::mutex> lock(library().mutex);
    api->submit(&enqueue, &queued);
  }
  if (queued.workspace)
    api->release(queued.workspace);
}

} // namespace

void kiln_cuda_conv2d_f32(const float *input, const float *weight,
                          float *result, int64_t n, int64_t c, int64_t h,
                          int64_t w, int64_t outChannels, int64_t kh,
                          int64_t kw, int64_t oh, int64_t ow, int64_t strideH,
                          int64_t strideW, int64_t padH, int64_t padW,
                          int64_t dilationH, int64_t dilationW, int64_t groups,
                          int64_t math) {
  run("kiln_cuda_conv2d_f32",
      Call{Pass::Forward,
           Geometry{n, c, h, w, outChannels, kh, kw, oh, ow, strideH, strideW,
                    padH, padW, dilationH, dilationW, groups, math},
           input, weight, result});
}

void kiln_cuda_conv_transpose2d_f32(const float *input, const float *weight,
                                    float *result, int64_t n, int64_t c,
                                    int64_t h, int64_t w, int64_t outChannels,
                                    int64_t kh, int64_t kw, int64_t oh,
                                    int64_t ow, int64_t strideH,
                                    int64_t strideW, int64_t padH, int64_t padW,
                                    int64_t dilationH, int64_t dilationW,
                                    int64_t groups, int64_t math) {
  // The convolution it transposes takes the result [n, outChannels, oh,
  // ow] to the input [n, c, h, w], with the weight [c, outChannels /
  // groups, kh, kw] as its filter.
  run("kiln_cuda_conv_transpose2d_f32",
      Call{Pass::BackwardData,
           Geometry{n, outChannels, oh, ow, c, kh, kw, h, w, strideH, strideW,
                    padH, padW, dilationH, dilationW, groups, math},
           weight, input, result});
}

void kiln_cuda_conv2d_weight_grad_f32(
    const float *input, const float *grad, float *result, int64_t n, int64_t c,
    int64_t h, int64_t w, int64_t outChannels, int64_t kh, int64_t kw,
    int64_t oh, int64_t ow, int64_t strideH, int64_t strideW, int64_t padH,
    int64_t padW, int64_t dilationH, int64_t dilationW, int64_t groups,
    int64_t math) {
  run("kiln_cuda_conv2d_weight_grad_f32",
      Call{Pass::BackwardFilter,
           Geometry{n, c, h, w, outChannels, kh, kw, oh, ow, strideH, strideW,
                    padH, padW, dilationH, dilationW, groups, math},
           input, grad, result});
}
