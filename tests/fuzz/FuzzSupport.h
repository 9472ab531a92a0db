//===- FuzzSupport.h - What the fuzz targets share ------------------------===//

#ifndef KILN_TESTS_FUZZ_FUZZSUPPORT_H
#define KILN_TESTS_FUZZ_FUZZSUPPORT_H

#include "kiln/runtime/HostTensor.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace kiln::fuzz {

/// Writes the input to this process's scratch file (in $TMPDIR, else /tmp)
/// named with `suffix`, and returns its path: the readers take paths.
inline std::string inputFile(const uint8_t *data, size_t size,
                             const char *suffix) {
  const char *dir = std::getenv("TMPDIR");
  std::string path = std::string(dir && *dir ? dir : "/tmp") +
                     "/kiln-fuzz-" + std::to_string(getpid()) + suffix;
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    std::abort();
  if (size && std::fwrite(data, 1, size, f) != size)
    std::abort();
  std::fclose(f);
  return path;
}

/// Reads every byte of `tensor`, so that a reader that hands out a tensor
/// smaller than it claims is caught by AddressSanitizer.
inline void readEvery(const kiln::rt::HostTensor &tensor) {
  volatile uint8_t sink = 0;
  const auto *bytes = static_cast<const uint8_t *>(tensor.data());
  for (size_t i = 0; i < tensor.sizeInBytes(); ++i)
    sink = sink ^ bytes[i];
}

} // namespace kiln::fuzz

#endif // KILN_TESTS_FUZZ_FUZZSUPPORT_H
