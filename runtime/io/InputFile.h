//===- InputFile.h - Files read with bounds-checked positional reads ------===//
//
// Readers of untrusted files never index past what they read: every read
// names its offset and size, and a read that would run past the end of the
// file fails with a Status instead.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_IO_INPUTFILE_H
#define KILN_RUNTIME_IO_INPUTFILE_H

#include "kiln/runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln::rt::io {

/// The text of errno value `error` ("No such file or directory").
std::string errnoText(int error);

/// A regular file opened for reading.
class InputFile {
public:
  /// Opens `path`; fails with "cannot open 'path': <reason>" if it cannot be
  /// opened or is not a regular file.
  static StatusOr<InputFile> open(const std::string &path);

  InputFile(InputFile &&other) noexcept;
  InputFile &operator=(InputFile &&other) noexcept;
  InputFile(const InputFile &) = delete;
  InputFile &operator=(const InputFile &) = delete;
  ~InputFile();

  const std::string &path() const { return filePath; }

  /// The size of the file in bytes, when it was opened.
  uint64_t size() const { return fileSize; }

  /// Reads exactly `count` bytes at `offset` into `destination`. Fails
  /// without reading if the range runs past the end of the file.
  Status readAt(uint64_t offset, void *destination, size_t count) const;

  /// The whole file's bytes (as large as it was when opened).
  StatusOr<std::string> readAll() const;

private:
  InputFile(std::string path, int descriptor, uint64_t size);

  std::string filePath;
  int fd = -1;
  uint64_t fileSize = 0;
};

} // namespace kiln::rt::io

#endif // KILN_RUNTIME_IO_INPUTFILE_H
