//===- CompiledKernels.cpp - Kiln-compiled kernels against their roofline -===//
//
// Each Kiln-compiled kernel runs next to its reference in the same process:
// matrix products and convolutions next to direct oneDNN calls, memory-bound
// kernels next to hand-written loops and the measured copy bandwidth. Each
// benchmark reports FLOP/s or B/s; bench/run.sh turns them into ratios.
// oneDNN and the parallel loops of generated code (kiln-parallelize) run on
// one thread unless a benchmark's `threads` argument says otherwise.
// Hand-written loops are single-threaded.
//
//===----------------------------------------------------------------------===//

#include "compiler/Pipelines/Pipelines.h"
#include "compiler/Target/CPU/JitSession.h"
#include "kiln/runtime/CodegenSupport.h"
#include "kiln/runtime/HostTensor.h"
#include "kiln/runtime/Library.h"
#include "kiln/runtime/Manifest.h"

#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <immintrin.h>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

using kiln::rt::DType;
using kiln::rt::HostTensor;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// A tensor of uniform random floats in [low, high).
HostTensor randomTensor(std::vector<int64_t> shape, float low = -1.0f,
                        float high = 1.0f) {
  static std::mt19937 generator(42);
  HostTensor tensor = HostTensor::zeros(DType::F32, std::move(shape)).value();
  std::uniform_real_distribution<float> distribution(low, high);
  float *data = tensor.data<float>();
  for (int64_t i = 0; i < tensor.numElements(); ++i)
    data[i] = distribution(generator);
  return tensor;
}

/// A graph module compiled by Kiln, with random arguments and zeroed results.
struct CompiledKernel {
  std::unique_ptr<kiln::jit::Session> session;
  std::vector<HostTensor> arguments;
  std::vector<HostTensor> results;

  /// Runs entry `f`; false (with the message on stderr) if the run fails.
  bool run() {
    kiln::rt::Status status = session->run("f", arguments, results);
    if (!status.ok())
      std::fprintf(stderr, "kiln-bench: %s\n", status.message().c_str());
    return status.ok();
  }
};

/// Compiled kernels by module text and options. main empties it before
/// returning: a Session must not outlive LLVM's globals, which exit destroys.
std::map<std::string, std::unique_ptr<CompiledKernel>> &kernelCache() {
  static std::map<std::string, std::unique_ptr<CompiledKernel>> cache;
  return cache;
}

/// Compiles `graphIR` (entry `f`) once per set of options and caches it, so
/// that Google Benchmark's repeated calls of a benchmark compile nothing.
/// Null (after printing the diagnostics) if it does not compile.
CompiledKernel *compiledKernel(const std::string &graphIR, bool fusion = true,
                               bool libraryCalls = true) {
  std::string key = graphIR + (fusion ? "+fusion" : "-fusion") +
                    (libraryCalls ? "+library" : "-library");
  auto [slot, inserted] = kernelCache().try_emplace(key);
  if (!inserted)
    return slot->second.get();

  kiln::jit::Options options;
  options.fusion = fusion;
  options.libraryCalls = libraryCalls;
  std::string error;
  auto kernel = std::make_unique<CompiledKernel>();
  kernel->session = kiln::jit::Session::compile(graphIR, options, error);
  if (!kernel->session) {
    std::fprintf(stderr, "kiln-bench: cannot compile:\n%s\n%s", graphIR.c_str(),
                 error.c_str());
    return nullptr;
  }
  const kiln::rt::EntrySpec &entry = *kernel->session->findEntry("f");
  for (const kiln::rt::ArgumentSpec &argument : entry.arguments)
    kernel->arguments.push_back(randomTensor(argument.tensor.shape));
  kernel->results = kiln::rt::allocateResults(entry).value();
  slot->second = std::move(kernel);
  return slot->second.get();
}

