//===- CudnnApi.h - The part of cuDNN's C API Kiln calls -----------------===//
//
// cuDNN is loaded with dlopen, so Kiln builds without CUDA's headers: these
// are the types, constants and signatures of the convolution functions it
// calls, as cuDNN 8 and 9 declare them (cudnn_graph.h, cudnn_ops.h,
// cudnn_cnn.h; their C ABI is the same in both). tests/unit/CudnnApiTest.cpp
// checks each against cudnn.h where the CUDA toolkit has it.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_CUDNNAPI_H
#define KILN_RUNTIME_CUDA_CUDNNAPI_H

#include <cstddef>

namespace kiln::cudnn {

using Status = int;             // cudnnStatus_t
using Handle = void *;          // cudnnHandle_t
using TensorDesc = void *;      // cudnnTensorDescriptor_t
using FilterDesc = void *;      // cudnnFilterDescriptor_t
using ConvolutionDesc = void *; // cudnnConvolutionDescriptor_t

/// cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t, which have one
/// layout (the algorithm is each one's enum).
struct AlgoPerf {
  int algo;
  Status status;
  float time;
  size_t memory;
  int determinism;
  int mathType;
  int reserved[3];
};

constexpr Status kSuccess = 0;       // CUDNN_STATUS_SUCCESS
constexpr int kFloat = 0;            // CUDNN_DATA_FLOAT
constexpr int kNchw = 0;             // CUDNN_TENSOR_NCHW
constexpr int kCrossCorrelation = 1; // CUDNN_CROSS_CORRELATION
/// cudnnMathType_t. CUDNN_FMA_MATH: kernels of FMA instructions only, so
/// float32 stays float32; CUDNN_DEFAULT_MATH lets Ampere and later GPUs
/// compute float32 in TF32, on tensor cores (CUDNN_TENSOR_OP_MATH); with
/// CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION they may convert it to half.
constexpr int kDefaultMath = 0;
constexpr int kTensorOpMath = 1;
constexpr int kTensorOpAllowConversion = 2;
constexpr int kFmaMath = 3;

/// The functions, resolved by the names in KILN_CUDNN_SYMBOLS.
struct Functions {
  Status (*create)(Handle *);
  Status (*setStream)(Handle, void *stream);
  const char *(*errorString)(Status);
  Status (*createTensor)(TensorDesc *);
  Status (*setTensor4d)(TensorDesc, int format, int type, int n, int c, int h,
                        int w);
  Status (*destroyTensor)(TensorDesc);
  Status (*createFilter)(FilterDesc *);
  Status (*setFilter4d)(FilterDesc, int type, int format, int k, int c, int h,
                        int w);
  Status (*destroyFilter)(FilterDesc);
  Status (*createConvolution)(ConvolutionDesc *);
  Status (*setConvolution2d)(ConvolutionDesc, int padH, int padW, int strideH,
                             int strideW, int dilationH, int dilationW,
                             int mode, int computeType);
  Status (*setGroupCount)(ConvolutionDesc, int groups);
  Status (*setMathType)(ConvolutionDesc, int mathType);
  Status (*destroyConvolution)(ConvolutionDesc);
  Status (*forwardAlgorithms)(Handle, TensorDesc x, FilterDesc w,
                              ConvolutionDesc, TensorDesc y, int requested,
                              int *returned, AlgoPerf *results);
  Status (*backwardDataAlgorithms)(Handle, FilterDesc w, TensorDesc dy,
                                   ConvolutionDesc, TensorDesc dx,
                                   int requested, int *returned,
                                   AlgoPerf *results);
  Status (*backwardFilterAlgorithms)(Handle, TensorDesc x, TensorDesc dy,
                                     ConvolutionDesc, FilterDesc dw,
                                     int requested, int *returned,
                                     AlgoPerf *results);
  Status (*forward)(Handle, const void *alpha, TensorDesc xDesc, const void *x,
                    FilterDesc wDesc, const void *w, ConvolutionDesc, int algo,
                    void *workspace, size_t workspaceBytes, const void *beta,
                    TensorDesc yDesc, void *y);
  Status (*backwardData)(Handle, const void *alpha, FilterDesc wDesc,
                         const void *w, TensorDesc dyDesc, const void *dy,
                         ConvolutionDesc, int algo, void *workspace,
                         size_t workspaceBytes, const void *beta,
                         TensorDesc dxDesc, void *dx);
  Status (*backwardFilter)(Handle, const void *alpha, TensorDesc xDesc,
                           const void *x, TensorDesc dyDesc, const void *dy,
                           ConvolutionDesc, int algo, void *workspace,
                           size_t workspaceBytes, const void *beta,
                           FilterDesc dwDesc, void *dw);
};

/// Each field of Functions and cuDNN's symbol for it.
#define KILN_CUDNN_SYMBOLS(X)                                                  \
  X(create, "cudnnCreate")                                                     \
  X(setStream, "cudnnSetStream")                                               \
  X(errorString, "cudnnGetErrorString")                                        \
  X(createTensor, "cudnnCreateTensorDescriptor")                               \
  X(setTensor4d, "cudnnSetTensor4dDescriptor")                                 \
  X(destroyTensor, "cudnnDestroyTensorDescriptor")                             \
  X(createFilter, "cudnnCreateFilterDescriptor")                               \
  X(setFilter4d, "cudnnSetFilter4dDescriptor")                                 \
  X(destroyFilter, "cudnnDestroyFilterDescriptor")                             \
  X(createConvolution, "cudnnCreateConvolutionDescriptor")                     \
  X(setConvolution2d, "cudnnSetConvolution2dDescriptor")                       \
  X(setGroupCount, "cudnnSetConvolutionGroupCount")                            \
  X(setMathType, "cudnnSetConvolutionMathType")                                \
  X(destroyConvolution, "cudnnDestroyConvolutionDescriptor")                   \
  X(forwardAlgorithms, "cudnnGetConvolutionForwardAlgorithm_v7")               \
  X(backwardDataAlgorithms, "cudnnGetConvolutionBackwardDataAlgorithm_v7")     \
  X(backwardFilterAlgorithms, "cudnnGetConvolutionBackwardFilterAlgorithm_v7") \
  X(forward, "cudnnConvolutionForward")                                        \
  X(backwardData, "cudnnConvolutionBackwardData")                              \
  X(backwardFilter, "cudnnConvolutionBackwardFilter")

} // namespace kiln::cudnn

#endif // KILN_RUNTIME_CUDA_CUDNNAPI_H
