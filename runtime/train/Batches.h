//===- Batches.h - The trainer's data: loading, shuffling, batches --------===//

#ifndef KILN_RUNTIME_TRAIN_BATCHES_H
#define KILN_RUNTIME_TRAIN_BATCHES_H

#include "train/ModelShapes.h"

#include "kiln/runtime/HostTensor.h"
#include "kiln/runtime/Training.h"

#include <cstdint>
#include <vector>

namespace kiln::rt {

struct Loaded {
  Dataset train, test;
};

/// The training set (unless `testOnly`) and the test set the options name,
/// checked against what the model takes.
StatusOr<Loaded> loadData(const TrainOptions &options,
                          const ModelShapes &shapes, bool testOnly = false);

/// The order of the epoch's examples: a Fisher-Yates shuffle seeded by the
/// run's seed and the epoch, so a resumed run sees the same batches.
std::vector<int64_t> permutation(int64_t n, uint64_t seed, int64_t epoch);

/// Copies examples `order[first..first+count)` into the batch tensors; rows
/// past the end of `order` are zero.
void fillBatch(const Dataset &data, const std::vector<int64_t> &order,
               int64_t first, HostTensor &x, HostTensor &y);

/// A batch's input tensors, found by name: x (src for the reversal task),
/// y, and mask (masked models) or tgt (the reversal task's decoder input).
struct BatchInputs {
  HostTensor *x = nullptr, *y = nullptr, *mask = nullptr, *tgt = nullptr;
};

/// Fills a batch with examples order[first..] of `data`.
void fillInputs(const Dataset &data, const std::vector<int64_t> &order,
                int64_t first, const WindowDraw &draw, const ModelShapes &shapes,
                BatchInputs &in);

/// The value of a 0-d float tensor.
double scalarOf(const HostTensor &t);

} // namespace kiln::rt

#endif // KILN_RUNTIME_TRAIN_BATCHES_H
