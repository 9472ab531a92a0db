//===- Report.cpp - How kilnc words its errors ----------------------------===//

#include "compiler/Driver/Report.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln::driver {
namespace {

std::string &name() {
  static std::string program = "kilnc";
  return program;
}

} // namespace

void setProgramName(std::string program) { name() = std::move(program); }

const std::string &programName() { return name(); }

int fail(const std::string &message) {
  llvm::errs() << name() << ": error: " << message << "\n";
  return 1;
}

int failModel(const std::string &message) {
  size_t at = message.find(": error: ");
  llvm::StringRef where(message.data(), at == std::string::npos ? 0 : at);
  auto [file, line] = where.rsplit(':');
  unsigned number = 0;
  if (at != std::string::npos && !file.empty() &&
      !line.getAsInteger(10, number)) {
    llvm::errs() << message << "\n";
    return 1;
  }
  return fail(message);
}

} // namespace kiln::driver
