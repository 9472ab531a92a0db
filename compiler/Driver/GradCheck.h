//===- GradCheck.h - Gradients against finite differences -----------------===//

#ifndef KILN_COMPILER_DRIVER_GRADCHECK_H
#define KILN_COMPILER_DRIVER_GRADCHECK_H

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::driver {

struct GradCheckOptions {
  /// The program errors name (kilnc, or a user's model program).
  std::string program = "kilnc";
  /// Smooth elements checked per tensor (all when it has fewer).
  int64_t samples = 8;
  /// Relative step: element x moves by step * max(|x|, 1).
  double step = 1e-6;
  /// Relative part of the tolerance: |analytic - numeric| may reach
  /// tolerance * |numeric| plus the rounding noise of the differences
  /// (kRoundingUlps float64 ulps of the loss, over the step).
  double tolerance = 1e-6;
  uint64_t seed = 0;
  /// Also check the gradients of float inputs (grad.<input>).
  bool wrtInputs = false;
  /// Testing only: a gradient rule made wrong on purpose (graph-autodiff's
  /// test-scale-rule), to show that the check catches it.
  std::string testScaleRule;
  double testScaleFactor = 1.0;
  /// The loss entry checked and the entry of its gradients: loss and
  /// grad, or one step of a model trained in alternating steps (loss_d and
  /// grad_d).
  std::string lossEntry = "loss", gradEntry = "grad";
  /// What owns each `kink.I` result of the module's probe entry (see
  /// addKinkProbe); empty when the module has no probe.
  std::vector<std::string> kinkOwners;
};

/// Float64 ulps of the loss assumed lost to rounding in one evaluation.
inline constexpr double kRoundingUlps = 64;

/// Compiles `graphIR` (a float64 module with the loss entry), draws
/// parameters from their initializers and random inputs, and compares each
/// checked element of every gradient of the gradient entry with a
/// Richardson-extrapolated central difference of the loss. Elements whose left and right differences
/// disagree sit on a kink (a ReLU's 0, a tie of a max): they are reported,
/// not counted as failures, and another element is checked instead. NaN or
/// infinity anywhere is a failure. Prints one line per tensor and returns 0
/// when every checked element is within tolerance.
int gradCheck(const std::string &graphIR, const GradCheckOptions &options);

} // namespace kiln::driver

#endif // KILN_COMPILER_DRIVER_GRADCHECK_H
