//===- RuntimeCudaTest.cpp - The CUDA runtime without a GPU ---------------===//
//
// The driver is loaded with dlopen: a missing or stub driver is one clear
// error, and with the fake driver (FakeCudaDriver.cpp, host memory) the
// launches, module cache, copies and error reports are checked.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/Cuda.h"
#include "kiln/runtime/Numerics.h"

#include <gtest/gtest.h>

#include <dlfcn.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" {
void *mgpuModuleLoad(void *data, size_t size);
void mgpuModuleUnload(void *module);
void *mgpuModuleGetFunction(void *module, const char *name);
void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t sharedBytes, void *stream,
                      void **params, void **extra, size_t paramsCount);
void *mgpuStreamCreate();
void mgpuStreamSynchronize(void *stream);
void mgpuStreamDestroy(void *stream);
void *kiln_cuda_alloc(uint64_t bytes);
void *kiln_cuda_aligned_alloc(uint64_t alignment, uint64_t bytes);
void kiln_cuda_free(void *device);
void kiln_cuda_check_finite_f32(uintptr_t data, uintptr_t origin,
                                int64_t count);
void kiln_cuda_check_finite_f64(uintptr_t data, uintptr_t origin,
                                int64_t count);
}

namespace {

std::string initialize(const KilnCudaApi &api) {
  char error[512] = "";
  return api.initialize(error, sizeof(error)) ? error : "";
}

std::string finish(const KilnCudaApi &api) {
  char error[512] = "";
  return api.finish(error, sizeof(error)) ? error : "";
}

template <typename F> F fakeSymbol(const char *name) {
  void *library = dlopen(KILN_FAKE_CUDA_DRIVER, RTLD_NOW | RTLD_NOLOAD);
  EXPECT_NE(library, nullptr) << "the fake driver is not loaded";
  return library ? reinterpret_cast<F>(dlsym(library, name)) : nullptr;
}

// A driver that cannot set up a GPU gives way to the next one asked for.
TEST(CudaRuntime, DriverLoadingLaunchesCopiesAndErrors) {
  const KilnCudaApi *api = kiln_cuda_api();
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->version, kKilnCudaApiVersion);

  // No driver: one error, and nothing else runs.
  setenv("KILN_CUDA_DRIVER", "/nonexistent/libcuda.so.1", 1);
  std::string missing = initialize(*api);
  EXPECT_EQ(missing.rfind("no CUDA device: cannot load the CUDA driver "
                          "'/nonexistent/libcuda.so.1'",
                          0),
            0u)
      << missing;
  EXPECT_EQ(kiln_cuda_alloc(64), nullptr);
  EXPECT_NE(finish(*api).find("no CUDA device"), std::string::npos);

  // The toolkit's stub driver has every symbol but no device.
  struct stat info;
  const char *stub = "/usr/local/cuda/lib64/stubs/libcuda.so";
  if (stat(stub, &info) == 0) {
    setenv("KILN_CUDA_DRIVER", stub, 1);
    std::string stubbed = initialize(*api);
    EXPECT_EQ(stubbed.rfind("no CUDA device: cuInit: ", 0), 0u) << stubbed;
  }
}

