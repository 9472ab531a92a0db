//===- AtomicFile.cpp - Replace a file all at once, or not at all ---------===//

#include "AtomicFile.h"

#include "InputFile.h"

#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::rt::io {

namespace {

/// The directory holding `path` ("." for a bare file name).
std::string directoryOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos)
    return ".";
  if (slash == 0)
    return "/";
  return path.substr(0, slash);
}

/// Writes all of `size` bytes at `data` to `fd`, retrying short writes.
bool writeAll(int fd, const void *data, size_t size) {
  const char *next = static_cast<const char *>(data);
  while (size > 0) {
    ssize_t written = ::write(fd, next, size);
    if (written < 0 && errno == EINTR)
      continue;
    if (written == 0)
      errno = EIO;
    if (written <= 0)
      return false;
    next += written;
    size -= static_cast<size_t>(written);
  }
  return true;
}

/// Creates a new, uniquely named file next to `path` (mode 0666 less the
/// umask, as for any new file). Returns its descriptor, or -1 with errno.
int createTemporary(const std::string &path, std::string &temporaryPath) {
  static std::atomic<unsigned> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    temporaryPath = path + ".tmp." + std::to_string(::getpid()) + "." +
                    std::to_string(counter.fetch_add(1));
    int fd = ::open(temporaryPath.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST)
      return fd;
  }
  errno = EEXIST;
  return -1;
}

} // namespace

Status writeFileAtomically(const std::string &path,
                           const std::vector<ByteRange> &pieces) {
  std::string prefix = "cannot write '" + path + "': ";
  std::string temporaryPath;
  int fd = createTemporary(path, temporaryPath);
  if (fd < 0)
    return Status::error(prefix + "cannot create temporary file '" +
                         temporaryPath + "': " + errnoText(errno));

  // From here on, any failure removes the temporary file.
  auto fail = [&](const std::string &step, int error) {
    if (fd >= 0)
      ::close(fd);
    ::unlink(temporaryPath.c_str());
    return Status::error(prefix + step + ": " + errnoText(error));
  };
  for (const ByteRange &piece : pieces) {
    if (!writeAll(fd, piece.data, piece.size)) {
      int error = errno;
      return fail("write to '" + temporaryPath + "' failed", error);
    }
  }
  if (::fsync(fd) != 0) {
    int error = errno;
    return fail("fsync of '" + temporaryPath + "' failed", error);
  }
  int closeResult = ::close(fd);
  int closeError = errno;
  fd = -1;
  if (closeResult != 0)
    return fail("close of '" + temporaryPath + "' failed", closeError);
  if (::rename(temporaryPath.c_str(), path.c_str()) != 0) {
    int error = errno;
    return fail("rename of '" + temporaryPath + "' over it failed", error);
  }

  // Make the rename itself durable.
  std::string directory = directoryOf(path);
  int directoryFd =
      ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (directoryFd < 0)
    return Status::error(prefix + "cannot open directory '" + directory +
                         "' to fsync it: " + errnoText(errno));
  int syncResult = ::fsync(directoryFd);
  int syncError = errno;
  ::close(directoryFd);
  if (syncResult != 0)
    return Status::error(prefix + "fsync of directory '" + directory +
                         "' failed: " + errnoText(syncError));
  return Status::success();
}

} // namespace kiln::rt::io
