//===- CudaRuntime.cpp - GPU artefacts' launches, memory and copies -------===//
//
// The CUDA driver API is loaded with dlopen: nothing here needs CUDA's
// headers or libraries to build, and a machine without them only fails
// when a GPU artefact runs. The few driver types and signatures used are
// declared below as the driver exports them (cuda.h, CUDA 11.2 and later:
// stream-ordered allocation).
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/Cuda.h"

#include "kiln/runtime/CodegenSupport.h"
#include "kiln/runtime/Numerics.h"

#include "core/DynamicLibrary.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace {

using kiln::rt::resolve;

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = void *;
using CUmodule = void *;
using CUfunction = void *;
using CUstream = void *;
using CUgraph = void *;
using CUgraphExec = void *;
using CUevent = void *;

constexpr unsigned kStreamNonBlocking = 1;
/// CU_STREAM_CAPTURE_MODE_RELAXED: other threads' calls (the host code's
/// module loads, cuBLASLt's) are not affected by this stream's capture.
constexpr int kCaptureRelaxed = 2;

/// The driver's functions Kiln calls, resolved by name.
struct Driver {
  CUresult (*init)(unsigned);
  CUresult (*deviceGetCount)(int *);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*deviceGetPciBusId)(char *, int, CUdevice);
  CUresult (*primaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*primaryCtxRelease)(CUdevice);
  CUresult (*ctxSetCurrent)(CUcontext);
  CUresult (*streamCreate)(CUstream *, unsigned);
  CUresult (*streamSynchronize)(CUstream);
  CUresult (*streamDestroy)(CUstream);
  CUresult (*moduleLoadData)(CUmodule *, const void *);
  CUresult (*moduleUnload)(CUmodule);
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, CUstream, void **,
                           void **);
  CUresult (*memAllocAsync)(CUdeviceptr *, size_t, CUstream);
  CUresult (*memFreeAsync)(CUdeviceptr, CUstream);
  CUresult (*memcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
  CUresult (*memcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
  CUresult (*memcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*memsetD32Async)(CUdeviceptr, unsigned, size_t, CUstream);
  CUresult (*memsetD16Async)(CUdeviceptr, unsigned short, size_t, CUstream);
  CUresult (*getErrorName)(CUresult, const char **);
  CUresult (*getErrorString)(CUresult, const char **);
  // CUDA graphs (CUDA 11.4 and later for their stream-ordered allocations;
  // optional: without them entry points run launch by launch).
  CUresult (*streamBeginCapture)(CUstream, int mode);
  CUresult (*streamEndCapture)(CUstream, CUgraph *);
  CUresult (*graphInstantiate)(CUgraphExec *, CUgraph, unsigned long long);
  CUresult (*graphLaunch)(CUgraphExec, CUstream);
  CUresult (*graphExecDestroy)(CUgraphExec);
  CUresult (*graphDestroy)(CUgraph);
  // Events, for --profile's kernel times (optional: without them each
  // kernel is timed by the host, waiting for it).
  CUresult (*eventCreate)(CUevent *, unsigned flags);
  CUresult (*eventRecord)(CUevent, CUstream);
  CUresult (*eventSynchronize)(CUevent);
  CUresult (*eventElapsedTime)(float *milliseconds, CUevent start, CUevent end);
  CUresult (*eventDestroy)(CUevent);
};

/// The runtime of this copy of it (one per artefact): the driver, the
/// stream, loaded modules and the first failure.
struct Runtime {
  std::mutex mutex;
  void *library = nullptr;
  std::string libraryPath;
  Driver driver{};
  bool ready = false;
  CUdevice device = 0;
  int ordinal = -1;
  CUcontext context = nullptr;
  CUstream stream = nullptr;
  /// The first failure since the last finish ("" if none).
  std::string failure;
  std::string entry;
  /// Launch after launch synchronously ($KILN_CUDA_SYNC=1), so that a
  /// failing kernel is named.
  bool synchronous = false;
  std::map<const void *, CUmodule> modules;
  std::map<std::pair<CUmodule, std::string>, CUfunction> functions;
  std::map<CUfunction, std::string> kernelNames;
  /// While profiling an entry call whose kernels are timed on the GPU
  /// (`timingEntry`): timing[0] is recorded before the first work queued
  /// since the last report (`started`), timing[1] at the next report; the
  /// time between them is that report's kernels'.
  CUevent timing[2] = {nullptr, nullptr};
  bool timingEntry = false;
  bool started = false;

  /// When the artefact holding this copy is unloaded: its work finished,
  /// its modules, stream and hold on the context given back (errors
  /// ignored: at exit the driver may have shut down first).
  ~Runtime() {
    if (!ready || driver.ctxSetCurrent(context) != 0)
      return;
    driver.streamSynchronize(stream);
    for (CUevent event : timing)
      if (event)
        driver.eventDestroy(event);
    for (auto &[data, module] : modules)
      driver.moduleUnload(module);
    driver.streamDestroy(stream);
    driver.primaryCtxRelease(device);
  }
};

/// Destroyed when the artefact holding this copy is unloaded (or at exit).
Runtime &runtime() {
  static Runtime instance;
  return instance;
}

std::string describe(Runtime &rt, CUresult result) {
  const char *name = nullptr, *text = nullptr;
  if (rt.driver.getErrorName)
    rt.driver.getErrorName(result, &name);
  if (rt.driver.getErrorString)
    rt.driver.getErrorString(result, &text);
  std::string message = name ? name : "CUDA error " + std::to_string(result);
  if (text)
    message += std::string(" (") + text + ")";
  return message;
}

/// Records the first failure, `message`, with the entry point it is in.
void fail(Runtime &rt, const std::string &message) {
  if (!rt.failure.empty())
    return;
  rt.failure = message;
  if (!rt.entry.empty())
    rt.failure += " (entry point '" + rt.entry + "')";
}

/// Records the first failure: `what` failed with `result`.
void fail(Runtime &rt, const std::string &what, CUresult result) {
  fail(rt, what + ": " + describe(rt, result));
}

bool check(Runtime &rt, CUresult result, const std::string &what) {
  if (result == 0)
    return true;
  fail(rt, what, result);
  return false;
}

struct DeviceChoice {
  int ordinal = 0;
  std::string error;
};

/// The GPU this process uses among `count`: $KILN_CUDA_DEVICE, else its
/// rank on this machine under an MPI launcher (modulo count), else 0.
DeviceChoice chooseDevice(int count) {
  if (const char *named = std::getenv("KILN_CUDA_DEVICE"); named && *named) {
    char *end = nullptr;
    long ordinal = std::strtol(named, &end, 10);
    if (*end || ordinal < 0 || ordinal >= count)
      return {0, "KILN_CUDA_DEVICE=" + std::string(named) +
                     " is not a GPU of this machine (it has " +
                     std::to_string(count) + ": 0 to " +
                     std::to_string(count - 1) + ")"};
    return {static_cast<int>(ordinal), ""};
  }
  for (const char *name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID",
                           "SLURM_LOCALID"})
    if (const char *local = std::getenv(name); local && *local) {
      char *end = nullptr;
      long rank = std::strtol(local, &end, 10);
      if (!*end && rank >= 0)
        return {static_cast<int>(rank % count), ""};
    }
  return {0, ""};
}

