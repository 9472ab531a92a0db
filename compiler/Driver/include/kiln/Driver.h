//===- Driver.h - kilnc as a library --------------------------------------===//
//
// The compiler driver: flags, model or .mlir input, and the stages it emits.
// kilnc is a thin main around it that offers the built-in zoo; a program of
// one's own offers its own models (kiln/Model.h) and gets every kilnc flag
// for them:
//
//   int main(int argc, char **argv) {
//     return kiln::driver::kilncMain(argc, argv, {{"tiny", "16 -> 4", 8,
//                                                  buildTiny}});
//   }
//
// Installed with Kiln; CMake's kiln_add_model() builds such a program.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DRIVER_H
#define KILN_DRIVER_H

#include "kiln/Model.h"

#include <vector>

namespace kiln::driver {

/// Where a program built against an installed Kiln finds the runtime's
/// archives when it links executables and shared libraries: CMake's
/// Kiln::compiler defines it (<prefix>/lib); empty, the driver looks beside
/// the program and then in the tree Kiln was built in.
#ifndef KILN_RUNTIME_LIBRARY_DIR
#define KILN_RUNTIME_LIBRARY_DIR ""
#endif

/// Runs the compiler with the command line `argv` on `models` (or an .mlir
/// file); returns the exit code. With exactly one model, --model may be
/// left out. Errors name the program (argv[0]).
int kilncMain(int argc, char **argv, const std::vector<ModelInfo> &models,
              const char *runtimeLibraryDir = KILN_RUNTIME_LIBRARY_DIR);

} // namespace kiln::driver

#endif // KILN_DRIVER_H
