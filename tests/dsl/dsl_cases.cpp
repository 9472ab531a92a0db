//===- dsl_cases.cpp - Models that exercise the whole public DSL ----------===//
//
// A model program (as users write them) whose models use every layer,
// option, container, op and loss of the DSL's public headers, so that the
// suite can check their forward values and gradients against PyTorch
// (tests/lit/DSL/pytorch-api.test, with tests/lit/DSL/Inputs/dsl_cases.py
// building the same networks with torch.nn).
//
//   losses  forward -> every loss with its options; loss -> their sum
//   layers  forward -> each stage's output; loss -> the sum of their mean
//           squares (batch norm in training mode there)
//
//===----------------------------------------------------------------------===//

#include "kiln/DSL.h"
#include "kiln/Driver.h"
#include "kiln/Init.h"

using namespace kiln;

namespace {

/// The losses of parameters (so that `grad` differentiates them).
struct Losses : Module {
  Param logits = register_parameter("logits", {6, 5}, Init::normal(1.0));
  Param scores = register_parameter("scores", {6, 5}, Init::normal(1.0));
  Param pred = register_parameter("pred", {4, 3}, Init::normal(1.0));
  Param klIn = register_parameter("kl_in", {3, 4}, Init::normal(1.0));

  explicit Losses(DType dtype) : Module("Losses", dtype) {}

  /// name -> value: what forward outputs and loss sums.
  std::vector<std::pair<std::string, Tensor>> operator()(Graph &g) const {
    SourceLoc here = SourceLoc::current();
    Tensor z = use(logits, g, here), s = use(scores, g, here);
    Tensor p = use(pred, g, here), k = use(klIn, g, here);
    Tensor y = g.input("y", {6}, DType::I64);          // -100: ignored
    Tensor yAll = g.input("y_all", {6}, DType::I64);   // every one a class
    Tensor target = g.input("target", {4, 3}, dtype());
    Tensor probs = g.input("probs", {3, 4}, dtype());  // rows sum to 1
    Tensor logProbs = g.input("log_probs", {3, 4}, dtype());
    auto ignoring = CrossEntropyOptions().ignore_index(-100);
    return {
        {"ce", cross_entropy(z, yAll)},
        {"ce_none", cross_entropy(z, yAll, kNone)},
        {"ce_smooth", cross_entropy(z, yAll,
                                    CrossEntropyOptions().label_smoothing(0.1))},
        {"ce_ignore", cross_entropy(z, y, ignoring)},
        {"ce_ignore_smooth_sum",
         cross_entropy(z, y,
                       CrossEntropyOptions(kSum).ignore_index(-100).label_smoothing(
                           0.2))},
        {"ce_ignore_none", cross_entropy(z, y, ignoring.reduction(kNone))},
        {"nll", nll_loss(log_softmax(s, 1), y, NllLossOptions().ignore_index(-100))},
        {"nll_sum", nll_loss(log_softmax(s, 1), yAll, kSum)},
        {"l1", l1_loss(p, target)},
        {"l1_none", l1_loss(p, target, kNone)},
        {"smooth_l1", smooth_l1_loss(p, target)},
        {"smooth_l1_sum", smooth_l1_loss(p, target, kSum, 0.5)},
        {"mse", mse_loss(p, target)},
        {"kl_batchmean",
         kl_div(log_softmax(k, 1), probs, KLDivOptions(KLDivReduction::BatchMean))},
        {"kl_mean", kl_div(log_softmax(k, 1), probs)},
        {"kl_log_target_sum",
         kl_div(log_softmax(k, 1), logProbs,
                KLDivOptions(KLDivReduction::Sum).log_target(true))},
        {"bce", binary_cross_entropy_with_logits(p, sigmoid(target))},
    };
  }
};

/// Convolutions, norms, pooling, recurrent layers and shape ops.
struct Layers : Module {
  Sequential features{this, "features"};
  ConvTranspose2d up{this, "up",
                     ConvTranspose2dOptions(8, 4, 3).stride(2).padding(1).output_padding(1)};
  GroupNorm gn{this, "gn", 2, 4};
  AvgPool2d avg{this, "avg",
                AvgPool2dOptions(3).stride(1).padding(1).count_include_pad(false)};
  Sequential head{this, "head"};
  LayerNorm ln{this, "ln", LayerNormOptions(6).eps(1e-3)};
  Embedding emb{this, "emb", 10, 4};
  LSTM lstm{this, "lstm", LSTMOptions(4, 3).num_layers(2).bidirectional(true)};
  GRU gru{this, "gru", GRUOptions(6, 3)};
  RNN rnn{this, "rnn", RNNOptions(6, 2).batch_first(true).bias(false)};
  Param w = register_parameter("w", {6, 4}, Init::normal(1.0));
  Param k = register_parameter("k", {3, 6, 2}, Init::normal(1.0));

