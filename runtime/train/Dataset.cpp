//===- Dataset.cpp - Fashion-MNIST and synthetic image sets ---------------===//

#include "kiln/runtime/Idx.h"
#include "kiln/runtime/Training.h"

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