/// Loads the driver and sets up the process's GPU; "" or why not.
std::string load(Runtime &rt) {
  if (rt.ready)
    return "";
  const char *override = std::getenv("KILN_CUDA_DRIVER");
  std::string path = override && *override ? override : "libcuda.so.1";
  // A driver that could not set up a GPU gives way to another one asked for.
  if (rt.library && rt.libraryPath != path) {
    dlclose(rt.library);
    rt.library = nullptr;
    rt.driver = Driver{};
    rt.context = nullptr;
  }
  if (!rt.library) {
    rt.libraryPath = path;
    rt.library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!rt.library) {
      const char *why = dlerror();
      return "no CUDA device: cannot load the CUDA driver '" + path +
             "': " + (why ? why : "unknown error") +
             " (is the NVIDIA driver installed?)";
    }
  }
  Driver &d = rt.driver;
  // Each field of Driver and the driver's symbol for it.
#define KILN_DRIVER_SYMBOLS(X)                                                 \
  X(init, "cuInit")                                                            \
  X(deviceGetCount, "cuDeviceGetCount")                                        \
  X(deviceGet, "cuDeviceGet")                                                  \
  X(deviceGetPciBusId, "cuDeviceGetPCIBusId")                                  \
  X(primaryCtxRetain, "cuDevicePrimaryCtxRetain")                              \
  X(primaryCtxRelease, "cuDevicePrimaryCtxRelease_v2")                         \
  X(ctxSetCurrent, "cuCtxSetCurrent")                                          \
  X(streamCreate, "cuStreamCreate")                                            \
  X(streamSynchronize, "cuStreamSynchronize")                                  \
  X(streamDestroy, "cuStreamDestroy_v2")                                       \
  X(moduleLoadData, "cuModuleLoadData")                                        \
  X(moduleUnload, "cuModuleUnload")                                            \
  X(moduleGetFunction, "cuModuleGetFunction")                                  \
  X(launchKernel, "cuLaunchKernel")                                            \
  X(memAllocAsync, "cuMemAllocAsync")                                          \
  X(memFreeAsync, "cuMemFreeAsync")                                            \
  X(memcpyHtoDAsync, "cuMemcpyHtoDAsync_v2")                                   \
  X(memcpyDtoHAsync, "cuMemcpyDtoHAsync_v2")                                   \
  X(memcpyAsync, "cuMemcpyAsync")                                              \
  X(memsetD32Async, "cuMemsetD32Async")                                        \
  X(memsetD16Async, "cuMemsetD16Async")                                        \
  X(getErrorName, "cuGetErrorName")                                            \
  X(getErrorString, "cuGetErrorString")
