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

StatusOr<NegativeChain> prepareChain(
    const EntrySpec &energyGrad, const HostTensor &negatives,
    const std::vector<const ArgumentSpec *> &slots,
    const SafeTensorsFile *resumed, const std::string &resumePath,
    uint64_t rankSeed) {
  NegativeChain chain;
  std::vector<int64_t> example(negatives.shape().begin() + 1,
                               negatives.shape().end());
  if (const HostTensor *saved =
          resumed ? resumed->find(Langevin::kBufferName) : nullptr) {
    std::vector<int64_t> want{Langevin::kBufferSize};
    want.insert(want.end(), example.begin(), example.end());
    if (saved->shape() != want || saved->dtype() != negatives.dtype())
      return Status::error("checkpoint '" + resumePath + "': '" +
                           Langevin::kBufferName + "' is " +
                           saved->describe() + ", the model expects " +
                           dtypeName(negatives.dtype()) + formatShape(want));
    chain.replay = saved->clone();
  } else if (resumed) {
    return Status::error("checkpoint '" + resumePath + "' has no '" +
                         Langevin::kBufferName +
                         "' (the energy-based model's replay buffer)");
  } else {
    chain.replay = initialReplayBuffer(example, negatives.dtype(), rankSeed);
  }
  for (const ArgumentSpec &a : energyGrad.arguments) {
    int found = -1;
    if (a.kind == ArgKind::Input && a.tensor.name == "x" &&
        a.tensor.shape == negatives.shape()) {
      chain.x = static_cast<int>(chain.slotOf.size());
    } else {
      for (size_t k = 0; k < slots.size(); ++k)
        if (slots[k]->kind != ArgKind::Input &&
            slots[k]->tensor.name == a.tensor.name)
          found = static_cast<int>(k);
      if (found < 0)
        return Status::error("energy_grad's argument '" + a.tensor.name +
                             "' is not one of the training step's");
    }
    chain.slotOf.push_back(found);
  }
  if (chain.x < 0)
    return Status::error("energy_grad must take images x shaped as x_neg");
  chain.images = HostTensor::zeros(negatives.dtype(), negatives.shape()).value();
  return chain;
}


} // namespace kiln::rt
