//===- Numerics.h - Finding the first kernel that wrote a NaN or Inf ------===//
//
// Compiled code reports every kernel's float output to the runtime (see
// kiln_check_finite_* in CodegenSupport.h). With checks on, the runtime
// scans each output and remembers the first non-finite value and the op
// that produced it; with checks off (the default) a report costs a call and
// a branch.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_NUMERICS_H
#define KILN_RUNTIME_NUMERICS_H

#include "kiln/runtime/Status.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln::rt {

/// Turns the scans on or off for the whole process.
void setNumericsChecks(bool on);
bool numericsChecksEnabled();

/// The first non-finite value written since the last reset.
struct NonFiniteValue {
  std::string origin; // The op that produced it, with module path and line.
  int64_t index = 0;  // Its element index in the kernel's output...
  int64_t count = 0;  // ...of this many elements.
  double value = 0;   // NaN, +Inf or -Inf.

  /// "nan at element 3 of 1024 written by graph.log in head at model.cpp:12".
  std::string describe() const;
};
std::optional<NonFiniteValue> firstNonFinite();
void resetNonFinite();
/// What a report is wanted for now, in the runtime that handles it (the
/// host's, where this copy's reports are forwarded): kReportScan while
/// checks are on and have found nothing, kReportTime while profiling. A
/// GPU artefact's reports copy the output to the host, or wait for the
/// kernel, only then; 0 costs them a call and a branch.
enum ReportWanted : int { kReportScan = 1, kReportTime = 2 };
int reportsWanted();

/// A function the reports call with the output each kernel wrote (its
/// address and size), on the thread running the entry: data-parallel
/// training begins averaging a gradient as soon as its last kernel has run.
/// Null: none. One at a time.
using ReportHook = void (*)(void *context, const void *data, int64_t bytes);
void setReportHook(ReportHook hook, void *context);

/// Kernel timing through the same reports: with profiling on, each report
/// closes the interval since the previous one on this thread (or since
/// profileStart) and attributes it to the op that wrote the output, so a
/// kernel's interval is the kernel (and any kernel before it whose output
/// is not a float tensor, which reports nothing). The reports of a
/// compiled artefact reach its host's runtime.
void setProfiling(bool on);
/// A kernel's time measured on the GPU (CUDA events) rather than by the
/// host: the report of `origin` (as kiln_check_finite_*'s) closes an
/// interval of `seconds` ending now. A GPU artefact's reach its host's
/// runtime.
void recordKernelTime(uintptr_t origin, double seconds);
/// Whether kernels were timed so since profiling was turned on.
bool kernelsTimedOnDevice();
/// An entry call starts on this thread.
void profileStart();
/// It ends: the time since the last report is attributed to `what`.
void profileEnd(const std::string &what);
struct ProfileEvent {
  std::string origin; ///< "graph.conv2d in conv1 at model.cpp:12", ...
  double start, end;  ///< seconds since profiling was turned on
  /// The kernel's floating-point operations and bytes of operands and
  /// results as the compiler estimated them (0 where unknown).
  int64_t flops = 0, bytes = 0;
};
/// The events recorded since profiling was turned on (and clears them).
std::vector<ProfileEvent> takeProfile();

/// What this machine reaches with the runtime's threads: a parallel memcpy's
/// bytes (read and written) per second and oneDNN's sgemm's floating-point
/// operations per second (1024^3). Measured once per process (about 0.2 s).
struct MachinePeaks {
  double copyBytesPerSecond = 0, sgemmFlopsPerSecond = 0;
};
const MachinePeaks &machinePeaks();

/// Writes `events` as a Chrome trace at `path` (atomically) and prints to
/// stderr the ops that took the most time per call of what was profiled
/// (`calls` calls of `what`), each with its achieved GFLOP/s and GB/s and
/// the larger of their shares of the machine's peaks. `onGpu`: the kernels
/// ran on a GPU, each waited for before its report (its launch included),
/// and the CPU's peaks do not apply.
Status reportProfile(const std::vector<ProfileEvent> &events,
                     const std::string &path, int64_t calls,
                     const std::string &what, bool onGpu = false);

} // namespace kiln::rt

#endif // KILN_RUNTIME_NUMERICS_H
