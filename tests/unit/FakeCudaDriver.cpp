//===- FakeCudaDriver.cpp - A CUDA driver without a GPU, for tests --------===//
//
// The driver functions Kiln's CUDA runtime loads, in host memory: device
// allocations are host allocations (zeroed), copies are memcpy, and a
// launch runs nothing but is checked and logged. Loaded instead of
// libcuda.so.1 with $KILN_CUDA_DRIVER, it lets the suite run a GPU
// artefact's host code on a machine without a GPU: which kernels it
// launches with what grids, whether every buffer it allocates is freed,
// whether every copy stays inside an allocation, and how a failing launch
// is reported. A stream capture records the launches, copies and memsets
// queued until it ends (logged as "capture ..."), and a graph launch runs
// them again, as CUDA graphs do; allocations made during a capture belong to
// the graph (the same addresses at every launch) until it is destroyed, and
// waiting for the stream during one invalidates it. Events read the fake
// GPU's clock, on which each launch takes 0.25 ms and each copy to the
// device 1 ms.
//
//   KILN_FAKE_CUDA_LOG=FILE          appends one line per module load,
//                                    launch, copy and synchronization
//   KILN_FAKE_CUDA_DEVICES=N         N GPUs (default 1; 0: cuInit fails as
//                                    without one)
//   KILN_FAKE_CUDA_BUS_BASE=B        GPU N's PCI bus is B + N (default 0)
//   KILN_FAKE_CUDA_FAIL_KERNEL=NAME  that kernel's launch fails
//   KILN_FAKE_CUDA_DUMP=FILE         writes the fatbin the artefact loads
//
//===----------------------------------------------------------------------===//

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace {

using CUresult = int;
constexpr CUresult kSuccess = 0;
constexpr CUresult kInvalidValue = 1;
constexpr CUresult kNoDevice = 100;
constexpr CUresult kNotFound = 500;
constexpr CUresult kIllegalAddress = 700;
constexpr CUresult kCaptureUnsupported = 900; // ..._STREAM_CAPTURE_UNSUPPORTED
constexpr CUresult kCaptureInvalidated = 901; // ..._STREAM_CAPTURE_INVALIDATED

/// What a capture recorded: the stream's operations, and the allocations
/// made during it, which its graph owns.
struct Recording {
  std::vector<std::function<CUresult()>> operations;
  std::vector<uintptr_t> owned;
};

struct Fake {
  std::map<uintptr_t, size_t> allocations; // start -> bytes
  std::set<std::string> functions; // a function is its name's node
  void *lastParams = nullptr;
  unsigned lastGrid[3] = {0, 0, 0};
  unsigned lastBlock[3] = {0, 0, 0};
  int moduleLoads = 0;
  int copiesToHost = 0;
  /// The capture in progress (null: none), and whether it was invalidated.
  std::shared_ptr<Recording> capture;
  bool invalidated = false;
  int graphLaunches = 0;
  /// The fake GPU's clock (ms): each launch advances it by kLaunchMs, each
  /// copy to the device by kCopyToDeviceMs.
  double clock = 0;
  /// Each event's time on that clock (-1: not recorded yet).
  std::map<void *, double> events;
};

constexpr double kLaunchMs = 0.25;
constexpr double kCopyToDeviceMs = 1;

/// Never destroyed: the runtime's own teardown at exit (its events,
/// modules and stream given back) may run after this library's static
/// destructors.
Fake &fake() {
  static Fake *instance = new Fake;
  return *instance;
}

void log(const char *format, ...) __attribute__((format(printf, 1, 2)));
void log(const char *format, ...) {
  const char *path = std::getenv("KILN_FAKE_CUDA_LOG");
  if (!path || !*path)
    return;
  FILE *file = std::fopen(path, "a");
  if (!file)
    return;
  va_list args;
  va_start(args, format);
  std::vfprintf(file, format, args);
  va_end(args);
  std::fputc('\n', file);
  std::fclose(file);
}

/// Whether [address, address + bytes) lies in one allocation.
bool inside(uintptr_t address, size_t bytes) {
  auto &all = fake().allocations;
  auto it = all.upper_bound(address);
  if (it == all.begin())
    return false;
  --it;
  return address >= it->first && address + bytes <= it->first + it->second;
}

/// Runs a stream operation now, or records it while the stream is captured.
CUresult onStream(std::function<CUresult()> operation) {
  if (Recording *capture = fake().capture.get()) {
    capture->operations.push_back(std::move(operation));
    return kSuccess;
  }
  return operation();
}

void freeAllocation(uintptr_t address) {
  std::free(reinterpret_cast<void *>(address));
  fake().allocations.erase(address);
}

} // namespace