#define KILN_RESOLVE(field, symbol)                                            \
  if (!resolve(rt.library, symbol, d.field))                                   \
    return "no CUDA device: the CUDA driver '" + path + "' has no " + symbol + \
           " (a driver for CUDA 11.2 or later is needed)";
  KILN_DRIVER_SYMBOLS(KILN_RESOLVE)
#undef KILN_RESOLVE
#undef KILN_DRIVER_SYMBOLS
  // All of them or none.
  bool graphs =
      resolve(rt.library, "cuStreamBeginCapture_v2", d.streamBeginCapture) &&
      resolve(rt.library, "cuStreamEndCapture", d.streamEndCapture) &&
      resolve(rt.library, "cuGraphInstantiateWithFlags", d.graphInstantiate) &&
      resolve(rt.library, "cuGraphLaunch", d.graphLaunch) &&
      resolve(rt.library, "cuGraphExecDestroy", d.graphExecDestroy) &&
      resolve(rt.library, "cuGraphDestroy", d.graphDestroy);
  if (!graphs)
    d.streamBeginCapture = nullptr;
  bool events = resolve(rt.library, "cuEventCreate", d.eventCreate) &&
                resolve(rt.library, "cuEventRecord", d.eventRecord) &&
                resolve(rt.library, "cuEventSynchronize", d.eventSynchronize) &&
                resolve(rt.library, "cuEventElapsedTime", d.eventElapsedTime) &&
                resolve(rt.library, "cuEventDestroy_v2", d.eventDestroy);
  if (!events)
    d.eventRecord = nullptr;
  if (CUresult r = d.init(0))
    return "no CUDA device: cuInit: " + describe(rt, r);
  int count = 0;
  if (CUresult r = d.deviceGetCount(&count))
    return "no CUDA device: cuDeviceGetCount: " + describe(rt, r);
  if (count == 0)
    return "no CUDA device: the driver sees no GPU";
  DeviceChoice chosen = chooseDevice(count);
  if (!chosen.error.empty())
    return chosen.error;
  if (CUresult r = d.deviceGet(&rt.device, chosen.ordinal))
    return "cuDeviceGet(" + std::to_string(chosen.ordinal) +
           "): " + describe(rt, r);
  rt.ordinal = chosen.ordinal;
  if (!rt.context)
    if (CUresult r = d.primaryCtxRetain(&rt.context, rt.device))
      return "cuDevicePrimaryCtxRetain: " + describe(rt, r);
  if (CUresult r = d.ctxSetCurrent(rt.context))
    return "cuCtxSetCurrent: " + describe(rt, r);
  if (CUresult r = d.streamCreate(&rt.stream, kStreamNonBlocking))
    return "cuStreamCreate: " + describe(rt, r);
  const char *sync = std::getenv("KILN_CUDA_SYNC");
  rt.synchronous = sync && std::strcmp(sync, "0") != 0 && *sync;
  rt.ready = true;
  return "";
}

