//===- Support.h - Small helpers the training runtime shares --------------===//

#ifndef KILN_RUNTIME_TRAIN_SUPPORT_H
#define KILN_RUNTIME_TRAIN_SUPPORT_H

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace kiln::rt {

/// A 64-bit FNV-1a hash of `size` bytes, continuing `hash`.
inline uint64_t fnv(const void *data, size_t size,
                    uint64_t hash = 1469598103934665603ull) {
  const auto *bytes = static_cast<const unsigned char *>(data);
  for (size_t i = 0; i < size; ++i)
    hash = (hash ^ bytes[i]) * 1099511628211ull;
  return hash;
}

/// Seconds since `start`.
inline double since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       start)
      .count();
}

} // namespace kiln::rt

#endif // KILN_RUNTIME_TRAIN_SUPPORT_H
