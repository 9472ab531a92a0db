//===- Numerics.cpp - Scans of kernel outputs for NaN and Inf -------------===//

#include "kiln/runtime/Numerics.h"

#include "kiln/runtime/CodegenSupport.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

namespace kiln::rt {
namespace {

std::atomic<bool> enabled{false};
std::atomic<const KilnNumericsHooks *> forwarded{nullptr};
std::atomic<bool> found{false};
std::mutex recordMutex;
NonFiniteValue first;

std::atomic<ReportHook> reportHook{nullptr};
void *reportContext = nullptr;

// Profiling: intervals between reports, per thread.
using Clock = std::chrono::steady_clock;
std::atomic<bool> profiling{false};
Clock::time_point profileOrigin;
thread_local Clock::time_point lastReport;
struct RawEvent {
  const char *origin; // a string of the artefact, or of `owned`
  double start, end;
};
std::mutex profileMutex;
std::vector<RawEvent> events;
std::vector<std::string> owned;
/// Whether a kernel's time came from the GPU since profiling was turned on.
std::atomic<bool> timedOnDevice{false};

/// An artefact's origin text, "\x01FLOPS BYTES\x01text" where the
/// compiler knew the kernel's cost: the text, and the cost (zeros if none).
const char *originText(const char *origin, int64_t *flops = nullptr,
                       int64_t *bytes = nullptr) {
  if (!origin || origin[0] != '\x01')
    return origin;
  const char *end = std::strchr(origin + 1, '\x01');
  if (!end)
    return origin;
  if (flops && bytes) {
    char *rest = nullptr;
    *flops = std::strtoll(origin + 1, &rest, 10);
    *bytes = rest && rest < end ? std::strtoll(rest, nullptr, 10) : 0;
  }
  return end + 1;
}

double since(Clock::time_point t) {
  return std::chrono::duration<double>(t - profileOrigin).count();
}

void recordInterval(const char *origin) {
  Clock::time_point now = Clock::now();
  std::lock_guard<std::mutex> lock(profileMutex);
  events.push_back({origin ? origin : "?", since(lastReport), since(now)});
  lastReport = now;
}

/// The exponent bits of an IEEE float: all ones means Inf or NaN.
template <typename Float, typename Bits> struct Layout;
template <> struct Layout<float, uint32_t> {
  static constexpr uint32_t exponent = 0x7f800000u;
};
template <> struct Layout<double, uint64_t> {
  static constexpr uint64_t exponent = 0x7ff0000000000000ull;
};

template <typename Float, typename Bits>
void check(uintptr_t data, uintptr_t origin, int64_t count) {
  // An artefact's copy of the runtime reports to its host's.
  if (const KilnNumericsHooks *hooks =
          forwarded.load(std::memory_order_relaxed))
    return (sizeof(Float) == 4 ? hooks->checkF32 : hooks->checkF64)(
        data, origin, count);
  if (ReportHook hook = reportHook.load(std::memory_order_relaxed))
    hook(reportContext, reinterpret_cast<const void *>(data),
         count * static_cast<int64_t>(sizeof(Float)));
  if (profiling.load(std::memory_order_relaxed))
    recordInterval(reinterpret_cast<const char *>(origin));
  if (!enabled.load(std::memory_order_relaxed) ||
      found.load(std::memory_order_relaxed))
    return;
  const auto *values = reinterpret_cast<const Float *>(data);
  constexpr Bits exponent = Layout<Float, Bits>::exponent;
  // Blocks of branch-free integer tests (they vectorize), then a scalar
  // search in the block that has a non-finite value.
  constexpr int64_t block = 1024;
  for (int64_t start = 0; start < count; start += block) {
    int64_t end = start + block < count ? start + block : count;
    Bits bad = 0;
    for (int64_t i = start; i < end; ++i) {
      Bits bits;
      std::memcpy(&bits, values + i, sizeof(bits));
      bad |= (bits & exponent) == exponent;
    }
    if (!bad)
      continue;
    for (int64_t i = start; i < end; ++i) {
      if (std::isfinite(values[i]))
        continue;
      std::lock_guard<std::mutex> lock(recordMutex);
      if (found.load())
        return;
      first.origin =
          origin ? originText(reinterpret_cast<const char *>(origin)) : "?";
      first.index = i;
      first.count = count;
      first.value = static_cast<double>(values[i]);
      found.store(true);
      return;
    }
  }
}

} // namespace

void setNumericsChecks(bool on) { enabled.store(on); }

int reportsWanted() {
  if (const KilnNumericsHooks *hooks = forwarded.load())
    return hooks->wanted ? hooks->wanted() : 0;
  return (enabled.load() && !found.load() ? kReportScan : 0) |
         (profiling.load() ? kReportTime : 0);
}

void setReportHook(ReportHook hook, void *context) {
  reportContext = context;
  reportHook.store(hook);
}
bool numericsChecksEnabled() { return enabled.load(); }

std::optional<NonFiniteValue> firstNonFinite() {
  if (!found.load())
    return std::nullopt;
  std::lock_guard<std::mutex> lock(recordMutex);
  return first;
}

void resetNonFinite() {
  std::lock_guard<std::mutex> lock(recordMutex);
  found.store(false);
}

void setProfiling(bool on) {
  std::lock_guard<std::mutex> lock(profileMutex);
  if (on && !profiling.load()) {
    profileOrigin = Clock::now();
    events.clear();
    owned.clear();
    timedOnDevice = false;
  }
  profiling.store(on);
}

void recordKernelTime(uintptr_t origin, double seconds) {
  if (const KilnNumericsHooks *hooks = forwarded.load();
      hooks && hooks->recordTime)
    return hooks->recordTime(origin, seconds);
  if (!profiling.load())
    return;
  Clock::time_point now = Clock::now();
  std::lock_guard<std::mutex> lock(profileMutex);
  double end = since(now);
  events.push_back({origin ? reinterpret_cast<const char *>(origin) : "?",
                    std::max(0.0, end - seconds), end});
  lastReport = now;
  timedOnDevice = true;
}

bool kernelsTimedOnDevice() { return timedOnDevice.load(); }

void profileStart() { lastReport = Clock::now(); }

void profileEnd(const std::string &what) {
  if (!profiling.load())
    return;
  Clock::time_point now = Clock::now();
  std::lock_guard<std::mutex> lock(profileMutex);
  owned.push_back(what);
  events.push_back({nullptr, since(lastReport), since(now)});
  lastReport = now;
}

std::vector<ProfileEvent> takeProfile() {
  std::lock_guard<std::mutex> lock(profileMutex);
  std::vector<ProfileEvent> out;
  size_t nextOwned = 0;
  for (const RawEvent &e : events) {
    ProfileEvent event{"", e.start, e.end};
    if (e.origin)
      event.origin = originText(e.origin, &event.flops, &event.bytes);
    else
      event.origin = owned[nextOwned++];
    out.push_back(std::move(event));
  }
  events.clear();
  owned.clear();
  return out;
}

std::string NonFiniteValue::describe() const {
  std::string what = std::isnan(value) ? "nan" : value > 0 ? "inf" : "-inf";
  return what + " at element " + std::to_string(index) + " of " +
         std::to_string(count) + " written by " + origin;
}

} // namespace kiln::rt

extern "C" void kiln_numerics_forward_to(const KilnNumericsHooks *hooks) {
  kiln::rt::forwarded.store(hooks);
}

extern "C" void kiln_check_finite_f32(uintptr_t data, uintptr_t origin,
                                      int64_t count) {
  kiln::rt::check<float, uint32_t>(data, origin, count);
}

extern "C" void kiln_check_finite_f64(uintptr_t data, uintptr_t origin,
                                      int64_t count) {
  kiln::rt::check<double, uint64_t>(data, origin, count);
}