/// The runtime under its lock, ready to queue work on this thread (the
/// context made current), or null after a failure (recorded); with
/// `afterFailure`, ready even then (to free what a failed run holds).
struct Locked {
  Runtime *rt = nullptr;
  std::unique_lock<std::mutex> lock;
  explicit operator bool() const { return rt != nullptr; }
  Runtime *operator->() const { return rt; }
  Runtime &operator*() const { return *rt; }
};

Locked usable(bool afterFailure = false) {
  Runtime &rt = runtime();
  std::unique_lock<std::mutex> lock(rt.mutex);
  if (!rt.failure.empty() && !(afterFailure && rt.ready))
    return {};
  std::string why = load(rt);
  if (!why.empty()) {
    rt.failure = why;
    return {};
  }
  // The context is current per thread: entry points may run on several.
  if (CUresult r = rt.driver.ctxSetCurrent(rt.context)) {
    fail(rt, "cuCtxSetCurrent", r);
    return {};
  }
  return {&rt, std::move(lock)};
}

void writeMessage(const std::string &message, char *error, size_t capacity) {
  if (!error || capacity == 0)
    return;
  size_t n = std::min(message.size(), capacity - 1);
  std::memcpy(error, message.data(), n);
  error[n] = '\0';
}

CUdeviceptr address(const void *device) {
  return static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(device));
}

void *allocate(size_t bytes) {
  Locked rt = usable();
  if (!rt || bytes == 0)
    return nullptr;
  CUdeviceptr device = 0;
  if (!check(*rt, rt->driver.memAllocAsync(&device, bytes, rt->stream),
             "cuMemAllocAsync of " + std::to_string(bytes) + " bytes"))
    return nullptr;
  return reinterpret_cast<void *>(static_cast<uintptr_t>(device));
}

void release(void *device) {
  Locked rt = usable(/*afterFailure=*/true);
  if (!rt || !device)
    return;
  check(*rt, rt->driver.memFreeAsync(address(device), rt->stream),
        "cuMemFreeAsync");
}

int apiInitialize(char *error, size_t capacity) {
  Runtime &rt = runtime();
  std::lock_guard<std::mutex> lock(rt.mutex);
  rt.failure.clear();
  std::string why = load(rt);
  if (why.empty())
    return 0;
  writeMessage(why, error, capacity);
  return 1;
}

void apiCopyToDevice(void *device, const void *host, size_t bytes) {
  Locked rt = usable();
  if (!rt || bytes == 0)
    return;
  check(*rt, rt->driver.memcpyHtoDAsync(address(device), host, bytes,
                                        rt->stream),
        "copy of " + std::to_string(bytes) + " bytes to the GPU");
}

void apiCopyToHost(void *host, const void *device, size_t bytes) {
  Locked rt = usable();
  if (!rt || bytes == 0)
    return;
  check(*rt, rt->driver.memcpyDtoHAsync(host, address(device), bytes,
                                        rt->stream),
        "copy of " + std::to_string(bytes) + " bytes from the GPU");
}

/// While profiling: the start of a report's kernels, recorded before the
/// first work queued since the last report (not before the entry's input
/// copies, nor the host's own time between reports). An event the driver
/// cannot make or record leaves the entry timed by the host.
void startTiming(Runtime &rt) {
  if (!rt.timingEntry || rt.started)
    return;
  for (CUevent &event : rt.timing)
    if (!event && rt.driver.eventCreate(&event, 0) != 0) {
      rt.timingEntry = false;
      return;
    }
  if (rt.driver.eventRecord(rt.timing[0], rt.stream) != 0) {
    rt.timingEntry = false;
    return;
  }
  rt.started = true;
}

void apiBeginEntry(const char *entry) {
  Runtime &rt = runtime();
  std::lock_guard<std::mutex> lock(rt.mutex);
  rt.entry = entry ? entry : "";
  // While profiling, kernels are timed on the GPU where the driver has
  // events (from the runtime's second call: the first loads it).
  rt.timingEntry = rt.ready && rt.driver.eventRecord &&
                   (kiln::rt::reportsWanted() & kiln::rt::kReportTime);
  rt.started = false;
}

