//===- TrainerSetup.h - What a training run sets up before its steps ------===//
//
// What train() prepares before its first step, in the order it does: its
// outputs checked, the checkpoint it resumes from (or --init-params), the
// steps' arguments slot by slot, a data-parallel run's gradient and update
// steps with their gradients' averagers, each step's result buffers, and
// the state a GPU artefact keeps on the GPU. Each fails with the error
// train() returns.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_TRAIN_TRAINERSETUP_H
#define KILN_RUNTIME_TRAIN_TRAINERSETUP_H

#include "train/Checkpoint.h"
#include "train/GradientAverager.h"
#include "train/ModelShapes.h"
#include "train/TrainSteps.h"

#include "kiln/runtime/Artefact.h"
#include "kiln/runtime/Communicator.h"
#include "kiln/runtime/SafeTensors.h"
#include "kiln/runtime/Training.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace kiln::rt {

/// An output that cannot be written is found before training, not after.
Status checkOutputFolders(const TrainOptions &options);

/// Where a run starts: --resume's checkpoint and where it left off, or the
/// parameters of --init-params.
struct RunStart {
  std::optional<SafeTensorsFile> resumed;
  CheckpointProgress progress;
  int64_t startEpoch = 0, startBatch = 0;
  /// --init-params, unless resuming.
  std::optional<SafeTensorsFile> initial;
};

/// Reads --resume's checkpoint, whose seed becomes the run's unless --seed
/// overrides it (a warning says when they differ), then --init-params.
Status readRunStart(TrainOptions &options, RunStart &start);

/// The steps' arguments, one per slot: state (parameters, buffers) and the
/// batch's inputs, with where the inputs are (-1: not taken).
struct TrainArguments {
  std::vector<HostTensor> args;
  int xIndex = -1, yIndex = -1, maskIndex = -1, tgtIndex = -1;
  /// Counter-based random numbers (dropout): the run's seed, and an offset
  /// of step << 32 so that every step draws fresh numbers and a resumed run
  /// the same ones.
  int rngSeedIndex = -1, rngOffsetIndex = -1;
  /// An energy-based model's negatives x_neg, which come from Langevin
  /// chains (entry energy_grad) started from a replay buffer.
  int xNegIndex = -1;
  /// A model without labels: a scratch tensor for the labels the batches
  /// carry.
  HostTensor unusedLabels;
};

/// The arguments of `slots`: inputs zero; state from the checkpoint, else
/// from --init-params, else initialized as the manifest says (drawn with
/// the run's seed). Fails on state the checkpoint lacks or holds in another
/// shape, and on inputs the training loop does not feed. `energyGrad`: an
/// energy-based model's entry, if any (x_neg is then fed).
Status setUpArguments(const TrainOptions &options, const ModelShapes &shapes,
                      const std::vector<const ArgumentSpec *> &slots,
                      const RunStart &start, const EntrySpec *energyGrad,
                      TrainArguments &arguments);

/// A run killed after its last checkpoint but before writing --save-params:
/// the parameters are the checkpoint's model state (what `forward` takes),
/// with its metadata, as the run would have written them.
Status writeFinishedParams(const CompiledModel &model,
                           const SafeTensorsFile &resumed,
                           const TrainOptions &options, int64_t startEpoch);

/// A data-parallel run's steps (none in one process). For train step k:
/// the slots of its gradient step's arguments (gradSlots[k]) and of its
/// update's (applySlots[k]; -1 for a gradient), the gradient step's result
/// each argument of the update is (applyFrom[k]; -1 for a slot), the
/// buffers they are lent and return, and the averager of the gradients.
struct DataParallelSteps {
  std::vector<std::vector<int>> gradSlots, applySlots, applyFrom;
  std::vector<std::vector<HostTensor>> gradArgs, gradResults, applyArgs,
      applyResults;
  std::vector<std::unique_ptr<GradientAverager>> averagers;
};

/// The data-parallel steps of `found` on `slots`, averaging over `comm` on
/// the host, or on the GPU with NCCL for a GPU artefact (`onGpu`).
Status prepareDataParallel(const CompiledModel &model,
                           const TrainOptions &options, Communicator *comm,
                           int ranks, bool onGpu, const TrainSteps &found,
                           const std::vector<const ArgumentSpec *> &slots,
                           DataParallelSteps &parallel);

/// Each train step's arguments (lent the slots' tensors) and results. Each
/// result after the loss updates an argument (parameters, optimizer state,
/// the model's buffers) in place: it is given no buffer of its own, unless
/// --copy-updates. Fails on a result that updates no argument.
Status prepareSteps(const std::vector<const EntrySpec *> &steps,
                    const TrainOptions &options,
                    std::vector<std::vector<HostTensor>> &stepArgs,
                    std::vector<std::vector<HostTensor>> &results);

/// What a GPU artefact keeps on the GPU from step to step (nothing for a
/// CPU artefact, or with --copy-updates): the training state in `args`
/// (`stateOnGpu`), and a data-parallel step's gradients (`gradientsOnGpu`).
Status keepStateOnGpu(const CompiledModel &model, const TrainOptions &options,
                      int ranks, bool onGpu, const TrainSteps &found,
                      const std::vector<const ArgumentSpec *> &slots,
                      std::vector<HostTensor> &args,
                      DataParallelSteps &parallel, GpuResidency &stateOnGpu,
                      GpuResidency &gradientsOnGpu);

} // namespace kiln::rt

#endif // KILN_RUNTIME_TRAIN_TRAINERSETUP_H
