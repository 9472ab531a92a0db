//===- Dataset.cpp - Fashion-MNIST, text files and synthetic sets ---------===//

#include "kiln/runtime/Idx.h"
#include "kiln/runtime/Training.h"

#include "io/InputFile.h"

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <random>

namespace kiln::rt {

StatusOr<Dataset> loadFashionMnist(const std::string &dir, bool train) {
  std::string prefix = dir + "/" + (train ? "train" : "t10k");
  StatusOr<HostTensor> images = readIdx(prefix + "-images-idx3-ubyte.gz");
  if (!images.ok())
    return images.status();
  StatusOr<HostTensor> labels = readIdx(prefix + "-labels-idx1-ubyte.gz");
  if (!labels.ok())
    return labels.status();
  const HostTensor &im = images.value(), &lb = labels.value();
  if (im.dtype() != DType::U8 || im.rank() != 3 || im.shape()[1] != 28 ||
      im.shape()[2] != 28 || lb.dtype() != DType::U8 || lb.rank() != 1 ||
      lb.shape()[0] != im.shape()[0])
    return Status::error("'" + prefix + "-*': expected u8 images [N, 28, 28] "
                         "and u8 labels [N], got " + im.describe() + " and " +
                         lb.describe());
  int64_t n = im.shape()[0];
  Dataset data;
  data.images = HostTensor::zeros(DType::F32, {n, 1, 28, 28}).value();
  data.labels = HostTensor::zeros(DType::I64, {n}).value();
  const uint8_t *pixels = im.data<uint8_t>();
  float *out = data.images.data<float>();
  for (int64_t i = 0; i < n * 784; ++i)
    out[i] = pixels[i] / 255.0f;
  for (int64_t i = 0; i < n; ++i) {
    uint8_t label = lb.data<uint8_t>()[i];
    if (label > 9)
      return Status::error("'" + prefix + "-labels-idx1-ubyte.gz': label " +
                           std::to_string(label) + " at index " +
                           std::to_string(i) + " is not a class (0-9)");
    data.labels.data<int64_t>()[i] = label;
  }
  return data;
}

StatusOr<Dataset> syntheticImages(int64_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> patterns(10 * 784);
  std::mt19937_64 patternRng(12345);
  for (float &p : patterns)
    p = std::uniform_real_distribution<float>(0.0f, 1.0f)(patternRng);
  Dataset data;
  data.images = HostTensor::zeros(DType::F32, {size, 1, 28, 28}).value();
  data.labels = HostTensor::zeros(DType::I64, {size}).value();
  for (int64_t i = 0; i < size; ++i) {
    int64_t label = static_cast<int64_t>(unit(rng) * 10) % 10;
    data.labels.data<int64_t>()[i] = label;
    for (int64_t j = 0; j < 784; ++j)
      data.images.data<float>()[i * 784 + j] =
          patterns[label * 784 + j] + noise(rng);
  }
  return data;
}

} // namespace kiln::rt

namespace kiln::rt {
namespace {

/// The next field of a text line (separated by commas and/or whitespace).
bool nextField(const std::string &line, size_t &pos, std::string &field) {
  auto separator = [](char c) {
    return c == ',' || c == ' ' || c == '\t' || c == '\r';
  };
  while (pos < line.size() && separator(line[pos]))
    ++pos;
  if (pos >= line.size())
    return false;
  size_t start = pos;
  while (pos < line.size() && !separator(line[pos]))
    ++pos;
  field = line.substr(start, pos - start);
  return true;
}

bool parseNumber(const std::string &field, double &value) {
  errno = 0;
  char *end = nullptr;
  value = std::strtod(field.c_str(), &end);
  return !field.empty() && *end == '\0' && errno == 0 && std::isfinite(value);
}

} // namespace

StatusOr<Dataset> loadTextDataset(const std::string &path,
                                  const std::vector<int64_t> &exampleShape,
                                  int64_t classes) {
  StatusOr<io::InputFile> file = io::InputFile::open(path);
  if (!file.ok())
    return file.status();
  StatusOr<std::string> read = file.value().readAll();
  if (!read.ok())
    return read.status();
  const std::string &text = read.value();
  int64_t features = 1;
  for (int64_t d : exampleShape)
    features *= d;

  std::vector<float> values;
  std::vector<int64_t> labels;
  double largest = 0, smallest = 0;
  size_t pos = 0;
  int64_t lineNumber = 0;
  bool sawData = false;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos)
      end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++lineNumber;
    // A NUL byte is not text: numbers would end at it and read short.
    if (size_t nul = line.find('\0'); nul != std::string::npos)
      return Status::error("'" + path + "', line " +
                           std::to_string(lineNumber) + ": a NUL byte at "
                           "column " + std::to_string(nul + 1) +
                           " (is it a binary file?)");
    size_t hash = line.find('#');
    if (hash != std::string::npos)
      line.resize(hash);
    size_t at = 0;
    std::string field;
    if (!nextField(line, at, field))
      continue;
    auto where = [&] {
      return "'" + path + "', line " + std::to_string(lineNumber) + ": ";
    };
    double label = 0;
    if (!parseNumber(field, label)) {
      // A header ("label,pixel1,...": no field a number) may come before
      // the first example.
      std::string label = field;
      bool header = !sawData;
      for (size_t rest = at; header && nextField(line, rest, field);) {
        double ignored = 0;
        header = !parseNumber(field, ignored);
      }
      sawData = true;
      if (header)
        continue;
      return Status::error(where() + "the label '" + label +
                           "' is not a number");
    }
    sawData = true;
    if (label != std::floor(label) || label < 0 || label >= classes)
      return Status::error(where() + "label " + field +
                           " is not a class of the model (0-" +
                           std::to_string(classes - 1) + ")");
    int64_t count = 0;
    while (nextField(line, at, field)) {
      double v = 0;
      if (!parseNumber(field, v) || std::fabs(v) > FLT_MAX)
        return Status::error(where() + "value " + std::to_string(count + 1) +
                             ", '" + field + "', is not a finite float32 "
                             "number");
      if (count < features)
        values.push_back(static_cast<float>(v));
      largest = std::max(largest, v);
      smallest = std::min(smallest, v);
      ++count;
    }
    if (count != features)
      return Status::error(where() + "expected a label and " +
                           std::to_string(features) + " values (the model's " +
                           formatShape(exampleShape) + " example), got " +
                           std::to_string(count) + " values");
    labels.push_back(static_cast<int64_t>(label));
  }
  if (labels.empty())
    return Status::error("'" + path + "' holds no examples");

  int64_t n = static_cast<int64_t>(labels.size());
  std::vector<int64_t> shape{n};
  shape.insert(shape.end(), exampleShape.begin(), exampleShape.end());
  Dataset data;
  data.images = HostTensor::zeros(DType::F32, shape).value();
  data.labels = HostTensor::zeros(DType::I64, {n}).value();
  // 8-bit pixel values (0-255) are scaled to [0, 1] like Fashion-MNIST's.
  bool pixels = smallest >= 0 && largest > 1 && largest <= 255;
  float scale = pixels ? 1.0f / 255.0f : 1.0f;
  if (pixels)
    data.note = "values 0-255, scaled by 1/255";
  for (size_t i = 0; i < values.size(); ++i)
    data.images.data<float>()[i] = values[i] * scale;
  for (int64_t i = 0; i < n; ++i)
    data.labels.data<int64_t>()[i] = labels[i];
  return data;
}

} // namespace kiln::rt
