//===- GradCheck.h - Gradients against central finite differences ---------===//

#ifndef KILN_COMPILER_DRIVER_GRADCHECK_H
#define KILN_COMPILER_DRIVER_GRADCHECK_H

#include <cstdint>
#include <string>

namespace kiln::driver {

struct GradCheckOptions {
  /// Elements checked per parameter (spread evenly; all when smaller).
  int64_t samples = 8;
  double step = 1e-6;
  /// The largest accepted |analytic - numeric| / max(|numeric|, 1e-3).
  double tolerance = 1e-5;
  uint64_t seed = 0;
};

/// Compiles `graphIR` (a float64 module with `loss`), draws parameters from
/// their initializers and random inputs, and compares every gradient of the
/// `grad` entry with central finite differences of `loss`. Prints the worst
/// element per parameter; returns 0 when all are within tolerance.
int gradCheck(const std::string &graphIR, const GradCheckOptions &options);

} // namespace kiln::driver

#endif // KILN_COMPILER_DRIVER_GRADCHECK_H