  explicit Layers(DType dtype) : Module("Layers", dtype) {
    features.append<Conv2d>(Conv2dOptions(3, 8, 3).padding(1).bias(false));
    features.append<BatchNorm2d>(BatchNorm2dOptions(8).momentum(0.2));
    features.append<LeakyReLU>(LeakyReLUOptions().negative_slope(0.1));
    features.append<Conv2d>(
        Conv2dOptions(8, 8, 3).stride(2).padding(1).groups(4));
    features.append<GELU>();
    features.append<MaxPool2d>(MaxPool2dOptions(2));
    head.append<AdaptiveAvgPool2d>(AdaptiveAvgPool2dOptions(2));
    head.append<Flatten>();
    head.append<Linear>(16, 6);
    head.append<SiLU>();
    head.add<Softmax>("softmax", SoftmaxOptions(1));
    init::kaiming_normal_(up.weight, 0, kFanOut, kReLU);
  }

  std::vector<std::pair<std::string, Tensor>> operator()(Graph &g) const {
    SourceLoc here = SourceLoc::current();
    Tensor x = g.input("x", {2, 3, 8, 8}, dtype());
    Tensor tokens = g.input("tokens", {2, 5}, DType::I64);
    Tensor f = features(x);                              // [2, 8, 2, 2]
    Tensor u = avg(gn(up(f)));                           // [2, 4, 4, 4]
    Tensor h = ln(head(u));                              // [2, 6]
    Tensor e = transpose(emb(tokens), 0, 1);             // [5, 2, 4]
    Recurrent::Output l = lstm(e);                       // [5, 2, 6]
    Recurrent::Output r = gru(l.output);                 // [5, 2, 3]
    Tensor q = transpose(l.output, 0, 1);                // [2, 5, 6]
    Tensor rb = rnn(q).output;                           // [2, 5, 2]
    Tensor scores = softmax(matmul(q, transpose(q, 1, 2)), -1); // [2, 5, 5]
    Tensor projected = matmul(scores, matmul(q, use(w, g, here))); // [2, 5, 4]
    Tensor broadcast = matmul(unsqueeze(q, 1), use(k, g, here)); // [2, 3, 5, 2]
    Tensor picked = narrow(slice(q, -1, 1, 6, 2), 1, 1, 3);  // [2, 3, 3]
    Tensor extremes = amax(q, {1}) + squeeze(amin(q, {1}, true), 1); // [2, 6]
    Tensor chosen = where(gt(q, scalar_like(q, 0.1)), q, -q * 0.5) +
                    where(le(q, scalar_like(q, -0.2)), q * q, q);
    Tensor hot = one_hot(tokens, 10, dtype()) * 2.0;     // [2, 5, 10]
    return {{"features", f},
            {"up", u},
            {"head", h},
            {"lstm", l.output},
            {"lstm_h", l.hidden},
            {"lstm_c", l.cell},
            {"gru", r.output},
            {"gru_h", r.hidden},
            {"rnn", rb},
            {"projected", projected},
            {"broadcast", broadcast},
            {"picked", picked},
            {"extremes", extremes},
            {"chosen", chosen},
            {"hot", hot},
            {"log_softmax", log_softmax(flatten(u, 1), 1)}};
  }
};

template <typename M> BuiltModel build(const ModelOptions &options,
                                       const char *name) {
  auto model = std::make_unique<M>(options.dtype);
  auto program = std::make_unique<Program>(name, *model);
  Graph &forward = program->addEntry("forward");
  for (auto &[key, value] : (*model)(forward))
    forward.output(key, value);
  Graph &loss = program->addEntry("loss");
  loss.setTraining(true);
  Tensor total;
  for (auto &[key, value] : (*model)(loss)) {
    if (!isFloat(value.dtype()))
      continue;
    Shape all(value.rank());
    for (int64_t i = 0; i < value.rank(); ++i)
      all[i] = i;
    Tensor term = std::is_same_v<M, Losses>
                      ? sum(value, all)
                      : mean(value * value, all);
    total = total.valid() ? total + term : term;
  }
  loss.output("loss", total);
  return {std::move(model), std::move(program)};
}

} // namespace

int main(int argc, char **argv) {
  return driver::kilncMain(
      argc, argv,
      {{"losses", "every DSL loss with its options", 6,
        [](const ModelOptions &o) { return build<Losses>(o, "losses"); }},
       {"layers", "every DSL layer, container and shape op", 2,
        [](const ModelOptions &o) { return build<Layers>(o, "layers"); }}});
}
