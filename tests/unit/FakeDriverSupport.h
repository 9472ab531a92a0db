//===- FakeDriverSupport.h - Fake CUDA libraries on the fake driver -------===//
//
// What the fake cuBLASLt and cuDNN ask of the fake CUDA driver
// ($KILN_CUDA_DRIVER, which the runtime has loaded): whether an operand
// stays inside the allocation it starts in, and whether a call is recorded
// into a stream capture rather than computed now. And how both emulate
// tensor cores' reduced-precision operands.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_FAKEDRIVERSUPPORT_H
#define KILN_TESTS_UNIT_FAKEDRIVERSUPPORT_H

#include <dlfcn.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace kiln::fake {

/// The fake driver's function `name`, or null where there is none.
template <typename F> F driverFunction(const char *name) {
  const char *driver = std::getenv("KILN_CUDA_DRIVER");
  void *library = driver ? dlopen(driver, RTLD_NOW | RTLD_NOLOAD) : nullptr;
  return library ? reinterpret_cast<F>(dlsym(library, name)) : nullptr;
}

/// Whether `bytes` at `data` end in the fake driver's allocation they start
/// in: true where they start in none (a caller's host memory) or there is
/// no fake driver to ask.
inline bool allocated(const void *data, size_t bytes) {
  using Inside = bool (*)(uintptr_t, size_t);
  static Inside inside = driverFunction<Inside>("kiln_fake_cuda_inside");
  uintptr_t address = reinterpret_cast<uintptr_t>(data);
  if (!inside || !inside(address, 1))
    return true;
  return inside(address, bytes);
}

/// Runs `run(work)` now, or records it into the graph the fake driver's
/// stream capture is making (each launch of the graph runs it).
template <typename Work>
void runOrRecord(void (*run)(void *), std::shared_ptr<Work> work) {
  using Record = bool (*)(void (*)(void *), std::shared_ptr<void> *);
  static Record record = driverFunction<Record>("kiln_fake_cuda_record");
  std::shared_ptr<void> held = work;
  if (!record || !record(run, &held))
    run(work.get());
}

/// `value` rounded to nearest (ties to even) with `bits` explicit mantissa
/// bits, as tensor cores read float32 operands: 10 for TF32, 7 for
/// bfloat16.
inline float roundMantissa(float value, int bits) {
  uint32_t u;
  std::memcpy(&u, &value, sizeof(u));
  int dropped = 23 - bits;
  uint32_t lowest = (u >> dropped) & 1;
  u += (uint32_t(1) << (dropped - 1)) - 1 + lowest;
  u &= ~((uint32_t(1) << dropped) - 1);
  std::memcpy(&value, &u, sizeof(u));
  return value;
}

} // namespace kiln::fake

#endif // KILN_TESTS_UNIT_FAKEDRIVERSUPPORT_H
