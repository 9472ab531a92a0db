//===- Progress.h - A training run's progress and the signals it heeds ----===//
//
// What train() prints while it runs (on progressOut): a step's progress, and
// at the end how a data-parallel run averaged its gradients; the files that
// record the epochs (--metrics, --plot). Ctrl-C or SIGTERM (onInterrupt)
// asks the run to finish its step, checkpoint and stop; a data-parallel
// rank 0 keeps the line that a signal prints at once.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_TRAIN_PROGRESS_H
#define KILN_RUNTIME_TRAIN_PROGRESS_H

#include "train/Plot.h"

#include "kiln/runtime/Training.h"

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace kiln::rt {

class GradientAverager;

/// Set by the first Ctrl-C or SIGTERM (onInterrupt).
extern volatile std::sig_atomic_t interrupted;

/// A data-parallel run's last completed step, as the line a signal prints
/// at once: when a rank dies, mpirun ends the others with SIGTERM (then
/// SIGKILL) while they wait for it in an all-reduce, so this line is all
/// they can say.
extern char progressLine[256];
extern volatile std::sig_atomic_t progressLineLength;

/// Ctrl-C, or SIGTERM as schedulers and containers send it: finish the
/// step, checkpoint and stop. A second one quits at once.
void onInterrupt(int signal);

/// Where train() prints its progress: stderr, or nothing on a data-parallel
/// run's ranks other than 0.
extern std::FILE *progressOut;

/// `seconds` as minutes and seconds ("12:05").
std::string clock(double seconds);

/// Training's progress after a step: on a terminal a bar redrawn in place,
/// else a line at each quarter of the epoch and at its end. `epoch` and
/// `step` are 1-based, with their totals.
void printProgress(bool terminal, std::pair<int64_t, int64_t> epoch,
                   std::pair<int64_t, int64_t> step, double loss, double rate,
                   double eta);

/// The end of a data-parallel run: how its gradients were averaged, and
/// what the steps waited for.
void reportDataParallel(
    const std::vector<std::unique_ptr<GradientAverager>> &averagers, int ranks,
    int64_t globalBatch, int64_t runSteps, double runSeconds, bool onGpu,
    int64_t bucketBytes);

/// --metrics opened for the run (null without it): appended to when
/// resuming, else written anew from its header.
Status openMetrics(const TrainOptions &options, bool resumed,
                   std::FILE *&metrics);

/// The rows a resumed run's metrics file holds for the epochs it had
/// finished (up to `startEpoch`); none for a new run or without --metrics.
std::vector<EpochRecord> earlierRecords(const TrainOptions &options,
                                        bool resumed, int64_t startEpoch);

/// --plot: the epochs' curves, written atomically.
Status writePlot(const CompiledModel &model, const TrainOptions &options,
                 const std::vector<EpochRecord> &records);

} // namespace kiln::rt

#endif // KILN_RUNTIME_TRAIN_PROGRESS_H
