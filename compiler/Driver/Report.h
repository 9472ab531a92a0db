//===- Report.h - How kilnc words its errors ------------------------------===//

#ifndef KILN_COMPILER_DRIVER_REPORT_H
#define KILN_COMPILER_DRIVER_REPORT_H

#include <string>

namespace kiln::driver {

/// The name errors begin with: kilnc, or a user's model program's own.
void setProgramName(std::string name);
const std::string &programName();

/// Prints "PROGRAM: error: MESSAGE" and returns 1 (the exit status).
int fail(const std::string &message);

/// Reports a model's mistake: as it is where it names the user's line
/// ("model.cpp:12: error: ..."), else as fail() does. Returns 1.
int failModel(const std::string &message);

} // namespace kiln::driver

#endif // KILN_COMPILER_DRIVER_REPORT_H
