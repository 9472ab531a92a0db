//===- FakeCublasLt.cpp - cuBLASLt's matmul on the host, for tests --------===//
//
// The cuBLASLt functions Kiln's CUDA runtime loads, computing on host
// memory (the fake driver's device buffers are host buffers) as cuBLASLt
// documents its matmul: column-major operands, D = epilogue(alpha op(A)
// op(B) + beta C + bias), op(X) = X or its transpose, the bias indexed by
// D's row; a strided batch of them where the layouts say so. Loaded with
// $KILN_CUBLASLT, it checks what the runtime asks for: shapes that agree,
// leading dimensions, float32 data computed in float32 or, with the fast
// compute types, on operands rounded as TF32 or bfloat16 tensor cores round
// them (other compute types are refused), a supported epilogue with its bias, a
// workspace within the preference, and operands aligned as the preference said
// (its algorithm relies on it; cuBLASLt's default is 256 bytes). Invalid calls
// return CUBLAS_STATUS_INVALID_VALUE. On the fake driver ($KILN_CUDA_DRIVER),
// an operand that starts in one of its allocations must end in it, else the
// call fails as a kernel reading out of bounds does
// (CUBLAS_STATUS_EXECUTION_FAILED); memory the driver did not allocate (a
// caller's host tensors) is not checked.
//
// While the fake driver's stream is captured, a product is recorded into the
// graph (with its operands' addresses, as cuBLASLt's kernels are) and
// computed at each launch of it.
//
//   KILN_FAKE_CUBLASLT_LOG=FILE   appends one line per matmul
//
//===----------------------------------------------------------------------===//

#include "FakeDriverSupport.h"
#include "cuda/CublasLtApi.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace lt = kiln::cublaslt;

constexpr lt::Status kInvalidValue = 7;     // CUBLAS_STATUS_INVALID_VALUE
constexpr lt::Status kExecutionFailed = 13; // ..._EXECUTION_FAILED

struct Desc {
  int computeType, scaleType;
  int32_t transA = lt::kOpN, transB = lt::kOpN;
  uint32_t epilogue = lt::kEpilogueDefault;
  const float *bias = nullptr;

  bool addsBias() const {
    return epilogue == lt::kEpilogueBias || epilogue == lt::kEpilogueReluBias;
  }
  bool appliesRelu() const {
    return epilogue == lt::kEpilogueRelu || epilogue == lt::kEpilogueReluBias;
  }
};

struct Layout {
  int type;
  uint64_t rows, cols;
  int64_t ld;
  int32_t batch = 1;
  int64_t stride = 0; // elements from one matrix of a batch to the next
};

struct Pref {
  uint64_t maxWorkspace = 0;
  uint32_t alignment[4] = {256, 256, 256, 256}; // A, B, C, D
};

/// The algorithm's record of what it was chosen for (Algo::data).
enum AlgoField { kWorkspace, kAlignA, kAlignB, kAlignC, kAlignD };

int matmuls = 0;
int handles = 0;

/// Element (i, j) of op(X) for X in `layout` at `data`.
double element(const float *data, const Layout &layout, int32_t op, uint64_t i,
               uint64_t j) {
  return op == lt::kOpN ? data[i + j * layout.ld] : data[j + i * layout.ld];
}

/// The rows and columns of op(X).
void opShape(const Layout &layout, int32_t op, uint64_t &rows, uint64_t &cols) {
  rows = op == lt::kOpN ? layout.rows : layout.cols;
  cols = op == lt::kOpN ? layout.cols : layout.rows;
}

bool validLayout(const Layout &layout) {
  return layout.type == lt::kFloat32 &&
         layout.ld >= static_cast<int64_t>(layout.rows) && layout.rows > 0 &&
         layout.cols > 0 && layout.batch >= 1 &&
         (layout.batch == 1 ||
          layout.stride >= layout.ld * static_cast<int64_t>(layout.cols));
}

