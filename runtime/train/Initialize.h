//===- Initialize.h - A parameter's starting values, as the model says ----===//

#ifndef KILN_RUNTIME_TRAIN_INITIALIZE_H
#define KILN_RUNTIME_TRAIN_INITIALIZE_H

#include "kiln/runtime/Manifest.h"
#include "kiln/runtime/HostTensor.h"

#include <optional>
#include <random>
#include <string>
#include <vector>

namespace kiln::rt {

/// A tensor of `arg`'s shape and dtype filled as its manifest's `init` says,
/// drawing from `rng`: "zeros" (or none), "ones", "constant:V",
/// "uniform:B" for U(-B, B), "uniform:LO:HI", "normal:S" for N(0, S^2),
/// "normal:M:S"; an error names the parameter for any other text (numbers
/// that are not finite, LO > HI, S < 0 included) or a dtype that is not
/// float.
StatusOr<HostTensor> initialize(const ArgumentSpec &arg, std::mt19937_64 &rng);

/// The numbers of an initializer text of kind `kind`:
/// initializerNumbers("uniform:-1:2", "uniform") is {-1, 2}; none when the
/// text is of another kind or its numbers are not one or two finite ones.
std::optional<std::vector<double>> initializerNumbers(const std::string &init,
                                                      const std::string &kind);

} // namespace kiln::rt

#endif // KILN_RUNTIME_TRAIN_INITIALIZE_H