int apiFinish(char *error, size_t capacity) {
  Runtime &rt = runtime();
  std::lock_guard<std::mutex> lock(rt.mutex);
  // Always wait: a kernel's fault belongs to this run, not the next one.
  if (rt.ready && rt.driver.ctxSetCurrent(rt.context) == 0)
    check(rt, rt.driver.streamSynchronize(rt.stream),
          "the GPU's work (run with KILN_CUDA_SYNC=1 to name the kernel)");
  if (rt.failure.empty() && !rt.ready)
    rt.failure = "the CUDA runtime was not initialized";
  std::string failure;
  std::swap(failure, rt.failure);
  rt.entry.clear();
  if (failure.empty())
    return 0;
  writeMessage(failure, error, capacity);
  return 1;
}

int apiSubmit(int (*work)(void *, void *, char *, size_t), void *user) {
  Locked rt = usable();
  if (!rt)
    return 1;
  char error[1024] = "";
  startTiming(*rt);
  if (work(rt->stream, user, error, sizeof(error)) == 0)
    return 0;
  fail(*rt, error[0] ? error : "work submitted to the GPU's stream failed");
  return 1;
}

int apiCaptureBegin() {
  Locked rt = usable();
  // Launch by launch where the driver has no graphs, or each launch is
  // waited for (KILN_CUDA_SYNC): a capture cannot wait.
  if (!rt || !rt->driver.streamBeginCapture || rt->synchronous)
    return 1;
  return check(*rt, rt->driver.streamBeginCapture(rt->stream, kCaptureRelaxed),
               "cuStreamBeginCapture")
             ? 0
             : 1;
}

void *apiCaptureEnd() {
  // Even after a failure: the capture must end for the stream to run again.
  Locked rt = usable(/*afterFailure=*/true);
  if (!rt || !rt->driver.streamEndCapture)
    return nullptr;
  CUgraph graph = nullptr;
  CUgraphExec exec = nullptr;
  CUresult ended = rt->driver.streamEndCapture(rt->stream, &graph);
  if (ended == 0 && rt->failure.empty())
    check(*rt, rt->driver.graphInstantiate(&exec, graph, 0),
          "cuGraphInstantiate");
  else if (ended != 0)
    fail(*rt, "cuStreamEndCapture", ended);
  if (graph)
    rt->driver.graphDestroy(graph);
  return rt->failure.empty() ? exec : nullptr;
}

void apiLaunchGraph(void *graph) {
  Locked rt = usable();
  if (!rt || !graph)
    return;
  if (check(*rt, rt->driver.graphLaunch(graph, rt->stream),
            "launch of the entry point's CUDA graph") &&
      rt->synchronous)
    check(*rt, rt->driver.streamSynchronize(rt->stream),
          "the entry point's CUDA graph");
}

void apiDestroyGraph(void *graph) {
  Locked rt = usable(/*afterFailure=*/true);
  if (rt && graph)
    rt->driver.graphExecDestroy(graph);
}

int apiDeviceOrdinal() {
  Runtime &rt = runtime();
  std::lock_guard<std::mutex> lock(rt.mutex);
  return rt.ready ? rt.ordinal : -1;
}

int apiDeviceBusId(char *id, size_t capacity) {
  Runtime &rt = runtime();
  std::lock_guard<std::mutex> lock(rt.mutex);
  if (!rt.ready || !id || capacity == 0)
    return 1;
  return rt.driver.deviceGetPciBusId(id, static_cast<int>(capacity),
                                     rt.device) != 0;
}

/// `count` elements of `elementBytes` at the device address `data`, copied
/// to this thread's host buffer once the kernels before have run; null
/// after a failure (which finish reports).
const void *outputOnHost(uintptr_t data, int64_t count, size_t elementBytes) {
  thread_local std::vector<unsigned char> host;
  Locked rt = usable();
  if (!rt)
    return nullptr;
  size_t bytes = static_cast<size_t>(count) * elementBytes;
  if (host.size() < bytes)
    host.resize(bytes);
  if (!check(*rt,
             rt->driver.memcpyDtoHAsync(host.data(),
                                        static_cast<CUdeviceptr>(data), bytes,
                                        rt->stream),
             "copy of a kernel's output for --check-numerics"))
    return nullptr;
  if (!check(*rt, rt->driver.streamSynchronize(rt->stream),
             "the kernels before a numerics check"))
    return nullptr;
  return host.data();
}

/// Waits for the kernels queued so far; false after a failure.
bool kernelsDone() {
  Locked rt = usable();
  return rt && check(*rt, rt->driver.streamSynchronize(rt->stream),
                     "the kernels before a profile's report");
}