/// Times `kernel` after one warm-up run; a kernel that does not compile or
/// fails to run skips the benchmark with an error.
void timeCompiled(benchmark::State &state, CompiledKernel *kernel) {
  if (!kernel) {
    state.SkipWithError("does not compile");
    return;
  }
  if (!kernel->run()) {
    state.SkipWithError("compiled kernel failed");
    return;
  }
  for (auto _ : state) {
    if (!kernel->run()) {
      state.SkipWithError("compiled kernel failed");
      break;
    }
  }
}

/// Sets a rate counter: `amount` per iteration, reported per second.
void setRate(benchmark::State &state, const char *name, double amount) {
  state.counters[name] =
      benchmark::Counter(amount * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

void setFlops(benchmark::State &state, double flops) {
  setRate(state, "FLOP/s", flops);
}

void setBytes(benchmark::State &state, double bytes) {
  setRate(state, "B/s", bytes);
}

/// Sets the runtime's thread count (oneDNN and generated parallel loops) for
/// one benchmark; restores one thread after.
class ThreadScope {
public:
  explicit ThreadScope(int64_t threads) { kiln_set_num_threads(threads); }
  ~ThreadScope() { kiln_set_num_threads(1); }
};

/// Common settings: wall-clock time (oneDNN may use two threads), a warm-up.
void configure(benchmark::internal::Benchmark *benchmark) {
  benchmark->UseRealTime()->MinWarmUpTime(0.1)->Unit(benchmark::kMicrosecond);
}

/// One and two threads, as the `threads` argument.
void oneAndTwoThreads(benchmark::internal::Benchmark *benchmark) {
  benchmark->ArgName("threads")->Arg(1)->Arg(2);
}

//===----------------------------------------------------------------------===//
// Rooflines: sgemm peak and copy bandwidth
//===----------------------------------------------------------------------===//

void BM_SgemmOneDnn(benchmark::State &state) {
  ThreadScope threads(state.range(0));
  constexpr int64_t n = 1024;
  HostTensor a = randomTensor({n, n}), b = randomTensor({n, n});
  HostTensor c = randomTensor({n, n});
  auto call = [&] {
    kiln_matmul_f32(a.data<float>(), b.data<float>(), nullptr, nullptr,
                    c.data<float>(), n, n, n, 0, 0, KILN_ACTIVATION_NONE, 0.0);
  };
  call();
  for (auto _ : state)
    call();
  setFlops(state, 2.0 * n * n * n);
}

//===----------------------------------------------------------------------===//
// Sizes of the memory-bound benchmarks
//===----------------------------------------------------------------------===//

/// Memory-bound kernels and the copy work on [rows, Cols] float32 tensors, at
/// two sizes given as the `rows` argument: CacheRows, 16 MiB per tensor,
/// which a large L3 largely holds between calls, and memoryRows(), STREAM's
/// size (each array at least four times the last-level cache), which streams
/// from memory.
constexpr int64_t Cols = 1024;
constexpr int64_t CacheRows = 4096;

/// Rows of a tensor four times the last-level cache, in multiples of
/// CacheRows; sysfs is read once, by the first registration that asks.
int64_t memoryRows() {
  static const int64_t rows = [] {
    int64_t rowBytes = Cols * sizeof(float);
    int64_t fit = 4 * kiln::hostLastLevelCacheBytes() / rowBytes;
    return std::max<int64_t>(CacheRows,
                             (fit + CacheRows - 1) / CacheRows * CacheRows);
  }();
  return rows;
}

/// One read and one write of a [rows, Cols] f32 tensor.
double rowsColsTraffic(int64_t rows) {
  return 2.0 * rows * Cols * sizeof(float);
}

/// `graphIR` with every `ROWS` replaced by `rows`.
std::string withRows(const char *graphIR, int64_t rows) {
  std::string text = graphIR, number = std::to_string(rows);
  for (size_t at = text.find("ROWS"); at != std::string::npos;
       at = text.find("ROWS", at + number.size()))
    text.replace(at, 4, number);
  return text;
}

/// Both sizes, as the `rows` argument, with one and two threads.
void rowsAndThreads(benchmark::internal::Benchmark *benchmark) {
  benchmark->ArgNames({"rows", "threads"})
      ->ArgsProduct({{CacheRows, memoryRows()}, {1, 2}});
}

/// Fused on one and two threads and unfused on one, at both sizes.
void chains(benchmark::internal::Benchmark *benchmark) {
  benchmark->ArgNames({"fusion", "rows", "threads"});
  for (int64_t rows : {CacheRows, memoryRows()})
    benchmark->Args({1, rows, 1})->Args({0, rows, 1})->Args({1, rows, 2});
}

/// Both sizes, as the `rows` argument.
void bothSizes(benchmark::internal::Benchmark *benchmark) {
  benchmark->ArgName("rows")->Arg(CacheRows)->Arg(memoryRows());
}

//===----------------------------------------------------------------------===//
// Copy bandwidth
//===----------------------------------------------------------------------===//

void BM_CopyMemcpy(benchmark::State &state) {
  int64_t rows = state.range(0);
  HostTensor a = randomTensor({rows, Cols}), b = randomTensor({rows, Cols});
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), a.sizeInBytes());
    benchmark::ClobberMemory();
  }
  setBytes(state, rowsColsTraffic(rows));
}

