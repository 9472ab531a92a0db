//===- Checkpoint.cpp - Where a training checkpoint left off --------------===//

#include "train/Checkpoint.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace kiln::rt {

StatusOr<CheckpointProgress> readProgress(const SafeTensorsFile &file,
                                          const std::string &path) {
  CheckpointProgress progress;
  for (const auto &[key, value] : file.metadata) {
    auto bad = [&, key = key, value = value](const char *what) {
      return Status::error("checkpoint '" + path + "': metadata '" + key +
                           "' is '" + value + "', not " + what);
    };
    char *end = nullptr;
    errno = 0;
    if (key == "seed") {
      unsigned long long seed = std::strtoull(value.c_str(), &end, 10);
      if (value.empty() || *end || errno || value[0] == '-')
        return bad("a non-negative integer");
      progress.seed = seed;
    } else if (key == "loss_sum") {
      double sum = std::strtod(value.c_str(), &end);
      if (value.empty() || *end || errno || !std::isfinite(sum))
        return bad("a finite number");
      progress.lossSum = sum;
    } else if (key == "epoch" || key == "batch" || key == "steps" ||
               key == "loss_count" || key == "global_batch") {
      long long n = std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end || errno || n < 0)
        return bad("a non-negative integer");
      (key == "epoch"          ? progress.epoch
       : key == "batch"        ? progress.batch
       : key == "steps"        ? progress.steps
       : key == "global_batch" ? progress.globalBatch
                               : progress.lossCount) = n;
    }
  }
  return progress;
}

std::vector<std::pair<std::string, std::string>>
progressMetadata(const CheckpointProgress &progress) {
  char sum[40];
  std::snprintf(sum, sizeof(sum), "%.17g", progress.lossSum);
  return {{"epoch", std::to_string(progress.epoch)},
          {"steps", std::to_string(progress.steps)},
          {"loss_sum", sum},
          {"loss_count", std::to_string(progress.lossCount)},
          {"batch", std::to_string(progress.batch)},
          {"seed", std::to_string(progress.seed.value_or(0))},
          {"global_batch", std::to_string(progress.globalBatch)}};
}

} // namespace kiln::rt
