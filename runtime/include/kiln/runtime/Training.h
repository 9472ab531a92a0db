//===- Training.h - Training loops over compiled train_step entries -------===//
//
// Drives a compiled model's `train_step` over a dataset: parameters start
// from their manifest initializers (or a checkpoint), batches are shuffled
// with a seeded generator, every epoch ends with the test-set loss and
// accuracy (from `forward`), and checkpoints are atomic safetensors files
// from which a run resumes exactly, bit for bit.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_TRAINING_H
#define KILN_RUNTIME_TRAINING_H

#include "kiln/runtime/RunCommand.h"

#include <cstdint>
#include <string>

namespace kiln::rt {

/// Examples [N, ...] (f32; images in [0, 1]) and labels [N] (i64).
struct Dataset {
  HostTensor images;
  HostTensor labels;
  /// How the values were read, when worth saying ("values 0-255 scaled by
  /// 1/255").
  std::string note;
  int64_t size() const { return labels.shape().empty() ? 0 : labels.shape()[0]; }
};

/// Fashion-MNIST from Debian's dataset-fashion-mnist (IDX, gzip) in `dir`.
StatusOr<Dataset> loadFashionMnist(const std::string &dir, bool train);
/// A plain text file: one example per line, its integer label (a class,
/// 0 to `classes` - 1) then the example's values (as many as
/// `exampleShape` holds, row-major), separated by commas or whitespace. A
/// first line that does not start with a number is a header; `#` starts a
/// comment; blank lines are skipped. If every value lies in [0, 255] and
/// some exceed 1, they are 8-bit pixels and are scaled by 1/255 (the
/// dataset's note says so). Errors name the file and line.
StatusOr<Dataset> loadTextDataset(const std::string &path,
                                  const std::vector<int64_t> &exampleShape,
                                  int64_t classes);
/// A synthetic 10-class set of 28x28 images: each class a fixed random
/// pattern plus noise, so a classifier can learn it quickly.
StatusOr<Dataset> syntheticImages(int64_t size, uint64_t seed);

struct TrainOptions {
  int64_t epochs = 1;
  uint64_t seed = 0;
  /// --seed was given: on --resume it overrides the checkpoint's seed
  /// (with a warning when they differ); otherwise the checkpoint's is used.
  bool seedGiven = false;
  /// "fashion-mnist", "text" or "synthetic".
  std::string data = "fashion-mnist";
  std::string dataDir = "/usr/share/datasets/fashion-mnist";
  /// With data "text": the training and test files (loadTextDataset).
  std::string trainFile, testFile;
  /// Stop each epoch after this many steps (0: the whole training set).
  int64_t stepsPerEpoch = 0;
  std::string checkpoint;     // written at the end, and every N steps
  int64_t checkpointEvery = 0;
  std::string resume;         // checkpoint to continue from
  std::string metrics;        // CSV, one row per epoch
  std::string paramsOut;      // final model state: parameters and buffers,
                              // not the optimizer's (safetensors)
  /// Stop after this many steps of this run, writing the checkpoint as Ctrl-C
  /// does (0: never). Makes an interruption reproducible.
  int64_t stopAfterSteps = 0;
  /// Scan every kernel's output; stop at the first step where one holds a
  /// NaN or Inf, naming the op that wrote it (the loss may still be finite:
  /// an optimizer update that overflows spoils the next step).
  bool checkNumerics = false;
  /// train_step writes parameters, optimizer state and running statistics
  /// in place; with this, into buffers of their own that then replace the
  /// arguments (slower; for checking that both agree).
  bool copyUpdates = false;
  /// Results independent of the thread count (kiln_set_deterministic):
  /// oneDNN's convolution weight gradients on one thread.
  bool deterministic = false;
};

/// A compiled model: its entry points and a way to run them.
struct CompiledModel {
  const std::vector<EntrySpec> &entries;
  EntryRunner run;
};

/// Trains with `train_step` and evaluates with `forward`; prints progress to
/// stderr (a bar on a terminal, plain lines otherwise).
Status train(const CompiledModel &model, const TrainOptions &options);

/// The test-set loss and accuracy of parameters in `paramsPath`.
Status evaluate(const CompiledModel &model, const std::string &paramsPath,
                const TrainOptions &options);

/// Parses train/eval flags from argv[first..] into `options`.
Status parseTrainFlags(int argc, char **argv, int first, TrainOptions &options,
                       std::string *paramsPath);

} // namespace kiln::rt

#endif // KILN_RUNTIME_TRAINING_H