/// Whether the `layout.batch` matrices at `data` end in the fake driver's
/// allocation they start in.
bool allocated(const void *data, const Layout &layout) {
  int64_t elements = (layout.batch - 1) * layout.stride +
                     (layout.cols - 1) * layout.ld + layout.rows;
  return kiln::fake::allocated(data, elements * sizeof(float));
}

/// Whether `desc` with these layouts is a product the fake computes.
bool valid(const Desc &desc, const Layout &a, const Layout &b, const Layout &c,
           const Layout &d) {
  if ((desc.computeType != lt::kComputeFloat32 &&
       desc.computeType != lt::kComputeFastTf32 &&
       desc.computeType != lt::kComputeFastBf16) ||
      desc.scaleType != lt::kFloat32)
    return false;
  if (!validLayout(a) || !validLayout(b) || !validLayout(c) || !validLayout(d))
    return false;
  uint64_t am, ak, bk, bn;
  opShape(a, desc.transA, am, ak);
  opShape(b, desc.transB, bk, bn);
  bool epilogue = desc.epilogue == lt::kEpilogueDefault ||
                  desc.epilogue == lt::kEpilogueRelu ||
                  desc.epilogue == lt::kEpilogueBias ||
                  desc.epilogue == lt::kEpilogueReluBias;
  return epilogue && ak == bk && am == d.rows && bn == d.cols &&
         c.rows == d.rows && c.cols == d.cols && c.ld == d.ld &&
         a.batch == d.batch && b.batch == d.batch && c.batch == d.batch &&
         c.stride == d.stride;
}

/// One matmul's operands and scalars, as cublasLtMatmul was given them.
struct Product {
  Desc desc;
  Layout a, b, c, d;
  const float *av, *bv, *cv;
  float *dv;
  float scale, accumulate;
};

/// Computes a Product (void *: the fake driver's recorded operations call
/// it), counts and logs it.
void compute(void *data) {
  const Product &p = *static_cast<const Product *>(data);
  const Desc &desc = p.desc;
  const Layout &a = p.a, &b = p.b, &c = p.c, &d = p.d;
  bool hasBias = desc.addsBias(), relu = desc.appliesRelu();
  // The fast compute types' tensor cores read rounded operands.
  int bits = desc.computeType == lt::kComputeFastTf32   ? 10
             : desc.computeType == lt::kComputeFastBf16 ? 7
                                                        : 23;
  auto operand = [bits](double v) -> double {
    return bits == 23 ? v : kiln::fake::roundMantissa(float(v), bits);
  };
  uint64_t m = d.rows, n = d.cols, k;
  uint64_t unused;
  opShape(a, desc.transA, unused, k);
  for (int32_t batch = 0; batch < d.batch; ++batch) {
    const float *av = p.av + batch * a.stride;
    const float *bv = p.bv + batch * b.stride;
    const float *cv = p.cv + batch * c.stride;
    // D may be C: the whole result first, then written.
    std::vector<float> out(m * n);
    for (uint64_t j = 0; j < n; ++j)
      for (uint64_t i = 0; i < m; ++i) {
        double sum = 0;
        for (uint64_t l = 0; l < k; ++l)
          sum += operand(element(av, a, desc.transA, i, l)) *
                 operand(element(bv, b, desc.transB, l, j));
        double v = p.scale * sum;
        if (p.accumulate != 0)
          v += p.accumulate * cv[i + j * c.ld];
        if (hasBias)
          v += desc.bias[i];
        out[i + j * m] = static_cast<float>(relu && v < 0 ? 0 : v);
      }
    float *dv = p.dv + batch * d.stride;
    for (uint64_t j = 0; j < n; ++j)
      for (uint64_t i = 0; i < m; ++i)
        dv[i + j * d.ld] = out[i + j * m];
  }
  ++matmuls;
  if (const char *path = std::getenv("KILN_FAKE_CUBLASLT_LOG"); path && *path)
    if (FILE *file = std::fopen(path, "a")) {
      std::fprintf(file,
                   "matmul %s%llux%llux%llu transA=%d transB=%d "
                   "epilogue=%u beta=%g compute=%d\n",
                   d.batch > 1 ? (std::to_string(d.batch) + "x").c_str() : "",
                   static_cast<unsigned long long>(m),
                   static_cast<unsigned long long>(n),
                   static_cast<unsigned long long>(k), desc.transA, desc.transB,
                   desc.epilogue, p.accumulate, desc.computeType);
      std::fclose(file);
    }
}

} // namespace

