//===- Profile.cpp - The profiler's trace, table and machine peaks --------===//

#include "kiln/runtime/Numerics.h"

#include "kiln/runtime/Library.h"

#include "io/AtomicFile.h"
#include "io/Json.h"

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <vector>

namespace kiln::rt {
namespace {

double seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       since)
      .count();
}

/// The best of `reps` timed runs of `body` after one untimed.
template <typename Body> double bestOf(int reps, Body body) {
  body();
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    auto start = std::chrono::steady_clock::now();
    body();
    best = std::min(best, seconds(start));
  }
  return best;
}

MachinePeaks measure() {
  MachinePeaks peaks;
  // The runtime's threads, as its library calls use them.
  int threads = static_cast<int>(std::max<int64_t>(1, kiln_num_threads()));
  int before = omp_get_max_threads();
  omp_set_num_threads(threads);
  // Copy: 64 MiB (beyond the caches), split over the threads.
  size_t bytes = size_t(64) << 20;
  std::vector<char> from(bytes, 1), to(bytes, 0);
  double copy = bestOf(3, [&] {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int t = 0; t < threads; ++t) {
      size_t begin = bytes / threads * t;
      size_t end = t + 1 == threads ? bytes : bytes / threads * (t + 1);
      std::memcpy(to.data() + begin, from.data() + begin, end - begin);
    }
  });
  peaks.copyBytesPerSecond = 2.0 * bytes / copy; // read and written
  // sgemm: 1024 x 1024 x 1024 with oneDNN, as the matmul kernels run.
  const dnnl_dim_t n = 1024;
  std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n, 0.0f);
  double gemm = bestOf(3, [&] {
    dnnl_sgemm('N', 'N', n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f,
               c.data(), n);
  });
  peaks.sgemmFlopsPerSecond = 2.0 * n * n * n / gemm;
  omp_set_num_threads(before);
  return peaks;
}

} // namespace

const MachinePeaks &machinePeaks() {
  static const MachinePeaks peaks = measure();
  return peaks;
}

Status reportProfile(const std::vector<ProfileEvent> &events,
                     const std::string &path, int64_t calls,
                     const std::string &what, bool onGpu) {
  std::string trace = "{\"traceEvents\": [\n";
  struct Row {
    double seconds = 0;
    int64_t count = 0, flops = 0, bytes = 0;
  };
  std::map<std::string, Row> byOrigin;
  double total = 0;
  int64_t totalFlops = 0, totalBytes = 0;
  char line[160];
  for (size_t i = 0; i < events.size(); ++i) {
    const ProfileEvent &e = events[i];
    std::snprintf(line, sizeof line,
                  ", \"ph\": \"X\", \"ts\": %.3f, \"dur\": %.3f, "
                  "\"pid\": 1, \"tid\": 1, \"args\": {\"flops\": %lld, "
                  "\"bytes\": %lld}}%s\n",
                  e.start * 1e6, (e.end - e.start) * 1e6, (long long)e.flops,
                  (long long)e.bytes, i + 1 < events.size() ? "," : "");
    trace += "  {\"name\": " + json::quote(e.origin) + line;
    Row &row = byOrigin[e.origin];
    row.seconds += e.end - e.start;
    ++row.count;
    row.flops += e.flops;
    row.bytes += e.bytes;
    total += e.end - e.start;
    totalFlops += e.flops;
    totalBytes += e.bytes;
  }
  trace += "]}\n";
  if (Status s = io::writeFileAtomically(path, {{trace.data(), trace.size()}});
      !s.ok())
    return s;
  std::vector<std::pair<std::string, Row>> rows(byOrigin.begin(),
                                                byOrigin.end());
  std::sort(rows.begin(), rows.end(), [](const auto &a, const auto &b) {
    return a.second.seconds > b.second.seconds;
  });
  calls = std::max<int64_t>(calls, 1);
  // A GPU's kernels are compared with no peak: the CPU's do not apply.
  MachinePeaks peaks = onGpu ? MachinePeaks{} : machinePeaks();
  char where[160];
  if (onGpu && kernelsTimedOnDevice())
    std::snprintf(where, sizeof where,
                  "on the GPU, each kernel timed by CUDA events");
  else if (onGpu)
    std::snprintf(where, sizeof where,
                  "on the GPU, each kernel waited for (launch included)");
  else
    std::snprintf(
        where, sizeof where, "this machine: sgemm %.1f GFLOP/s, copy %.1f GB/s",
        peaks.sgemmFlopsPerSecond / 1e9, peaks.copyBytesPerSecond / 1e9);
  std::fprintf(stderr,
               "profile: %lld call%s of %s, %.3f ms per call (%.2f GFLOP/s, "
               "%.2f GB/s); %s\n",
               (long long)calls, calls == 1 ? "" : "s", what.c_str(),
               total / calls * 1e3, totalFlops / std::max(total, 1e-12) / 1e9,
               totalBytes / std::max(total, 1e-12) / 1e9, where);
  std::fprintf(stderr, "  %10s %6s %7s %9s %8s %11s  %s\n", "ms/call", "%",
               "kernels", "GFLOP/s", "GB/s", "of peak", "op (the kernel writing "
               "its output)");
  for (size_t i = 0; i < rows.size() && i < 15; ++i) {
    const Row &r = rows[i].second;
    double time = std::max(r.seconds, 1e-12);
    double gflops = r.flops / time / 1e9, gbytes = r.bytes / time / 1e9;
    // The roofline's share: the larger of the two fractions of the peaks.
    char share[32] = "-";
    if (!onGpu && (r.flops > 0 || r.bytes > 0)) {
      double ofFlops = r.flops / time / peaks.sgemmFlopsPerSecond;
      double ofBytes = r.bytes / time / peaks.copyBytesPerSecond;
      std::snprintf(share, sizeof share, "%.0f%% %s",
                    100 * std::max(ofFlops, ofBytes),
                    ofFlops >= ofBytes ? "sgemm" : "copy");
    }
    std::fprintf(stderr, "  %10.3f %5.1f%% %7lld %9.2f %8.2f %11s  %s\n",
                 r.seconds / calls * 1e3,
                 100 * r.seconds / std::max(total, 1e-12),
                 (long long)(r.count / calls), gflops, gbytes, share,
                 rows[i].first.c_str());
  }
  if (rows.size() > 15)
    std::fprintf(stderr, "  ... %zu more\n", rows.size() - 15);
  std::fprintf(stderr, "trace written to %s (chrome://tracing or "
                       "ui.perfetto.dev)\n",
               path.c_str());
  return Status::success();
}

} // namespace kiln::rt