/// b[i] = a[i], kept a loop (CMakeLists.txt stops the compiler from turning
/// it into a memcpy call): ordinary vector loads and stores, like generated
/// code.
void copyLoop(const float *__restrict a, float *__restrict b, int64_t size) {
  for (int64_t i = 0; i < size; ++i)
    b[i] = a[i];
}

/// Blocks [begin, end) of 64 KiB of the copy, as a body of kiln_parallel_for.
constexpr int64_t CopyBlockFloats = (64 << 10) / sizeof(float);
void copyBlocks(int64_t begin, int64_t end, void *a, void *b) {
  copyLoop(static_cast<const float *>(a) + begin * CopyBlockFloats,
           static_cast<float *>(b) + begin * CopyBlockFloats,
           (end - begin) * CopyBlockFloats);
}

/// The copy with non-temporal stores, which write whole lines past the
/// cache instead of first reading them (as Kiln's softmax and layer norm
/// write outputs larger than the last-level cache): the bandwidth a kernel
/// reading and writing memory once can reach.
void streamCopyBlocks(int64_t begin, int64_t end, void *a, void *b) {
  const float *from = static_cast<const float *>(a) + begin * CopyBlockFloats;
  float *to = static_cast<float *>(b) + begin * CopyBlockFloats;
  int64_t size = (end - begin) * CopyBlockFloats;
#if defined(__AVX512F__)
  for (int64_t i = 0; i < size; i += 16)
    _mm512_stream_ps(to + i, _mm512_load_ps(from + i));
#elif defined(__AVX__)
  for (int64_t i = 0; i < size; i += 8)
    _mm256_stream_ps(to + i, _mm256_load_ps(from + i));
#else
  for (int64_t i = 0; i < size; i += 4)
    _mm_stream_ps(to + i, _mm_load_ps(from + i));
#endif
  _mm_sfence();
}

/// `body` (a kiln_parallel_for body over 64 KiB blocks) copying a into b on
/// the runtime's threads (the pool generated parallel loops run on), split
/// into contiguous chunks as kiln-parallelize splits them.
void timeCopy(benchmark::State &state, void (*body)(int64_t, int64_t, void *,
                                                    void *)) {
  int64_t rows = state.range(0);
  ThreadScope threads(state.range(1));
  HostTensor a = randomTensor({rows, Cols}), b = randomTensor({rows, Cols});
  auto call = [&] {
    kiln_parallel_for(reinterpret_cast<void *>(body), a.data(),
                      b.data(), nullptr, nullptr, nullptr, nullptr, nullptr,
                      nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                      nullptr, nullptr, nullptr, /*count=*/2, /*lb=*/0,
                      rows * Cols / CopyBlockFloats, /*step=*/1);
  };
  for (auto _ : state) {
    call();
    benchmark::ClobberMemory();
  }
  setBytes(state, rowsColsTraffic(rows));
}

