//===- CudaTestSupport.h - Helpers of the tests of the CUDA runtime -------===//
//
// For tests that run the CUDA runtime on the fake driver and the fake
// libraries (FakeCudaDriver.cpp, FakeCublasLt.cpp, FakeCudnn.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_CUDATESTSUPPORT_H
#define KILN_TESTS_UNIT_CUDATESTSUPPORT_H

#include "kiln/runtime/Cuda.h"

#include <dlfcn.h>

#include <cstddef>
#include <random>
#include <string>
#include <vector>

namespace kiln::rt::test {

/// What finish reports: "" on success, else the runtime's message.
inline std::string finish(const KilnCudaApi &api) {
  char error[512] = "";
  return api.finish(error, sizeof(error)) ? error : "";
}

/// The function `name` of `library` if it is loaded already, else null.
template <typename F> F loadedSymbol(const char *library, const char *name) {
  void *handle = dlopen(library, RTLD_NOW | RTLD_NOLOAD);
  return handle ? reinterpret_cast<F>(dlsym(handle, name)) : nullptr;
}

/// `count` values drawn uniformly from [-1, 1).
inline std::vector<float> randomValues(size_t count, std::mt19937 &rng) {
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<float> values(count);
  for (float &v : values)
    v = uniform(rng);
  return values;
}

/// `values` copied to a new device buffer.
inline float *onDevice(const KilnCudaApi &api,
                       const std::vector<float> &values) {
  auto *device = static_cast<float *>(api.allocate(values.size() * 4));
  api.copyToDevice(device, values.data(), values.size() * 4);
  return device;
}

} // namespace kiln::rt::test

#endif // KILN_TESTS_UNIT_CUDATESTSUPPORT_H
