//===- InputFile.cpp - Files read with bounds-checked positional reads ----===//

#include "InputFile.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::rt::io {

std::string errnoText(int error) {
  char buffer[256];
  // GNU strerror_r returns the message, which may not be `buffer`.
  return strerror_r(error, buffer, sizeof(buffer));
}

InputFile::InputFile(std::string path, int descriptor, uint64_t size)
    : filePath(std::move(path)), fd(descriptor), fileSize(size) {}

InputFile::InputFile(InputFile &&other) noexcept
    : filePath(std::move(other.filePath)), fd(other.fd),
      fileSize(other.fileSize) {
  other.fd = -1;
}

InputFile &InputFile::operator=(InputFile &&other) noexcept {
  if (this != &other) {
    if (fd >= 0)
      ::close(fd);
    filePath = std::move(other.filePath);
    fd = other.fd;
    fileSize = other.fileSize;
    other.fd = -1;
  }
  return *this;
}

InputFile::~InputFile() {
  if (fd >= 0)
    ::close(fd);
}

StatusOr<InputFile> InputFile::open(const std::string &path) {
  // Without O_NONBLOCK, opening a FIFO would wait for a writer forever; the
  // regular-file check below then refuses it.
  int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (descriptor < 0)
    return Status::error("cannot open '" + path + "': " + errnoText(errno));
  struct stat info;
  if (::fstat(descriptor, &info) != 0) {
    int error = errno;
    ::close(descriptor);
    return Status::error("cannot open '" + path + "': " + errnoText(error));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(descriptor);
    return Status::error("cannot open '" + path + "': not a regular file");
  }
  int flags = ::fcntl(descriptor, F_GETFL);
  if (flags >= 0)
    ::fcntl(descriptor, F_SETFL, flags & ~O_NONBLOCK);
  return InputFile(path, descriptor, static_cast<uint64_t>(info.st_size));
}

Status InputFile::readAt(uint64_t offset, void *destination,
                         size_t count) const {
  if (offset > fileSize || count > fileSize - offset)
    return Status::error("'" + filePath + "' is truncated: reading " +
                         std::to_string(count) + " bytes at offset " +
                         std::to_string(offset) + " runs past its end (" +
                         std::to_string(fileSize) + " bytes)");
  auto *out = static_cast<char *>(destination);
  while (count > 0) {
    ssize_t got = ::pread(fd, out, count, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      return Status::error("cannot read '" + filePath +
                           "': " + errnoText(errno));
    if (got == 0)
      return Status::error("'" + filePath + "' shrank while being read");
    out += got;
    offset += static_cast<uint64_t>(got);
    count -= static_cast<size_t>(got);
  }
  return Status::success();
}

StatusOr<std::string> InputFile::readAll() const {
  std::string bytes(fileSize, '\0');
  if (Status s = readAt(0, bytes.data(), bytes.size()); !s.ok())
    return s;
  return bytes;
}

} // namespace kiln::rt::io
