//===- CublasLtApi.h - The part of cuBLASLt's C API Kiln calls -----------===//
//
// cuBLASLt is loaded with dlopen, so Kiln builds without CUDA's headers:
// these are the types, constants and signatures of the functions it calls,
// as cublasLt.h (CUDA 11 to 13, whose C ABI is stable) declares them.
// tests/unit/CublasLtApiTest.cpp checks each against cublasLt.h where the
// CUDA toolkit is installed.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_CUBLASLTAPI_H
#define KILN_RUNTIME_CUDA_CUBLASLTAPI_H

#include <cstddef>
#include <cstdint>

namespace kiln::cublaslt {

using Status = int;          // cublasStatus_t
using Handle = void *;       // cublasLtHandle_t
using MatmulDesc = void *;   // cublasLtMatmulDesc_t
using MatrixLayout = void *; // cublasLtMatrixLayout_t
using Preference = void *;   // cublasLtMatmulPreference_t

/// cublasLtMatmulAlgo_t.
struct Algo {
  uint64_t data[8];
};

/// cublasLtMatmulHeuristicResult_t.
struct HeuristicResult {
  Algo algo;
  size_t workspaceSize;
  Status state;
  float wavesCount;
  int reserved[4];
};

constexpr Status kSuccess = 0;            // CUBLAS_STATUS_SUCCESS
constexpr int kFloat32 = 0;               // CUDA_R_32F
constexpr int kComputeFloat32 = 68;       // CUBLAS_COMPUTE_32F: no TF32
constexpr int kComputeFastTf32 = 77;      // CUBLAS_COMPUTE_32F_FAST_TF32
constexpr int kComputeFastBf16 = 75;      // CUBLAS_COMPUTE_32F_FAST_16BF
constexpr int32_t kOpN = 0;               // CUBLAS_OP_N
constexpr int32_t kOpT = 1;               // CUBLAS_OP_T
constexpr int kDescTransA = 3;            // CUBLASLT_MATMUL_DESC_TRANSA
constexpr int kDescTransB = 4;            // CUBLASLT_MATMUL_DESC_TRANSB
constexpr int kDescEpilogue = 7;          // CUBLASLT_MATMUL_DESC_EPILOGUE
constexpr int kDescBiasPointer = 8;       // CUBLASLT_MATMUL_DESC_BIAS_POINTER
constexpr uint32_t kEpilogueDefault = 1;  // CUBLASLT_EPILOGUE_DEFAULT
constexpr uint32_t kEpilogueRelu = 2;     // CUBLASLT_EPILOGUE_RELU
constexpr uint32_t kEpilogueBias = 4;     // CUBLASLT_EPILOGUE_BIAS
constexpr uint32_t kEpilogueReluBias = 6; // CUBLASLT_EPILOGUE_RELU_BIAS
constexpr int kLayoutBatchCount = 5;      // ..._LAYOUT_BATCH_COUNT (int32_t)
constexpr int kLayoutBatchStride = 6;     // .._STRIDED_BATCH_OFFSET (int64_t)
constexpr int kPrefMaxWorkspaceBytes = 1; // ..._PREF_MAX_WORKSPACE_BYTES
/// CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_{A,B,C,D}_BYTES: the alignment of
/// each operand's pointer, which the chosen algorithm may rely on (uint32_t,
/// 256 if not set).
constexpr int kPrefMinAlignmentA = 5;
constexpr int kPrefMinAlignmentB = 6;
constexpr int kPrefMinAlignmentC = 7;
constexpr int kPrefMinAlignmentD = 8;

/// The functions, resolved by the names in KILN_CUBLASLT_SYMBOLS.
struct Functions {
  Status (*create)(Handle *);
  Status (*matmulDescCreate)(MatmulDesc *, int computeType, int scaleType);
  Status (*matmulDescSetAttribute)(MatmulDesc, int attribute, const void *value,
                                   size_t bytes);
  Status (*matmulDescDestroy)(MatmulDesc);
  Status (*matrixLayoutCreate)(MatrixLayout *, int type, uint64_t rows,
                               uint64_t cols, int64_t leadingDimension);
  Status (*matrixLayoutSetAttribute)(MatrixLayout, int attribute,
                                     const void *value, size_t bytes);
  Status (*matrixLayoutDestroy)(MatrixLayout);
  Status (*preferenceCreate)(Preference *);
  Status (*preferenceSetAttribute)(Preference, int attribute, const void *value,
                                   size_t bytes);
  Status (*preferenceDestroy)(Preference);
  Status (*algoGetHeuristic)(Handle, MatmulDesc, MatrixLayout a, MatrixLayout b,
                             MatrixLayout c, MatrixLayout d, Preference,
                             int requested, HeuristicResult *results,
                             int *returned);
  Status (*matmul)(Handle, MatmulDesc, const void *alpha, const void *a,
                   MatrixLayout aLayout, const void *b, MatrixLayout bLayout,
                   const void *beta, const void *c, MatrixLayout cLayout,
                   void *d, MatrixLayout dLayout, const Algo *algo,
                   void *workspace, size_t workspaceBytes, void *stream);
};

/// Each field of Functions and cuBLASLt's symbol for it.
#define KILN_CUBLASLT_SYMBOLS(X)                                               \
  X(create, "cublasLtCreate")                                                  \
  X(matmulDescCreate, "cublasLtMatmulDescCreate")                              \
  X(matmulDescSetAttribute, "cublasLtMatmulDescSetAttribute")                  \
  X(matmulDescDestroy, "cublasLtMatmulDescDestroy")                            \
  X(matrixLayoutCreate, "cublasLtMatrixLayoutCreate")                          \
  X(matrixLayoutSetAttribute, "cublasLtMatrixLayoutSetAttribute")              \
  X(matrixLayoutDestroy, "cublasLtMatrixLayoutDestroy")                        \
  X(preferenceCreate, "cublasLtMatmulPreferenceCreate")                        \
  X(preferenceSetAttribute, "cublasLtMatmulPreferenceSetAttribute")            \
  X(preferenceDestroy, "cublasLtMatmulPreferenceDestroy")                      \
  X(algoGetHeuristic, "cublasLtMatmulAlgoGetHeuristic")                        \
  X(matmul, "cublasLtMatmul")

} // namespace kiln::cublaslt

#endif // KILN_RUNTIME_CUDA_CUBLASLTAPI_H
