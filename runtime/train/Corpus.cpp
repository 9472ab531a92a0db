//===- Corpus.cpp - Character corpora and their token windows -------------===//

#include "kiln/runtime/Training.h"

#include "io/InputFile.h"

#include <algorithm>
#include <cstring>
#include <dirent.h>
#include <random>
#include <sys/stat.h>

namespace kiln::rt {

int64_t corpusId(unsigned char c) {
  if (c >= 32 && c <= 126)
    return c - 32;
  return c == '\n' ? 95 : -1;
}

char corpusSymbol(int64_t id) {
  return id == 95 ? '\n' : static_cast<char>(id + 32);
}

int64_t corpusTokens(const std::string &text, std::vector<uint8_t> &ids) {
  int64_t dropped = 0;
  for (unsigned char c : text) {
    int64_t id = corpusId(c);
    if (id >= 0)
      ids.push_back(static_cast<uint8_t>(id));
    else
      ++dropped;
  }
  return dropped;
}

StatusOr<std::vector<std::string>> fortuneFiles(const std::string &dir) {
  DIR *folder = ::opendir(dir.c_str());
  if (!folder)
    return Status::error("cannot read the corpus folder '" + dir + "': " +
                         std::strerror(errno) +
                         " (install Debian's fortunes package, or give a "
                         "text file with --train-file)");
  std::vector<std::string> files;
  while (dirent *entry = ::readdir(folder)) {
    std::string name = entry->d_name;
    auto endsWith = [&](const char *suffix) {
      size_t n = std::strlen(suffix);
      return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
    };
    if (name.empty() || name[0] == '.' || endsWith(".dat") || endsWith(".u8"))
      continue;
    std::string path = dir + "/" + name;
    struct stat info;
    if (::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode))
      files.push_back(path);
  }
  ::closedir(folder);
  std::sort(files.begin(), files.end());
  if (files.empty())
    return Status::error("the corpus folder '" + dir + "' holds no text "
                         "files (give one with --train-file)");
  return files;
}

namespace {

Status readTokens(const std::string &path, std::vector<uint8_t> &ids) {
  StatusOr<io::InputFile> file = io::InputFile::open(path);
  if (!file.ok())
    return file.status();
  StatusOr<std::string> text = file.value().readAll();
  if (!text.ok())
    return text.status();
  corpusTokens(text.value(), ids);
  return Status::success();
}

Status enough(const Dataset &part, const std::string &what, int64_t context) {
  int64_t have = static_cast<int64_t>(part.tokens.size());
  if (have >= context + 1)
    return Status::success();
  return Status::error(what + " holds " + std::to_string(have) +
                       " characters of the vocabulary (printable ASCII and "
                       "newlines), fewer than one window of " +
                       std::to_string(context + 1));
}

} // namespace

StatusOr<CorpusSplit> loadCorpus(const std::vector<std::string> &trainFiles,
                                 const std::string &testFile,
                                 int64_t context) {
  CorpusSplit split;
  split.train.context = split.test.context = context;
  for (const std::string &path : trainFiles)
    if (Status s = readTokens(path, split.train.tokens); !s.ok())
      return s;
  std::string trainName = trainFiles.size() == 1
                              ? "'" + trainFiles[0] + "'"
                              : "the " + std::to_string(trainFiles.size()) +
                                    " corpus files";
  if (!testFile.empty()) {
    if (Status s = readTokens(testFile, split.test.tokens); !s.ok())
      return s;
    if (Status s = enough(split.test, "'" + testFile + "'", context); !s.ok())
      return s;
    if (Status s = enough(split.train, trainName, context); !s.ok())
      return s;
    return split;
  }
  // The last tenth is held out.
  std::vector<uint8_t> &all = split.train.tokens;
  size_t cut = all.size() - all.size() / 10;
  split.test.tokens.assign(all.begin() + cut, all.end());
  all.resize(cut);
  if (Status s = enough(split.train, trainName + " (its first 90%)", context);
      !s.ok())
    return s;
  if (Status s = enough(split.test, trainName + " (its last 10%, held out)",
                        context);
      !s.ok())
    return s;
  return split;
}

void fillWindows(const Dataset &data, const std::vector<int64_t> &order,
                 int64_t first, const WindowDraw &draw, HostTensor &x,
                 HostTensor &y, HostTensor *mask, int64_t maskId) {
  int64_t batch = x.shape()[0], context = x.shape()[1];
  std::memset(x.data(), 0, x.sizeInBytes());
  std::memset(y.data(), 0, y.sizeInBytes());
  if (mask)
    std::memset(mask->data(), 0, mask->sizeInBytes());
  int64_t length = static_cast<int64_t>(data.tokens.size());
  for (int64_t b = 0; b < batch && first + b < static_cast<int64_t>(order.size());
       ++b) {
    int64_t example = order[first + b];
    // One generator per example: a resumed run draws the same windows.
    std::mt19937_64 rng(
        (draw.training ? draw.seed * 0x9E3779B97F4A7C15ull + draw.epoch + 1 : 0) ^
        (static_cast<uint64_t>(example) * 0xD1B54A32D192ED03ull + 0x2545F491));
    int64_t last = length - context - 1; // the largest start
    int64_t start =
        draw.training
            ? static_cast<int64_t>(rng() % static_cast<uint64_t>(last + 1))
            : std::min(example * context, last);
    int64_t *xs = x.data<int64_t>() + b * context;
    int64_t *ys = y.data<int64_t>() + b * context;
    const uint8_t *text = data.tokens.data() + start;
    if (!mask) {
      for (int64_t t = 0; t < context; ++t)
        xs[t] = text[t], ys[t] = text[t + 1];
      continue;
    }
    auto choose = [&](int64_t t) {
      if (mask->dtype() == DType::F64)
        mask->data<double>()[b * context + t] = 1.0;
      else
        mask->data<float>()[b * context + t] = 1.0f;
    };
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::uniform_int_distribution<int64_t> anyId(0, kCorpusSymbols - 1);
    bool chosenAny = false;
    for (int64_t t = 0; t < context; ++t) {
      xs[t] = ys[t] = text[t];
      if (unit(rng) >= 0.15)
        continue;
      chosenAny = true;
      double r = unit(rng);
      if (r < 0.8)
        xs[t] = maskId;
      else if (r < 0.9)
        xs[t] = anyId(rng);
      choose(t);
    }
    if (!chosenAny) { // Every window predicts something.
      int64_t t = std::uniform_int_distribution<int64_t>(0, context - 1)(rng);
      xs[t] = maskId;
      choose(t);
    }
  }
}

} // namespace kiln::rt