extern "C" {

CUresult cuInit(unsigned) {
  const char *devices = std::getenv("KILN_FAKE_CUDA_DEVICES");
  return devices && std::strcmp(devices, "0") == 0 ? kNoDevice : kSuccess;
}

CUresult cuDeviceGetCount(int *count) {
  const char *devices = std::getenv("KILN_FAKE_CUDA_DEVICES");
  *count = devices && *devices ? std::atoi(devices) : 1;
  return kSuccess;
}

CUresult cuDeviceGet(int *device, int ordinal) {
  int count = 0;
  cuDeviceGetCount(&count);
  *device = ordinal;
  log("device %d", ordinal);
  return ordinal >= 0 && ordinal < count ? kSuccess : kInvalidValue;
}

CUresult cuDeviceGetPCIBusId(char *id, int capacity, int device) {
  // $KILN_FAKE_CUDA_BUS_BASE renumbers them, as CUDA_VISIBLE_DEVICES does
  // when each process sees a different GPU as its first.
  const char *base = std::getenv("KILN_FAKE_CUDA_BUS_BASE");
  int bus = device + (base && *base ? std::atoi(base) : 0);
  std::snprintf(id, capacity, "0000:%02x:00.0", bus);
  return kSuccess;
}

CUresult cuDevicePrimaryCtxRetain(void **context, int) {
  static int token;
  *context = &token;
  return kSuccess;
}

CUresult cuDevicePrimaryCtxRelease_v2(int) { return kSuccess; }

CUresult cuCtxSetCurrent(void *) { return kSuccess; }

CUresult cuStreamDestroy_v2(void *) { return kSuccess; }

CUresult cuModuleUnload(void *) { return kSuccess; }

CUresult cuStreamCreate(void **stream, unsigned) {
  static int token;
  *stream = &token;
  return kSuccess;
}

CUresult cuStreamSynchronize(void *) {
  if (fake().capture) {
    fake().invalidated = true;
    return kCaptureUnsupported;
  }
  log("synchronize live=%zu", fake().allocations.size());
  return kSuccess;
}

CUresult cuStreamBeginCapture_v2(void *, int) {
  Fake &f = fake();
  if (f.capture)
    return kInvalidValue;
  f.capture = std::make_shared<Recording>();
  f.invalidated = false;
  log("capture begin");
  return kSuccess;
}

CUresult cuStreamEndCapture(void *, void **graph) {
  Fake &f = fake();
  if (!f.capture)
    return kInvalidValue;
  std::shared_ptr<Recording> recorded = std::move(f.capture);
  *graph = nullptr;
  if (f.invalidated) {
    for (uintptr_t address : recorded->owned)
      freeAllocation(address);
    return kCaptureInvalidated;
  }
  log("capture end: %zu operations", recorded->operations.size());
  *graph = new std::shared_ptr<Recording>(recorded);
  return kSuccess;
}

CUresult cuGraphInstantiateWithFlags(void **exec, void *graph,
                                     unsigned long long) {
  *exec = new std::shared_ptr<Recording>(
      *static_cast<std::shared_ptr<Recording> *>(graph));
  return kSuccess;
}

CUresult cuGraphDestroy(void *graph) {
  delete static_cast<std::shared_ptr<Recording> *>(graph);
  return kSuccess;
}

CUresult cuGraphLaunch(void *exec, void *) {
  if (fake().capture)
    return kCaptureUnsupported;
  const Recording &recording =
      **static_cast<std::shared_ptr<Recording> *>(exec);
  ++fake().graphLaunches;
  log("graph launch: %zu operations", recording.operations.size());
  for (const auto &operation : recording.operations)
    if (CUresult r = operation())
      return r;
  return kSuccess;
}

CUresult cuGraphExecDestroy(void *exec) {
  auto *held = static_cast<std::shared_ptr<Recording> *>(exec);
  // The graph's memory goes with its last executable.
  if (held->use_count() == 1)
    for (uintptr_t address : (*held)->owned)
      freeAllocation(address);
  delete held;
  return kSuccess;
}

CUresult cuModuleLoadData(void **module, const void *image) {
  uint32_t magic = 0;
  std::memcpy(&magic, image, sizeof(magic));
  const char *kind = magic == 0xBA55ED50u ? "fatbin"
                     : magic == 0x464C457Fu ? "elf"
                                            : "other";
  log("module %s", kind);
  // A fatbin's header: magic, version (2 bytes), header size (2), size of
  // what follows it (8).
  const char *dump = std::getenv("KILN_FAKE_CUDA_DUMP");
  if (dump && *dump && magic == 0xBA55ED50u) {
    uint16_t headerSize = 0;
    uint64_t bodySize = 0;
    std::memcpy(&headerSize, static_cast<const char *>(image) + 6, 2);
    std::memcpy(&bodySize, static_cast<const char *>(image) + 8, 8);
    if (FILE *file = std::fopen(dump, "wb")) {
      std::fwrite(image, 1, headerSize + bodySize, file);
      std::fclose(file);
    }
  }
  ++fake().moduleLoads;
  static int token;
  *module = &token;
  return kSuccess;
}

CUresult cuModuleGetFunction(void **function, void *, const char *name) {
  const std::string &held = *fake().functions.insert(name).first;
  *function = const_cast<std::string *>(&held);
  return kSuccess;
}

CUresult cuLaunchKernel(void *function, unsigned gridX, unsigned gridY,
                        unsigned gridZ, unsigned blockX, unsigned blockY,
                        unsigned blockZ, unsigned, void *, void **params,
                        void **) {
  auto *name = static_cast<const std::string *>(function);
  auto known = fake().functions.find(*name);
  if (known == fake().functions.end() || &*known != name)
    return kNotFound;
  Fake &f = fake();
  f.lastParams = params;
  unsigned grid[3] = {gridX, gridY, gridZ}, block[3] = {blockX, blockY, blockZ};
  std::memcpy(f.lastGrid, grid, sizeof(grid));
  std::memcpy(f.lastBlock, block, sizeof(block));
  if (f.capture)
    log("capture launch %s", name->c_str());
  return onStream([=] {
    log("launch %s grid=%u,%u,%u block=%u,%u,%u", name->c_str(), gridX, gridY,
        gridZ, blockX, blockY, blockZ);
    if (uint64_t(blockX) * blockY * blockZ > 1024 || !blockX || !blockY ||
        !blockZ)
      return kInvalidValue;
    const char *failing = std::getenv("KILN_FAKE_CUDA_FAIL_KERNEL");
    if (failing && *name == failing)
      return kIllegalAddress;
    fake().clock += kLaunchMs;
    return kSuccess;
  });
}

CUresult cuMemAllocAsync(unsigned long long *device, size_t bytes, void *) {
  if (bytes == 0)
    return kInvalidValue;
  void *memory = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!memory)
    return 2; // CUDA_ERROR_OUT_OF_MEMORY
  // Zeros, so that what the kernels (which never run) leave is the same at
  // every run.
  std::memset(memory, 0, bytes);
  fake().allocations[reinterpret_cast<uintptr_t>(memory)] = bytes;
  *device = reinterpret_cast<uintptr_t>(memory);
  if (Recording *capture = fake().capture.get())
    capture->owned.push_back(*device);
  return kSuccess;
}