TEST(CudaRuntime, FakeDriver) {
  const KilnCudaApi *api = kiln_cuda_api();
  setenv("KILN_CUDA_DRIVER", KILN_FAKE_CUDA_DRIVER, 1);
  ASSERT_EQ(initialize(*api), "");

  // The module is loaded once, however often the launches ask for it.
  uint32_t image[4] = {0xBA55ED50u, 0, 0, 0};
  auto loads = fakeSymbol<int (*)()>("kiln_fake_cuda_module_loads");
  ASSERT_NE(loads, nullptr);
  int before = loads();
  void *module = mgpuModuleLoad(image, sizeof(image));
  ASSERT_NE(module, nullptr);
  EXPECT_EQ(mgpuModuleLoad(image, sizeof(image)), module);
  mgpuModuleUnload(module);
  EXPECT_EQ(mgpuModuleLoad(image, sizeof(image)), module);
  EXPECT_EQ(loads(), before + 1);

  // A launch reaches the driver with its grid, block and the very argument
  // array the host code packed: pointers to each argument's value.
  void *function = mgpuModuleGetFunction(module, "scale_kernel");
  ASSERT_NE(function, nullptr);
  EXPECT_EQ(mgpuModuleGetFunction(module, "scale_kernel"), function);
  float *buffer = static_cast<float *>(kiln_cuda_alloc(256 * sizeof(float)));
  ASSERT_NE(buffer, nullptr);
  int64_t count = 256;
  float factor = 0.5f;
  void *params[] = {&buffer, &count, &factor};
  void *stream = mgpuStreamCreate();
  api->beginEntry("forward");
  mgpuLaunchKernel(function, 3, 1, 1, 128, 1, 1, 0, stream, params, nullptr,
                   3);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
  auto lastParams = fakeSymbol<void **(*)()>("kiln_fake_cuda_last_params");
  auto lastGrid = fakeSymbol<const unsigned *(*)()>("kiln_fake_cuda_last_grid");
  auto lastBlock =
      fakeSymbol<const unsigned *(*)()>("kiln_fake_cuda_last_block");
  ASSERT_TRUE(lastParams && lastGrid && lastBlock);
  void **given = lastParams();
  EXPECT_EQ(given, params);
  EXPECT_EQ(*static_cast<float **>(given[0]), buffer);
  EXPECT_EQ(*static_cast<int64_t *>(given[1]), 256);
  EXPECT_EQ(*static_cast<float *>(given[2]), 0.5f);
  EXPECT_EQ(lastGrid()[0], 3u);
  EXPECT_EQ(lastBlock()[0], 128u);

  // An empty grid launches nothing.
  mgpuLaunchKernel(function, 0, 1, 1, 128, 1, 1, 0, nullptr, params, nullptr,
                   3);
  EXPECT_EQ(lastGrid()[0], 3u);

  // Copies round-trip through device memory.
  float host[256], back[256];
  for (int i = 0; i < 256; ++i)
    host[i] = float(i);
  api->copyToDevice(buffer, host, sizeof(host));
  api->copyToHost(back, buffer, sizeof(back));
  kiln_cuda_free(buffer);
  EXPECT_EQ(finish(*api), "");
  for (int i = 0; i < 256; ++i)
    ASSERT_EQ(back[i], float(i));
  auto live = fakeSymbol<size_t (*)()>("kiln_fake_cuda_live_allocations");
  ASSERT_NE(live, nullptr);
  EXPECT_EQ(live(), 0u);

  // A failing launch is reported by finish with its kernel and entry point,
  // once; what follows the failure does not run.
  setenv("KILN_FAKE_CUDA_FAIL_KERNEL", "scale_kernel", 1);
  api->beginEntry("train_step");
  mgpuLaunchKernel(function, 1, 1, 1, 32, 1, 1, 0, nullptr, params, nullptr,
                   3);
  EXPECT_EQ(kiln_cuda_alloc(64), nullptr);
  std::string failure = finish(*api);
  EXPECT_NE(failure.find("launch of kernel 'scale_kernel'"), std::string::npos)
      << failure;
  EXPECT_NE(failure.find("CUDA_ERROR_ILLEGAL_ADDRESS"), std::string::npos)
      << failure;
  EXPECT_NE(failure.find("entry point 'train_step'"), std::string::npos)
      << failure;
  unsetenv("KILN_FAKE_CUDA_FAIL_KERNEL");
  EXPECT_EQ(finish(*api), "");
}