/// --profile's time of the work queued since the last report, measured
/// by the GPU between two events: the seconds (0 where none was queued), or
/// -1 where the entry is timed by the host (no events) or after a failure.
double kernelSeconds() {
  Locked rt = usable();
  if (!rt || !rt->timingEntry)
    return -1;
  if (!rt->started)
    return 0;
  rt->started = false;
  float milliseconds = 0;
  if (rt->driver.eventRecord(rt->timing[1], rt->stream) != 0) {
    rt->timingEntry = false;
    return -1;
  }
  if (!check(*rt, rt->driver.eventSynchronize(rt->timing[1]),
             "the kernels before a profile's report"))
    return -1;
  if (rt->driver.eventElapsedTime(&milliseconds, rt->timing[0],
                                  rt->timing[1]) != 0) {
    rt->timingEntry = false;
    return -1;
  }
  return milliseconds * 1e-3;
}

/// A report of the host code (kiln_cuda_check_finite_*): `check` (the
/// runtime's own, which forwards to the host's) scans the output copied to
/// the host while --check-numerics wants it, or records the kernel's time
/// while profiling (measured by CUDA events where the driver has them,
/// else by the host once the kernel has run); nothing else.
void reportOutput(uintptr_t data, uintptr_t origin, int64_t count,
                  size_t elementBytes,
                  void (*check)(uintptr_t, uintptr_t, int64_t)) {
  int wanted = kiln::rt::reportsWanted();
  if (!wanted || count <= 0)
    return;
  if (wanted & kiln::rt::kReportScan) {
    if (const void *host = outputOnHost(data, count, elementBytes))
      check(reinterpret_cast<uintptr_t>(host), origin, count);
    return;
  }
  if (double seconds = kernelSeconds(); seconds >= 0)
    kiln::rt::recordKernelTime(origin, seconds);
  else if (kernelsDone())
    check(0, origin, 0);
}

constexpr KilnCudaApi kApi = {
    kKilnCudaApiVersion, apiInitialize,    allocate,        release,
    apiCopyToDevice,     apiCopyToHost,    apiBeginEntry,   apiFinish,
    apiSubmit,           apiDeviceOrdinal, apiDeviceBusId,  apiCaptureBegin,
    apiCaptureEnd,       apiLaunchGraph,   apiDestroyGraph,
};

} // namespace

