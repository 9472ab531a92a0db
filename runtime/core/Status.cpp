//===- Status.cpp - Errors a user can cause, and values that may fail -----===//

#include "kiln/runtime/Status.h"

#include <cstdio>
#include <cstdlib>

namespace kiln::rt {

void detail::fatalError(const std::string &message) {
  std::fprintf(stderr, "kiln runtime: fatal: %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

Status Status::error(std::string message) {
  Status status;
  status.failed = true;
  status.text =
      message.empty() ? std::string("unknown error") : std::move(message);
  return status;
}

Status Status::withPrefix(const std::string &prefix) const {
  if (ok())
    return *this;
  return error(prefix + text);
}

} // namespace kiln::rt
