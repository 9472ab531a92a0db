//===- Generate.cpp - Sampling text from a next-token model ---------------===//

#include "kiln/runtime/SafeTensors.h"
#include "kiln/runtime/Training.h"

#include "train/ModelShapes.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

namespace kiln::rt {

Status generate(const CompiledModel &model, const GenerateOptions &options) {
  StatusOr<ModelShapes> shapes = modelShapes(model);
  if (!shapes.ok())
    return shapes.status();
  if (shapes.value().context == 0)
    return Status::error("generate needs a model of token windows (gpt); "
                         "this one classifies images");
  if (shapes.value().masked)
    return Status::error("generate needs a next-token model; this one "
                         "predicts masked positions");
  const EntrySpec *forward = findEntry(model.entries, "forward");
  if (options.params.empty())
    return Status::error("generate needs --params=P.safetensors");
  if (options.tokens < 1)
    return Status::error("--tokens must be at least 1, got " +
                         std::to_string(options.tokens));
  if (!(options.temperature > 0) || !std::isfinite(options.temperature))
    return Status::error("--temperature must be a positive number, got " +
                         std::to_string(options.temperature));
  int64_t vocab = shapes.value().classes;
  if (options.topK < 0 || options.topK > vocab)
    return Status::error("--top-k must be between 1 and the vocabulary's " +
                         std::to_string(vocab) + " (0: all), got " +
                         std::to_string(options.topK));

  StatusOr<SafeTensorsFile> params = readSafeTensors(options.params);
  if (!params.ok())
    return params.status();
  std::vector<HostTensor> args;
  HostTensor *x = nullptr;
  for (const ArgumentSpec &a : forward->arguments) {
    if (a.kind == ArgKind::Input) {
      args.push_back(HostTensor::zeros(a.tensor.dtype, a.tensor.shape).value());
      continue;
    }
    const HostTensor *p = params.value().find(a.tensor.name);
    if (!p)
      return Status::error("'" + options.params + "' has no tensor '" +
                           a.tensor.name + "' (is it from another model?)");
    if (p->shape() != a.tensor.shape || p->dtype() != a.tensor.dtype)
      return Status::error("'" + options.params + "': '" + a.tensor.name +
                           "' is " + p->describe() + ", the model expects " +
                           dtypeName(a.tensor.dtype) +
                           formatShape(a.tensor.shape));
    args.push_back(p->clone());
  }
  for (size_t i = 0; i < args.size(); ++i)
    if (forward->arguments[i].tensor.name == "x")
      x = &args[i];
  if (x->dtype() != DType::I64)
    return Status::error("the model's `forward` takes token ids x as " +
                         std::string(dtypeName(x->dtype())) +
                         "; generate writes int64");
  int64_t context = shapes.value().context;

  // The prompt, in the vocabulary.
  std::vector<int64_t> ids;
  for (size_t i = 0; i < options.prompt.size(); ++i) {
    unsigned char c = options.prompt[i];
    int64_t id = corpusId(c);
    if (id < 0)
      return Status::error("--prompt: the character at position " +
                           std::to_string(i) + " (byte " + std::to_string(c) +
                           ") is not in the vocabulary (printable ASCII and "
                           "newlines)");
    ids.push_back(id);
  }
  if (static_cast<int64_t>(ids.size()) > context)
    return Status::error("--prompt has " + std::to_string(ids.size()) +
                         " characters, more than the model's context of " +
                         std::to_string(context));
  if (ids.empty())
    ids.push_back(95);
  std::fwrite(options.prompt.data(), 1, options.prompt.size(), stdout);

  std::mt19937_64 rng(options.seed);
  std::vector<double> weights(vocab);
  std::vector<int64_t> order(vocab);
  for (int64_t step = 0; step < options.tokens; ++step) {
    // The last `context` characters, in row 0; later positions cannot
    // affect earlier ones (causal attention).
    int64_t n = std::min<int64_t>(ids.size(), context);
    std::fill(x->data<int64_t>(), x->data<int64_t>() + x->numElements(), 0);
    std::copy(ids.end() - n, ids.end(), x->data<int64_t>());
    std::vector<HostTensor> results = allocateResults(*forward).value();
    if (Status s = model.run("forward", args, results); !s.ok())
      return s;
    const HostTensor &logits = results[0];
    auto at = [&](int64_t c) {
      int64_t index = (n - 1) * vocab + c;
      return logits.dtype() == DType::F64 ? logits.data<double>()[index]
                                          : double(logits.data<float>()[index]);
    };
    for (int64_t c = 0; c < vocab; ++c)
      order[c] = c;
    int64_t keep = options.topK > 0 ? options.topK : vocab;
    std::partial_sort(order.begin(), order.begin() + keep, order.end(),
                      [&](int64_t a, int64_t b) { return at(a) > at(b); });
    double top = at(order[0]);
    std::fill(weights.begin(), weights.end(), 0.0);
    for (int64_t i = 0; i < keep; ++i)
      weights[order[i]] = std::exp((at(order[i]) - top) / options.temperature);
    // Symbols past the text vocabulary ([MASK]-like extras) never appear.
    for (int64_t c = kCorpusSymbols; c < vocab; ++c)
      weights[c] = 0;
    std::discrete_distribution<int64_t> pick(weights.begin(), weights.end());
    int64_t next = pick(rng);
    ids.push_back(next);
    std::fputc(corpusSymbol(next), stdout);
    std::fflush(stdout);
  }
  std::fputc('\n', stdout);
  return Status::success();
}

} // namespace kiln::rt
