//===- AtomicFile.cpp - Replace a file all at once, or not at all ---------===//

#include "AtomicFile.h"

#include "InputFile.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::rt::io {

std::string directoryOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos)
    return ".";
  if (slash == 0)
    return "/";
  return path.substr(0, slash);
}

namespace {

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

/// The file a write of `path` should replace: the target of a symbolic
/// link (followed to the end, even when it does not exist yet), else
/// `path` itself. Replacing the link itself would lose it.
std::string writeTarget(const std::string &path) {
  std::string target = path;
  for (int hops = 0; hops < 40; ++hops) {
    struct stat link;
    if (::lstat(target.c_str(), &link) != 0 || !S_ISLNK(link.st_mode))
      return target;
    std::string text(4096, '\0');
    ssize_t n = ::readlink(target.c_str(), text.data(), text.size());
    if (n <= 0)
      return target;
    text.resize(static_cast<size_t>(n));
    target = text[0] == '/' ? text : directoryOf(target) + "/" + text;
  }
  return target;
}

/// Writes `pieces` straight into an existing file that is not a regular
/// one (a device such as /dev/null, a FIFO): such a file cannot be
/// replaced, only written to.
Status writeThrough(const std::string &path, const std::string &target,
                    const std::vector<ByteRange> &pieces) {
  std::string prefix = "cannot write '" + path + "': ";
  int fd = ::open(target.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return Status::error(prefix + errnoText(errno));
  for (const ByteRange &piece : pieces)
    if (!writeAll(fd, piece.data, piece.size)) {
      int error = errno;
      ::close(fd);
      return Status::error(prefix + errnoText(error));
    }
  if (::close(fd) != 0)
    return Status::error(prefix + errnoText(errno));
  return Status::success();
}

} // namespace

int removeStaleTemporaries(const std::string &path) {
  std::string folder = directoryOf(path);
  size_t slash = path.find_last_of('/');
  std::string prefix =
      (slash == std::string::npos ? path : path.substr(slash + 1)) + ".tmp.";
  DIR *dir = ::opendir(folder.c_str());
  if (!dir)
    return 0;
  int removed = 0;
  while (struct dirent *entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name.compare(0, prefix.size(), prefix) != 0)
      continue;
    // NAME.tmp.PID.N: the writer's process id, then a counter.
    std::string rest = name.substr(prefix.size());
    size_t dot = rest.find('.');
    if (dot == std::string::npos || dot == 0 ||
        rest.find_first_not_of("0123456789") != dot ||
        rest.find_first_not_of("0123456789", dot + 1) != std::string::npos ||
        dot + 1 == rest.size())
      continue;
    long pid = std::strtol(rest.substr(0, dot).c_str(), nullptr, 10);
    // Only a writer that no longer exists (ESRCH) left it for good.
    if (pid <= 0 || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH)
      continue;
    if (::unlink((folder + "/" + name).c_str()) == 0)
      ++removed;
  }
  ::closedir(dir);
  return removed;
}

Status writeFileAtomically(const std::string &userPath,
                           const std::vector<ByteRange> &pieces) {
  std::string prefix = "cannot write '" + userPath + "': ";
  std::string path = writeTarget(userPath);
  struct stat existing;
  if (::stat(path.c_str(), &existing) == 0 && !S_ISREG(existing.st_mode) &&
      !S_ISDIR(existing.st_mode))
    return writeThrough(userPath, path, pieces);
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
