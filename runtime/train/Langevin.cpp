//===- Langevin.cpp - Short-run Langevin chains of energy-based models ----===//

#include "Langevin.h"

#include "Elements.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace kiln::rt {

Status langevinChain(const CompiledModel &model, const EntrySpec &entry,
                     std::vector<HostTensor> &args, int xIndex, int64_t steps,
                     std::mt19937_64 &rng) {
  int gradient = -1;
  for (size_t r = 0; r < entry.results.size(); ++r)
    if (entry.results[r].name == "grad.x")
      gradient = static_cast<int>(r);
  if (gradient < 0 || entry.results[gradient].shape != args[xIndex].shape())
    return Status::error("`" + entry.name + "` returns no gradient grad.x of "
                         "its images");
  std::vector<HostTensor> results = allocateResults(entry).value();
  std::normal_distribution<double> normal;
  double drift = Langevin::kStepSize / 2, noise = std::sqrt(Langevin::kStepSize);
  HostTensor &x = args[xIndex];
  for (int64_t k = 0; k < steps; ++k) {
    if (Status s = model.run(entry.name, args, results); !s.ok())
      return s;
    const HostTensor &g = results[gradient];
    for (int64_t i = 0; i < x.numElements(); ++i)
      setValue(x, i,
               valueAt(x, i) - drift * valueAt(g, i) +
                   noise * std::clamp(normal(rng), -1.0, 1.0));
  }
  return Status::success();
}

HostTensor initialReplayBuffer(const std::vector<int64_t> &example,
                               DType dtype, uint64_t seed) {
  std::vector<int64_t> shape{Langevin::kBufferSize};
  shape.insert(shape.end(), example.begin(), example.end());
  HostTensor buffer = HostTensor::zeros(dtype, shape).value();
  std::mt19937_64 rng(seed ^ 0x5EEDB0FFull);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (int64_t i = 0; i < buffer.numElements(); ++i)
    setValue(buffer, i, uniform(rng));
  return buffer;
}

Status replayNegatives(const CompiledModel &model, const EntrySpec &entry,
                       std::vector<HostTensor> &args, int xIndex,
                       HostTensor &buffer, uint64_t seed, int64_t step) {
  HostTensor &x = args[xIndex];
  int64_t batch = x.shape()[0], per = x.numElements() / batch;
  int64_t size = buffer.shape()[0];
  // Every number of this step from (seed, step): a resumed run draws the
  // same ones.
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(step));
  std::uniform_int_distribution<int64_t> pick(0, size - 1);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<int64_t> slots(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) {
    slots[b] = pick(rng);
    bool restart = uniform(rng) < Langevin::kRestart;
    for (int64_t i = 0; i < per; ++i)
      setValue(x, b * per + i,
               restart ? uniform(rng) : valueAt(buffer, slots[b] * per + i));
  }
  if (Status s = langevinChain(model, entry, args, xIndex, Langevin::kSteps, rng);
      !s.ok())
    return s;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < per; ++i)
      setValue(buffer, slots[b] * per + i, valueAt(x, b * per + i));
  return Status::success();
}

} // namespace kiln::rt