void BM_CopyLoop(benchmark::State &state) { timeCopy(state, &copyBlocks); }

void BM_CopyStream(benchmark::State &state) {
  timeCopy(state, &streamCopyBlocks);
}

//===----------------------------------------------------------------------===//
// Matrix product and convolution: compiled vs direct oneDNN
//===----------------------------------------------------------------------===//

constexpr int64_t MatmulM = 256, MatmulK = 784, MatmulN = 128;
constexpr double MatmulFlops = 2.0 * MatmulM * MatmulN * MatmulK;

const char *const MatmulIR = R"(
func.func @f(%x: tensor<256x784xf32> {graph.input = "x"},
             %w: tensor<128x784xf32> {graph.input = "w"})
    -> (tensor<256x128xf32> {graph.output = "y"}) {
  %0 = graph.matmul %x, %w {transpose_rhs} : tensor<256x784xf32>, tensor<128x784xf32>
  return %0 : tensor<256x128xf32>
}
)";

void BM_MatmulKiln(benchmark::State &state) {
  ThreadScope threads(state.range(0));
  timeCompiled(state, compiledKernel(MatmulIR));
  setFlops(state, MatmulFlops);
}

void BM_MatmulOneDnn(benchmark::State &state) {
  ThreadScope threads(state.range(0));
  HostTensor x = randomTensor({MatmulM, MatmulK});
  HostTensor w = randomTensor({MatmulN, MatmulK});
  HostTensor y = randomTensor({MatmulM, MatmulN});
  auto call = [&] {
    kiln_matmul_f32(x.data<float>(), w.data<float>(), nullptr, nullptr,
                    y.data<float>(), MatmulM, MatmulN, MatmulK,
                    /*transposeLhs=*/0, /*transposeRhs=*/1,
                    KILN_ACTIVATION_NONE, 0.0);
  };
  call();
  for (auto _ : state)
    call();
  setFlops(state, MatmulFlops);
}

constexpr int64_t ConvN = 64, ConvC = 32, ConvSize = 14, ConvO = 64;
constexpr double ConvFlops =
    2.0 * ConvN * ConvO * ConvSize * ConvSize * ConvC * 9;

const char *const ConvIR = R"(
func.func @f(%x: tensor<64x32x14x14xf32> {graph.input = "x"},
             %w: tensor<64x32x3x3xf32> {graph.input = "w"})
    -> (tensor<64x64x14x14xf32> {graph.output = "y"}) {
  %0 = graph.conv2d %x, %w {padding = array<i64: 1, 1>} : tensor<64x32x14x14xf32>, tensor<64x32x3x3xf32>
  return %0 : tensor<64x64x14x14xf32>
}
)";

void BM_Conv2dKiln(benchmark::State &state) {
  timeCompiled(state, compiledKernel(ConvIR));
  setFlops(state, ConvFlops);
}

void BM_Conv2dOneDnn(benchmark::State &state) {
  HostTensor x = randomTensor({ConvN, ConvC, ConvSize, ConvSize});
  HostTensor w = randomTensor({ConvO, ConvC, 3, 3});
  HostTensor y = randomTensor({ConvN, ConvO, ConvSize, ConvSize});
  auto call = [&] {
    kiln_conv2d_f32(x.data<float>(), w.data<float>(), nullptr, nullptr,
                    y.data<float>(), ConvN, ConvC, ConvSize, ConvSize, ConvO,
                    /*kh=*/3, /*kw=*/3, ConvSize, ConvSize, /*strideH=*/1,
                    /*strideW=*/1, /*padH=*/1, /*padW=*/1, /*dilationH=*/1,
                    /*dilationW=*/1, /*groups=*/1, KILN_ACTIVATION_NONE, 0.0);
  };
  call();
  for (auto _ : state)
    call();
  setFlops(state, ConvFlops);
}

