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
#include <vector>

namespace kiln::rt {

/// Examples [N, ...] (f32; images in [0, 1]) and labels [N] (i64), or a
/// character corpus for models of token windows.
struct Dataset {
  HostTensor images;
  HostTensor labels;
  /// How the values were read, when worth saying ("values 0-255 scaled by
  /// 1/255").
  std::string note;
  /// A corpus: token ids (corpusTokens) cut into windows of `context`
  /// positions; an epoch has as many examples as the corpus has whole
  /// windows.
  std::vector<uint8_t> tokens;
  int64_t context = 0;
  /// The reversal task: `problems` sources of `problemLength` tokens,
  /// drawn when a batch is filled (fillReversal), not stored; `heldOut`
  /// draws them from the evaluation stream instead of the training one.
  int64_t problems = 0, problemLength = 0;
  bool heldOut = false;
  int64_t size() const {
    if (problems > 0)
      return problems;
    if (context > 0)
      return static_cast<int64_t>(tokens.size() - 1) / context;
    return labels.shape().empty() ? 0 : labels.shape()[0];
  }
};

/// The character vocabulary of the text models: bytes 32-126 are ids 0-94,
/// a newline is 95; other bytes are dropped.
constexpr int64_t kCorpusSymbols = 96;
/// The id of byte `c` in that vocabulary, or -1 where it has none.
int64_t corpusId(unsigned char c);
/// The byte of id `id` (0 to kCorpusSymbols - 1).
char corpusSymbol(int64_t id);
/// Appends the ids of `text` to `ids`; returns how many bytes were dropped.
int64_t corpusTokens(const std::string &text, std::vector<uint8_t> &ids);
/// The text of the fortunes package (`dir`: its plain-text files, without
/// .dat and .u8, in file-name order).
StatusOr<std::vector<std::string>> fortuneFiles(const std::string &dir);
/// Training and held-out corpora: the ids of `trainFiles` concatenated, and
/// the last 10% held out; or, when `testFile` is given, all of
/// `trainFiles` for training and all of `testFile` held out. Each part must
/// hold at least one window of `context` + 1 ids.
struct CorpusSplit {
  Dataset train, test;
};
StatusOr<CorpusSplit> loadCorpus(const std::vector<std::string> &trainFiles,
                                 const std::string &testFile,
                                 int64_t context);

/// How the examples of a batch are drawn from a corpus.
struct WindowDraw {
  bool training = true; // training: random starts; else consecutive windows
  uint64_t seed = 0;
  int64_t epoch = 0;
};
/// Fills x [B, T] and y [B, T] (int64) with windows `order[first..]` of
/// `data`: for a next-token model (no `mask`), y is x shifted by one; for a
/// masked model, each position is chosen with probability 0.15 (at least
/// one per window), a chosen one becomes `maskId` (80%), a random id (10%)
/// or stays (10%), y holds the original ids and mask (float) is 1 where
/// chosen. Rows past the end of `order` are zero (mask 0). Training windows
/// start at positions drawn from (seed, epoch, example); evaluation windows
/// are consecutive, with corruption drawn from the example alone.
void fillWindows(const Dataset &data, const std::vector<int64_t> &order,
                 int64_t first, const WindowDraw &draw, HostTensor &x,
                 HostTensor &y, HostTensor *mask, int64_t maskId);

/// The sequence-reversal task of the encoder-decoder models: a source is
/// `length` tokens drawn uniformly from 1..29; the decoder reads BOS (30)
/// then the source reversed and must write the source reversed then EOS
/// (31). Vocabulary 32, 0 is padding.
constexpr int64_t kReversalVocabulary = 32, kReversalBos = 30,
                  kReversalEos = 31;
/// `count` problems of `length` tokens: a training set (each epoch draws
/// fresh ones from the run's seed) or, `heldOut`, the evaluation set (the
/// same problems in every run, from a stream training never draws from).
Dataset reversalProblems(int64_t count, int64_t length, bool heldOut);
/// Fills src [B, L], and where given tgt [B, L+1] (BOS, then src reversed)
/// and y [B, L+1] (src reversed, then EOS), with problems `order[first..]`
/// of `data`, drawn from (seed, epoch, problem) in training and from the
/// problem alone in evaluation. Rows past the end of `order` are zero.
void fillReversal(const Dataset &data, const std::vector<int64_t> &order,
                  int64_t first, const WindowDraw &draw, HostTensor &src,
                  HostTensor *tgt, HostTensor *y);

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

class Artefact;
class Communicator;

struct TrainOptions {
  int64_t epochs = 1;
  uint64_t seed = 0;
  /// --seed was given: on --resume it overrides the checkpoint's seed
  /// (with a warning when they differ); otherwise the checkpoint's is used.
  bool seedGiven = false;
  /// "fashion-mnist", "text" or "synthetic".
  std::string data = "fashion-mnist";
  std::string dataDir = "/usr/share/datasets/fashion-mnist";
  /// With data "text": the training and test files (loadTextDataset). For
  /// a model of token windows: a plain-text corpus replacing the default
  /// one (and, with testFile, the held-out text).
  std::string trainFile, testFile;
  /// The default corpus of token-window models: Debian's fortunes package.
  std::string corpusDir = "/usr/share/games/fortunes";
  /// Stop each epoch after this many steps (0: the whole training set).
  int64_t stepsPerEpoch = 0;
  std::string checkpoint;     // written at the end, and every N steps
  int64_t checkpointEvery = 0;
  std::string resume;         // checkpoint to continue from
  std::string metrics;        // CSV, one row per epoch
  std::string plot;           // SVG of loss and accuracy per epoch
  /// A Chrome trace of `profileSteps` training steps (after one unprofiled
  /// step), and a table of the ops that took the most time; empty: none.
  std::string profile;
  int64_t profileSteps = 10;
  std::string paramsOut;      // final model state: parameters and buffers,
                              // not the optimizer's (safetensors)
  /// The ranks of a data-parallel run (mpirun), or null for one process.
  Communicator *communicator = nullptr;
  /// Data-parallel: gradients are summed across the ranks in buckets of at
  /// least this many bytes as the backward pass produces them (0: all at
  /// once after it).
  int64_t bucketBytes = int64_t(1) << 20;
  /// Where the parameters and buffers start (fine-tuning): a safetensors
  /// file with some or all of them by name; the rest start as the model
  /// says. Required for values an imported model brings ("imported").
  std::string initParams;
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
  /// How the run's plot and messages name it.
  std::string name = "model";
  /// The artefact `run` calls, where there is one (a GPU artefact's
  /// data-parallel steps average on the GPU through it).
  Artefact *artefact = nullptr;
};

/// Trains with `train_step` and evaluates with `forward`; prints progress to
/// stderr (a bar on a terminal, plain lines otherwise).
Status train(const CompiledModel &model, const TrainOptions &options);

/// The test-set loss and accuracy of parameters in `paramsPath`.
Status evaluate(const CompiledModel &model, const std::string &paramsPath,
                const TrainOptions &options);

/// Sampling text from a next-token model (gpt).
struct GenerateOptions {
  std::string params;      // the model's state (safetensors)
  std::string prompt;      // the text to continue (empty: a newline)
  int64_t tokens = 200;    // characters to generate
  double temperature = 1.0;
  int64_t topK = 0;        // sample among the K most likely (0: all)
  uint64_t seed = 0;
  /// Use the model's key/value cache (entries prefill and decode_step)
  /// where it has one; off: every step runs `forward` on the whole window.
  bool cache = true;
};

/// Writes the prompt and `tokens` sampled characters to stdout, and the
/// rate to stderr. Each character is drawn from the logits of the last
/// position, divided by the temperature, among the top K. With the model's
/// key/value cache, `prefill` reads the prompt and each later step is one
/// `decode_step` (one position, attending to the cached keys and values)
/// until the text fills the context; past it the context slides to the
/// last `context` characters, whose positions all change, so each step is
/// a `prefill` of that window. Without a cache, every step runs `forward`
/// on the window.
Status generate(const CompiledModel &model, const GenerateOptions &options);

/// Parses generate's flags from argv[first..].
/// bert's `fill`: the text with each `maskChar` predicted.
struct FillOptions {
  std::string params; // the model's state (safetensors)
  std::string text;   // at most the model's context; '_' marks a blank
  char maskChar = '_';
};

/// Prints `text` with every `maskChar` replaced by the masked model's
/// prediction (the `fill` entry: the most likely text symbol where the
/// input holds [MASK]). A text shorter than the context is followed by
/// newlines, as training windows hold whole lines.
Status fill(const CompiledModel &model, const FillOptions &options);
Status parseFillFlags(int argc, char **argv, int first, FillOptions &options);

Status parseGenerateFlags(int argc, char **argv, int first,
                          GenerateOptions &options);

/// Parses train/eval flags from argv[first..] into `options`.
Status parseTrainFlags(int argc, char **argv, int first, TrainOptions &options,
                       std::string *paramsPath);

} // namespace kiln::rt

#endif // KILN_RUNTIME_TRAINING_H
