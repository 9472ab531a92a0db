//===- Trainer.cpp - The training loop over a compiled train_step ---------===//

#include "kiln/runtime/Artefact.h"
#include "kiln/runtime/Communicator.h"
#include "kiln/runtime/Training.h"

#include "train/Batches.h"
#include "train/Checkpoint.h"
#include "train/Evaluation.h"
#include "train/GradientAverager.h"
#include "train/Initialize.h"
#include "train/Plot.h"
#include "train/Support.h"
#include "train/Langevin.h"
#include "train/ModelShapes.h"
#include "train/TrainSteps.h"

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
#include <random>
#include <utility>
#include <unistd.h>

namespace kiln::rt {
namespace {

volatile std::sig_atomic_t interrupted = 0;

/// A data-parallel run's last completed step, as the line a signal prints
/// at once: when a rank dies, mpirun ends the others with SIGTERM (then
/// SIGKILL) while they wait for it in an all-reduce, so this line is all
/// they can say.
char progressLine[256];
volatile std::sig_atomic_t progressLineLength = 0;

/// Ctrl-C, or SIGTERM as schedulers and containers send it: finish the
/// step, checkpoint and stop. A second one quits at once.
void onInterrupt(int signal) {
  if (progressLineLength > 0)
    (void)!::write(2, progressLine, progressLineLength);
  if (interrupted) {
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  interrupted = 1;
}

/// Where train() prints its progress: stderr, or nothing on a data-parallel
/// run's ranks other than 0.
std::FILE *progressOut = stderr;


std::string clock(double seconds) {
  int64_t s = static_cast<int64_t>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof(text), "%lld:%02lld", static_cast<long long>(s / 60),
                static_cast<long long>(s % 60));
  return text;
}

/// An output that cannot be written is found before training, not after.
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

/// Training's progress after a step: on a terminal a bar redrawn in place,
/// else a line at each quarter of the epoch and at its end. `epoch` and
/// `step` are 1-based, with their totals.
void printProgress(bool terminal, std::pair<int64_t, int64_t> epoch,
                   std::pair<int64_t, int64_t> step, double loss, double rate,
                   double eta) {
  auto [e, epochs] = epoch;
  auto [b, batches] = step;
  if (terminal) {
    int width = 24, filled = static_cast<int>(width * b / batches);
    std::fprintf(progressOut,
                 "\repoch %lld/%lld [%s%s] %lld/%lld loss %.4f  %.0f ex/s  "
                 "ETA %s ",
                 (long long)e, (long long)epochs,
                 std::string(filled, '#').c_str(),
                 std::string(width - filled, '.').c_str(), (long long)b,
                 (long long)batches, loss, rate, clock(eta).c_str());
  } else if (b % std::max<int64_t>(1, batches / 4) == 0 || b == batches) {
    std::fprintf(progressOut,
                 "epoch %lld/%lld step %lld/%lld loss %.4f %.0f ex/s ETA %s\n",
                 (long long)e, (long long)epochs, (long long)b,
                 (long long)batches, loss, rate, clock(eta).c_str());
  }
}

/// A run killed after its last checkpoint but before writing --save-params:
/// the parameters are the checkpoint's model state (what `forward` takes),
/// with its metadata, as the run would have written them.
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

/// The end of a data-parallel run: how its gradients were averaged, and
/// what the steps waited for.
void reportDataParallel(
    const std::vector<std::unique_ptr<GradientAverager>> &averagers, int ranks,
    int64_t globalBatch, int64_t runSteps, double runSeconds, bool onGpu,
    int64_t bucketBytes) {
  if (onGpu) {
    size_t groups = 0;
    for (const auto &a : averagers)
      groups += a->buckets();
    std::fprintf(progressOut,
                 "data-parallel: %d ranks, global batch %lld; gradients "
                 "averaged on the GPUs with NCCL, %zu group%s of all-reduces "
                 "per step\n",
                 ranks, (long long)globalBatch, groups,
                 groups == 1 ? "" : "s");
  } else {
    // The first step sums after the backward pass (it finds the buckets);
    // the others while it runs: what they still wait for after it.
    double exposed = 0, hooked = 0;
    size_t buckets = 0;
    for (const auto &a : averagers)
      exposed += a->exposedSeconds(), hooked += a->hookSeconds(),
          buckets += a->buckets();
    std::fprintf(progressOut,
                 "data-parallel: %d ranks, global batch %lld; waiting for the "
                 "gradients' all-reduce after the backward pass: %.3f ms per "
                 "step (%.1f%% of the run)",
                 ranks, (long long)globalBatch, exposed / runSteps * 1e3,
                 100 * exposed / std::max(runSeconds, 1e-9));
    if (bucketBytes > 0)
      std::fprintf(progressOut,
                   "; %zu bucket%s begun during it (%.3f ms per step in its "
                   "reports)",
                   buckets, buckets == 1 ? "" : "s", hooked / runSteps * 1e3);
    std::fprintf(progressOut, "\n");
  }
}

} // namespace

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
  std::optional<SafeTensorsFile> resumed;
  CheckpointProgress progress;
  int64_t startEpoch = 0, startBatch = 0;
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
  // The seed of the numbers a rank draws inside its steps (dropout, noise,
  // Langevin chains): each rank its own, rank 0 the run's.
  const uint64_t rankSeed =
      options.seed + static_cast<uint64_t>(rank) * 0x9E3779B97F4A7C15ull;
  std::optional<SafeTensorsFile> initial;
  if (!options.initParams.empty() && !resumed) {
    StatusOr<SafeTensorsFile> file = readSafeTensors(options.initParams);
    if (!file.ok())
      return file.status();
    initial = std::move(file).value();
  }
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
  std::vector<HostTensor> args;
  std::mt19937_64 initRng(options.seed);
  bool reversal = shapes.value().source > 0;
  int xIndex = -1, yIndex = -1, maskIndex = -1, tgtIndex = -1, otherIndex = -1;
  // Counter-based random numbers (dropout): the run's seed, and an offset
  // of step << 32 so that every step draws fresh numbers and a resumed run
  // the same ones.
  int rngSeedIndex = -1, rngOffsetIndex = -1;
  // An energy-based model's negatives x_neg come from Langevin chains
  // (entry energy_grad) started from a replay buffer.
  const EntrySpec *energyGrad = findEntry(model.entries, "energy_grad");
  int xNegIndex = -1;
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
  HostTensor unusedLabels;
  if (shapes.value().unsupervised && yIndex < 0 && xIndex >= 0)
    unusedLabels =
        HostTensor::zeros(DType::I64, {args[xIndex].shape()[0]}).value();
  if (xIndex < 0 || (yIndex < 0 && !shapes.value().unsupervised) ||
      otherIndex >= 0 ||
      (maskIndex >= 0) != shapes.value().masked || (tgtIndex >= 0) != reversal) {
    std::string expected =
        reversal ? std::string("train_step must take sources src, decoder "
                               "inputs tgt and targets y, and no other input")
        : shapes.value().context > 0
            ? std::string("train_step must take token windows x, targets y") +
                  (shapes.value().masked ? " and mask" : "") +
                  ", and no other input"
            : "train_step must take images x and integer labels y, and no "
              "other input";
    if (otherIndex >= 0)
      expected += " (it also takes '" + slots[otherIndex]->tensor.name +
                  "'; the training loop feeds x, y, mask, src, tgt, "
                  "rng_seed, rng_offset and x_neg by name)";
    return Status::error(expected);
  }
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
  // Data-parallel steps: grad and apply_step on the same slots, by name;
  // apply_step's inputs grad.<param> are grad's results of those names.
  std::vector<std::vector<int>> gradSlots(gradSteps.size()),
      applySlots(gradSteps.size()), applyFrom(gradSteps.size());
  std::vector<std::vector<HostTensor>> gradArgs(gradSteps.size()),
      gradResults(gradSteps.size()), applyArgs(gradSteps.size()),
      applyResults(gradSteps.size());
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
  std::vector<std::unique_ptr<GradientAverager>> averagers;
  const bool onGpu = model.artefact && model.artefact->onGpu();
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
  std::vector<std::vector<HostTensor>> stepArgs(steps.size()),
      results(steps.size());
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
  if (!options.metrics.empty()) {
    metrics = std::fopen(options.metrics.c_str(), resumed ? "a" : "w");
    if (!metrics)
      return Status::error("cannot write metrics to '" + options.metrics +
                           "': " + std::strerror(errno));
    if (!resumed)
      std::fprintf(metrics, "epoch,steps,train_loss,test_loss,test_accuracy,seconds\n");
  }
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
  // The epochs' rows, for --plot and the summary: a resumed run's earlier
  // ones from its metrics file, where there is one.
  std::vector<EpochRecord> records;
  if (resumed && !options.metrics.empty()) {
    StatusOr<std::vector<EpochRecord>> earlier = readMetrics(options.metrics);
    if (earlier.ok())
      for (const EpochRecord &r : earlier.value())
        if (r.epoch <= startEpoch)
          records.push_back(r);
  }
  if (metrics) {
    if (Status s = metricsWritten(false); !s.ok())
      return s;
  }

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
  GpuResidency stateOnGpu;
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
  GpuResidency gradientsOnGpu;
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
  if (!options.plot.empty()) {
    std::string svg = plotSvg(records, model.name + ": " +
                                           std::to_string(records.size()) +
                                           " epochs (seed " +
                                           std::to_string(options.seed) + ")");
    if (Status s = io::writeFileAtomically(options.plot,
                                           {{svg.data(), svg.size()}});
        !s.ok())
      return s;
    std::fprintf(progressOut, "plot written to %s\n", options.plot.c_str());
  }
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
