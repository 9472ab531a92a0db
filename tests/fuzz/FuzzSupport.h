//===- FuzzSupport.h - What the fuzz targets share ------------------------===//

#ifndef KILN_TESTS_FUZZ_FUZZSUPPORT_H
#define KILN_TESTS_FUZZ_FUZZSUPPORT_H

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

} // namespace kiln::fuzz

#endif // KILN_TESTS_FUZZ_FUZZSUPPORT_H
