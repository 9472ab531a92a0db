//===- RunCommand.h - Run one entry point on files: the interop contract --===//
//
// What `kiln-run` and compiled executables do: read parameters and inputs by
// name (safetensors, or one .npy for a single input), bind them to an entry
// point's manifest, run it, and write its results by name (safetensors, or
// .npy for a single result).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_RUNCOMMAND_H
#define KILN_RUNTIME_RUNCOMMAND_H

#include "kiln/runtime/Manifest.h"

#include <functional>
#include <string>
#include <vector>

namespace kiln::rt {

struct RunRequest {
  std::string entry = "forward";
  std::string params;  // may be empty
  std::string inputs;  // may be empty
  std::string outputs; // required
  int64_t threads = 0; // 0: KILN_NUM_THREADS, else every CPU
  /// Scan every kernel's output; fail (after writing the outputs) naming
  /// the first op that wrote a NaN or Inf.
  bool checkNumerics = false;
  /// Run the entry this many times (the outputs are the last run's).
  int64_t repeat = 1;
  /// Time every kernel of every run but a first warm-up one (with
  /// repeat > 1): a Chrome trace written here (chrome://tracing,
  /// ui.perfetto.dev), and the ops that took the most time printed to
  /// stderr. Empty: no profile.
  std::string profile;
  /// The entry runs on a GPU (for the profile's report).
  bool onGpu = false;
};

/// Runs an entry point: `run(entry, arguments, results)`.
using EntryRunner = std::function<Status(
    const std::string &, std::vector<HostTensor> &, std::vector<HostTensor> &)>;

/// Reads, binds, runs and writes as described above. Errors name the file,
/// the tensor, and the expected and given dtype and shape.
Status runEntryOnFiles(const std::vector<EntrySpec> &entries,
                       const EntryRunner &run, const RunRequest &request);

/// Parses --entry=, --params=, --inputs=, --outputs=, --threads=,
/// --repeat=, --profile= and --check-numerics from argv[first..].
StatusOr<RunRequest> parseRunFlags(int argc, char **argv, int first);

/// "entry points: forward, loss".
std::string listEntries(const std::vector<EntrySpec> &entries);

} // namespace kiln::rt

#endif // KILN_RUNTIME_RUNCOMMAND_H
