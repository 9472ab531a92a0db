//===- KinkProbe.h - Which piecewise op a finite difference crossed -------===//
//
// The gradient check skips elements where the loss has a kink; to say which
// op owns one, it evaluates a probe entry point at both ends of the finite
// difference and sees whose branch changed.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_DRIVER_KINKPROBE_H
#define KILN_COMPILER_DRIVER_KINKPROBE_H

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace kiln::driver {

/// The probe's entry point.
inline constexpr const char *kKinkProbeEntry = "gradcheck_probe";

/// Adds `gradcheck_probe` to `module`: the loss function's (`lossEntry`'s)
/// arguments, and
/// as results the loss and, for every op with the graph.Piecewise trait
/// (ReLU, max pooling, maximum, clamp, comparisons, ...), a key that changes
/// exactly when the op's branch does: its local derivative (its gradient
/// rule applied to ones) or, without a rule, its result. Result `kink.I`
/// belongs to the op described by owners[I] ("graph.relu in fc1 at
/// file:line"). Without the loss function, adds nothing.
mlir::LogicalResult addKinkProbe(mlir::ModuleOp module,
                                 std::vector<std::string> &owners,
                                 llvm::StringRef lossEntry = "loss");

} // namespace kiln::driver

#endif // KILN_COMPILER_DRIVER_KINKPROBE_H
