//===- CrashGuard.h - A tool's work on a big stack, crashes reported ------===//
//
// kilnc and kiln-opt parse and transform IR that users write. Deeply nested
// input can exhaust a default stack, and upstream MLIR still has inputs on
// which it crashes; either way the user must see an internal error that
// names the input and how to reproduce it, not a bare signal.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_CRASHGUARD_H
#define KILN_COMPILER_CRASHGUARD_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CrashRecoveryContext.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace kiln {

/// The stack the tools' work runs on: deep enough for thousands of nested
/// regions.
inline constexpr unsigned kToolStackBytes = 512u << 20;

/// Runs `body` on a thread with a kToolStackBytes stack and returns its
/// exit code. If it crashes (a signal), prints "TOOL: internal error" with
/// the command line that reproduces it and returns 70 (EX_SOFTWARE).
inline int runGuarded(llvm::StringRef tool, int argc, char **argv,
                      llvm::function_ref<int()> body) {
  llvm::CrashRecoveryContext::Enable();
  llvm::CrashRecoveryContext context;
  int result = 1;
  if (context.RunSafelyOnThread([&] { result = body(); }, kToolStackBytes))
    return result;
  std::string command, input;
  for (int i = 0; i < argc; ++i) {
    llvm::StringRef arg(argv[i]);
    command += (i ? " " : "") + arg.str();
    if (i > 0 && input.empty() && !arg.starts_with("-"))
      input = "'" + arg.str() + "'";
    else if (input.empty() && arg.consume_front("--model="))
      input = "model '" + arg.str() + "'";
  }
  llvm::errs() << tool << ": internal error: crashed while processing "
               << (input.empty() ? std::string("its input") : input)
               << " (a bug in Kiln or in MLIR; please report it with the "
                  "input)\n  reproduce with: "
               << command << "\n";
  return 70;
}

} // namespace kiln

#endif // KILN_COMPILER_CRASHGUARD_H
