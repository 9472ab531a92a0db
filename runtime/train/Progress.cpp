//===- Progress.cpp - A training run's progress and the signals it heeds --===//

#include "train/Progress.h"

#include "train/GradientAverager.h"

#include "io/AtomicFile.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace kiln::rt {

volatile std::sig_atomic_t interrupted = 0;

char progressLine[256];
volatile std::sig_atomic_t progressLineLength = 0;

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

std::FILE *progressOut = stderr;

std::string clock(double seconds) {
  int64_t s = static_cast<int64_t>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof(text), "%lld:%02lld", static_cast<long long>(s / 60),
                static_cast<long long>(s % 60));
  return text;
}

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

Status openMetrics(const TrainOptions &options, bool resumed,
                   std::FILE *&metrics) {
  metrics = nullptr;
  if (!options.metrics.empty()) {
    metrics = std::fopen(options.metrics.c_str(), resumed ? "a" : "w");
    if (!metrics)
      return Status::error("cannot write metrics to '" + options.metrics +
                           "': " + std::strerror(errno));
    if (!resumed)
      std::fprintf(metrics, "epoch,steps,train_loss,test_loss,test_accuracy,seconds\n");
  }
  return Status::success();
}

std::vector<EpochRecord> earlierRecords(const TrainOptions &options,
                                        bool resumed, int64_t startEpoch) {
  std::vector<EpochRecord> records;
  if (resumed && !options.metrics.empty()) {
    StatusOr<std::vector<EpochRecord>> earlier = readMetrics(options.metrics);
    if (earlier.ok())
      for (const EpochRecord &r : earlier.value())
        if (r.epoch <= startEpoch)
          records.push_back(r);
  }
  return records;
}

Status writePlot(const CompiledModel &model, const TrainOptions &options,
                 const std::vector<EpochRecord> &records) {
  std::string svg = plotSvg(records, model.name + ": " +
                                         std::to_string(records.size()) +
                                         " epochs (seed " +
                                         std::to_string(options.seed) + ")");
  if (Status s = io::writeFileAtomically(options.plot,
                                         {{svg.data(), svg.size()}});
      !s.ok())
    return s;
  std::fprintf(progressOut, "plot written to %s\n", options.plot.c_str());
  return Status::success();
}

} // namespace kiln::rt
