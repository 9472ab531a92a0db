//===- Trainer.cpp - The training loop over a compiled train_step ---------===//
//
// train(): the epochs of steps over the training set, each epoch ending with
// an evaluation; checkpoints, metrics and --profile as it goes. What it sets
// up before its first step is in TrainerSetup.cpp, what it prints and the
// signals it heeds in Progress.cpp. evaluate(): saved parameters' test loss
// and accuracy.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/Artefact.h"
#include "kiln/runtime/Communicator.h"
#include "kiln/runtime/Training.h"

#include "train/Batches.h"
#include "train/Checkpoint.h"
#include "train/Evaluation.h"
#include "train/GradientAverager.h"
#include "train/Plot.h"
#include "train/Progress.h"
#include "train/Support.h"
#include "train/Langevin.h"
#include "train/ModelShapes.h"
#include "train/TrainSteps.h"
#include "train/TrainerSetup.h"

#include "kiln/runtime/Library.h"
#include "kiln/runtime/Numerics.h"
#include "kiln/runtime/SafeTensors.h"

#include "io/AtomicFile.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>
#include <unistd.h>

namespace kiln::rt {

Status train(const CompiledModel &model, const TrainOptions &given) {
  TrainOptions options = given; // the checkpoint may supply the seed
  // A data-parallel run (mpirun): every rank trains on its share of each
  // global batch; rank 0 alone prints and writes files.
  Communicator *comm = options.communicator;
  const int rank = comm ? comm->rank() : 0, ranks = comm ? comm->size() : 1;
  static std::FILE *devNull = std::fopen("/dev/null", "w");
  progressOut = rank == 0 || !devNull ? stderr : devNull;
  if (rank != 0)
    options.checkpoint = options.paramsOut = options.metrics = options.plot =
        options.profile = "";
  StatusOr<TrainSteps> found = trainSteps(model, ranks);
  if (!found.ok())
    return found.status();
  const std::vector<const EntrySpec *> &steps = found.value().steps,
                                       &gradSteps = found.value().gradSteps,
                                       &applySteps = found.value().applySteps;
  std::vector<const ArgumentSpec *> slots;
  std::vector<std::vector<int>> slotOf;
  if (Status shared = shareSlots(steps, slots, slotOf); !shared.ok())
    return shared;
  StatusOr<ModelShapes> shapes = modelShapes(model);
  if (!shapes.ok())
    return shapes.status();
  // The checkpoint first: its seed, unless --seed overrides it, also
  // draws synthetic data.
  RunStart start;
  if (Status s = readRunStart(options, start); !s.ok())
    return s;
  const std::optional<SafeTensorsFile> &resumed = start.resumed;
  const CheckpointProgress &progress = start.progress;
  int64_t startEpoch = start.startEpoch, startBatch = start.startBatch;
  // The seed of the numbers a rank draws inside its steps (dropout, noise,
  // Langevin chains): each rank its own, rank 0 the run's.
  const uint64_t rankSeed =
      options.seed + static_cast<uint64_t>(rank) * 0x9E3779B97F4A7C15ull;
  StatusOr<Loaded> loaded = loadData(options, shapes.value());
  if (!loaded.ok())
    return loaded.status();
  const Dataset &train = loaded.value().train;
  if (loaded.value().test.size() == 0)
    return Status::error("the test set is empty: there is nothing to evaluate "
                         "the model on");
  if (Status writable = checkOutputFolders(options); !writable.ok())
    return writable;

  // Arguments: state (parameters, buffers) then the batch (x, y).
  bool reversal = shapes.value().source > 0;
  // An energy-based model's negatives x_neg come from Langevin chains
  // (entry energy_grad) started from a replay buffer.
  const EntrySpec *energyGrad = findEntry(model.entries, "energy_grad");
  TrainArguments arguments;
  if (Status s = setUpArguments(options, shapes.value(), slots, start,
                                energyGrad, arguments);
      !s.ok())
    return s;
  std::vector<HostTensor> &args = arguments.args;
  const int xIndex = arguments.xIndex, yIndex = arguments.yIndex,
            maskIndex = arguments.maskIndex, tgtIndex = arguments.tgtIndex,
            rngSeedIndex = arguments.rngSeedIndex,
            rngOffsetIndex = arguments.rngOffsetIndex,
            xNegIndex = arguments.xNegIndex;
  HostTensor &unusedLabels = arguments.unusedLabels;
  NegativeChain chain;
  if (xNegIndex >= 0) {
    StatusOr<NegativeChain> prepared =
        prepareChain(*energyGrad, args[xNegIndex], slots,
                     resumed ? &*resumed : nullptr, options.resume, rankSeed);
    if (!prepared.ok())
      return prepared.status();
    chain = std::move(prepared).value();
  }
  // The batch's negatives: the chain, on the current parameters.
  std::vector<HostTensor> chainArgs(chain.slotOf.size());
  auto drawNegatives = [&](int64_t step) -> Status {
    for (size_t i = 0; i < chainArgs.size(); ++i)
      chainArgs[i] = std::move(chain.slotOf[i] < 0 ? chain.images
                                                   : args[chain.slotOf[i]]);
    Status s = replayNegatives(model, *energyGrad, chainArgs, chain.x,
                               chain.replay, rankSeed, step);
    for (size_t i = 0; i < chainArgs.size(); ++i)
      (chain.slotOf[i] < 0 ? chain.images : args[chain.slotOf[i]]) =
          std::move(chainArgs[i]);
    if (s.ok())
      std::memcpy(args[xNegIndex].data(), chain.images.data(),
                  chain.images.sizeInBytes());
    return s;
  };
  if (resumed && startEpoch >= options.epochs && !options.paramsOut.empty())
    return writeFinishedParams(model, *resumed, options, startEpoch);
  if (resumed && startEpoch >= options.epochs) {
    std::fprintf(progressOut,
                 "nothing to do: the checkpoint '%s' has finished %lld "
                 "epoch%s and --epochs is %lld (raise --epochs to train "
                 "further); nothing was written\n",
                 options.resume.c_str(), (long long)startEpoch,
                 startEpoch == 1 ? "" : "s", (long long)options.epochs);
    return Status::success();
  }
  if (ranks > 1)
    if (Status agreed = checkRanksAgree(*comm, model, options, startEpoch,
                                        startBatch, args, slots);
        !agreed.ok())
      return agreed;
  // Data-parallel steps: grad and apply_step on the same slots, by name,
  // and the averagers of their gradients (on the GPU with NCCL for a GPU
  // artefact).
  const bool onGpu = model.artefact && model.artefact->onGpu();
  DataParallelSteps parallel;
  if (Status s = prepareDataParallel(model, options, comm, ranks, onGpu,
                                     found.value(), slots, parallel);
      !s.ok())
    return s;
  std::vector<std::vector<int>> &gradSlots = parallel.gradSlots,
                                &applySlots = parallel.applySlots,
                                &applyFrom = parallel.applyFrom;
  std::vector<std::vector<HostTensor>> &gradArgs = parallel.gradArgs,
                                       &gradResults = parallel.gradResults,
                                       &applyArgs = parallel.applyArgs,
                                       &applyResults = parallel.applyResults;
  std::vector<std::unique_ptr<GradientAverager>> &averagers =
      parallel.averagers;
  // One data-parallel step: each train step's gradient on this rank's
  // batch, averaged with the other ranks' (the loss and batch norm's new
  // running statistics too), then its optimizer.
  bool agreedStop = false;  // every rank saw a signal by this step's end
  auto runDataParallel = [&](double &loss) -> Status {
    loss = 0;
    for (size_t k = 0; k < gradSteps.size(); ++k) {
      std::vector<HostTensor> &lent = gradArgs[k];
      for (size_t i = 0; i < lent.size(); ++i)
        lent[i] = std::move(args[gradSlots[k][i]]);
      GradientAverager &averager = *averagers[k];
      Status s = averager.beforeStep(gradResults[k]);
      if (s.ok())
        s = model.run(gradSteps[k]->name, lent, gradResults[k]);
      for (size_t i = 0; i < lent.size(); ++i)
        args[gradSlots[k][i]] = std::move(lent[i]);
      s = averager.afterStep(std::move(s));
      if (!s.ok())
        return s;
      loss += scalarOf(gradResults[k][0]);
      for (size_t r = 1; r < gradResults[k].size(); ++r)
        if (int a = gradSteps[k]->updatedArgument(r); a >= 0) {
          HostTensor &slot = args[gradSlots[k][a]];
          std::memcpy(slot.data(), gradResults[k][r].data(),
                      slot.sizeInBytes());
        }
      std::vector<HostTensor> &given = applyArgs[k];
      for (size_t i = 0; i < given.size(); ++i)
        given[i] = applySlots[k][i] >= 0
                       ? std::move(args[applySlots[k][i]])
                       : std::move(gradResults[k][applyFrom[k][i]]);
      s = model.run(applySteps[k]->name, given, applyResults[k]);
      for (size_t i = 0; i < given.size(); ++i)
        (applySlots[k][i] >= 0 ? args[applySlots[k][i]]
                               : gradResults[k][applyFrom[k][i]]) =
            std::move(given[i]);
      if (!s.ok())
        return s;
    }
    // Ctrl-C or SIGTERM reaches the ranks at different moments: they stop
    // together, after the step where the first saw it.
    double stop = interrupted ? 1 : 0;
    if (Status s = comm->allReduceSum(&stop, 1, DType::F64); !s.ok())
      return s;
    agreedStop = stop > 0;
    return Status::success();
  };
  // Each result after the loss updates an argument (parameters, optimizer
  // state, the model's buffers) in place: it is given no buffer of its own.
  std::vector<std::vector<HostTensor>> stepArgs, results;
  if (Status s = prepareSteps(steps, options, stepArgs, results); !s.ok())
    return s;
  // Runs the steps on the slots' tensors, lent to each step's arguments;
  // returns the sum of their losses.
  auto runBatch = [&](double &loss) -> Status {
    loss = 0;
    for (size_t k = 0; k < steps.size(); ++k) {
      std::vector<HostTensor> &lent = stepArgs[k];
      for (size_t i = 0; i < lent.size(); ++i)
        lent[i] = std::move(args[slotOf[k][i]]);
      Status s = model.run(steps[k]->name, lent, results[k]);
      if (s.ok() && options.copyUpdates) {
        for (size_t r = 1; r < results[k].size(); ++r)
          lent[steps[k]->updatedArgument(r)] = std::move(results[k][r]);
        results[k] = allocateResults(*steps[k]).value();
      }
      for (size_t i = 0; i < lent.size(); ++i)
        args[slotOf[k][i]] = std::move(lent[i]);
      if (!s.ok())
        return s;
      loss += scalarOf(results[k][0]);
    }
    return Status::success();
  };
  int64_t batch = args[xIndex].shape()[0];
  // Each step takes one batch per rank: a global batch of ranks x batch.
  int64_t globalBatch = batch * ranks;
  int64_t batches = train.size() / globalBatch;
  if (batches == 0)
    return Status::error("the training set has " +
                         std::to_string(train.size()) +
                         " examples, fewer than one batch of " +
                         std::to_string(globalBatch) +
                         ": nothing to train (compile with a smaller --batch, "
                         "or give more data)");
  if (options.stepsPerEpoch > 0)
    batches = std::min(batches, options.stepsPerEpoch);
  // A checkpoint of a run with another global batch (another number of
  // ranks): continue at the same example of the epoch.
  // A checkpoint from before global batches were recorded is a single
  // process's: its steps took the compiled batch.
  int64_t savedGlobalBatch =
      progress.globalBatch > 0 ? progress.globalBatch : batch;
  if (resumed && savedGlobalBatch != globalBatch && startBatch > 0) {
    int64_t examples = startBatch * savedGlobalBatch;
    startBatch = examples / globalBatch;
    std::fprintf(progressOut,
                 "the checkpoint's steps took %lld examples, this run's take "
                 "%lld: continuing at step %lld of epoch %lld (example "
                 "%lld)\n",
                 (long long)savedGlobalBatch, (long long)globalBatch,
                 (long long)startBatch + 1, (long long)startEpoch + 1,
                 (long long)(startBatch * globalBatch));
  }

  std::FILE *metrics = nullptr;
  if (Status s = openMetrics(options, resumed.has_value(), metrics); !s.ok())
    return s;
  // Every write of the metrics is checked (a full disk must not leave an
  // empty CSV behind an exit status of 0).
  auto metricsWritten = [&](bool closing) -> Status {
    if (!metrics)
      return Status::success();
    bool failed = std::fflush(metrics) != 0 || std::ferror(metrics);
    int error = errno;
    if (closing) {
      failed |= std::fclose(metrics) != 0;
      metrics = nullptr;
    }
    if (failed)
      return Status::error("cannot write metrics to '" + options.metrics +
                           "': " + std::strerror(error ? error : EIO));
    return Status::success();
  };
  // The epochs' rows, for --plot and the summary.
  std::vector<EpochRecord> records =
      earlierRecords(options, resumed.has_value(), startEpoch);
  if (metrics) {
    if (Status s = metricsWritten(false); !s.ok())
      return s;
  }

  // A GPU artefact keeps the training state (and a data-parallel step's
  // gradients) on the GPU from step to step; its host copy is brought up
  // to date where it is read (evaluation, checkpoints).
  GpuResidency stateOnGpu, gradientsOnGpu;
  if (Status s = keepStateOnGpu(model, options, ranks, onGpu, found.value(),
                                slots, args, parallel, stateOnGpu,
                                gradientsOnGpu);
      !s.ok())
    return s;
  auto stateTensors = [&]() {
    std::vector<NamedTensor> state;
    for (size_t i = 0; i < args.size(); ++i)
      if (slots[i]->kind != ArgKind::Input)
        state.push_back({slots[i]->tensor.name, args[i].clone()});
    return state;
  };
  // The model's own state: what `forward` takes besides inputs (parameters
  // and buffers such as running statistics, not the optimizer's state).
  const EntrySpec *forward = findEntry(model.entries, "forward");
  auto isModelState = [&](const std::string &name) {
    for (const ArgumentSpec &a : forward->arguments)
      if (a.kind != ArgKind::Input && a.tensor.name == name)
        return true;
    return false;
  };
  // The current epoch's running train loss, and the steps taken in all: a
  // checkpoint carries them, so a resumed run reports the same numbers.
  double lossSum = 0;
  int64_t lossCount = 0;
  int64_t stepsDone = 0;
  int64_t runSteps = 0; // this run's (--stop-after-steps)
  int64_t checkpointedStep = 0; // the step of the last checkpoint written
  auto save = [&](const std::string &path, int64_t epoch, int64_t next,
                  bool modelOnly) {
    if (Status s = stateOnGpu.copyToHost(); !s.ok())
      return s;
    if (path == options.checkpoint)
      checkpointedStep = stepsDone;
    SafeTensorsFile file;
    for (size_t i = 0; i < args.size(); ++i)
      if (slots[i]->kind != ArgKind::Input &&
          (!modelOnly || isModelState(slots[i]->tensor.name)))
        file.tensors.push_back({slots[i]->tensor.name, args[i].clone()});
    // An energy-based model's replay buffer resumes with the run.
    if (xNegIndex >= 0 && !modelOnly)
      file.tensors.push_back({Langevin::kBufferName, chain.replay.clone()});
    CheckpointProgress now;
    now.epoch = epoch;
    now.batch = next;
    now.steps = stepsDone;
    now.lossSum = next == 0 ? 0.0 : lossSum;
    now.lossCount = next == 0 ? 0 : lossCount;
    now.seed = options.seed;
    now.globalBatch = globalBatch;
    file.metadata = progressMetadata(now);
    return writeSafeTensors(path, file);
  };

  // A run killed while writing left its temporaries behind: remove them.
  for (const std::string *path : {&options.checkpoint, &options.paramsOut})
    if (!path->empty())
      if (int removed = io::removeStaleTemporaries(*path))
        std::fprintf(progressOut, "removed %d temporary file%s a killed run left "
                     "beside '%s'\n",
                     removed, removed == 1 ? "" : "s", path->c_str());
  setNumericsChecks(options.checkNumerics);
  kiln_set_deterministic(options.deterministic);
  bool terminal = isatty(2);
  // --profile's steps: they end early with the epoch (its evaluation is not
  // a training step) or the run.
  bool profiling = false;
  int64_t profiledSteps = 0;
  auto finishProfile = [&]() -> Status {
    if (!profiling)
      return Status::success();
    profiling = false;
    setProfiling(false);
    if (terminal)
      std::fputc('\n', progressOut);
    return reportProfile(takeProfile(), options.profile, profiledSteps,
                         "a training step", onGpu);
  };
  std::signal(SIGINT, onInterrupt);
  std::signal(SIGTERM, onInterrupt);
  auto started = std::chrono::steady_clock::now();
  if (resumed) {
    stepsDone = progress.steps;
    lossSum = progress.lossSum;
    lossCount = progress.lossCount;
  }
  for (int64_t epoch = startEpoch; epoch < options.epochs; ++epoch) {
    std::vector<int64_t> order = permutation(train.size(), options.seed, epoch);
    if (epoch != startEpoch || startBatch == 0)
      lossSum = 0, lossCount = 0;
    int64_t epochSteps = 0; // this run's, for the rate
    auto epochStart = std::chrono::steady_clock::now();
    for (int64_t b = epoch == startEpoch ? startBatch : 0; b < batches; ++b) {
      BatchInputs in{&args[xIndex],
                     yIndex >= 0 ? &args[yIndex] : &unusedLabels,
                     maskIndex >= 0 ? &args[maskIndex] : nullptr,
                     tgtIndex >= 0 ? &args[tgtIndex] : nullptr};
      fillInputs(train, order, (b * ranks + rank) * batch,
                 {true, options.seed, epoch}, shapes.value(), in);
      if (rngSeedIndex >= 0)
        args[rngSeedIndex].data<int64_t>()[0] =
            static_cast<int64_t>(rankSeed & 0x7FFFFFFFFFFFFFFFull);
      if (rngOffsetIndex >= 0)
        args[rngOffsetIndex].data<int64_t>()[0] = stepsDone << 32;
      resetNonFinite();
      if (xNegIndex >= 0)
        if (Status s = drawNegatives(stepsDone); !s.ok())
          return s;
      double loss = 0;
      // --profile: this run's first step warms up (primitives created),
      // the next profileSteps are timed.
      if (!options.profile.empty() && runSteps == 1 && profiledSteps == 0) {
        setProfiling(true);
        profiling = true;
      }
      profileStart();
      Status stepped = ranks > 1 ? runDataParallel(loss) : runBatch(loss);
      profileEnd("train step (after its last report)");
      if (!stepped.ok()) {
        setProfiling(false);
        return stepped;
      }
      if (profiling && ++profiledSteps == options.profileSteps)
        if (Status s = finishProfile(); !s.ok())
          return s;
      // With --check-numerics, any non-finite value stops training (the
      // state is spoilt even while the loss still looks fine).
      std::optional<NonFiniteValue> bad = firstNonFinite();
      if (!std::isfinite(loss) || bad) {
        if (metrics)
          std::fclose(metrics);
        std::string what = std::isfinite(loss)
                               ? "a kernel wrote a non-finite value"
                               : "the loss is " + std::to_string(loss);
        std::string where;
        if (bad)
          where = "; the first non-finite value: " + bad->describe();
        else
          where = " (--check-numerics names the op that produced it)";
        return Status::error(what + " at epoch " + std::to_string(epoch + 1) +
                             ", step " + std::to_string(b + 1) +
                             ": training stopped" + where);
      }
      lossSum += loss;
      ++lossCount;
      ++stepsDone;
      if (ranks > 1 && rank == 0) {
        progressLineLength = 0;
        int n = std::snprintf(
            progressLine, sizeof progressLine,
            "rank 0: signalled after step %lld (epoch %lld, step %lld of "
            "%lld); the last checkpoint: %s, step %lld\n",
            (long long)stepsDone, (long long)epoch + 1, (long long)b + 1,
            (long long)batches,
            options.checkpoint.empty() ? "none" : options.checkpoint.c_str(),
            (long long)checkpointedStep);
        progressLineLength =
            std::min<int>(n, static_cast<int>(sizeof progressLine) - 1);
      }
      ++runSteps;
      ++epochSteps;
      double elapsed = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - epochStart)
                           .count();
      double rate = epochSteps * globalBatch / std::max(elapsed, 1e-9);
      double eta = (batches - b - 1) * globalBatch / std::max(rate, 1e-9);
      printProgress(terminal, {epoch + 1, options.epochs}, {b + 1, batches},
                    lossSum / lossCount, rate, eta);
      bool periodic = options.checkpointEvery > 0 &&
                      stepsDone % options.checkpointEvery == 0;
      // Data-parallel ranks stop on the signal they agreed on, at the same
      // step.
      bool signalled = ranks > 1 ? agreedStop : bool(interrupted);
      bool stopping = signalled || (options.stopAfterSteps > 0 &&
                                    runSteps >= options.stopAfterSteps);
      if (!options.checkpoint.empty() && (periodic || stopping)) {
        int64_t nextEpoch = b + 1 == batches ? epoch + 1 : epoch;
        int64_t nextBatch = b + 1 == batches ? 0 : b + 1;
        if (Status s = save(options.checkpoint, nextEpoch, nextBatch, false); !s.ok())
          return s;
      }
      // Stopped early, the model as it stands is saved too, as at the end.
      if (stopping && !options.paramsOut.empty()) {
        int64_t nextEpoch = b + 1 == batches ? epoch + 1 : epoch;
        int64_t nextBatch = b + 1 == batches ? 0 : b + 1;
        if (Status s = save(options.paramsOut, nextEpoch, nextBatch, true);
            !s.ok())
          return s;
      }
      if (stopping) {
        if (terminal)
          std::fprintf(progressOut, "\n");
        if (Status s = finishProfile(); !s.ok())
          return s;
        std::fprintf(progressOut, "%s at epoch %lld, step %lld%s\n",
                     signalled ? "interrupted" : "stopped",
                     (long long)epoch + 1, (long long)b + 1,
                     options.checkpoint.empty()
                         ? ""
                         : ("; checkpoint written to " + options.checkpoint).c_str());
        if (Status s = metricsWritten(true); !s.ok())
          return s;
        // The other ranks wait for rank 0's files before they end.
        if (ranks > 1) {
          double done = 0;
          if (Status s = comm->allReduceSum(&done, 1, DType::F64); !s.ok())
            return s;
        }
        return signalled ? Status::error("interrupted") : Status::success();
      }
    }
    if (terminal)
      std::fprintf(progressOut, "\n");
    if (Status s = finishProfile(); !s.ok())
      return s;
    Evaluation evaluation;
    if (Status s = stateOnGpu.copyToHost(); !s.ok())
      return s;
    if (Status s = evaluateOn(model, shapes.value(), loaded.value().test,
                              stateTensors(), evaluation);
        !s.ok())
      return s;
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - started)
                         .count();
    std::fprintf(progressOut, "epoch %lld: train loss %.4f, test loss %.4f, %s (%s)\n",
                 (long long)epoch + 1, lossCount ? lossSum / lossCount : 0.0,
                 evaluation.loss, describeAccuracy(evaluation).c_str(),
                 clock(seconds).c_str());
    records.push_back({epoch + 1, stepsDone,
                       lossCount ? lossSum / lossCount : 0.0, evaluation.loss,
                       evaluation.headline(), seconds});
    if (metrics) {
      std::fprintf(metrics, "%lld,%lld,%.6f,%.6f,%.6f,%.2f\n", (long long)epoch + 1,
                   (long long)stepsDone, lossCount ? lossSum / lossCount : 0.0,
                   evaluation.loss, evaluation.headline(), seconds);
      if (Status s = metricsWritten(false); !s.ok())
        return s;
    }
  }
  if (Status s = metricsWritten(true); !s.ok())
    return s;
  double runSeconds = std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - started)
                          .count();
  std::fprintf(progressOut, "%s",
               summarize(records,
                         runSteps * globalBatch / std::max(runSeconds, 1e-9),
                         reversal ? "exact-sequence accuracy"
                                  : "test accuracy")
                   .c_str());
  if (ranks > 1 && runSteps > 0)
    reportDataParallel(averagers, ranks, globalBatch, runSteps, runSeconds,
                       onGpu, options.bucketBytes);
  if (!options.plot.empty())
    if (Status s = writePlot(model, options, records); !s.ok())
      return s;
  if (!options.checkpoint.empty())
    if (Status s = save(options.checkpoint, options.epochs, 0, false); !s.ok())
      return s;
  if (!options.paramsOut.empty())
    return save(options.paramsOut, options.epochs, 0, true);
  return Status::success();
}

Status evaluate(const CompiledModel &model, const std::string &paramsPath,
                const TrainOptions &options) {
  StatusOr<SafeTensorsFile> file = readSafeTensors(paramsPath);
  if (!file.ok())
    return file.status();
  StatusOr<ModelShapes> shapes = modelShapes(model);
  if (!shapes.ok())
    return shapes.status();
  StatusOr<Loaded> loaded = loadData(options, shapes.value(), /*testOnly=*/true);
  if (!loaded.ok())
    return loaded.status();
  Evaluation evaluation;
  if (Status s = evaluateOn(model, shapes.value(), loaded.value().test,
                            file.value().tensors, evaluation);
      !s.ok())
    return s;
  std::printf("test loss %.4f, %s (%lld %s)\n", evaluation.loss,
              describeAccuracy(evaluation).c_str(),
              (long long)loaded.value().test.size(),
              shapes.value().source > 0    ? "fresh problems"
              : shapes.value().context > 0 ? "windows"
                                           : "examples");
  return Status::success();
}

} // namespace kiln::rt