// Work a host library queues on the artefact's stream (NCCL's all-reduce)
// runs with that stream, in order; its failure is the run's.
TEST(CudaRuntime, SubmittedWork) {
  const KilnCudaApi *api = kiln_cuda_api();
  setenv("KILN_CUDA_DRIVER", KILN_FAKE_CUDA_DRIVER, 1);
  ASSERT_EQ(initialize(*api), "");
  EXPECT_EQ(api->deviceOrdinal(), 0);
  void *seen = nullptr;
  EXPECT_EQ(api->submit(
                [](void *stream, void *user, char *, size_t) {
                  *static_cast<void **>(user) = stream;
                  return 0;
                },
                &seen),
            0);
  EXPECT_EQ(seen, mgpuStreamCreate());
  EXPECT_NE(seen, nullptr);
  EXPECT_EQ(finish(*api), "");

  api->beginEntry("grad");
  EXPECT_NE(api->submit(
                [](void *, void *, char *error, size_t capacity) {
                  std::snprintf(error, capacity, "ncclAllReduce failed");
                  return 1;
                },
                nullptr),
            0);
  // After a failure nothing more runs, submitted work included.
  bool ran = false;
  EXPECT_NE(api->submit(
                [](void *, void *user, char *, size_t) {
                  *static_cast<bool *>(user) = true;
                  return 0;
                },
                &ran),
            0);
  EXPECT_FALSE(ran);
  EXPECT_EQ(finish(*api), "ncclAllReduce failed (entry point 'grad')");
  EXPECT_EQ(finish(*api), "");
}

// The host code's reports after each kernel read its output from the GPU: a
// copy to the host (then the scan there) while --check-numerics is on and
// has found nothing, no copy at all otherwise; while profiling, the
// kernel's time is recorded once it has run, with no copy.
TEST(CudaRuntime, ReportsCopyOutputsOnlyForNumericsChecks) {
  const KilnCudaApi *api = kiln_cuda_api();
  setenv("KILN_CUDA_DRIVER", KILN_FAKE_CUDA_DRIVER, 1);
  ASSERT_EQ(initialize(*api), "");
  auto copies = fakeSymbol<int (*)()>("kiln_fake_cuda_copies_to_host");
  ASSERT_NE(copies, nullptr);
  float values[64] = {};
  values[37] = std::nanf("");
  double wide[8] = {};
  wide[5] = -HUGE_VAL;
  void *device = kiln_cuda_alloc(sizeof(values));
  void *deviceWide = kiln_cuda_alloc(sizeof(wide));
  ASSERT_TRUE(device && deviceWide);
  api->copyToDevice(device, values, sizeof(values));
  api->copyToDevice(deviceWide, wide, sizeof(wide));
  const char *origin = "graph.mul in scale at model.cpp:3";
  const char *originWide = "graph.exp in grow at model.cpp:4";
  auto check = [&] {
    kiln_cuda_check_finite_f32(reinterpret_cast<uintptr_t>(device),
                               reinterpret_cast<uintptr_t>(origin), 64);
  };
  auto checkWide = [&] {
    kiln_cuda_check_finite_f64(reinterpret_cast<uintptr_t>(deviceWide),
                               reinterpret_cast<uintptr_t>(originWide), 8);
  };

  kiln::rt::setNumericsChecks(false);
  kiln::rt::resetNonFinite();
  int before = copies();
  check();
  EXPECT_EQ(copies(), before);
  EXPECT_FALSE(kiln::rt::firstNonFinite());

  kiln::rt::setNumericsChecks(true);
  check();
  EXPECT_EQ(copies(), before + 1);
  std::optional<kiln::rt::NonFiniteValue> bad = kiln::rt::firstNonFinite();
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->describe(),
            "nan at element 37 of 64 written by graph.mul in scale at "
            "model.cpp:3");
  // Found: later checks copy nothing.
  check();
  EXPECT_EQ(copies(), before + 1);

  kiln::rt::resetNonFinite();
  checkWide();
  EXPECT_EQ(copies(), before + 2);
  bad = kiln::rt::firstNonFinite();
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->describe(), "-inf at element 5 of 8 written by graph.exp in "
                             "grow at model.cpp:4");
  kiln::rt::setNumericsChecks(false);
  kiln::rt::resetNonFinite();

  kiln::rt::setProfiling(true);
  kiln::rt::profileStart();
  check();
  checkWide();
  kiln::rt::setProfiling(false);
  EXPECT_EQ(copies(), before + 2);
  std::vector<kiln::rt::ProfileEvent> events = kiln::rt::takeProfile();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].origin, origin);
  EXPECT_EQ(events[1].origin, originWide);
  EXPECT_FALSE(kiln::rt::firstNonFinite());
  kiln_cuda_free(device);
  kiln_cuda_free(deviceWide);
  EXPECT_EQ(finish(*api), "");
}

