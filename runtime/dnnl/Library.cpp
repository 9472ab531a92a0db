//===- Library.cpp - Thread count and cache size of the oneDNN library ----===//

#include "kiln/runtime/Library.h"
#include "kiln/runtime/Threads.h"

#include "OneDnnSupport.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

using namespace kiln::rt::onednn;

namespace {

/// The count kiln_set_num_threads recorded; zero when none is.
std::atomic<int64_t> requestedThreads{0};

/// The largest thread count accepted from the environment.
constexpr int64_t maxThreads = 1 << 16;

/// The number of CPUs the process may run on (its affinity mask, which
/// containers and `taskset` narrow), else the hardware concurrency.
int64_t availableCpus() {
  cpu_set_t cpus;
  if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0) {
    int count = CPU_COUNT(&cpus);
    if (count > 0)
      return count;
  }
  unsigned hardware = std::thread::hardware_concurrency();
  return hardware > 0 ? hardware : 1;
}

/// KILN_NUM_THREADS when it holds a positive integer, else zero; warns once
/// about a value that is set but unusable.
int64_t threadsFromEnvironment() {
  const char *text = std::getenv("KILN_NUM_THREADS");
  if (!text || !*text)
    return 0;
  char *end = nullptr;
  errno = 0;
  long long value = std::strtoll(text, &end, 10);
  if (errno == 0 && *end == '\0' && value > 0 && value <= maxThreads)
    return value;
  static std::once_flag warned;
  std::call_once(warned, [text] {
    std::fprintf(stderr,
                 "kiln runtime: warning: ignoring KILN_NUM_THREADS='%s' (not "
                 "an integer from 1 to %lld)\n",
                 text, static_cast<long long>(maxThreads));
  });
  return 0;
}

} // namespace

extern "C" void kiln_set_num_threads(int64_t n) {
  requestedThreads.store(n > 0 ? std::min(n, maxThreads) : 0,
                         std::memory_order_relaxed);
  useLibraryThreads();
}

namespace {
std::atomic<int64_t> deterministic{0};
} // namespace

extern "C" void kiln_set_deterministic(int64_t on) {
  deterministic.store(on != 0, std::memory_order_relaxed);
}

extern "C" int64_t kiln_deterministic(void) {
  return deterministic.load(std::memory_order_relaxed);
}

extern "C" int64_t kiln_num_threads(void) {
  if (int64_t requested = requestedThreads.load(std::memory_order_relaxed))
    return requested;
  if (int64_t fromEnvironment = threadsFromEnvironment())
    return fromEnvironment;
  static const int64_t cpus = availableCpus();
  return cpus;
}

extern "C" size_t kiln_library_cache_size(void) {
  return matmulCacheSize() + convolutionCacheSize();
}

void kiln::rt::boundOpenMpSpinning(char **argv) {
  const char *choice = std::getenv("KILN_OPENMP_SPIN");
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT") ||
      (choice && std::string(choice) == "default"))
    return;
  if (setenv("GOMP_SPINCOUNT", "1000", 1) != 0)
    return;
  execv("/proc/self/exe", argv);
  unsetenv("GOMP_SPINCOUNT"); // exec failed: carry on as it is
}