/// ddpm's 32-channel 3x3 layer on channels-last data: Kiln's NHWC entry
/// point (Winograd's F(4x4, 3x3), Winograd.cpp) beside oneDNN's direct
/// convolution on the same NHWC buffers, its weights reordered once
/// outside the timed loop (Kiln transforms its weights on every call).
/// Rated by the direct convolution's floating-point operations.
constexpr int64_t WinogradN = 64, WinogradC = 32, WinogradSize = 28;
constexpr double WinogradFlops =
    2.0 * WinogradN * WinogradC * WinogradSize * WinogradSize * WinogradC * 9;

/// The layer's NHWC input and result and its [o, c, 3, 3] weight.
struct WinogradLayer {
  HostTensor x =
      randomTensor({WinogradN, WinogradSize, WinogradSize, WinogradC});
  HostTensor w = randomTensor({WinogradC, WinogradC, 3, 3});
  HostTensor y =
      randomTensor({WinogradN, WinogradSize, WinogradSize, WinogradC});
};

void BM_Conv2dNhwcKiln(benchmark::State &state) {
  ThreadScope threads(state.range(0));
  WinogradLayer layer;
  HostTensor &x = layer.x, &w = layer.w, &y = layer.y;
  auto call = [&] {
    kiln_conv2d_nhwc_f32(x.data<float>(), w.data<float>(), nullptr, nullptr,
                         y.data<float>(), WinogradN, WinogradC, WinogradSize,
                         WinogradSize, WinogradC, 3, 3, WinogradSize,
                         WinogradSize, 1, 1, 1, 1, 1, 1, 1,
                         KILN_ACTIVATION_NONE, 0.0);
  };
  call();
  for (auto _ : state)
    call();
  setFlops(state, WinogradFlops);
}

void BM_Conv2dNhwcOneDnn(benchmark::State &state) {
  ThreadScope threads(state.range(0));
  WinogradLayer layer;
  HostTensor &x = layer.x, &w = layer.w, &y = layer.y;
  using Tag = dnnl::memory::format_tag;
  constexpr auto f32 = dnnl::memory::data_type::f32;
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  dnnl::memory::desc images({WinogradN, WinogradC, WinogradSize, WinogradSize},
                            f32, Tag::nhwc);
  dnnl::memory::desc plainWeights({WinogradC, WinogradC, 3, 3}, f32, Tag::oihw);
  dnnl::memory::desc anyWeights({WinogradC, WinogradC, 3, 3}, f32, Tag::any);
  dnnl::convolution_forward::primitive_desc pd(
      dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                      dnnl::algorithm::convolution_direct,
                                      images, anyWeights, images, {1, 1},
                                      {1, 1}, {1, 1}),
      engine);
  dnnl::memory given(plainWeights, engine, w.data());
  dnnl::memory weights(pd.weights_desc(), engine);
  dnnl::reorder(given, weights).execute(stream, given, weights);
  dnnl::convolution_forward convolution(pd);
  dnnl::memory source(images, engine, x.data());
  dnnl::memory destination(images, engine, y.data());
  auto call = [&] {
    convolution.execute(stream, {{DNNL_ARG_SRC, source},
                                 {DNNL_ARG_WEIGHTS, weights},
                                 {DNNL_ARG_DST, destination}});
    stream.wait();
  };
  call();
  for (auto _ : state)
    call();
  setFlops(state, WinogradFlops);
}

//===----------------------------------------------------------------------===//
// Memory-bound kernels on [rows, 1024]: compiled vs hand-written loops
//===----------------------------------------------------------------------===//

/// Times `graphIR`, a kernel on [rows, Cols] tensors (`ROWS` in the text),
/// on `threads` threads, rated by one read and one write of such a tensor.
void timeRowsCols(benchmark::State &state, const char *graphIR, int64_t rows,
                  int64_t threads, bool fusion = true) {
  ThreadScope scope(threads);
  timeCompiled(state, compiledKernel(withRows(graphIR, rows), fusion));
  setBytes(state, rowsColsTraffic(rows));
}

