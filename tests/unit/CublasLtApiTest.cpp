//===- CublasLtApiTest.cpp - Kiln's cuBLASLt declarations against CUDA's --===//
//
// Built where the CUDA toolkit's cublasLt.h is found: each constant, type
// and signature runtime/cuda/CublasLtApi.h declares for dlopen must be
// cublasLt.h's, or this file does not compile.
//
//===----------------------------------------------------------------------===//

#include "cuda/CublasLtApi.h"

#include <cublasLt.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <type_traits>

namespace {

namespace lt = kiln::cublaslt;

static_assert(lt::kSuccess == CUBLAS_STATUS_SUCCESS);
static_assert(lt::kFloat32 == CUDA_R_32F);
static_assert(lt::kComputeFloat32 == CUBLAS_COMPUTE_32F);
static_assert(lt::kComputeFastTf32 == CUBLAS_COMPUTE_32F_FAST_TF32);
static_assert(lt::kComputeFastBf16 == CUBLAS_COMPUTE_32F_FAST_16BF);
static_assert(lt::kOpN == CUBLAS_OP_N && lt::kOpT == CUBLAS_OP_T);
static_assert(lt::kDescTransA == CUBLASLT_MATMUL_DESC_TRANSA);
static_assert(lt::kDescTransB == CUBLASLT_MATMUL_DESC_TRANSB);
static_assert(lt::kDescEpilogue == CUBLASLT_MATMUL_DESC_EPILOGUE);
static_assert(lt::kDescBiasPointer == CUBLASLT_MATMUL_DESC_BIAS_POINTER);
static_assert(lt::kEpilogueDefault == CUBLASLT_EPILOGUE_DEFAULT);
static_assert(lt::kEpilogueRelu == CUBLASLT_EPILOGUE_RELU);
static_assert(lt::kEpilogueBias == CUBLASLT_EPILOGUE_BIAS);
static_assert(lt::kEpilogueReluBias == CUBLASLT_EPILOGUE_RELU_BIAS);
static_assert(lt::kLayoutBatchCount == CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT);
static_assert(lt::kLayoutBatchStride ==
              CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET);
static_assert(sizeof(cublasLtMatrixLayoutAttribute_t) == sizeof(int));
static_assert(lt::kPrefMaxWorkspaceBytes ==
              CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES);
static_assert(lt::kPrefMinAlignmentA ==
              CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES);
static_assert(lt::kPrefMinAlignmentB ==
              CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES);
static_assert(lt::kPrefMinAlignmentC ==
              CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES);
static_assert(lt::kPrefMinAlignmentD ==
              CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES);

// Enums are passed as int, handles as pointers.
static_assert(sizeof(cublasStatus_t) == sizeof(lt::Status));
static_assert(sizeof(cudaDataType) == sizeof(int));
static_assert(sizeof(cublasComputeType_t) == sizeof(int));
static_assert(sizeof(cublasLtMatmulDescAttributes_t) == sizeof(int));
static_assert(sizeof(cublasLtMatmulPreferenceAttributes_t) == sizeof(int));
static_assert(sizeof(cublasOperation_t) == sizeof(int32_t));
static_assert(sizeof(cublasLtEpilogue_t) == sizeof(uint32_t));
static_assert(sizeof(cublasLtHandle_t) == sizeof(lt::Handle));
static_assert(sizeof(lt::Algo) == sizeof(cublasLtMatmulAlgo_t));
static_assert(sizeof(lt::HeuristicResult) ==
              sizeof(cublasLtMatmulHeuristicResult_t));
static_assert(offsetof(lt::HeuristicResult, workspaceSize) ==
              offsetof(cublasLtMatmulHeuristicResult_t, workspaceSize));
static_assert(offsetof(lt::HeuristicResult, state) ==
              offsetof(cublasLtMatmulHeuristicResult_t, state));

// The same number of parameters, each of the same size, as CUDA declares.
template <typename F> struct Arity;
template <typename R, typename... A> struct Arity<R (*)(A...)> {
  static constexpr size_t count = sizeof...(A);
  static constexpr size_t bytes = (size_t(0) + ... + sizeof(A));
};
template <typename Ours, typename Theirs> constexpr bool sameShape() {
  return Arity<Ours>::count == Arity<Theirs>::count &&
         Arity<Ours>::bytes == Arity<Theirs>::bytes;
}
#define KILN_SAME_SIGNATURE(field, function)                                   \
  static_assert(sameShape<decltype(lt::Functions::field),                      \
                          std::add_pointer_t<decltype(function)>>(),           \
                #function " differs from cublasLt.h");
KILN_SAME_SIGNATURE(create, cublasLtCreate)
KILN_SAME_SIGNATURE(matmulDescCreate, cublasLtMatmulDescCreate)
KILN_SAME_SIGNATURE(matmulDescSetAttribute, cublasLtMatmulDescSetAttribute)
KILN_SAME_SIGNATURE(matrixLayoutCreate, cublasLtMatrixLayoutCreate)
KILN_SAME_SIGNATURE(matmulDescDestroy, cublasLtMatmulDescDestroy)
KILN_SAME_SIGNATURE(matrixLayoutDestroy, cublasLtMatrixLayoutDestroy)
KILN_SAME_SIGNATURE(matrixLayoutSetAttribute, cublasLtMatrixLayoutSetAttribute)
KILN_SAME_SIGNATURE(preferenceCreate, cublasLtMatmulPreferenceCreate)
KILN_SAME_SIGNATURE(preferenceSetAttribute,
                    cublasLtMatmulPreferenceSetAttribute)
KILN_SAME_SIGNATURE(preferenceDestroy, cublasLtMatmulPreferenceDestroy)
KILN_SAME_SIGNATURE(algoGetHeuristic, cublasLtMatmulAlgoGetHeuristic)
KILN_SAME_SIGNATURE(matmul, cublasLtMatmul)
#undef KILN_SAME_SIGNATURE

} // namespace

TEST(CublasLtApi, MatchesTheToolkitsHeader) {
  // The checks are the static_asserts above; this names the toolkit's
  // version they were made against.
  EXPECT_GE(CUBLAS_VER_MAJOR, 11);
}