// The driver's stream-ordered allocations are aligned to 256 bytes; a
// buffer asked to be aligned more is refused, not silently misaligned.
TEST(CudaRuntime, Alignment) {
  const KilnCudaApi *api = kiln_cuda_api();
  setenv("KILN_CUDA_DRIVER", KILN_FAKE_CUDA_DRIVER, 1);
  ASSERT_EQ(initialize(*api), "");
  void *aligned = kiln_cuda_aligned_alloc(256, 1000);
  ASSERT_NE(aligned, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(aligned) % 256, 0u);
  kiln_cuda_free(aligned);
  EXPECT_EQ(finish(*api), "");
  EXPECT_EQ(kiln_cuda_aligned_alloc(4096, 1000), nullptr);
  EXPECT_EQ(finish(*api), "a device buffer aligned to 4096 bytes (the "
                          "driver's allocations are aligned to 256)");
}

} // namespace

extern "C" void mgpuMemset32(void *destination, unsigned value, size_t count,
                             void *stream);

// CUDA graphs: what is queued during a capture is recorded, not run, and
// runs again at each launch of the graph, on the same buffers; memory
// allocated during the capture belongs to the graph until it is destroyed;
// a capture that waits for the stream fails, and the stream then runs work
// as before.
TEST(CudaRuntime, GraphsRecordAndReplayTheStream) {
  const KilnCudaApi *api = kiln_cuda_api();
  setenv("KILN_CUDA_DRIVER", KILN_FAKE_CUDA_DRIVER, 1);
  ASSERT_EQ(initialize(*api), "");
  auto live = fakeSymbol<size_t (*)()>("kiln_fake_cuda_live_allocations");
  auto launches = fakeSymbol<int (*)()>("kiln_fake_cuda_graph_launches");
  ASSERT_TRUE(live && launches);
  size_t liveBefore = live();
  int launchesBefore = launches();
  auto *buffer = static_cast<uint32_t *>(api->allocate(4 * sizeof(uint32_t)));
  ASSERT_NE(buffer, nullptr);
  ASSERT_EQ(finish(*api), "");

  ASSERT_EQ(api->captureBegin(), 0);
  mgpuMemset32(buffer, 7, 4, nullptr);
  void *temporary = api->allocate(64); // the graph's, freed within it
  api->release(temporary);
  EXPECT_EQ(buffer[0], 0u) << "the memset ran during the capture";
  void *graph = api->captureEnd();
  ASSERT_NE(graph, nullptr);
  EXPECT_EQ(live(), liveBefore + 2);
  api->launchGraph(graph);
  ASSERT_EQ(finish(*api), "");
  EXPECT_EQ(buffer[3], 7u);
  buffer[3] = 0; // the fake's device memory is the host's
  api->launchGraph(graph);
  ASSERT_EQ(finish(*api), "");
  EXPECT_EQ(buffer[3], 7u);
  EXPECT_EQ(launches(), launchesBefore + 2);
  api->destroyGraph(graph);
  EXPECT_EQ(live(), liveBefore + 1);

  // Waiting inside a capture invalidates it: no graph, one error.
  ASSERT_EQ(api->captureBegin(), 0);
  EXPECT_NE(finish(*api), "");
  EXPECT_EQ(api->captureEnd(), nullptr);
  EXPECT_NE(finish(*api).find("cuStreamEndCapture"), std::string::npos);
  mgpuMemset32(buffer, 9, 4, nullptr);
  EXPECT_EQ(finish(*api), "");
  EXPECT_EQ(buffer[0], 9u);
  api->release(buffer);
  EXPECT_EQ(finish(*api), "");
  EXPECT_EQ(live(), liveBefore);
}