extern "C" {

lt::Status cublasLtCreate(lt::Handle *handle) {
  *handle = &handles;
  ++handles;
  return lt::kSuccess;
}

lt::Status cublasLtMatmulDescCreate(lt::MatmulDesc *desc, int computeType,
                                    int scaleType) {
  *desc = new Desc{computeType, scaleType};
  return lt::kSuccess;
}

lt::Status cublasLtMatmulDescSetAttribute(lt::MatmulDesc handle, int attribute,
                                          const void *value, size_t bytes) {
  Desc &desc = *static_cast<Desc *>(handle);
  switch (attribute) {
  case lt::kDescTransA:
  case lt::kDescTransB:
    if (bytes != sizeof(int32_t))
      return kInvalidValue;
    std::memcpy(attribute == lt::kDescTransA ? &desc.transA : &desc.transB,
                value, bytes);
    return lt::kSuccess;
  case lt::kDescEpilogue:
    if (bytes != sizeof(uint32_t))
      return kInvalidValue;
    std::memcpy(&desc.epilogue, value, bytes);
    return lt::kSuccess;
  case lt::kDescBiasPointer:
    if (bytes != sizeof(void *))
      return kInvalidValue;
    std::memcpy(&desc.bias, value, bytes);
    return lt::kSuccess;
  default:
    return kInvalidValue;
  }
}

lt::Status cublasLtMatrixLayoutCreate(lt::MatrixLayout *layout, int type,
                                      uint64_t rows, uint64_t cols,
                                      int64_t ld) {
  *layout = new Layout{type, rows, cols, ld};
  return lt::kSuccess;
}

lt::Status cublasLtMatmulDescDestroy(lt::MatmulDesc desc) {
  delete static_cast<Desc *>(desc);
  return lt::kSuccess;
}

lt::Status cublasLtMatrixLayoutDestroy(lt::MatrixLayout layout) {
  delete static_cast<Layout *>(layout);
  return lt::kSuccess;
}

lt::Status cublasLtMatrixLayoutSetAttribute(lt::MatrixLayout handle,
                                            int attribute, const void *value,
                                            size_t bytes) {
  Layout &layout = *static_cast<Layout *>(handle);
  if (attribute == lt::kLayoutBatchCount && bytes == sizeof(int32_t)) {
    std::memcpy(&layout.batch, value, bytes);
    return lt::kSuccess;
  }
  if (attribute == lt::kLayoutBatchStride && bytes == sizeof(int64_t)) {
    std::memcpy(&layout.stride, value, bytes);
    return lt::kSuccess;
  }
  return kInvalidValue;
}

lt::Status cublasLtMatmulPreferenceCreate(lt::Preference *preference) {
  *preference = new Pref;
  return lt::kSuccess;
}

lt::Status cublasLtMatmulPreferenceSetAttribute(lt::Preference preference,
                                                int attribute,
                                                const void *value,
                                                size_t bytes) {
  Pref &pref = *static_cast<Pref *>(preference);
  if (attribute == lt::kPrefMaxWorkspaceBytes && bytes == sizeof(uint64_t)) {
    std::memcpy(&pref.maxWorkspace, value, bytes);
    return lt::kSuccess;
  }
  if (attribute >= lt::kPrefMinAlignmentA &&
      attribute <= lt::kPrefMinAlignmentD && bytes == sizeof(uint32_t)) {
    std::memcpy(&pref.alignment[attribute - lt::kPrefMinAlignmentA], value,
                bytes);
    return lt::kSuccess;
  }
  return kInvalidValue;
}

lt::Status cublasLtMatmulPreferenceDestroy(lt::Preference preference) {
  delete static_cast<Pref *>(preference);
  return lt::kSuccess;
}

lt::Status cublasLtMatmulAlgoGetHeuristic(
    lt::Handle, lt::MatmulDesc desc, lt::MatrixLayout a, lt::MatrixLayout b,
    lt::MatrixLayout c, lt::MatrixLayout d, lt::Preference preference,
    int requested, lt::HeuristicResult *results, int *returned) {
  *returned = 0;
  if (requested < 1 ||
      !valid(*static_cast<Desc *>(desc), *static_cast<Layout *>(a),
             *static_cast<Layout *>(b), *static_cast<Layout *>(c),
             *static_cast<Layout *>(d)))
    return kInvalidValue;
  const Pref &pref = *static_cast<Pref *>(preference);
  results[0] = lt::HeuristicResult{};
  // An algorithm that asks for the most workspace the preference allows
  // and relies on the alignments it states.
  results[0].workspaceSize = pref.maxWorkspace;
  results[0].algo.data[kWorkspace] = pref.maxWorkspace;
  for (int i = 0; i < 4; ++i)
    results[0].algo.data[kAlignA + i] = pref.alignment[i];
  *returned = 1;
  return lt::kSuccess;
}

lt::Status cublasLtMatmul(lt::Handle, lt::MatmulDesc descHandle,
                          const void *alpha, const void *aData,
                          lt::MatrixLayout aHandle, const void *bData,
                          lt::MatrixLayout bHandle, const void *beta,
                          const void *cData, lt::MatrixLayout cHandle,
                          void *dData, lt::MatrixLayout dHandle,
                          const lt::Algo *algo, void *workspace,
                          size_t workspaceBytes, void *) {
  const Desc &desc = *static_cast<Desc *>(descHandle);
  const Layout &a = *static_cast<Layout *>(aHandle),
               &b = *static_cast<Layout *>(bHandle),
               &c = *static_cast<Layout *>(cHandle),
               &d = *static_cast<Layout *>(dHandle);
  bool hasBias = desc.addsBias();
  if (!valid(desc, a, b, c, d) || !algo || (hasBias && !desc.bias) ||
      workspaceBytes < algo->data[kWorkspace] || (workspaceBytes && !workspace))
    return kInvalidValue;
  const void *operands[4] = {aData, bData, cData, dData};
  const Layout *layouts[4] = {&a, &b, &c, &d};
  for (int i = 0; i < 4; ++i)
    if (reinterpret_cast<uintptr_t>(operands[i]) % algo->data[kAlignA + i])
      return kInvalidValue;
  for (int i = 0; i < 4; ++i)
    if (!allocated(operands[i], *layouts[i]))
      return kExecutionFailed;
  if (hasBias && !allocated(desc.bias, Layout{lt::kFloat32, d.rows, 1,
                                              static_cast<int64_t>(d.rows)}))
    return kExecutionFailed;
  // The product as it is now (the bias pointer included): computed now,
  // or at each launch of the graph a capture of the stream records.
  auto product = std::make_shared<Product>(Product{
      desc, a, b, c, d, static_cast<const float *>(aData),
      static_cast<const float *>(bData), static_cast<const float *>(cData),
      static_cast<float *>(dData), *static_cast<const float *>(alpha),
      *static_cast<const float *>(beta)});
  kiln::fake::runOrRecord(&compute, product);
  return lt::kSuccess;
}

int kiln_fake_cublaslt_matmuls() { return matmuls; }

} // extern "C"
