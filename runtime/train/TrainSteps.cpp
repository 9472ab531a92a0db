//===- TrainSteps.cpp - The entries a training run calls, and their slots -===//

#include "train/TrainSteps.h"

#include "train/Support.h"

#include <string>
#include <utility>

namespace kiln::rt {

StatusOr<TrainSteps> trainSteps(const CompiledModel &model, int ranks) {
  TrainSteps found;
  // A model trained in alternating steps has them as train_step_<s> and,
  // in one process, runs them as the one train_step that chains them;
  // data-parallel, each step's gradients are averaged before its update.
  const EntrySpec *whole = findEntry(model.entries, "train_step");
  if (ranks == 1 && whole)
    found.steps.push_back(whole);
  else
    for (const EntrySpec &e : model.entries)
      if (e.name.rfind("train_step_", 0) == 0)
        found.steps.push_back(&e);
  if (found.steps.empty() && whole)
    found.steps.push_back(whole);
  if (found.steps.empty())
    return Status::error("the model has no `train_step` entry; " +
                         listEntries(model.entries));
  if (ranks > 1)
    for (const EntrySpec *step : found.steps) {
      std::string suffix = step->name.substr(std::string("train_step").size());
      const EntrySpec *g = findEntry(model.entries, "grad" + suffix);
      const EntrySpec *a = findEntry(model.entries, "apply_step" + suffix);
      if (!g || !a)
        return Status::error("data-parallel training needs the entries grad" +
                             suffix + " and apply_step" + suffix +
                             " beside " + step->name +
                             " (compile the executable with this kilnc, "
                             "without --entries)");
      found.gradSteps.push_back(g);
      found.applySteps.push_back(a);
    }
  return found;
}

Status shareSlots(const std::vector<const EntrySpec *> &steps,
                  std::vector<const ArgumentSpec *> &slots,
                  std::vector<std::vector<int>> &slotOf) {
  slotOf.assign(steps.size(), {});
  for (size_t k = 0; k < steps.size(); ++k)
    for (const ArgumentSpec &a : steps[k]->arguments) {
      int found = -1;
      for (size_t i = 0; i < slots.size(); ++i)
        if (slots[i]->tensor.name == a.tensor.name)
          found = static_cast<int>(i);
      if (found >= 0 && (slots[found]->kind != a.kind ||
                         slots[found]->tensor.shape != a.tensor.shape ||
                         slots[found]->tensor.dtype != a.tensor.dtype))
        return Status::error(steps[k]->name + "'s argument '" + a.tensor.name +
                             "' differs from " + steps[0]->name + "'s");
      if (found < 0) {
        found = static_cast<int>(slots.size());
        slots.push_back(&a);
      }
      slotOf[k].push_back(found);
    }
  return Status::success();
}

Status checkRanksAgree(Communicator &comm, const CompiledModel &model,
                       const TrainOptions &options, int64_t startEpoch,
                       int64_t startBatch, const std::vector<HostTensor> &args,
                       const std::vector<const ArgumentSpec *> &slots) {
  const int ranks = comm.size();
  uint64_t modelHash = fnv(model.name.data(), model.name.size());
  for (const EntrySpec &e : model.entries) {
    modelHash = fnv(e.name.data(), e.name.size(), modelHash);
    for (const ArgumentSpec &a : e.arguments) {
      modelHash = fnv(a.tensor.name.data(), a.tensor.name.size(), modelHash);
      modelHash = fnv(a.tensor.shape.data(),
                      a.tensor.shape.size() * sizeof(int64_t), modelHash);
    }
  }
  int64_t settings[] = {static_cast<int64_t>(options.seed), options.epochs,
                        options.stepsPerEpoch, options.stopAfterSteps,
                        options.checkpointEvery, startEpoch, startBatch};
  uint64_t settingsHash = fnv(settings, sizeof(settings));
  uint64_t stateHash = fnv(nullptr, 0);
  for (size_t i = 0; i < args.size(); ++i)
    if (slots[i]->kind != ArgKind::Input)
      stateHash = fnv(args[i].data(), args[i].sizeInBytes(), stateHash);
  for (auto [value, problem] :
       {std::pair{modelHash, "runs another model than rank 0 (every rank "
                             "must run the same executable)"},
        std::pair{settingsHash, "was given other settings than rank 0 "
                                "(--seed, --epochs, --steps-per-epoch, "
                                "--stop-after-steps, --checkpoint-every, "
                                "--resume must agree)"},
        std::pair{stateHash, "starts from other parameters than rank 0 "
                             "(--seed, --init-params, --resume must "
                             "agree)"}}) {
    StatusOr<std::vector<uint64_t>> all = comm.allGather(value);
    if (!all.ok())
      return all.status();
    for (int r = 1; r < ranks; ++r)
      if (all.value()[r] != all.value()[0])
        return Status::error("rank " + std::to_string(r) + " " + problem);
  }
  return Status::success();
}

} // namespace kiln::rt
