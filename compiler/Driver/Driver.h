//===- Driver.h - kilnc as a library --------------------------------------===//
//
// The compiler driver: flags, model or .mlir input, and the stages it emits.
// kilnc is a thin main around it; a user's own model links the same library
// and gets the same flags (see examples/).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_DRIVER_DRIVER_H
#define KILN_COMPILER_DRIVER_DRIVER_H

#include "frontends/models/Zoo.h"

#include <vector>

namespace kiln::driver {

/// Runs kilnc with the command line `argv`; returns the exit code.
/// `userModels` join the built-in zoo: a program that defines its own model
/// with the DSL and calls this gets every kilnc flag for it.
int kilncMain(int argc, char **argv,
              const std::vector<zoo::ModelInfo> &userModels = {});

} // namespace kiln::driver

#endif // KILN_COMPILER_DRIVER_DRIVER_H
