//===- TrainerSetup.cpp - What a training run sets up before its steps ----===//

#include "train/TrainerSetup.h"

#include "train/Initialize.h"
#include "train/Progress.h"

#include "io/AtomicFile.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <random>
#include <string>
#include <unistd.h>
#include <utility>

namespace kiln::rt {

Status checkOutputFolders(const TrainOptions &options) {
  for (const std::string *path :
       {&options.paramsOut, &options.checkpoint, &options.plot,
        &options.profile}) {
    if (path->empty())
      continue;
    std::string folder = io::directoryOf(*path);
    if (::access(folder.c_str(), W_OK) != 0)
      return Status::error("cannot write '" + *path + "': the folder '" +
                           folder + "' " +
                           (errno == ENOENT ? "does not exist"
                                            : "is not writable"));
  }
  return Status::success();
}

Status readRunStart(TrainOptions &options, RunStart &start) {
  std::optional<SafeTensorsFile> &resumed = start.resumed;
  CheckpointProgress &progress = start.progress;
  int64_t &startEpoch = start.startEpoch, &startBatch = start.startBatch;
  if (!options.resume.empty()) {
    StatusOr<SafeTensorsFile> file = readSafeTensors(options.resume);
    if (!file.ok())
      return file.status();
    resumed = std::move(file).value();
    StatusOr<CheckpointProgress> read = readProgress(*resumed, options.resume);
    if (!read.ok())
      return read.status();
    progress = read.value();
    // The checkpoint's settings win unless overridden.
    if (progress.seed && !options.seedGiven)
      options.seed = *progress.seed;
    else if (progress.seed && options.seed != *progress.seed)
      std::fprintf(progressOut,
                   "warning: --seed %llu differs from the checkpoint's "
                   "seed %llu: batches are drawn in another order than "
                   "the interrupted run's\n",
                   (unsigned long long)options.seed,
                   (unsigned long long)*progress.seed);
    startEpoch = progress.epoch;
    startBatch = progress.batch;
  }
  std::optional<SafeTensorsFile> &initial = start.initial;
  if (!options.initParams.empty() && !resumed) {
    StatusOr<SafeTensorsFile> file = readSafeTensors(options.initParams);
    if (!file.ok())
      return file.status();
    initial = std::move(file).value();
  }
  return Status::success();
}

Status setUpArguments(const TrainOptions &options, const ModelShapes &shapes,
                      const std::vector<const ArgumentSpec *> &slots,
                      const RunStart &start, const EntrySpec *energyGrad,
                      TrainArguments &arguments) {
  const std::optional<SafeTensorsFile> &resumed = start.resumed,
                                       &initial = start.initial;
  std::vector<HostTensor> &args = arguments.args;
  std::mt19937_64 initRng(options.seed);
  bool reversal = shapes.source > 0;
  int &xIndex = arguments.xIndex, &yIndex = arguments.yIndex,
      &maskIndex = arguments.maskIndex, &tgtIndex = arguments.tgtIndex;
  int otherIndex = -1;
  int &rngSeedIndex = arguments.rngSeedIndex,
      &rngOffsetIndex = arguments.rngOffsetIndex;
  int &xNegIndex = arguments.xNegIndex;
  for (const ArgumentSpec *slot : slots) {
    const ArgumentSpec &a = *slot;
    if (a.kind == ArgKind::Input) {
      const std::string &name = a.tensor.name;
      int index = static_cast<int>(args.size());
      if (name == (reversal ? "src" : "x"))
        xIndex = index;
      else if (name == "y")
        yIndex = index;
      else if (name == "mask" && !reversal)
        maskIndex = index;
      else if (name == "tgt" && reversal)
        tgtIndex = index;
      else if (name == "rng_seed" && a.tensor.dtype == DType::I64)
        rngSeedIndex = index;
      else if (name == "rng_offset" && a.tensor.dtype == DType::I64)
        rngOffsetIndex = index;
      else if (name == "x_neg" && energyGrad)
        xNegIndex = index;
      else
        otherIndex = index;
      args.push_back(HostTensor::zeros(a.tensor.dtype, a.tensor.shape).value());
      continue;
    }
    if (resumed) {
      const HostTensor *t = resumed->find(a.tensor.name);
      if (!t)
        return Status::error("checkpoint '" + options.resume +
                             "' has no tensor '" + a.tensor.name +
                             "' (is it from another model?)");
      if (t->shape() != a.tensor.shape || t->dtype() != a.tensor.dtype)
        return Status::error("checkpoint '" + options.resume + "': '" +
                             a.tensor.name + "' is " + t->describe() +
                             ", the model expects " + dtypeName(a.tensor.dtype) +
                             formatShape(a.tensor.shape));
      args.push_back(t->clone());
      continue;
    }
    if (const HostTensor *t = initial ? initial->find(a.tensor.name) : nullptr) {
      if (t->shape() != a.tensor.shape || t->dtype() != a.tensor.dtype)
        return Status::error("--init-params '" + options.initParams + "': '" +
                             a.tensor.name + "' is " + t->describe() +
                             ", the model expects " +
                             dtypeName(a.tensor.dtype) +
                             formatShape(a.tensor.shape));
      args.push_back(t->clone());
      continue;
    }
    if (a.init == "imported")
      return Status::error(
          "'" + a.tensor.name + "' starts from the imported model's value" +
          (initial ? ", which --init-params '" + options.initParams +
                         "' does not hold"
                   : ": give --init-params P.safetensors (written by kilnc "
                     "--save-params)"));
    StatusOr<HostTensor> t = initialize(a, initRng);
    if (!t.ok())
      return t.status();
    args.push_back(std::move(t).value());
  }
  // A model without labels gets a scratch tensor for the labels the
  // batches carry.
  HostTensor &unusedLabels = arguments.unusedLabels;
  if (shapes.unsupervised && yIndex < 0 && xIndex >= 0)
    unusedLabels =
        HostTensor::zeros(DType::I64, {args[xIndex].shape()[0]}).value();
  if (xIndex < 0 || (yIndex < 0 && !shapes.unsupervised) ||
      otherIndex >= 0 ||
      (maskIndex >= 0) != shapes.masked || (tgtIndex >= 0) != reversal) {
    std::string expected =
        reversal ? std::string("train_step must take sources src, decoder "
                               "inputs tgt and targets y, and no other input")
        : shapes.context > 0
            ? std::string("train_step must take token windows x, targets y") +
                  (shapes.masked ? " and mask" : "") +
                  ", and no other input"
            : "train_step must take images x and integer labels y, and no "
              "other input";
    if (otherIndex >= 0)
      expected += " (it also takes '" + slots[otherIndex]->tensor.name +
                  "'; the training loop feeds x, y, mask, src, tgt, "
                  "rng_seed, rng_offset and x_neg by name)";
    return Status::error(expected);
  }
  return Status::success();
}

Status writeFinishedParams(const CompiledModel &model,
                           const SafeTensorsFile &resumed,
                           const TrainOptions &options, int64_t startEpoch) {
  // A run killed after its last checkpoint but before writing
  // --save-params: the parameters are the checkpoint's model state (what
  // `forward` takes), with its metadata, as the run would have written.
  const EntrySpec *forward = findEntry(model.entries, "forward");
  SafeTensorsFile params;
  params.metadata = resumed.metadata;
  for (const NamedTensor &t : resumed.tensors)
    if (forward && std::any_of(forward->arguments.begin(),
                               forward->arguments.end(),
                               [&](const ArgumentSpec &a) {
                                 return a.kind != ArgKind::Input &&
                                        a.tensor.name == t.name;
                               }))
      params.tensors.push_back({t.name, t.tensor.clone()});
  if (Status s = writeSafeTensors(options.paramsOut, params); !s.ok())
    return s;
  std::fprintf(progressOut,
               "the checkpoint '%s' has finished %lld epoch%s and --epochs "
               "is %lld: its parameters were written to '%s'; the "
               "checkpoint was left alone\n",
               options.resume.c_str(), (long long)startEpoch,
               startEpoch == 1 ? "" : "s", (long long)options.epochs,
               options.paramsOut.c_str());
  return Status::success();
}

Status prepareDataParallel(const CompiledModel &model,
                           const TrainOptions &options, Communicator *comm,
                           int ranks, bool onGpu, const TrainSteps &found,
                           const std::vector<const ArgumentSpec *> &slots,
                           DataParallelSteps &parallel) {
  const std::vector<const EntrySpec *> &steps = found.steps,
                                       &gradSteps = found.gradSteps,
                                       &applySteps = found.applySteps;
  // Data-parallel steps: grad and apply_step on the same slots, by name;
  // apply_step's inputs grad.<param> are grad's results of those names.
  std::vector<std::vector<int>> &gradSlots = parallel.gradSlots,
                                &applySlots = parallel.applySlots,
                                &applyFrom = parallel.applyFrom;
  std::vector<std::vector<HostTensor>> &gradArgs = parallel.gradArgs,
                                       &gradResults = parallel.gradResults,
                                       &applyArgs = parallel.applyArgs,
                                       &applyResults = parallel.applyResults;
  for (std::vector<std::vector<int>> *v : {&gradSlots, &applySlots, &applyFrom})
    v->assign(gradSteps.size(), {});
  for (std::vector<std::vector<HostTensor>> *v :
       {&gradArgs, &gradResults, &applyArgs, &applyResults}) {
    v->clear();
    v->resize(gradSteps.size());
  }
  auto slotNamed = [&](const std::string &name) {
    for (size_t i = 0; i < slots.size(); ++i)
      if (slots[i]->tensor.name == name)
        return static_cast<int>(i);
    return -1;
  };
  for (size_t k = 0; k < gradSteps.size(); ++k) {
    for (const ArgumentSpec &a : gradSteps[k]->arguments) {
      gradSlots[k].push_back(slotNamed(a.tensor.name));
      if (gradSlots[k].back() < 0)
        return Status::error(gradSteps[k]->name + "'s argument '" +
                             a.tensor.name + "' is not " + steps[k]->name +
                             "'s");
    }
    for (const ArgumentSpec &a : applySteps[k]->arguments) {
      int from = -1;
      for (size_t r = 0; r < gradSteps[k]->results.size(); ++r)
        if (a.kind == ArgKind::Input &&
            gradSteps[k]->results[r].name == a.tensor.name)
          from = static_cast<int>(r);
      applyFrom[k].push_back(from);
      applySlots[k].push_back(from >= 0 ? -1 : slotNamed(a.tensor.name));
      if (from < 0 && applySlots[k].back() < 0)
        return Status::error(applySteps[k]->name + "'s argument '" +
                             a.tensor.name + "' is neither " +
                             steps[k]->name + "'s nor a gradient");
    }
    gradArgs[k].resize(gradSteps[k]->arguments.size());
    gradResults[k] = allocateResults(*gradSteps[k]).value();
    applyArgs[k].resize(applySteps[k]->arguments.size());
    applyResults[k].resize(applySteps[k]->results.size());
  }
  // Averages `tensors` across the ranks: one sum per dtype over their
  // elements packed together, then a division by the number of ranks.
  // Each grad step's gradients are averaged in buckets while it runs
  // (--bucket-mb; 0: after it).
  // A GPU artefact's are averaged on the GPU with NCCL.
  std::vector<std::unique_ptr<GradientAverager>> &averagers =
      parallel.averagers;
  if (ranks > 1)
    for (size_t k = 0; k < gradSteps.size(); ++k) {
      if (!onGpu) {
        averagers.push_back(hostGradientAverager(*comm, options.bucketBytes));
        continue;
      }
      StatusOr<std::unique_ptr<GradientAverager>> nccl = ncclGradientAverager(
          *comm, *model.artefact, gradSteps[k]->name, options.bucketBytes);
      if (!nccl.ok())
        return nccl.status();
      averagers.push_back(std::move(nccl.value()));
    }
  return Status::success();
}

Status prepareSteps(const std::vector<const EntrySpec *> &steps,
                    const TrainOptions &options,
                    std::vector<std::vector<HostTensor>> &stepArgs,
                    std::vector<std::vector<HostTensor>> &results) {
  stepArgs.clear();
  stepArgs.resize(steps.size());
  results.clear();
  results.resize(steps.size());
  for (size_t k = 0; k < steps.size(); ++k) {
    const EntrySpec &step = *steps[k];
    for (size_t r = 1; r < step.results.size(); ++r)
      if (step.updatedArgument(r) < 0)
        return Status::error(step.name + " result '" + step.results[r].name +
                             "' updates no argument");
    stepArgs[k].resize(step.arguments.size());
    results[k].resize(step.results.size());
    results[k][0] =
        HostTensor::zeros(step.results[0].dtype, step.results[0].shape).value();
    // With --copy-updates: results in buffers of their own, then moved
    // into the arguments (the path kiln-run takes), to check the in-place
    // one.
    if (options.copyUpdates)
      results[k] = allocateResults(step).value();
  }
  return Status::success();
}

Status keepStateOnGpu(const CompiledModel &model, const TrainOptions &options,
                      int ranks, bool onGpu, const TrainSteps &found,
                      const std::vector<const ArgumentSpec *> &slots,
                      std::vector<HostTensor> &args,
                      DataParallelSteps &parallel, GpuResidency &stateOnGpu,
                      GpuResidency &gradientsOnGpu) {
  const std::vector<const EntrySpec *> &gradSteps = found.gradSteps;
  const std::vector<std::vector<int>> &gradSlots = parallel.gradSlots,
                                      &applyFrom = parallel.applyFrom;
  std::vector<std::vector<HostTensor>> &gradResults = parallel.gradResults;
  // A GPU artefact keeps the training state (parameters, optimizer state,
  // buffers) on the GPU from step to step; its host copy is brought up to
  // date where it is read (evaluation, checkpoints). With --copy-updates
  // every step's results are new buffers: no state stays anywhere. A
  // data-parallel step averages the buffers its gradient step updates
  // (batch norm's running statistics) on the host and writes them into
  // their slots there: those go to the GPU with every call.
  std::vector<bool> updatedOnHost(args.size(), false);
  for (size_t k = 0; k < gradSteps.size(); ++k)
    for (size_t r = 1; r < gradSteps[k]->results.size(); ++r)
      if (int a = gradSteps[k]->updatedArgument(r); a >= 0)
        updatedOnHost[gradSlots[k][a]] = true;
  if (!options.copyUpdates) {
    std::vector<HostTensor *> state;
    for (size_t i = 0; i < args.size(); ++i)
      if (slots[i]->kind != ArgKind::Input && !updatedOnHost[i])
        state.push_back(&args[i]);
    if (Status s = stateOnGpu.keep(model.artefact, std::move(state)); !s.ok())
      return s;
  }
  // A data-parallel GPU step's gradients go from its gradient step (where
  // NCCL averages them in place) to its update on the GPU: their buffers
  // stay there for the run, and the host never holds them. The loss and
  // the averaged running statistics come back as before.
  if (onGpu && ranks > 1 && !options.copyUpdates) {
    std::vector<HostTensor *> gradients;
    for (size_t k = 0; k < gradSteps.size(); ++k)
      for (int from : applyFrom[k])
        if (from > 0 && gradSteps[k]->updatedArgument(from) < 0)
          gradients.push_back(&gradResults[k][from]);
    if (Status s = gradientsOnGpu.keep(model.artefact, std::move(gradients));
        !s.ok())
      return s;
  }
  return Status::success();
}

} // namespace kiln::rt
