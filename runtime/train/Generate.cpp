//===- Generate.cpp - Sampling text from a next-token model ---------------===//

#include "kiln/runtime/RunCommand.h"
#include "kiln/runtime/SafeTensors.h"
#include "kiln/runtime/Training.h"

#include "train/ModelShapes.h"

#include <algorithm>
#include <chrono>
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
  std::string source = "'" + options.params + "'";
  // The windows go through `prefill` (one sequence) with the cache, else
  // through `forward` (row 0 of its batch).
  const EntrySpec *prefill = findEntry(model.entries, "prefill");
  const EntrySpec *step = findEntry(model.entries, "decode_step");
  bool cached = options.cache && prefill && step;
  const EntrySpec *window = cached ? prefill : forward;
  StatusOr<std::vector<HostTensor>> windowBound = bindState(*window, params.value(), source);
  if (!windowBound.ok())
    return windowBound.status();
  std::vector<HostTensor> windowArgs = std::move(windowBound).value();
  HostTensor *x = inputNamed(*window, windowArgs, "x");
  if (!x || x->dtype() != DType::I64)
    return Status::error("the model's `" + window->name +
                         "` does not take int64 token ids x");
  std::vector<HostTensor> stepArgs;
  HostTensor *token = nullptr, *position = nullptr, *cache = nullptr;
  if (cached) {
    StatusOr<std::vector<HostTensor>> stepBound = bindState(*step, params.value(), source);
    if (!stepBound.ok())
      return stepBound.status();
    stepArgs = std::move(stepBound).value();
    token = inputNamed(*step, stepArgs, "token");
    position = inputNamed(*step, stepArgs, "position");
    cache = inputNamed(*step, stepArgs, "cache");
    if (!token || !position || !cache || step->results.size() != 2 ||
        prefill->results.size() != 2)
      return Status::error("the model's decode_step must take token, "
                           "position and cache and return logits and the "
                           "next cache, and prefill return logits and cache");
  }
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
  // Draws the next id from row `row` of `logits` [..., vocab].
  auto sample = [&](const HostTensor &logits, int64_t row) {
    auto at = [&](int64_t c) {
      int64_t index = row * vocab + c;
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
    return pick(rng);
  };
  // The logits after the last id: a window of the last `context` ids (row
  // 0, later positions cannot affect earlier ones: causal attention), or,
  // with the cache and room left in the context, one decode step.
  bool haveCache = false;
  auto nextLogits = [&](HostTensor &logits, int64_t &row) -> Status {
    int64_t n = static_cast<int64_t>(ids.size());
    if (cached && haveCache && n <= context) {
      token->data<int64_t>()[0] = ids.back();
      position->data<int64_t>()[0] = n - 1;
      std::vector<HostTensor> results = allocateResults(*step).value();
      if (Status s = model.run("decode_step", stepArgs, results); !s.ok())
        return s;
      logits = std::move(results[0]);
      *cache = std::move(results[1]);
      row = 0;
      return Status::success();
    }
    n = std::min(n, context);
    std::fill(x->data<int64_t>(), x->data<int64_t>() + x->numElements(), 0);
    std::copy(ids.end() - n, ids.end(), x->data<int64_t>());
    std::vector<HostTensor> results = allocateResults(*window).value();
    if (Status s = model.run(window->name, windowArgs, results); !s.ok())
      return s;
    logits = std::move(results[0]);
    if (cached) {
      *cache = std::move(results[1]);
      haveCache = true;
    }
    row = n - 1;
    return Status::success();
  };
  auto started = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < options.tokens; ++i) {
    HostTensor logits;
    int64_t row = 0;
    if (Status s = nextLogits(logits, row); !s.ok())
      return s;
    int64_t next = sample(logits, row);
    ids.push_back(next);
    std::fputc(corpusSymbol(next), stdout);
    std::fflush(stdout);
  }
  std::fputc('\n', stdout);
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - started)
                       .count();
  std::fprintf(stderr, "%lld characters in %.2f s (%.0f per second, %s)\n",
               static_cast<long long>(options.tokens), seconds,
               options.tokens / std::max(seconds, 1e-9),
               cached ? "key/value cache" : "whole window each step");
  return Status::success();
}

Status fill(const CompiledModel &model, const FillOptions &options) {
  const EntrySpec *entry = findEntry(model.entries, "fill");
  if (!entry || entry->results.size() != 1)
    return Status::error("fill needs a masked model with a `fill` entry "
                         "(bert); " + listEntries(model.entries));
  if (options.params.empty())
    return Status::error("fill needs --params=P.safetensors");
  StatusOr<SafeTensorsFile> params = readSafeTensors(options.params);
  if (!params.ok())
    return params.status();
  StatusOr<std::vector<HostTensor>> bound =
      bindState(*entry, params.value(), "'" + options.params + "'");
  if (!bound.ok())
    return bound.status();
  std::vector<HostTensor> args = std::move(bound).value();
  HostTensor *x = inputNamed(*entry, args, "x");
  if (!x || x->dtype() != DType::I64 || x->shape().size() != 2)
    return Status::error("the model's `fill` does not take int64 token ids x "
                         "[batch, positions]");
  int64_t context = x->shape()[1];
  const std::string &text = options.text;
  if (text.empty())
    return Status::error("fill needs --text: the text, with '" +
                         std::string(1, options.maskChar) +
                         "' for each character to fill in");
  if (static_cast<int64_t>(text.size()) > context)
    return Status::error("--text has " + std::to_string(text.size()) +
                         " characters, more than the model's " +
                         std::to_string(context) + " positions");
  int64_t *row = x->data<int64_t>();
  std::fill(row, row + context, int64_t(95)); // newlines after the text
  int64_t blanks = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = text[i];
    if (c == static_cast<unsigned char>(options.maskChar)) {
      row[i] = kCorpusSymbols; // [MASK]
      ++blanks;
      continue;
    }
    int64_t id = corpusId(c);
    if (id < 0)
      return Status::error("--text: the character at position " +
                           std::to_string(i) + " (byte " + std::to_string(c) +
                           ") is not in the vocabulary (printable ASCII and "
                           "newlines)");
    row[i] = id;
  }
  if (blanks == 0)
    return Status::error("--text has no '" + std::string(1, options.maskChar) +
                         "' to fill in (--mask-char chooses another marker)");
  std::vector<HostTensor> results = allocateResults(*entry).value();
  if (Status s = model.run("fill", args, results); !s.ok())
    return s;
  const int64_t *filled = results[0].data<int64_t>();
  std::string out;
  for (size_t i = 0; i < text.size(); ++i)
    out += corpusSymbol(filled[i]);
  std::printf("%s\n", out.c_str());
  return Status::success();
}

} // namespace kiln::rt
