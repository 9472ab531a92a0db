//===- TrainSteps.h - The entries a training run calls, and their slots ---===//
//
// What train() runs each batch: the train steps (train_step, or a gan's
// train_step_<s> in turn), data-parallel their gradients and optimizers
// (grad_<s>, apply_step_<s>); the tensors the steps share by name (slots);
// and, across ranks, the check that every rank runs the same model with the
// same settings from the same state.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_TRAIN_TRAINSTEPS_H
#define KILN_RUNTIME_TRAIN_TRAINSTEPS_H

#include "kiln/runtime/Communicator.h"
#include "kiln/runtime/Training.h"

#include <vector>

namespace kiln::rt {

/// The training steps each batch runs, in order: train_step, which for a
/// model trained in alternating steps (gan) chains its train_step_<step>
/// entries. Data-parallel, such a model runs its train_step_<s> in turn,
/// and each step runs as its gradient (grad, grad_<s>), averaged across the
/// ranks, then its optimizer (apply_step, apply_step_<s>).
struct TrainSteps {
  std::vector<const EntrySpec *> steps, gradSteps, applySteps;
};

StatusOr<TrainSteps> trainSteps(const CompiledModel &model, int ranks);

/// The steps' arguments by name, each once (a slot): parameters, optimizer
/// states and inputs the steps share are one tensor. slotOf[k][i] is the
/// slot of step k's argument i.
Status shareSlots(const std::vector<const EntrySpec *> &steps,
                  std::vector<const ArgumentSpec *> &slots,
                  std::vector<std::vector<int>> &slotOf);

/// Every rank must run the same model with the same settings from the
/// same state: a mismatch would train garbage, silently.
Status checkRanksAgree(Communicator &comm, const CompiledModel &model,
                       const TrainOptions &options, int64_t startEpoch,
                       int64_t startBatch, const std::vector<HostTensor> &args,
                       const std::vector<const ArgumentSpec *> &slots);

} // namespace kiln::rt

#endif // KILN_RUNTIME_TRAIN_TRAINSTEPS_H
