//===- Langevin.h - Short-run Langevin chains of energy-based models ------===//
//
// An energy-based model's `energy_grad` entry returns, for images x, the
// sum of their energies and its gradient grad.x. A chain step is
//   x <- x - (lambda / 2) grad.x + sqrt(lambda) clip(eps, -1, 1)
// with lambda = 0.01, eps ~ N(0, 1), x not clamped. Training draws each
// batch's negatives from a replay buffer of 10,000 images (5% of the starts
// fresh uniform noise), runs 20 steps and writes them back; the buffer
// travels in the checkpoint, and every random number comes from the run's
// seed and the step, so a resumed run is bit for bit the same.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_TRAIN_LANGEVIN_H
#define KILN_RUNTIME_TRAIN_LANGEVIN_H

#include "kiln/runtime/SafeTensors.h"
#include "kiln/runtime/Training.h"

#include <random>

namespace kiln::rt {

struct Langevin {
  static constexpr int64_t kBufferSize = 10000;
  static constexpr int64_t kSteps = 20;
  static constexpr double kStepSize = 0.01;
  static constexpr double kRestart = 0.05;
  /// The checkpoint tensor holding the buffer.
  static constexpr const char *kBufferName = "ebm.replay_buffer";
};

/// `steps` chain steps on energy_grad's input x (args[xIndex], updated in
/// place); `args` holds the model's state as `entry` takes it.
Status langevinChain(const CompiledModel &model, const EntrySpec &entry,
                     std::vector<HostTensor> &args, int xIndex, int64_t steps,
                     std::mt19937_64 &rng);

/// A replay buffer [kBufferSize, example...] of uniform noise in [0, 1).
HostTensor initialReplayBuffer(const std::vector<int64_t> &example,
                               DType dtype, uint64_t seed);

/// One batch of negatives (args[xIndex]'s batch) for training step `step`:
/// starts drawn from `buffer` (kRestart of them uniform noise), kSteps
/// chain steps, the results written back into the buffer.
Status replayNegatives(const CompiledModel &model, const EntrySpec &entry,
                       std::vector<HostTensor> &args, int xIndex,
                       HostTensor &buffer, uint64_t seed, int64_t step);

/// An energy-based model's Langevin chain in training: its replay buffer
/// (the checkpoint's, or a fresh one), its own images, and for each
/// argument of energy_grad the training slot lending it (-1: the images,
/// argument `x`).
struct NegativeChain {
  HostTensor replay, images;
  std::vector<int> slotOf;
  int x = -1;
};

/// The chain for negatives shaped as `negatives` (x_neg), energy_grad's
/// arguments found among the training steps' `slots`; the buffer from
/// `resumed` (the checkpoint at `resumePath`) when resuming.
StatusOr<NegativeChain> prepareChain(
    const EntrySpec &energyGrad, const HostTensor &negatives,
    const std::vector<const ArgumentSpec *> &slots,
    const SafeTensorsFile *resumed, const std::string &resumePath,
    uint64_t rankSeed);

} // namespace kiln::rt

#endif // KILN_RUNTIME_TRAIN_LANGEVIN_H
