//===- CublasLt.cpp - GPU artefacts' matrix products on cuBLASLt ----------===//
//
// kiln_cuda_matmul_f32 is kiln_matmul_f32 (Library.h) on device buffers:
// one cublasLtMatmul queued on the artefact's stream, in order with its
// kernels, with the bias and ReLU as cuBLASLt's epilogues and the residual
// as its C operand (beta = 1). kiln_cuda_batch_matmul_f32 is a batch of
// products, one strided-batch cublasLtMatmul. Products compute in float32
// (CUBLAS_COMPUTE_32F, no TF32), as on the CPU, unless the artefact was
// compiled with --gpu-math=tf32 or bf16 (CUBLAS_COMPUTE_32F_FAST_TF32,
// _FAST_16BF: operands rounded for the tensor cores, float32 sums).
//
// cuBLASLt is column-major and Kiln's buffers row-major: a row-major
// [M, N] result is a column-major N x M matrix, so the call computes
// result^T = op(rhs)^T op(lhs)^T with rhs as cuBLASLt's A and lhs as its B.
//
// The library is loaded with dlopen on first use ($KILN_CUBLASLT, else
// libcublasLt.so.13, .12 or .11), so Kiln builds and runs on the CPU
// without CUDA. Descriptors and the algorithm cuBLASLt's heuristic picks
// are made once per shape and kept. Each call has a 32 MiB workspace,
// allocated and freed around it in stream order (from the driver's pool).
//
//===----------------------------------------------------------------------===//

#include "core/DynamicLibrary.h"
#include "cuda/CublasLtApi.h"

#include "kiln/runtime/Cuda.h"
#include "kiln/runtime/Library.h"

#include <dlfcn.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>

