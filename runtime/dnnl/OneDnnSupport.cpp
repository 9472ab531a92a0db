//===- OneDnnSupport.cpp - Engine, threads, post-ops and errors for oneDNN ===//

#include "OneDnnSupport.h"

#include "kiln/runtime/Library.h"
#include "kiln/runtime/Status.h"

#include <oneapi/dnnl/dnnl_config.h>

#if DNNL_CPU_THREADING_RUNTIME == DNNL_RUNTIME_OMP
#include <omp.h>
#endif

#include <array>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

using namespace kiln::rt;
using namespace kiln::rt::onednn;

const dnnl::engine &onednn::cpuEngine() {
  static const dnnl::engine *engine =
      new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

dnnl::stream &onednn::threadStream() {
  thread_local dnnl::stream stream(cpuEngine());
  return stream;
}

int64_t onednn::useLibraryThreads() {
  int64_t threads = kiln_num_threads();
#if DNNL_CPU_THREADING_RUNTIME == DNNL_RUNTIME_OMP
  // oneDNN's OpenMP build parallelizes over omp_get_max_threads(), a
  // per-thread setting: apply it on the thread that makes the call.
  if (omp_get_max_threads() != threads)
    omp_set_num_threads(static_cast<int>(threads));
#endif
  return threads;
}

int64_t onednn::useThreadsForSplitSums() {
  if (!kiln_deterministic())
    return useLibraryThreads();
#if DNNL_CPU_THREADING_RUNTIME == DNNL_RUNTIME_OMP
  if (omp_get_max_threads() != 1)
    omp_set_num_threads(1);
#endif
  return 1;
}

namespace {

/// The oneDNN eltwise algorithm and its alpha for activation `code`.
std::pair<dnnl::algorithm, float> eltwiseFor(int64_t code, double alpha) {
  switch (code) {
#define KILN_ONEDNN_ELTWISE(NAME, name, value, eltwise, eltwiseAlpha)          \
  case KILN_ACTIVATION_##NAME:                                                 \
    return {dnnl::algorithm::eltwise, static_cast<float>(eltwiseAlpha)};
    KILN_ACTIVATIONS(KILN_ONEDNN_ELTWISE)
#undef KILN_ONEDNN_ELTWISE
  default:
    throw std::invalid_argument("unknown activation code " +
                                std::to_string(code));
  }
}

} // namespace

dnnl::primitive_attr onednn::fusedAttributes(bool hasResidual,
                                             int64_t activation, double alpha) {
  dnnl::post_ops postOps;
  if (hasResidual)
    postOps.append_sum(1.0f);
  if (activation != KILN_ACTIVATION_NONE) {
    auto [algorithm, eltwiseAlpha] = eltwiseFor(activation, alpha);
    postOps.append_eltwise(1.0f, algorithm, eltwiseAlpha, 0.0f);
  }
  dnnl::primitive_attr attributes;
  attributes.set_post_ops(postOps);
  attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attributes;
}

double onednn::activationParameter(int64_t activation, double alpha) {
  return activation == KILN_ACTIVATION_LEAKY_RELU ? alpha : 0.0;
}

namespace {

/// The calling thread's scratch buffers, freed when the thread ends.
class ScratchBuffers {
public:
  ScratchBuffers() = default;
  ScratchBuffers(const ScratchBuffers &) = delete;
  ScratchBuffers &operator=(const ScratchBuffers &) = delete;
  ~ScratchBuffers() {
    for (Buffer &buffer : buffers)
      std::free(buffer.data);
  }

  void *get(Scratch slot, size_t bytes) {
    Buffer &buffer = buffers[static_cast<size_t>(slot)];
    if (bytes <= buffer.capacity)
      return buffer.data;
    constexpr size_t alignment = 64;
    size_t rounded = (bytes + alignment - 1) / alignment * alignment;
    void *grown = std::aligned_alloc(alignment, rounded);
    if (!grown)
      throw std::bad_alloc();
    std::free(buffer.data);
    buffer.data = grown;
    buffer.capacity = rounded;
    return grown;
  }

private:
  struct Buffer {
    void *data = nullptr;
    size_t capacity = 0;
  };
  std::array<Buffer, static_cast<size_t>(Scratch::Count)> buffers;
};

} // namespace

void *onednn::scratchBuffer(Scratch slot, size_t bytes) {
  thread_local ScratchBuffers buffers;
  return buffers.get(slot, bytes);
}

void onednn::copyResidual(const float *residual, float *result, size_t count) {
  if (residual != result)
    std::memmove(result, residual, count * sizeof(float));
}

std::string onednn::describeCall(const char *name, const char *argNames,
                                 std::initializer_list<int64_t> values) {
  std::string text = std::string(name) + "(";
  const char *cursor = argNames;
  for (int64_t value : values) {
    const char *end = std::strchr(cursor, ' ');
    size_t length =
        end ? static_cast<size_t>(end - cursor) : std::strlen(cursor);
    if (cursor != argNames)
      text += ", ";
    text.append(cursor, length);
    text += "=" + std::to_string(value);
    cursor = end ? end + 1 : cursor + length;
  }
  return text + ")";
}

void onednn::failCall(const std::string &call, const std::string &reason) {
  detail::fatalError(call + ": " + reason);
}
