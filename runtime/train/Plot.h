//===- Plot.h - A training run's curves and summary -----------------------===//
//
// What `./model train` shows at the end: loss and accuracy per epoch drawn
// as an SVG (--plot; any browser or image viewer opens it), and a summary of
// the run.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_TRAIN_PLOT_H
#define KILN_RUNTIME_TRAIN_PLOT_H

#include "kiln/runtime/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::rt {

/// One epoch's row of the metrics: the steps taken by its end, the mean
/// train loss, the test loss and headline accuracy (NaN for models without
/// labels), and the seconds since the run (or its first part) started.
struct EpochRecord {
  int64_t epoch = 0, steps = 0;
  double trainLoss = 0, testLoss = 0, accuracy = 0, seconds = 0;
};

/// The rows of a metrics CSV as training writes them (header
/// epoch,steps,train_loss,test_loss,test_accuracy,seconds); errors name the
/// file and line.
StatusOr<std::vector<EpochRecord>> readMetrics(const std::string &path);

/// The SVG of `records`: train and test loss per epoch, and beside it the
/// test accuracy where there is one; `title` heads it.
std::string plotSvg(const std::vector<EpochRecord> &records,
                    const std::string &title);

/// The run in a few lines: epochs, wall time and rate, the best epoch by
/// accuracy (or test loss), the last epoch's numbers.
std::string summarize(const std::vector<EpochRecord> &records,
                      double examplesPerSecond, const std::string &accuracyName);

} // namespace kiln::rt

#endif // KILN_RUNTIME_TRAIN_PLOT_H