CUresult cuMemFreeAsync(unsigned long long device, void *) {
  auto &all = fake().allocations;
  auto it = all.find(device);
  if (it == all.end()) {
    log("bad free");
    return kInvalidValue;
  }
  if (Recording *capture = fake().capture.get()) {
    // Memory the graph allocated stays its own; other memory cannot be
    // freed by a graph here.
    for (uintptr_t owned : capture->owned)
      if (owned == device)
        return kSuccess;
    fake().invalidated = true;
    return kCaptureUnsupported;
  }
  freeAllocation(device);
  return kSuccess;
}

CUresult cuMemcpyHtoDAsync_v2(unsigned long long device, const void *host,
                              size_t bytes, void *) {
  if (!inside(device, bytes)) {
    log("copy to the device outside an allocation");
    return kInvalidValue;
  }
  return onStream([=] {
    std::memcpy(reinterpret_cast<void *>(static_cast<uintptr_t>(device)), host,
                bytes);
    fake().clock += kCopyToDeviceMs;
    log("copy to device %zu", bytes);
    return kSuccess;
  });
}

CUresult cuMemcpyDtoHAsync_v2(void *host, unsigned long long device,
                              size_t bytes, void *) {
  if (!inside(device, bytes)) {
    log("copy from the device outside an allocation");
    return kInvalidValue;
  }
  return onStream([=] {
    std::memcpy(host, reinterpret_cast<void *>(static_cast<uintptr_t>(device)),
                bytes);
    ++fake().copiesToHost;
    log("copy to host %zu", bytes);
    return kSuccess;
  });
}

