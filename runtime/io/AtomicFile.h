//===- AtomicFile.h - Replace a file all at once, or not at all -----------===//
//
// Checkpoints and outputs are written to a temporary file next to the target,
// flushed to disk, and renamed over the target, so a reader (or a crash)
// sees either the old file or the complete new one, never a partial write.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_IO_ATOMICFILE_H
#define KILN_RUNTIME_IO_ATOMICFILE_H

#include "kiln/runtime/Status.h"

#include <cstddef>
#include <string>
#include <vector>

namespace kiln::rt::io {

/// A run of bytes to write, owned by the caller.
struct ByteRange {
  const void *data;
  size_t size;
};

/// Writes the concatenation of `pieces` to `path` atomically: to a new
/// temporary file in the same directory, fsync'ed, renamed over `path`, and
/// the directory fsync'ed. On failure the temporary file is removed, an
/// existing `path` is left untouched, and the error names `path`.
Status writeFileAtomically(const std::string &path,
                           const std::vector<ByteRange> &pieces);

/// The folder holding `path` ("." for a bare file name, "/" for a file in
/// the root).
std::string directoryOf(const std::string &path);

/// Removes the temporary files that writes of `path` left behind when their
/// process was killed (`path`.tmp.PID.N whose PID no longer runs); returns
/// how many were removed. Temporaries of live processes are kept.
int removeStaleTemporaries(const std::string &path);

} // namespace kiln::rt::io

#endif // KILN_RUNTIME_IO_ATOMICFILE_H