extern "C" {

const KilnCudaApi *kiln_cuda_api(void) { return &kApi; }

// The host code's temporaries (kiln-gpu-device-buffers).
void *kiln_cuda_alloc(uint64_t bytes) { return allocate(bytes); }
void *kiln_cuda_aligned_alloc(uint64_t alignment, uint64_t bytes) {
  // Stream-ordered allocations are aligned to 256 bytes: no more.
  if (alignment > 256) {
    Runtime &rt = runtime();
    std::lock_guard<std::mutex> lock(rt.mutex);
    fail(rt, "a device buffer aligned to " + std::to_string(alignment) +
                 " bytes (the driver's allocations are aligned to 256)");
    return nullptr;
  }
  return allocate(bytes);
}
void kiln_cuda_free(void *device) { release(device); }

// The reports of the host code (kiln-gpu-device-buffers renames
// kiln_check_finite_*), after each kernel: a kernel's output is on the
// GPU, so it is copied to the host and scanned there only while
// --check-numerics is on and has found nothing, and the stream is waited
// for only while --profile times the kernels; otherwise a report costs a
// call and a branch, and the stream runs on unsynchronized.
void kiln_cuda_check_finite_f32(uintptr_t data, uintptr_t origin,
                                int64_t count) {
  reportOutput(data, origin, count, sizeof(float), &kiln_check_finite_f32);
}
void kiln_cuda_check_finite_f64(uintptr_t data, uintptr_t origin,
                                int64_t count) {
  reportOutput(data, origin, count, sizeof(double), &kiln_check_finite_f64);
}

// The entry points MLIR's gpu-to-llvm lowering calls. The module of an
// artefact's kernels is loaded once (its launches ask for it every time),
// and every launch goes onto the artefact's stream, which only the host's
// finish waits for: kernels of one stream run in order, and the host code
// never reads device memory (but for --check-numerics, which copies each
// kernel's output to the host: kiln_cuda_check_finite_*).

void *mgpuModuleLoad(void *data, size_t /*size*/) {
  Locked rt = usable();
  if (!rt)
    return nullptr;
  auto found = rt->modules.find(data);
  if (found != rt->modules.end())
    return found->second;
  CUmodule module = nullptr;
  if (!check(*rt, rt->driver.moduleLoadData(&module, data),
             "loading the artefact's GPU kernels (cuModuleLoadData)"))
    return nullptr;
  rt->modules[data] = module;
  return module;
}

void *mgpuModuleLoadJIT(void *data, int /*optLevel*/) {
  return mgpuModuleLoad(data, 0);
}

void mgpuModuleUnload(void * /*module*/) {}

void *mgpuModuleGetFunction(void *module, const char *name) {
  Locked rt = usable();
  if (!rt || !module)
    return nullptr;
  auto key = std::make_pair(static_cast<CUmodule>(module), std::string(name));
  auto found = rt->functions.find(key);
  if (found != rt->functions.end())
    return found->second;
  CUfunction function = nullptr;
  if (!check(*rt, rt->driver.moduleGetFunction(&function, module, name),
             std::string("kernel '") + name + "' (cuModuleGetFunction)"))
    return nullptr;
  rt->functions[key] = function;
  rt->kernelNames[function] = name;
  return function;
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t sharedBytes, void *stream,
                      void **params, void **extra, size_t /*paramsCount*/) {
  Locked rt = usable();
  if (!rt || !function)
    return;
  // Grids of no blocks (an empty tensor's kernel) launch nothing.
  if (gridX == 0 || gridY == 0 || gridZ == 0)
    return;
  std::string kernel = "kernel '" + rt->kernelNames[function] + "'";
  startTiming(*rt);
  if (!check(*rt,
             rt->driver.launchKernel(
                 function, static_cast<unsigned>(gridX),
                 static_cast<unsigned>(gridY), static_cast<unsigned>(gridZ),
                 static_cast<unsigned>(blockX), static_cast<unsigned>(blockY),
                 static_cast<unsigned>(blockZ),
                 static_cast<unsigned>(sharedBytes),
                 stream ? stream : rt->stream, params, extra),
             "launch of " + kernel))
    return;
  if (rt->synchronous)
    check(*rt, rt->driver.streamSynchronize(rt->stream), kernel);
}

void *mgpuStreamCreate() {
  Locked rt = usable();
  return rt ? rt->stream : nullptr;
}
void mgpuStreamDestroy(void * /*stream*/) {}
void mgpuStreamSynchronize(void * /*stream*/) {}
void mgpuStreamWaitEvent(void * /*stream*/, void * /*event*/) {}
// One stream orders everything: events have nothing to order.
void *mgpuEventCreate() {
  static int event;
  return &event;
}
void mgpuEventDestroy(void * /*event*/) {}
void mgpuEventSynchronize(void * /*event*/) {}
void mgpuEventRecord(void * /*event*/, void * /*stream*/) {}

void *mgpuMemAlloc(uint64_t bytes, void * /*stream*/, bool isHostShared) {
  if (isHostShared) {
    Runtime &rt = runtime();
    std::lock_guard<std::mutex> lock(rt.mutex);
    fail(rt, "host-shared GPU memory is not supported");
    return nullptr;
  }
  return allocate(bytes);
}
void mgpuMemFree(void *device, void * /*stream*/) { release(device); }

void mgpuMemcpy(void *destination, void *source, size_t bytes,
                void * /*stream*/) {
  Locked rt = usable();
  if (!rt || bytes == 0)
    return;
  startTiming(*rt);
  check(*rt, rt->driver.memcpyAsync(address(destination), address(source),
                                    bytes, rt->stream),
        "cuMemcpyAsync");
}

void mgpuMemset32(void *destination, unsigned value, size_t count,
                  void * /*stream*/) {
  Locked rt = usable();
  if (!rt || count == 0)
    return;
  startTiming(*rt);
  check(*rt,
        rt->driver.memsetD32Async(address(destination), value, count,
                                  rt->stream),
        "cuMemsetD32Async");
}

void mgpuMemset16(void *destination, unsigned short value, size_t count,
                  void * /*stream*/) {
  Locked rt = usable();
  if (!rt || count == 0)
    return;
  startTiming(*rt);
  check(*rt,
        rt->driver.memsetD16Async(address(destination), value, count,
                                  rt->stream),
        "cuMemsetD16Async");
}

void mgpuSetDefaultDevice(int32_t /*device*/) {}

} // extern "C"
