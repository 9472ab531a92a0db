//===- Initialize.h - A parameter's starting values, as the model says ----===//

#ifndef KILN_RUNTIME_TRAIN_INITIALIZE_H
#define KILN_RUNTIME_TRAIN_INITIALIZE_H

#include "kiln/runtime/Manifest.h"
#include "kiln/runtime/HostTensor.h"

#include <random>

namespace kiln::rt {

/// A tensor of `arg`'s shape and dtype filled as its manifest's `init` says,
/// drawing from `rng`: "zeros" (or none), "ones", "constant:V",
/// "uniform:B" for U(-B, B), "uniform:LO:HI", "normal:S" for N(0, S^2),
/// "normal:M:S"; an error names the parameter for any other text (numbers
/// that are not finite, LO > HI, S < 0 included) or a dtype that is not
/// float.
StatusOr<HostTensor> initialize(const ArgumentSpec &arg, std::mt19937_64 &rng);

} // namespace kiln::rt

#endif // KILN_RUNTIME_TRAIN_INITIALIZE_H
