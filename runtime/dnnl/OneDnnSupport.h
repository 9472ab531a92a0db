//===- OneDnnSupport.h - Engine, threads, post-ops and errors for oneDNN --===//
//
// What the library's matmul and convolution entry points share: the CPU
// engine and per-thread streams, the thread count, the fused post-ops,
// per-thread scratch buffers, and the guard that keeps exceptions from
// crossing the C ABI.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_DNNL_ONEDNNSUPPORT_H
#define KILN_RUNTIME_DNNL_ONEDNNSUPPORT_H

#include <oneapi/dnnl/dnnl.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <string>
#include <utility>

namespace kiln::rt::onednn {

/// The process's CPU engine, created on first use and never destroyed (so
/// that primitives cached for the whole process never outlive it).
const dnnl::engine &cpuEngine();

/// The calling thread's stream on cpuEngine(). Each thread has its own, so
/// threads may run primitives concurrently.
dnnl::stream &threadStream();

/// Makes the calling thread's oneDNN calls use kiln_num_threads() threads,
/// and returns that count. oneDNN partitions work for a thread count when it
/// creates a primitive, so the count belongs in every cache key.
int64_t useLibraryThreads();
/// The threads for an op whose sums oneDNN splits across threads: one with
/// kiln_set_deterministic, else useLibraryThreads().
int64_t useThreadsForSplitSums();

/// Attributes for a primitive whose result is `act(op + residual)`: a user
/// scratchpad (see scratchBuffer), then a sum post-op when `hasResidual` (the
/// residual must be in the destination before the primitive runs), then the
/// activation as an eltwise post-op. Throws std::invalid_argument for an
/// unknown activation code.
dnnl::primitive_attr fusedAttributes(bool hasResidual, int64_t activation,
                                     double alpha);

/// The activation parameter as it matters to a primitive: `alpha` for leaky
/// ReLU, zero otherwise, so that an ignored value does not split the cache.
double activationParameter(int64_t activation, double alpha);

/// The per-thread scratch buffers one library call may hold at once.
enum class Scratch { Primitive, Source, Weights, Destination, Count };

/// A 64-byte aligned buffer of at least `bytes` bytes, owned by the calling
/// thread and reused by its later calls; its contents are not preserved when
/// it grows.
void *scratchBuffer(Scratch slot, size_t bytes);

/// A memory object over `data` with descriptor `desc` on cpuEngine().
/// oneDNN takes non-const handles even for inputs it only reads.
inline dnnl::memory wrap(const dnnl::memory::desc &desc, const float *data) {
  return dnnl::memory(desc, cpuEngine(), const_cast<float *>(data));
}

/// A memory object of descriptor `desc` over the calling thread's `slot`.
inline dnnl::memory wrapScratch(const dnnl::memory::desc &desc, Scratch slot) {
  return dnnl::memory(desc, cpuEngine(), scratchBuffer(slot, desc.get_size()));
}

/// Copies `count` floats of `residual` into `result`, where a sum post-op
/// expects them. Nothing to do when they are the same buffer.
void copyResidual(const float *residual, float *result, size_t count);

/// The number of cached matmul primitives.
size_t matmulCacheSize();

/// The number of cached convolution primitives.
size_t convolutionCacheSize();

/// Names a call and its arguments for error messages: "name(a=1, b=2)" from
/// `argNames` "a b" and `values` {1, 2}.
std::string describeCall(const char *name, const char *argNames,
                         std::initializer_list<int64_t> values);

/// Reports that the call described by `call` failed because of `reason`, on
/// stderr, and aborts.
[[noreturn]] void failCall(const std::string &call, const std::string &reason);

/// Runs `body`; an exception it throws (a oneDNN error included) is reported
/// with failCall, naming the call `describe()` returns, so that none escapes
/// through the C ABI.
template <typename Describe, typename Body>
void runGuarded(Describe &&describe, Body &&body) noexcept {
  try {
    body();
  } catch (const dnnl::error &error) {
    failCall(describe(), std::string("oneDNN error (status ") +
                             std::to_string(static_cast<int>(error.status)) +
                             "): " + error.what());
  } catch (const std::exception &error) {
    failCall(describe(), error.what());
  } catch (...) {
    failCall(describe(), "unknown exception");
  }
}

} // namespace kiln::rt::onednn

#endif // KILN_RUNTIME_DNNL_ONEDNNSUPPORT_H