const char *const SoftmaxIR = R"(
func.func @f(%x: tensor<ROWSx1024xf32> {graph.input = "x"})
    -> (tensor<ROWSx1024xf32> {graph.output = "y"}) {
  %0 = graph.softmax %x {axis = -1 : i64} : tensor<ROWSx1024xf32>
  return %0 : tensor<ROWSx1024xf32>
}
)";

/// Softmax of each row: the maximum, then exp and sum, then scaling of the
/// (cache-resident) output row.
void softmaxLoop(const float *x, float *y, int64_t rows) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *in = x + r * Cols;
    float *out = y + r * Cols;
    float maximum = in[0];
    for (int64_t c = 1; c < Cols; ++c)
      maximum = std::max(maximum, in[c]);
    float sum = 0.0f;
    for (int64_t c = 0; c < Cols; ++c) {
      out[c] = std::exp(in[c] - maximum);
      sum += out[c];
    }
    float scale = 1.0f / sum;
    for (int64_t c = 0; c < Cols; ++c)
      out[c] *= scale;
  }
}

void BM_SoftmaxKiln(benchmark::State &state) {
  timeRowsCols(state, SoftmaxIR, /*rows=*/state.range(0),
               /*threads=*/state.range(1));
}

void BM_SoftmaxLoop(benchmark::State &state) {
  int64_t rows = state.range(0);
  HostTensor x = randomTensor({rows, Cols}), y = randomTensor({rows, Cols});
  softmaxLoop(x.data<float>(), y.data<float>(), rows);
  for (auto _ : state) {
    softmaxLoop(x.data<float>(), y.data<float>(), rows);
    benchmark::ClobberMemory();
  }
  setBytes(state, rowsColsTraffic(rows));
}

/// oneDNN's softmax primitive (forward inference, max subtracted) on the
/// same rows: the vendor library's hand-tuned kernel for this machine.
void BM_SoftmaxOneDnn(benchmark::State &state) {
  int64_t rows = state.range(0);
  ThreadScope threads(state.range(1));
  HostTensor x = randomTensor({rows, Cols}), y = randomTensor({rows, Cols});
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  dnnl::memory::desc matrix({rows, Cols}, dnnl::memory::data_type::f32,
                            dnnl::memory::format_tag::ab);
  dnnl::softmax_forward softmax(dnnl::softmax_forward::primitive_desc(
      dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, matrix,
                                  /*softmax_axis=*/1),
      engine));
  dnnl::memory source(matrix, engine, x.data());
  dnnl::memory destination(matrix, engine, y.data());
  auto call = [&] {
    softmax.execute(stream,
                    {{DNNL_ARG_SRC, source}, {DNNL_ARG_DST, destination}});
    stream.wait();
  };
  call();
  for (auto _ : state)
    call();
  setBytes(state, rowsColsTraffic(rows));
}

const char *const LayerNormIR = R"(
func.func @f(%x: tensor<ROWSx1024xf32> {graph.input = "x"},
             %g: tensor<1024xf32> {graph.input = "g"},
             %b: tensor<1024xf32> {graph.input = "b"})
    -> (tensor<ROWSx1024xf32> {graph.output = "y"}) {
  %0 = graph.layer_norm %x, %g, %b : tensor<ROWSx1024xf32>, tensor<1024xf32>, tensor<1024xf32>
  return %0 : tensor<ROWSx1024xf32>
}
)";

/// Layer norm of each row (epsilon 1e-5, biased variance): mean, variance,
/// then the scaled and shifted output.
void layerNormLoop(const float *x, const float *weight, const float *bias,
                   float *y, int64_t rows) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *in = x + r * Cols;
    float *out = y + r * Cols;
    float sum = 0.0f;
    for (int64_t c = 0; c < Cols; ++c)
      sum += in[c];
    float mean = sum / Cols;
    float squares = 0.0f;
    for (int64_t c = 0; c < Cols; ++c)
      squares += (in[c] - mean) * (in[c] - mean);
    float invStd = 1.0f / std::sqrt(squares / Cols + 1e-5f);
    for (int64_t c = 0; c < Cols; ++c)
      out[c] = (in[c] - mean) * invStd * weight[c] + bias[c];
  }
}

