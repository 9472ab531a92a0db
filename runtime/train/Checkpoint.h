//===- Checkpoint.h - Where a training checkpoint left off ----------------===//
//
// A checkpoint is a safetensors file of the model's state whose metadata
// records the run's progress as decimal strings: "epoch" and "batch" (where
// to continue), "steps" (taken in all), "loss_sum" and "loss_count" (the
// interrupted epoch's running train loss) and "seed". Checkpoints written
// before a key existed lack it; it then reads as zero (the seed as absent).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_TRAIN_CHECKPOINT_H
#define KILN_RUNTIME_TRAIN_CHECKPOINT_H

#include "kiln/runtime/SafeTensors.h"

#include <cstdint>
#include <optional>
#include <string>

namespace kiln::rt {

struct CheckpointProgress {
  int64_t epoch = 0, batch = 0, steps = 0, lossCount = 0;
  /// Examples per step across every rank (0: not recorded): `batch`
  /// counts steps of this many, so a run resumed on another number of
  /// ranks finds its place.
  int64_t globalBatch = 0;
  double lossSum = 0;
  std::optional<uint64_t> seed;
};

/// The progress recorded in `file`'s metadata (read from `path`, which
/// errors name). Fails on a value that is not a non-negative integer (a
/// finite number for loss_sum), naming the key and the value.
StatusOr<CheckpointProgress> readProgress(const SafeTensorsFile &file,
                                          const std::string &path);

/// The metadata that records `progress`.
std::vector<std::pair<std::string, std::string>>
progressMetadata(const CheckpointProgress &progress);

} // namespace kiln::rt

#endif // KILN_RUNTIME_TRAIN_CHECKPOINT_H
