//===- Batches.cpp - The trainer's data: loading, shuffling, batches ------===//

#include "train/Batches.h"

#include <cstring>
#include <random>
#include <utility>

namespace kiln::rt {

/// The order of the epoch's examples: a Fisher-Yates shuffle seeded by the
/// run's seed and the epoch, so a resumed run sees the same batches.
std::vector<int64_t> permutation(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i)
    order[i] = i;
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + epoch + 1);
  for (int64_t i = n - 1; i > 0; --i) {
    int64_t j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

/// Copies examples `order[first..first+count)` into the batch tensors; rows
/// past the end of `order` are zero.
void fillBatch(const Dataset &data, const std::vector<int64_t> &order,
               int64_t first, HostTensor &x, HostTensor &y) {
  int64_t batch = y.shape()[0];
  int64_t stride = data.images.numElements() / data.size();
  std::memset(x.data(), 0, x.sizeInBytes());
  std::memset(y.data(), 0, y.sizeInBytes());
  for (int64_t b = 0; b < batch && first + b < static_cast<int64_t>(order.size()); ++b) {
    int64_t i = order[first + b];
    if (x.dtype() == DType::F64) {
      for (int64_t j = 0; j < stride; ++j)
        x.data<double>()[b * stride + j] = data.images.data<float>()[i * stride + j];
    } else {
      std::memcpy(x.data<float>() + b * stride,
                  data.images.data<float>() + i * stride, stride * sizeof(float));
    }
    y.data<int64_t>()[b] = data.labels.data<int64_t>()[i];
  }
}

double scalarOf(const HostTensor &t) {
  return t.dtype() == DType::F64 ? t.data<double>()[0] : t.data<float>()[0];
}




/// Fills a batch with examples order[first..] of `data`.
void fillInputs(const Dataset &data, const std::vector<int64_t> &order,
                int64_t first, const WindowDraw &draw, const ModelShapes &shapes,
                BatchInputs &in) {
  if (data.problems > 0)
    fillReversal(data, order, first, draw, *in.x, in.tgt, in.y);
  else if (data.context > 0)
    fillWindows(data, order, first, draw, *in.x, *in.y, in.mask,
                /*maskId=*/shapes.classes - 1);
  else
    fillBatch(data, order, first, *in.x, *in.y);
}

/// The training set (unless `testOnly`) and the test set.
StatusOr<Loaded> loadData(const TrainOptions &options,
                          const ModelShapes &shapes, bool testOnly) {
  Loaded data;
  if (shapes.source > 0) {
    // The reversal task: 64,000 fresh problems an epoch, 1,000 held out.
    if (!testOnly)
      data.train = reversalProblems(64000, shapes.source, /*heldOut=*/false);
    data.test = reversalProblems(1000, shapes.source, /*heldOut=*/true);
    return data;
  }
  if (shapes.context > 0) {
    // A model of token windows reads a character corpus.
    std::vector<std::string> files;
    if (!options.trainFile.empty()) {
      files.push_back(options.trainFile);
    } else {
      StatusOr<std::vector<std::string>> found = fortuneFiles(options.corpusDir);
      if (!found.ok())
        return found.status();
      files = std::move(found).value();
    }
    StatusOr<CorpusSplit> split =
        loadCorpus(files, options.testFile, shapes.context);
    if (!split.ok())
      return split.status();
    data.train = std::move(split.value().train);
    data.test = std::move(split.value().test);
    if (testOnly)
      data.train = Dataset();
    return data;
  }
  if (options.data == "synthetic") {
    data.train = syntheticImages(testOnly ? 0 : 6000, options.seed).value();
    data.test = syntheticImages(1000, options.seed + 1).value();
  } else if (options.data == "text") {
    if ((!testOnly && options.trainFile.empty()) || options.testFile.empty())
      return Status::error(testOnly ? "--data text needs --test-file G"
                                    : "--data text needs --train-file F and "
                                      "--test-file G");
    for (auto [path, out] : {std::pair{&options.trainFile, &data.train},
                             std::pair{&options.testFile, &data.test}}) {
      if (testOnly && out == &data.train)
        continue;
      // Labels of a model without them are read, and ignored.
      StatusOr<Dataset> set = loadTextDataset(
          *path, shapes.example,
          shapes.unsupervised ? std::numeric_limits<int64_t>::max()
                              : shapes.classes);
      if (!set.ok())
        return set.status();
      *out = std::move(set).value();
      std::fprintf(stderr, "%s: %lld examples%s%s\n", path->c_str(),
                   static_cast<long long>(out->size()),
                   out->note.empty() ? "" : ", ", out->note.c_str());
    }
    if (!testOnly && data.train.note != data.test.note)
      return Status::error("'" + options.trainFile + "' and '" +
                           options.testFile +
                           "' hold values of different ranges (one 8-bit "
                           "pixels, the other not): they would be scaled "
                           "differently");
  } else if (options.data == "fashion-mnist") {
    if (!testOnly) {
      StatusOr<Dataset> train = loadFashionMnist(options.dataDir, true);
      if (!train.ok())
        return train.status();
      data.train = std::move(train).value();
    }
    StatusOr<Dataset> test = loadFashionMnist(options.dataDir, false);
    if (!test.ok())
      return test.status();
    data.test = std::move(test).value();
  } else {
    return Status::error("--data must be fashion-mnist, text or synthetic, "
                         "got '" + options.data + "'");
  }
  // The examples must be what the model takes, and the labels its classes.
  for (const Dataset *set : {&data.train, &data.test}) {
    if (set->size() == 0)
      continue; // Not loaded (eval reads no training set).
    std::vector<int64_t> example(set->images.shape().begin() + 1,
                                 set->images.shape().end());
    int64_t size = 1, expected = 1;
    for (int64_t d : example)
      size *= d;
    for (int64_t d : shapes.example)
      expected *= d;
    if (size != expected)
      return Status::error("the " + options.data + " examples are " +
                           formatShape(example) + ", the model takes " +
                           formatShape(shapes.example));
    // A model without labels (vae, gan) ignores them.
    for (int64_t i = 0; i < set->size() && !shapes.unsupervised; ++i)
      if (set->labels.data<int64_t>()[i] >= shapes.classes)
        return Status::error("the " + options.data + " label " +
                             std::to_string(set->labels.data<int64_t>()[i]) +
                             " of example " + std::to_string(i) +
                             " is not one of the model's " +
                             std::to_string(shapes.classes) + " classes");
  }
  return data;
}

} // namespace kiln::rt