void BM_LayerNormKiln(benchmark::State &state) {
  timeRowsCols(state, LayerNormIR, /*rows=*/state.range(0),
               /*threads=*/state.range(1));
}

void BM_LayerNormLoop(benchmark::State &state) {
  int64_t rows = state.range(0);
  HostTensor x = randomTensor({rows, Cols}), y = randomTensor({rows, Cols});
  HostTensor weight = randomTensor({Cols}), bias = randomTensor({Cols});
  auto call = [&] {
    layerNormLoop(x.data<float>(), weight.data<float>(), bias.data<float>(),
                  y.data<float>(), rows);
  };
  call();
  for (auto _ : state) {
    call();
    benchmark::ClobberMemory();
  }
  setBytes(state, rowsColsTraffic(rows));
}

/// y = exp(-(tanh(sigmoid(x * 0.5 + b) * x - 1) + relu(x))): ten
/// elementwise ops, one broadcast operand.
const char *const ChainIR = R"(
func.func @f(%x: tensor<ROWSx1024xf32> {graph.input = "x"},
             %b: tensor<1024xf32> {graph.input = "b"})
    -> (tensor<ROWSx1024xf32> {graph.output = "y"}) {
  %half = graph.constant dense<0.5> : tensor<f32>
  %one = graph.constant dense<1.0> : tensor<f32>
  %0 = graph.mul %x, %half : tensor<ROWSx1024xf32>, tensor<f32>
  %1 = graph.add %0, %b : tensor<ROWSx1024xf32>, tensor<1024xf32>
  %2 = graph.sigmoid %1 : tensor<ROWSx1024xf32>
  %3 = graph.mul %2, %x : tensor<ROWSx1024xf32>, tensor<ROWSx1024xf32>
  %4 = graph.sub %3, %one : tensor<ROWSx1024xf32>, tensor<f32>
  %5 = graph.tanh %4 : tensor<ROWSx1024xf32>
  %6 = graph.relu %x : tensor<ROWSx1024xf32>
  %7 = graph.add %5, %6 : tensor<ROWSx1024xf32>, tensor<ROWSx1024xf32>
  %8 = graph.neg %7 : tensor<ROWSx1024xf32>
  %9 = graph.exp %8 : tensor<ROWSx1024xf32>
  return %9 : tensor<ROWSx1024xf32>
}
)";

/// The chain of ChainIR as one loop.
void chainLoop(const float *x, const float *b, float *y, int64_t rows) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < Cols; ++c) {
      float v = x[r * Cols + c];
      float sigmoid = 1.0f / (1.0f + std::exp(-(v * 0.5f + b[c])));
      float t = std::tanh(sigmoid * v - 1.0f) + std::max(v, 0.0f);
      y[r * Cols + c] = std::exp(-t);
    }
}

void BM_ChainKiln(benchmark::State &state) {
  timeRowsCols(state, ChainIR, /*rows=*/state.range(1),
               /*threads=*/state.range(2), /*fusion=*/state.range(0));
}

void BM_ChainLoop(benchmark::State &state) {
  int64_t rows = state.range(0);
  HostTensor x = randomTensor({rows, Cols}), y = randomTensor({rows, Cols});
  HostTensor b = randomTensor({Cols});
  chainLoop(x.data<float>(), b.data<float>(), y.data<float>(), rows);
  for (auto _ : state) {
    chainLoop(x.data<float>(), b.data<float>(), y.data<float>(), rows);
    benchmark::ClobberMemory();
  }
  setBytes(state, rowsColsTraffic(rows));
}