CUresult cuMemcpyAsync(unsigned long long to, unsigned long long from,
                       size_t bytes, void *) {
  if (!inside(to, bytes) || !inside(from, bytes))
    return kInvalidValue;
  return onStream([=] {
    std::memmove(reinterpret_cast<void *>(static_cast<uintptr_t>(to)),
                 reinterpret_cast<void *>(static_cast<uintptr_t>(from)), bytes);
    return kSuccess;
  });
}

CUresult cuMemsetD32Async(unsigned long long device, unsigned value,
                          size_t count, void *) {
  if (!inside(device, count * 4))
    return kInvalidValue;
  return onStream([=] {
    auto *words = reinterpret_cast<uint32_t *>(static_cast<uintptr_t>(device));
    for (size_t i = 0; i < count; ++i)
      words[i] = value;
    return kSuccess;
  });
}

CUresult cuMemsetD16Async(unsigned long long device, unsigned short value,
                          size_t count, void *) {
  if (!inside(device, count * 2))
    return kInvalidValue;
  return onStream([=] {
    auto *halves = reinterpret_cast<uint16_t *>(static_cast<uintptr_t>(device));
    for (size_t i = 0; i < count; ++i)
      halves[i] = value;
    return kSuccess;
  });
}

CUresult cuEventCreate(void **event, unsigned) {
  *event = new char;
  fake().events[*event] = -1;
  return kSuccess;
}

CUresult cuEventRecord(void *event, void *) {
  if (!fake().events.count(event))
    return kInvalidValue;
  return onStream([=] {
    fake().events[event] = fake().clock;
    log("event record at %.2f ms", fake().clock);
    return kSuccess;
  });
}

CUresult cuEventSynchronize(void *event) {
  auto found = fake().events.find(event);
  if (found == fake().events.end() || found->second < 0)
    return kInvalidValue;
  if (fake().capture) {
    fake().invalidated = true;
    return kCaptureUnsupported;
  }
  return kSuccess;
}

CUresult cuEventElapsedTime(float *milliseconds, void *start, void *end) {
  Fake &f = fake();
  if (!f.events.count(start) || !f.events.count(end) || f.events[start] < 0 ||
      f.events[end] < 0)
    return kInvalidValue;
  *milliseconds = static_cast<float>(f.events[end] - f.events[start]);
  return kSuccess;
}

CUresult cuEventDestroy_v2(void *event) {
  if (!fake().events.erase(event))
    return kInvalidValue;
  delete static_cast<char *>(event);
  return kSuccess;
}

CUresult cuGetErrorName(CUresult result, const char **name) {
  switch (result) {
  case kInvalidValue:
    *name = "CUDA_ERROR_INVALID_VALUE";
    return kSuccess;
  case kNoDevice:
    *name = "CUDA_ERROR_NO_DEVICE";
    return kSuccess;
  case kNotFound:
    *name = "CUDA_ERROR_NOT_FOUND";
    return kSuccess;
  case kIllegalAddress:
    *name = "CUDA_ERROR_ILLEGAL_ADDRESS";
    return kSuccess;
  }
  *name = nullptr;
  return kInvalidValue;
}

CUresult cuGetErrorString(CUresult result, const char **text) {
  *text = result == kIllegalAddress ? "an illegal memory access was "
                                      "encountered"
          : result == kNoDevice     ? "no CUDA-capable device is detected"
                                    : nullptr;
  return *text ? kSuccess : kInvalidValue;
}

// For unit tests: what the last launch was given.
void *kiln_fake_cuda_last_params() { return fake().lastParams; }
const unsigned *kiln_fake_cuda_last_grid() { return fake().lastGrid; }
const unsigned *kiln_fake_cuda_last_block() { return fake().lastBlock; }
int kiln_fake_cuda_module_loads() { return fake().moduleLoads; }
int kiln_fake_cuda_copies_to_host() { return fake().copiesToHost; }
size_t kiln_fake_cuda_live_allocations() { return fake().allocations.size(); }
int kiln_fake_cuda_graph_launches() { return fake().graphLaunches; }
// For the fake cuBLASLt: whether [address, address + bytes) lies in one
// allocation; and its product, recorded while the stream is captured
// (true) or to be computed now (false).
bool kiln_fake_cuda_inside(uintptr_t address, size_t bytes) {
  return inside(address, bytes);
}
bool kiln_fake_cuda_record(void (*run)(void *), std::shared_ptr<void> *data) {
  if (!fake().capture)
    return false;
  std::shared_ptr<void> held = *data;
  fake().capture->operations.push_back([run, held] {
    run(held.get());
    return kSuccess;
  });
  return true;
}

} // extern "C"