namespace {

namespace lt = kiln::cublaslt;

constexpr size_t kWorkspaceBytes = size_t(32) << 20;

/// What one shape and configuration needs: its descriptors and algorithm.
struct Plan {
  lt::MatmulDesc desc = nullptr;
  lt::MatrixLayout a = nullptr, b = nullptr, d = nullptr;
  lt::Algo algo{};
};

/// What a plan is made for: the shape (batch, m, n, k, transposes), the
/// epilogue, the compute type and the alignments of cuBLASLt's A, B, C and
/// D pointers.
using PlanKey = std::tuple<std::tuple<int64_t, int64_t, int64_t, int64_t>,
                           std::tuple<bool, bool, uint32_t, int>,
                           std::tuple<uint32_t, uint32_t, uint32_t, uint32_t>>;

/// Frees `plan`'s descriptors (those made).
void destroy(const lt::Functions &fn, const Plan &plan) {
  if (plan.desc)
    fn.matmulDescDestroy(plan.desc);
  for (lt::MatrixLayout layout : {plan.a, plan.b, plan.d})
    if (layout)
      fn.matrixLayoutDestroy(layout);
}

struct Library {
  std::mutex mutex;
  void *library = nullptr;
  lt::Functions fn{};
  lt::Handle handle = nullptr;
  std::map<PlanKey, Plan> plans;

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

/// Loads cuBLASLt; "" or why not.
std::string load(Library &lib) {
  if (lib.library)
    return "";
  std::string tried;
  lib.library = kiln::rt::openFirst(
      "KILN_CUBLASLT",
      {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so.11"}, tried);
  if (!lib.library)
    return "cannot load cuBLASLt (" + tried +
           "): set KILN_CUBLASLT to libcublasLt.so's path, or compile with "
           "--library-calls=false";
    // A library that lacks one is let go, not called through a null pointer.
#define KILN_RESOLVE(field, symbol)                                            \
  if (!kiln::rt::resolve(lib.library, symbol, lib.fn.field)) {                 \
    dlclose(lib.library);                                                      \
    lib.library = nullptr;                                                     \
    return std::string("cuBLASLt has no ") + symbol;                           \
  }
  KILN_CUBLASLT_SYMBOLS(KILN_RESOLVE)
#undef KILN_RESOLVE
  return "";
}

/// One product: `batch` row-major result[M, N] = act(op(lhs) op(rhs) +
/// bias + residual), consecutive in each buffer.
struct Call {
  const float *lhs, *rhs, *bias, *residual;
  float *result;
  int64_t batch, m, n, k;
  bool transposeLhs, transposeRhs;
  uint32_t epilogue;
  int computeType;
  void *workspace;
};

/// The alignment of `pointer` that cuBLASLt's algorithms may rely on: its
/// largest power-of-two divisor, at most 256 bytes.
uint32_t alignmentOf(const void *pointer) {
  uintptr_t address = reinterpret_cast<uintptr_t>(pointer);
  uint32_t alignment = 256;
  while (alignment > 1 && address % alignment != 0)
    alignment /= 2;
  return alignment;
}

std::string statusText(lt::Status status) {
  // cublasStatus_t's values (cublas_api.h).
  static const std::map<lt::Status, const char *> names = {
      {1, "CUBLAS_STATUS_NOT_INITIALIZED"},
      {3, "CUBLAS_STATUS_ALLOC_FAILED"},
      {7, "CUBLAS_STATUS_INVALID_VALUE"},
      {8, "CUBLAS_STATUS_ARCH_MISMATCH"},
      {11, "CUBLAS_STATUS_MAPPING_ERROR"},
      {13, "CUBLAS_STATUS_EXECUTION_FAILED"},
      {14, "CUBLAS_STATUS_INTERNAL_ERROR"},
      {15, "CUBLAS_STATUS_NOT_SUPPORTED"}};
  auto found = names.find(status);
  return found != names.end() ? found->second
                              : "cuBLASLt status " + std::to_string(status);
}

/// The plan of `call`'s shape, made the first time: "" or why not.
std::string planFor(Library &lib, const Call &call, Plan *&plan) {
  // cuBLASLt's A is rhs, B is lhs; C is the residual, or the result.
  uint32_t alignments[4] = {
      alignmentOf(call.rhs), alignmentOf(call.lhs),
      alignmentOf(call.residual ? call.residual : call.result),
      alignmentOf(call.result)};
  PlanKey key{
      {call.batch, call.m, call.n, call.k},
      {call.transposeLhs, call.transposeRhs, call.epilogue, call.computeType},
      {alignments[0], alignments[1], alignments[2], alignments[3]}};
  auto found = lib.plans.find(key);
  if (found != lib.plans.end()) {
    plan = &found->second;
    return "";
  }
  Plan p;
  const lt::Functions &fn = lib.fn;
  int32_t opA = call.transposeRhs ? lt::kOpT : lt::kOpN;
  int32_t opB = call.transposeLhs ? lt::kOpT : lt::kOpN;
  // A: rhs as stored ([K, N] row-major, or [N, K] transposed); B: lhs ([M,
  // K], or [K, M]); D: the result, N x M column-major.
  uint64_t aRows = call.transposeRhs ? call.k : call.n;
  uint64_t aCols = call.transposeRhs ? call.n : call.k;
  uint64_t bRows = call.transposeLhs ? call.m : call.k;
  uint64_t bCols = call.transposeLhs ? call.k : call.m;
  lt::Status s = fn.matmulDescCreate(&p.desc, call.computeType, lt::kFloat32);
  if (s == lt::kSuccess)
    s = fn.matmulDescSetAttribute(p.desc, lt::kDescTransA, &opA, sizeof(opA));
  if (s == lt::kSuccess)
    s = fn.matmulDescSetAttribute(p.desc, lt::kDescTransB, &opB, sizeof(opB));
  if (s == lt::kSuccess)
    s = fn.matmulDescSetAttribute(p.desc, lt::kDescEpilogue, &call.epilogue,
                                  sizeof(call.epilogue));
  if (s == lt::kSuccess)
    s = fn.matrixLayoutCreate(&p.a, lt::kFloat32, aRows, aCols, aRows);
  if (s == lt::kSuccess)
    s = fn.matrixLayoutCreate(&p.b, lt::kFloat32, bRows, bCols, bRows);
  if (s == lt::kSuccess)
    s = fn.matrixLayoutCreate(&p.d, lt::kFloat32, call.n, call.m, call.n);
  // A batch: each operand's matrices one after the other.
  int32_t count = static_cast<int32_t>(call.batch);
  std::pair<lt::MatrixLayout, int64_t> strided[3] = {
      {p.a, call.k * call.n}, {p.b, call.m * call.k}, {p.d, call.m * call.n}};
  for (auto [layout, stride] : strided) {
    if (call.batch == 1 || s != lt::kSuccess)
      break;
    s = fn.matrixLayoutSetAttribute(layout, lt::kLayoutBatchCount, &count,
                                    sizeof(count));
    if (s == lt::kSuccess)
      s = fn.matrixLayoutSetAttribute(layout, lt::kLayoutBatchStride, &stride,
                                      sizeof(stride));
  }
  if (s != lt::kSuccess) {
    destroy(fn, p);
    return "cuBLASLt descriptors: " + statusText(s);
  }
  lt::Preference preference = nullptr;
  s = fn.preferenceCreate(&preference);
  uint64_t workspace = kWorkspaceBytes;
  if (s == lt::kSuccess)
    s = fn.preferenceSetAttribute(preference, lt::kPrefMaxWorkspaceBytes,
                                  &workspace, sizeof(workspace));
  // Only algorithms that take the operands as aligned as they are.
  const int alignmentAttributes[4] = {
      lt::kPrefMinAlignmentA, lt::kPrefMinAlignmentB, lt::kPrefMinAlignmentC,
      lt::kPrefMinAlignmentD};
  for (int i = 0; i < 4 && s == lt::kSuccess; ++i)
    s = fn.preferenceSetAttribute(preference, alignmentAttributes[i],
                                  &alignments[i], sizeof(alignments[i]));
  lt::HeuristicResult best{};
  int returned = 0;
  if (s == lt::kSuccess)
    s = fn.algoGetHeuristic(lib.handle, p.desc, p.a, p.b, p.d, p.d, preference,
                            1, &best, &returned);
  if (preference)
    fn.preferenceDestroy(preference);
  if (s != lt::kSuccess || returned < 1 || best.state != lt::kSuccess) {
    destroy(fn, p);
    return s != lt::kSuccess
               ? "cuBLASLt's algorithm heuristic: " + statusText(s)
               : "cuBLASLt has no algorithm for this product";
  }
  p.algo = best.algo;
  plan = &lib.plans.emplace(key, p).first->second;
  return "";
}

/// Queues `call` on `stream` (the artefact's, its context current).
int enqueue(void *stream, void *user, char *error, size_t capacity) {
  const Call &call = *static_cast<const Call *>(user);
  Library &lib = library();
  auto failed = [&](const std::string &why) {
    std::snprintf(
        error, capacity,
        "matmul %s[%lld x %lld] x [%lld x %lld] on cuBLASLt: %s",
        call.batch > 1 ? (std::to_string(call.batch) + " x ").c_str() : "",
        static_cast<long long>(call.m), static_cast<long long>(call.k),
        static_cast<long long>(call.k), static_cast<long long>(call.n),
        why.c_str());
    return 1;
  };
  if (std::string why = load(lib); !why.empty())
    return failed(why);
  if (!lib.handle)
    if (lt::Status s = lib.fn.create(&lib.handle); s != lt::kSuccess)
      return failed("cublasLtCreate: " + statusText(s));
  Plan *plan = nullptr;
  if (std::string why = planFor(lib, call, plan); !why.empty())
    return failed(why);
  // The bias pointer changes from call to call; the descriptor is this
  // shape's, and calls are queued one at a time.
  if (call.bias)
    if (lt::Status s = lib.fn.matmulDescSetAttribute(
            plan->desc, lt::kDescBiasPointer, &call.bias, sizeof(call.bias));
        s != lt::kSuccess)
      return failed("bias: " + statusText(s));
  float alpha = 1.0f, beta = call.residual ? 1.0f : 0.0f;
  const float *c = call.residual ? call.residual : call.result;
  if (lt::Status s = lib.fn.matmul(lib.handle, plan->desc, &alpha, call.rhs,
                                   plan->a, call.lhs, plan->b, &beta, c,
                                   plan->d, call.result, plan->d, &plan->algo,
                                   call.workspace, kWorkspaceBytes, stream);
      s != lt::kSuccess)
    return failed("cublasLtMatmul: " + statusText(s));
  return 0;
}

/// The cuBLASLt epilogue of a bias and an activation, or why there is none.
bool epilogueOf(bool bias, int64_t activation, uint32_t &epilogue) {
  if (activation == KILN_ACTIVATION_NONE)
    epilogue = bias ? lt::kEpilogueBias : lt::kEpilogueDefault;
  else if (activation == KILN_ACTIVATION_RELU)
    epilogue = bias ? lt::kEpilogueReluBias : lt::kEpilogueRelu;
  else
    return false;
  return true;
}

/// The cuBLASLt compute type of a KILN_GPU_MATH_* mode, or why there is
/// none.
bool computeTypeOf(int64_t math, int &computeType) {
  switch (math) {
  case KILN_GPU_MATH_FLOAT32:
    computeType = lt::kComputeFloat32;
    return true;
  case KILN_GPU_MATH_TF32:
    computeType = lt::kComputeFastTf32;
    return true;
  case KILN_GPU_MATH_BF16:
    computeType = lt::kComputeFastBf16;
    return true;
  default:
    return false;
  }
}

/// Queues `call` with a workspace of its own, freed after it in stream
/// order. Sizes are the compiler's to get right: none is zero (such
/// products are generated code), a batch fits cuBLASLt's int32.
void run(const char *function, Call call, int64_t activation, int64_t math) {
  if (call.batch <= 0 || call.batch > INT32_MAX || call.m <= 0 || call.n <= 0 ||
      call.k <= 0 ||
      !epilogueOf(call.bias != nullptr, activation, call.epilogue) ||
      !computeTypeOf(math, call.computeType)) {
    std::fprintf(stderr,
                 "%s: invalid call (batch=%lld m=%lld n=%lld k=%lld "
                 "activation=%lld math=%lld)\n",
                 function, static_cast<long long>(call.batch),
                 static_cast<long long>(call.m), static_cast<long long>(call.n),
                 static_cast<long long>(call.k),
                 static_cast<long long>(activation),
                 static_cast<long long>(math));
    std::abort();
  }
  const KilnCudaApi *api = kiln_cuda_api();
  call.workspace = api->allocate(kWorkspaceBytes);
  if (!call.workspace)
    return; // the runtime has recorded why; finish reports it
  {
    std::lock_guard<std::mutex> lock(library().mutex);
    api->submit(&enqueue, &call);
  }
  api->release(call.workspace);
}

} // namespace

void kiln_cuda_matmul_f32(const float *lhs, const float *rhs, const float *bias,
                          const float *residual, float *result, int64_t m,
                          int64_t n, int64_t k, int64_t transposeLhs,
                          int64_t transposeRhs, int64_t activation,
                          int64_t math, double /*alpha*/) {
  run("kiln_cuda_matmul_f32",
      Call{lhs, rhs, bias, residual, result, 1, m, n, k, transposeLhs != 0,
           transposeRhs != 0, 0, 0, nullptr},
      activation, math);
}

void kiln_cuda_batch_matmul_f32(const float *lhs, const float *rhs,
                                float *result, int64_t batch, int64_t m,
                                int64_t n, int64_t k, int64_t transposeLhs,
                                int64_t transposeRhs, int64_t math) {
  run("kiln_cuda_batch_matmul_f32",
      Call{lhs, rhs, nullptr, nullptr, result, batch, m, n, k,
           transposeLhs != 0, transposeRhs != 0, 0, 0, nullptr},
      KILN_ACTIVATION_NONE, math);
}