/// y = max(-(|relu(x * 0.5 + b) * x - 1| * 0.25 + x), x): ten cheap
/// elementwise ops, one broadcast operand; bound by memory once fused.
const char *const CheapChainIR = R"(
func.func @f(%x: tensor<ROWSx1024xf32> {graph.input = "x"},
             %b: tensor<1024xf32> {graph.input = "b"})
    -> (tensor<ROWSx1024xf32> {graph.output = "y"}) {
  %half = graph.constant dense<0.5> : tensor<f32>
  %one = graph.constant dense<1.0> : tensor<f32>
  %quarter = graph.constant dense<0.25> : tensor<f32>
  %0 = graph.mul %x, %half : tensor<ROWSx1024xf32>, tensor<f32>
  %1 = graph.add %0, %b : tensor<ROWSx1024xf32>, tensor<1024xf32>
  %2 = graph.relu %1 : tensor<ROWSx1024xf32>
  %3 = graph.mul %2, %x : tensor<ROWSx1024xf32>, tensor<ROWSx1024xf32>
  %4 = graph.sub %3, %one : tensor<ROWSx1024xf32>, tensor<f32>
  %5 = graph.abs %4 : tensor<ROWSx1024xf32>
  %6 = graph.mul %5, %quarter : tensor<ROWSx1024xf32>, tensor<f32>
  %7 = graph.add %6, %x : tensor<ROWSx1024xf32>, tensor<ROWSx1024xf32>
  %8 = graph.neg %7 : tensor<ROWSx1024xf32>
  %9 = graph.maximum %8, %x : tensor<ROWSx1024xf32>, tensor<ROWSx1024xf32>
  return %9 : tensor<ROWSx1024xf32>
}
)";

void BM_CheapChainKiln(benchmark::State &state) {
  timeRowsCols(state, CheapChainIR, /*rows=*/state.range(1),
               /*threads=*/state.range(2), /*fusion=*/state.range(0));
}

} // namespace

BENCHMARK(BM_SgemmOneDnn)->Apply(oneAndTwoThreads)->Apply(configure);
BENCHMARK(BM_CopyMemcpy)->Apply(bothSizes)->Apply(configure);
BENCHMARK(BM_CopyLoop)->Apply(rowsAndThreads)->Apply(configure);
BENCHMARK(BM_CopyStream)->Apply(rowsAndThreads)->Apply(configure);
BENCHMARK(BM_MatmulKiln)->Apply(oneAndTwoThreads)->Apply(configure);
BENCHMARK(BM_MatmulOneDnn)->Apply(oneAndTwoThreads)->Apply(configure);
BENCHMARK(BM_Conv2dKiln)->Apply(configure);
BENCHMARK(BM_Conv2dOneDnn)->Apply(configure);
BENCHMARK(BM_Conv2dNhwcKiln)->Apply(oneAndTwoThreads)->Apply(configure);
BENCHMARK(BM_Conv2dNhwcOneDnn)->Apply(oneAndTwoThreads)->Apply(configure);
BENCHMARK(BM_SoftmaxKiln)->Apply(rowsAndThreads)->Apply(configure);
BENCHMARK(BM_SoftmaxLoop)->Apply(bothSizes)->Apply(configure);
BENCHMARK(BM_SoftmaxOneDnn)->Apply(rowsAndThreads)->Apply(configure);
BENCHMARK(BM_LayerNormKiln)->Apply(rowsAndThreads)->Apply(configure);
BENCHMARK(BM_LayerNormLoop)->Apply(bothSizes)->Apply(configure);
BENCHMARK(BM_ChainKiln)->Apply(chains)->Apply(configure);
BENCHMARK(BM_ChainLoop)->Apply(bothSizes)->Apply(configure);
BENCHMARK(BM_CheapChainKiln)->Apply(chains)->Apply(configure);

int main(int argc, char **argv) {
  // Single-threaded oneDNN, like the generated code, unless a benchmark's
  // `threads` argument says otherwise.
  kiln_set_num_threads(1);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  kernelCache().clear();
  return 0;
}
