//===- RuntimeTestSupport.h - Temporary files and checks for runtime tests ===//

#ifndef KILN_TESTS_UNIT_RUNTIMETESTSUPPORT_H
#define KILN_TESTS_UNIT_RUNTIMETESTSUPPORT_H

#include "kiln/runtime/Status.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

namespace kiln::rt::test {

/// A fresh directory under GoogleTest's temporary directory, removed with
/// everything in it when the object goes away.
class TempDir {
public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "kiln-runtime-XXXXXX";
    if (char *made = ::mkdtemp(pattern.data()))
      root = made;
    else
      ADD_FAILURE() << "mkdtemp failed for " << pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(root, ignored);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  const std::string &path() const { return root; }
  /// The path of `name` inside the directory.
  std::string file(const std::string &name) const { return root + "/" + name; }
  /// The names of the directory's entries.
  std::set<std::string> entries() const {
    std::set<std::string> names;
    for (const auto &entry : std::filesystem::directory_iterator(root))
      names.insert(entry.path().filename().string());
    return names;
  }

private:
  std::string root;
};

/// Writes `bytes` to `path`, replacing it.
inline void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

/// The contents of `path` ("" if it cannot be read).
inline std::string readBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// `value` as `width` little-endian bytes.
inline std::string littleEndian(uint64_t value, int width) {
  std::string bytes;
  for (int i = 0; i < width; ++i)
    bytes += static_cast<char>((value >> (8 * i)) & 0xff);
  return bytes;
}

/// Success if `status` is an error whose message contains `substring`.
inline ::testing::AssertionResult failsWith(const Status &status,
                                            const std::string &substring) {
  if (status.ok())
    return ::testing::AssertionFailure()
           << "succeeded, expected an error containing \"" << substring << "\"";
  if (status.message().find(substring) == std::string::npos)
    return ::testing::AssertionFailure() << "error \"" << status.message()
                                         << "\" lacks \"" << substring << "\"";
  return ::testing::AssertionSuccess();
}

/// True if Debian's /usr/bin/python3 can import numpy.
inline bool haveNumpy() {
  return std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
}

/// Skips the test when the machine lacks what it needs (`available` is
/// false), except under the test suite: ctest sets KILN_NO_SKIPS, and there
/// a skip, which ctest would count as a pass, fails instead.
#define KILN_SKIP_UNLESS(available, what)                                     \
  do {                                                                        \
    if (!(available)) {                                                       \
      if (std::getenv("KILN_NO_SKIPS"))                                       \
        GTEST_FAIL() << what << " (KILN_NO_SKIPS is set: the suite needs it; " \
                     << "scripts/setup.sh installs it)";                      \
      GTEST_SKIP() << what;                                                   \
    }                                                                         \
  } while (false)

/// Runs the Python `script` (written to a file in `dir`) with `dir` as its
/// argument; returns its exit status (0 on success).
inline int runPython(const TempDir &dir, const std::string &script) {
  std::string path = dir.file("script.py");
  writeBytes(path, script);
  std::string command = "/usr/bin/python3 '" + path + "' '" + dir.path() + "'";
  return std::system(command.c_str());
}

} // namespace kiln::rt::test

#endif // KILN_TESTS_UNIT_RUNTIMETESTSUPPORT_H
