//===- Evaluation.cpp - A model's loss and accuracy on a held-out set -----===//

#include "train/Evaluation.h"

#include "kiln/runtime/Artefact.h"
#include "train/Batches.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

namespace kiln::rt {


/// "test accuracy 91.81%", or for the reversal task "token accuracy
/// 99.95%, exact sequences 99.40% (greedy)".
std::string describeAccuracy(const Evaluation &e) {
  char text[96];
  if (e.lossOnly)
    return "no labels to score";
  if (e.sequences >= 0)
    std::snprintf(text, sizeof(text),
                  "token accuracy %.2f%%, exact sequences %.2f%% (greedy)",
                  100 * e.accuracy, 100 * e.sequences);
  else
    std::snprintf(text, sizeof(text), "test accuracy %.2f%%", 100 * e.accuracy);
  return text;
}

/// The mean of `loss` over the whole batches of `data` (a model without
/// labels): the same random numbers in every evaluation (seed 1, offset
/// batch << 32), so evaluations compare across epochs and runs.
namespace {

/// The arguments of `entry` that are the model's state (not inputs): kept
/// on a GPU artefact's device for the whole evaluation.
std::vector<HostTensor *> stateOf(const EntrySpec &entry,
                                  std::vector<HostTensor> &args) {
  std::vector<HostTensor *> state;
  for (size_t i = 0; i < args.size() && i < entry.arguments.size(); ++i)
    if (entry.arguments[i].kind != ArgKind::Input)
      state.push_back(&args[i]);
  return state;
}

Status evaluateLoss(const CompiledModel &model, const Dataset &data,
                    const std::vector<NamedTensor> &state, Evaluation &result) {
  const EntrySpec *loss = findEntry(model.entries, "loss");
  if (!loss || loss->results.empty())
    return Status::error("the model has no `loss` entry to evaluate");
  SafeTensorsFile params;
  for (const NamedTensor &t : state)
    params.tensors.push_back({t.name, t.tensor.clone()});
  StatusOr<std::vector<HostTensor>> bound = bindState(*loss, params, "the model's state");
  if (!bound.ok())
    return bound.status();
  std::vector<HostTensor> args = std::move(bound).value();
  GpuResidency onGpu;
  if (Status s = onGpu.keep(model.artefact, stateOf(*loss, args)); !s.ok())
    return s;
  HostTensor *x = inputNamed(*loss, args, "x");
  HostTensor *seed = inputNamed(*loss, args, "rng_seed");
  HostTensor *offset = inputNamed(*loss, args, "rng_offset");
  // An energy-based model's held-out loss sets the test images against
  // uniform noise (the same in every evaluation).
  HostTensor *negatives = inputNamed(*loss, args, "x_neg");
  std::mt19937_64 noiseRng(1);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  if (!x)
    return Status::error("the model's `loss` takes no input x");
  int64_t batch = x->shape()[0];
  HostTensor labels = HostTensor::zeros(DType::I64, {batch}).value();
  std::vector<int64_t> order(data.size());
  for (int64_t i = 0; i < data.size(); ++i)
    order[i] = i;
  double total = 0;
  int64_t batches = 0;
  for (int64_t first = 0; first + batch <= data.size(); first += batch) {
    fillBatch(data, order, first, *x, labels);
    if (seed)
      seed->data<int64_t>()[0] = 1;
    if (offset)
      offset->data<int64_t>()[0] = batches << 32;
    for (int64_t i = 0; negatives && i < negatives->numElements(); ++i) {
      if (negatives->dtype() == DType::F64)
        negatives->data<double>()[i] = uniform(noiseRng);
      else
        negatives->data<float>()[i] = static_cast<float>(uniform(noiseRng));
    }
    std::vector<HostTensor> results = allocateResults(*loss).value();
    if (Status s = model.run("loss", args, results); !s.ok())
      return s;
    total += scalarOf(results[0]);
    ++batches;
  }
  if (batches == 0)
    return Status::error("the test set has fewer examples than one batch of " +
                         std::to_string(batch));
  result.loss = total / batches;
  result.lossOnly = true;
  return Status::success();
}

} // namespace

/// Mean cross-entropy and accuracy of `forward` over `data`, with the
/// parameters found by name in `state`: per example for classifiers, per
/// predicted position (every position, or the masked ones) for token and
/// reversal models; and for the reversal task, greedy decoding's exact
/// sequences.
Status evaluateOn(const CompiledModel &model, const ModelShapes &shapes,
                  const Dataset &data, const std::vector<NamedTensor> &state,
                  Evaluation &result) {
  if (shapes.unsupervised)
    return evaluateLoss(model, data, state, result);
  const EntrySpec *forward = findEntry(model.entries, "forward");
  if (!forward || forward->results.size() != 1)
    return Status::error("the model has no `forward` entry with one result");
  SafeTensorsFile params;
  for (const NamedTensor &t : state)
    params.tensors.push_back({t.name, t.tensor.clone()});
  StatusOr<std::vector<HostTensor>> bound = bindState(*forward, params, "the model's state");
  if (!bound.ok())
    return bound.status();
  std::vector<HostTensor> args = std::move(bound).value();
  GpuResidency onGpu;
  if (Status s = onGpu.keep(model.artefact, stateOf(*forward, args)); !s.ok())
    return s;
  bool reversal = shapes.source > 0;
  BatchInputs in;
  in.x = inputNamed(*forward, args, reversal ? "src" : "x");
  in.tgt = reversal ? inputNamed(*forward, args, "tgt") : nullptr;
  if (!in.x)
    return Status::error(std::string("the model's `forward` takes no input ") +
                         (reversal ? "src" : "x"));
  // Greedy decoding, where the model has it, reads the same sources.
  const EntrySpec *decode =
      reversal ? findEntry(model.entries, "decode") : nullptr;
  std::vector<HostTensor> decodeArgs;
  HostTensor *decodeSource = nullptr;
  if (decode) {
    StatusOr<std::vector<HostTensor>> d = bindState(*decode, params, "the model's state");
    if (!d.ok())
      return d.status();
    decodeArgs = std::move(d).value();
    decodeSource = inputNamed(*decode, decodeArgs, "src");
    if (!decodeSource || decode->results.size() != 1)
      return Status::error("the model's `decode` entry must take src and "
                           "return the decoded tokens");
  }
  int64_t sequencesRight = 0, sequencesCounted = 0;
  int64_t batch = in.x->shape()[0];
  int64_t positions = shapes.positions();
  HostTensor labels = HostTensor::zeros(DType::I64, positions > 1 || reversal
                                                        ? std::vector<int64_t>{batch, positions}
                                                        : std::vector<int64_t>{batch})
                          .value();
  in.y = &labels;
  HostTensor weights;
  if (shapes.masked) {
    weights = HostTensor::zeros(DType::F32, {batch, positions}).value();
    in.mask = &weights;
  }
  std::vector<int64_t> order(data.size());
  for (int64_t i = 0; i < data.size(); ++i)
    order[i] = i;
  WindowDraw draw;
  draw.training = false;
  double total = 0, counted = 0;
  int64_t correct = 0;
  for (int64_t first = 0; first < data.size(); first += batch) {
    fillInputs(data, order, first, draw, shapes, in);
    std::vector<HostTensor> results = allocateResults(*forward).value();
    if (Status s = model.run("forward", args, results); !s.ok())
      return s;
    const HostTensor &logits = results[0];
    int64_t classes = logits.shape().back();
    if (decode) {
      std::memcpy(decodeSource->data(), in.x->data(), in.x->sizeInBytes());
      std::vector<HostTensor> tokens = allocateResults(*decode).value();
      if (Status s = model.run("decode", decodeArgs, tokens); !s.ok())
        return s;
      for (int64_t b = 0; b < batch && first + b < data.size(); ++b) {
        bool exact = true;
        for (int64_t t = 0; t < positions; ++t)
          exact &= tokens[0].data<int64_t>()[b * positions + t] ==
                   labels.data<int64_t>()[b * positions + t];
        sequencesRight += exact;
        ++sequencesCounted;
      }
    }
    for (int64_t b = 0; b < batch && first + b < data.size(); ++b) {
      for (int64_t t = 0; t < positions; ++t) {
        int64_t row = b * positions + t;
        if (in.mask && weights.data<float>()[row] == 0.0f)
          continue;
        auto at = [&](int64_t c) {
          return logits.dtype() == DType::F64
                     ? logits.data<double>()[row * classes + c]
                     : double(logits.data<float>()[row * classes + c]);
        };
        double max = at(0);
        int64_t best = 0;
        for (int64_t c = 1; c < classes; ++c)
          if (at(c) > max)
            max = at(c), best = c;
        double sum = 0;
        for (int64_t c = 0; c < classes; ++c)
          sum += std::exp(at(c) - max);
        int64_t label = labels.data<int64_t>()[row];
        total += max + std::log(sum) - at(label);
        correct += best == label;
        counted += 1;
      }
    }
  }
  result.loss = counted > 0 ? total / counted : 0.0;
  result.accuracy = counted > 0 ? correct / counted : 0.0;
  if (sequencesCounted > 0)
    result.sequences = double(sequencesRight) / sequencesCounted;
  return Status::success();
}

} // namespace kiln::rt
