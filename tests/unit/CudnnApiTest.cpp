//===- CudnnApiTest.cpp - Kiln's cuDNN declarations against cuDNN's ------===//
//
// Built where the CUDA toolkit has cudnn.h: each constant, type and
// signature runtime/cuda/CudnnApi.h declares for dlopen must be cudnn.h's,
// or this file does not compile.
//
//===----------------------------------------------------------------------===//

#include "cuda/CudnnApi.h"

#include <cudnn.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <type_traits>

namespace {

namespace dnn = kiln::cudnn;

static_assert(dnn::kSuccess == CUDNN_STATUS_SUCCESS);
static_assert(dnn::kFloat == CUDNN_DATA_FLOAT);
static_assert(dnn::kNchw == CUDNN_TENSOR_NCHW);
static_assert(dnn::kCrossCorrelation == CUDNN_CROSS_CORRELATION);
static_assert(dnn::kFmaMath == CUDNN_FMA_MATH);
static_assert(dnn::kDefaultMath == CUDNN_DEFAULT_MATH);
static_assert(dnn::kTensorOpMath == CUDNN_TENSOR_OP_MATH);
static_assert(dnn::kTensorOpAllowConversion ==
              CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);

// Enums are passed as int, handles and descriptors as pointers.
static_assert(sizeof(cudnnStatus_t) == sizeof(dnn::Status));
static_assert(sizeof(cudnnDataType_t) == sizeof(int));
static_assert(sizeof(cudnnTensorFormat_t) == sizeof(int));
static_assert(sizeof(cudnnConvolutionMode_t) == sizeof(int));
static_assert(sizeof(cudnnMathType_t) == sizeof(int));
static_assert(sizeof(cudnnConvolutionFwdAlgo_t) == sizeof(int));
static_assert(sizeof(cudnnConvolutionBwdDataAlgo_t) == sizeof(int));
static_assert(sizeof(cudnnConvolutionBwdFilterAlgo_t) == sizeof(int));
static_assert(sizeof(cudnnHandle_t) == sizeof(dnn::Handle));
static_assert(sizeof(cudnnTensorDescriptor_t) == sizeof(dnn::TensorDesc));

// The three algorithm records share AlgoPerf's layout.
#define KILN_SAME_PERF(Type)                                                   \
  static_assert(sizeof(dnn::AlgoPerf) == sizeof(Type));                        \
  static_assert(offsetof(dnn::AlgoPerf, status) == offsetof(Type, status));    \
  static_assert(offsetof(dnn::AlgoPerf, memory) == offsetof(Type, memory));    \
  static_assert(offsetof(dnn::AlgoPerf, mathType) == offsetof(Type, mathType));
KILN_SAME_PERF(cudnnConvolutionFwdAlgoPerf_t)
KILN_SAME_PERF(cudnnConvolutionBwdDataAlgoPerf_t)
KILN_SAME_PERF(cudnnConvolutionBwdFilterAlgoPerf_t)
#undef KILN_SAME_PERF

// The same number of parameters, each of the same size, as cuDNN declares.
template <typename F> struct Arity;
template <typename R, typename... A> struct Arity<R (*)(A...)> {
  static constexpr size_t count = sizeof...(A);
  static constexpr size_t bytes = (size_t(0) + ... + sizeof(A));
  using Result = R;
};
template <typename Ours, typename Theirs> constexpr bool sameShape() {
  return Arity<Ours>::count == Arity<Theirs>::count &&
         Arity<Ours>::bytes == Arity<Theirs>::bytes &&
         sizeof(typename Arity<Ours>::Result) ==
             sizeof(typename Arity<Theirs>::Result);
}
#define KILN_SAME_SIGNATURE(field, function)                                   \
  static_assert(sameShape<decltype(dnn::Functions::field),                     \
                          std::add_pointer_t<decltype(function)>>(),           \
                #function " differs from cudnn.h");
KILN_SAME_SIGNATURE(create, cudnnCreate)
KILN_SAME_SIGNATURE(setStream, cudnnSetStream)
KILN_SAME_SIGNATURE(errorString, cudnnGetErrorString)
KILN_SAME_SIGNATURE(createTensor, cudnnCreateTensorDescriptor)
KILN_SAME_SIGNATURE(setTensor4d, cudnnSetTensor4dDescriptor)
KILN_SAME_SIGNATURE(destroyTensor, cudnnDestroyTensorDescriptor)
KILN_SAME_SIGNATURE(createFilter, cudnnCreateFilterDescriptor)
KILN_SAME_SIGNATURE(setFilter4d, cudnnSetFilter4dDescriptor)
KILN_SAME_SIGNATURE(destroyFilter, cudnnDestroyFilterDescriptor)
KILN_SAME_SIGNATURE(createConvolution, cudnnCreateConvolutionDescriptor)
KILN_SAME_SIGNATURE(setConvolution2d, cudnnSetConvolution2dDescriptor)
KILN_SAME_SIGNATURE(setGroupCount, cudnnSetConvolutionGroupCount)
KILN_SAME_SIGNATURE(setMathType, cudnnSetConvolutionMathType)
KILN_SAME_SIGNATURE(destroyConvolution, cudnnDestroyConvolutionDescriptor)
KILN_SAME_SIGNATURE(forwardAlgorithms, cudnnGetConvolutionForwardAlgorithm_v7)
KILN_SAME_SIGNATURE(backwardDataAlgorithms,
                    cudnnGetConvolutionBackwardDataAlgorithm_v7)
KILN_SAME_SIGNATURE(backwardFilterAlgorithms,
                    cudnnGetConvolutionBackwardFilterAlgorithm_v7)
KILN_SAME_SIGNATURE(forward, cudnnConvolutionForward)
KILN_SAME_SIGNATURE(backwardData, cudnnConvolutionBackwardData)
KILN_SAME_SIGNATURE(backwardFilter, cudnnConvolutionBackwardFilter)
#undef KILN_SAME_SIGNATURE

} // namespace

TEST(CudnnApi, MatchesTheToolkitsHeader) {
  // The checks are the static_asserts above; this names the cuDNN version
  // they were made against.
  EXPECT_GE(CUDNN_MAJOR, 8);
}
