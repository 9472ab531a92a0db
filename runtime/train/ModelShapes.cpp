//===- ModelShapes.cpp - What a compiled model takes and scores -----------===//

#include "train/ModelShapes.h"

namespace kiln::rt {

StatusOr<ModelShapes> modelShapes(const CompiledModel &model) {
  const EntrySpec *forward = findEntry(model.entries, "forward");
  const ArgumentSpec *x = nullptr, *src = nullptr, *tgt = nullptr;
  if (forward)
    for (const ArgumentSpec &a : forward->arguments) {
      if (a.kind != ArgKind::Input)
        continue;
      if (a.tensor.name == "x")
        x = &a;
      else if (a.tensor.name == "src")
        src = &a;
      else if (a.tensor.name == "tgt")
        tgt = &a;
    }
  auto isTokens = [](const ArgumentSpec *a) {
    return a && a->tensor.shape.size() == 2 &&
           (a->tensor.dtype == DType::I64 || a->tensor.dtype == DType::I32);
  };
  if (forward && isTokens(src) && isTokens(tgt) && !x) {
    // An encoder-decoder of the reversal task.
    int64_t s = src->tensor.shape[1];
    const std::vector<int64_t> *logits =
        forward->results.size() == 1 ? &forward->results[0].shape : nullptr;
    if (tgt->tensor.shape[1] != s + 1 || !logits || logits->size() != 3 ||
        (*logits)[1] != s + 1 || (*logits)[2] != kReversalVocabulary)
      return Status::error(
          "the model's `forward` takes src [batch, S] and tgt [batch, S+1] "
          "but does not return logits [batch, S+1, " +
          std::to_string(kReversalVocabulary) +
          "] for the reversal task");
    ModelShapes shapes;
    shapes.example = {s};
    shapes.source = s;
    shapes.classes = kReversalVocabulary;
    return shapes;
  }
  bool tokens = isTokens(x);
  size_t rank = tokens ? 3 : 2;
  // A model of images whose loss takes no labels (vae, gan, ddpm): its
  // forward may return anything; evaluation measures the loss.
  bool unsupervised = false;
  if (x && !tokens)
    if (const EntrySpec *loss = findEntry(model.entries, "loss")) {
      unsupervised = true;
      for (const ArgumentSpec &a : loss->arguments)
        if (a.kind == ArgKind::Input && a.tensor.name == "y")
          unsupervised = false;
    }
  if (!forward || !x ||
      (!unsupervised && (forward->results.size() != 1 ||
                         forward->results[0].shape.size() != rank)))
    return Status::error(
        "the model has no `forward` entry taking x and returning logits "
        "[batch, classes] (or, for integer token windows x [batch, positions], "
        "[batch, positions, vocabulary]; or, for the reversal task, src and "
        "tgt)");
  ModelShapes shapes;
  shapes.unsupervised = unsupervised;
  shapes.classes = unsupervised ? 0 : forward->results[0].shape.back();
  shapes.example.assign(x->tensor.shape.begin() + 1, x->tensor.shape.end());
  if (tokens) {
    shapes.context = x->tensor.shape[1];
    if (shapes.classes < kCorpusSymbols)
      return Status::error("the model scores " +
                           std::to_string(shapes.classes) +
                           " symbols; the text vocabulary has " +
                           std::to_string(kCorpusSymbols));
    if (const EntrySpec *loss = findEntry(model.entries, "loss"))
      for (const ArgumentSpec &a : loss->arguments)
        shapes.masked |= a.kind == ArgKind::Input && a.tensor.name == "mask";
  }
  return shapes;
}

StatusOr<std::vector<HostTensor>> bindState(const EntrySpec &entry,
                                            const SafeTensorsFile &params,
                                            const std::string &source) {
  std::vector<HostTensor> args;
  for (const ArgumentSpec &a : entry.arguments) {
    if (a.kind == ArgKind::Input) {
      args.push_back(HostTensor::zeros(a.tensor.dtype, a.tensor.shape).value());
      continue;
    }
    const HostTensor *p = params.find(a.tensor.name);
    if (!p)
      return Status::error(source + " has no tensor '" + a.tensor.name +
                           "' (is it from another model?)");
    if (p->shape() != a.tensor.shape || p->dtype() != a.tensor.dtype)
      return Status::error(source + ": '" + a.tensor.name + "' is " +
                           p->describe() + ", the model expects " +
                           dtypeName(a.tensor.dtype) +
                           formatShape(a.tensor.shape));
    args.push_back(p->clone());
  }
  return args;
}

HostTensor *inputNamed(const EntrySpec &entry, std::vector<HostTensor> &args,
                       const std::string &name) {
  for (size_t i = 0; i < args.size(); ++i)
    if (entry.arguments[i].kind == ArgKind::Input &&
        entry.arguments[i].tensor.name == name)
      return &args[i];
  return nullptr;
}

} // namespace kiln::rt
