//===- Cuda.h - The runtime of artefacts compiled with --target=cuda ------===//
//
// An artefact compiled with `kilnc --target=cuda` runs its kernels through
// Kiln's CUDA runtime (runtime/cuda), linked into it: the CUDA driver API
// loaded with dlopen (libcuda.so.1, or $KILN_CUDA_DRIVER), so a machine
// without a GPU or driver runs every CPU artefact and gets a clear error
// ("no CUDA device: ...") only when it asks for the GPU.
//
// Its host code calls the `mgpu*` functions MLIR's gpu-to-llvm lowering
// emits, kiln_cuda_alloc / kiln_cuda_free for its temporaries and
// kiln_cuda_check_finite_* for its numerics checks; all of it goes, in
// order, onto one stream per artefact, which the host synchronizes only at
// the edges (KilnCudaApi::finish; and after each kernel while
// --check-numerics scans its output). Programs that call the artefact
// use the KilnCudaApi its `kiln_cuda_api` symbol returns: the artefact's own
// copy of this runtime, with its stream.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_H
#define KILN_RUNTIME_CUDA_H

#include <stddef.h>
#include <stdint.h>

extern "C" {

/// What a host program needs to run a GPU artefact's entry points. Every
/// function that can fail returns 0 on success, else writes a message
/// (NUL-terminated, truncated to `capacity`) and returns nonzero. After a
/// failure the runtime does nothing more until finish reports it.
struct KilnCudaApi {
  /// kKilnCudaApiVersion.
  int version;
  /// Loads the driver and makes a GPU's primary context current: the GPU
  /// $KILN_CUDA_DEVICE names (an ordinal), else, under an MPI launcher, the
  /// process's rank on its machine modulo the GPUs it has (one GPU per rank
  /// when there are as many), else the first.
  int (*initialize)(char *error, size_t capacity);
  /// `bytes` of device memory (null after a failure).
  void *(*allocate)(size_t bytes);
  void (*release)(void *device);
  /// Stream-ordered copies; `host` must stay valid until finish.
  void (*copyToDevice)(void *device, const void *host, size_t bytes);
  void (*copyToHost)(void *host, const void *device, size_t bytes);
  /// Names the entry point whose launches follow, for error messages.
  void (*beginEntry)(const char *entry);
  /// Waits for everything queued; reports the first failure since the last
  /// finish, naming the entry point and kernel, and clears it.
  int (*finish)(char *error, size_t capacity);
  /// Runs `work` now, on this thread, with the GPU's context current and
  /// the artefact's stream (a CUstream): what it queues on that stream runs
  /// in order with the artefact's kernels and copies (a library such as
  /// NCCL enqueues there). A nonzero return, with a message written to
  /// `error`, is a failure finish reports. After an earlier failure the
  /// work does not run (nonzero). It runs under the runtime's lock: it
  /// must not call this API.
  int (*submit)(int (*work)(void *stream, void *user, char *error,
                            size_t capacity),
                void *user);
  /// The ordinal of the GPU initialize chose (-1 before).
  int (*deviceOrdinal)(void);
  /// Its PCI bus id ("0000:3b:00.0"), which tells GPUs apart across
  /// processes whatever CUDA_VISIBLE_DEVICES renumbers; 0 on success.
  int (*deviceBusId)(char *id, size_t capacity);
  /// CUDA graphs. captureBegin starts recording the stream: what is queued
  /// on it until captureEnd (launches, allocations, cuBLASLt's products) is
  /// recorded, not run. 0 on success; nonzero where the driver has no
  /// graphs or KILN_CUDA_SYNC waits after each launch (nothing is then
  /// recorded).
  int (*captureBegin)(void);
  /// Ends the capture and returns the recorded work as a graph to launch,
  /// or null if the capture failed (finish says why).
  void *(*captureEnd)(void);
  /// Queues a graph's work on the stream, as if its calls were made again
  /// (with the same buffers).
  void (*launchGraph)(void *graph);
  void (*destroyGraph)(void *graph);
};

/// 4: the host's numerics hooks (KilnNumericsHooks) take GPU kernel times.
enum { kKilnCudaApiVersion = 4 };

/// How cuBLASLt and cuDNN compute float32 (kilnc --gpu-math), the last
/// int argument of each library call below.
enum {
  /// Float32 throughout, as on the CPU: CUBLAS_COMPUTE_32F, CUDNN_FMA_MATH.
  KILN_GPU_MATH_FLOAT32 = 0,
  /// TF32 tensor cores: CUBLAS_COMPUTE_32F_FAST_TF32, CUDNN_DEFAULT_MATH.
  KILN_GPU_MATH_TF32 = 1,
  /// bfloat16 tensor cores for products (CUBLAS_COMPUTE_32F_FAST_16BF);
  /// convolutions as with TF32 (cuDNN's legacy API converts float32 only to
  /// half precision, not bfloat16).
  KILN_GPU_MATH_BF16 = 2,
};

/// The runtime's API (exported by every GPU artefact).
const KilnCudaApi *kiln_cuda_api(void);

/// kiln_matmul_f32 (Library.h) on device buffers, for the host code of GPU
/// artefacts, computing as `math` (KILN_GPU_MATH_*) says: one cuBLASLt
/// matmul queued on the artefact's stream, its bias
/// and ReLU applied by cuBLASLt's epilogues (the only activations it takes;
/// any other is a programming error) and the residual as its C operand.
/// cuBLASLt is loaded with dlopen on first use: $KILN_CUBLASLT, else
/// libcublasLt.so.13, .12 or .11; without it, the call fails (finish says
/// why).
void kiln_cuda_matmul_f32(const float *lhs, const float *rhs, const float *bias,
                          const float *residual, float *result, int64_t m,
                          int64_t n, int64_t k, int64_t transposeLhs,
                          int64_t transposeRhs, int64_t activation,
                          int64_t math, double alpha);

/// `batch` products at once, as kiln_cuda_matmul_f32 without bias, residual
/// or activation: result[i] = op(lhs[i]) x op(rhs[i]) for i < batch, each
/// operand's matrices consecutive in its buffer (a [batch..., M, K]
/// tensor). One strided-batch cuBLASLt matmul.
void kiln_cuda_batch_matmul_f32(const float *lhs, const float *rhs,
                                float *result, int64_t batch, int64_t m,
                                int64_t n, int64_t k, int64_t transposeLhs,
                                int64_t transposeRhs, int64_t math);

/// The three passes of a float32 2-D convolution on device buffers,
/// channels-first, each one cuDNN call queued on the artefact's stream,
/// computing as `math` says. Their arguments are the CPU's
/// (kiln_conv2d_f32, kiln_conv_transpose2d_f32, kiln_conv2d_weight_grad_f32
/// in Library.h) less bias, residual and activation, which the generated
/// epilogue applies, and the transposed convolution's output padding, which
/// its result's size says. cuDNN is loaded with dlopen on first use:
/// $KILN_CUDNN, else libcudnn.so.9 or .8; without it, the call fails
/// (finish says why). Sizes must fit cuDNN's int descriptors, and each
/// tensor fewer than 2^31 elements.
///
/// result[n, outChannels, oh, ow] = conv2d(input [n, c, h, w], weight
/// [outChannels, c / groups, kh, kw]).
void kiln_cuda_conv2d_f32(const float *input, const float *weight,
                          float *result, int64_t n, int64_t c, int64_t h,
                          int64_t w, int64_t outChannels, int64_t kh,
                          int64_t kw, int64_t oh, int64_t ow, int64_t strideH,
                          int64_t strideW, int64_t padH, int64_t padW,
                          int64_t dilationH, int64_t dilationW, int64_t groups,
                          int64_t math);

/// result[n, outChannels, oh, ow] = conv_transpose2d(input [n, c, h, w],
/// weight [c, outChannels / groups, kh, kw]): the data gradient of the
/// convolution of the result's size to the input's.
void kiln_cuda_conv_transpose2d_f32(const float *input, const float *weight,
                                    float *result, int64_t n, int64_t c,
                                    int64_t h, int64_t w, int64_t outChannels,
                                    int64_t kh, int64_t kw, int64_t oh,
                                    int64_t ow, int64_t strideH,
                                    int64_t strideW, int64_t padH, int64_t padW,
                                    int64_t dilationH, int64_t dilationW,
                                    int64_t groups, int64_t math);

/// result[outChannels, c / groups, kh, kw] = the weight gradient of
/// conv2d(input [n, c, h, w]) given the gradient `grad` [n, outChannels, oh,
/// ow] of its result.
void kiln_cuda_conv2d_weight_grad_f32(
    const float *input, const float *grad, float *result, int64_t n, int64_t c,
    int64_t h, int64_t w, int64_t outChannels, int64_t kh, int64_t kw,
    int64_t oh, int64_t ow, int64_t strideH, int64_t strideW, int64_t padH,
    int64_t padW, int64_t dilationH, int64_t dilationW, int64_t groups,
    int64_t math);

} // extern "C"

#endif // KILN_RUNTIME_CUDA_H
