//===- Recurrent.cpp - Fashion-MNIST as sequences: rnn, lstm, gru, bilstm -===//
//
// As docs/models.md specifies them: the 28 rows of an image are 28 steps of
// 28 features; one recurrent layer of hidden size 128, batch first, zero
// initial state; `fc` Linear(128, or 256 bidirectional, 10) on the output
// at the last step.
//
//===----------------------------------------------------------------------===//

#include "frontends/models/Zoo.h"

namespace kiln::zoo {
namespace {

template <typename Layer, bool Bidirectional> struct RowClassifier : Module {
  static constexpr int64_t kHidden = 128;
  Layer rnn{this, "rnn",
            RNNOptions(28, kHidden).batch_first(true).bidirectional(
                Bidirectional)};
  Linear fc{this, "fc", (Bidirectional ? 2 : 1) * kHidden, 10};

  explicit RowClassifier(DType dtype) : Module("RowClassifier", dtype) {}

  Tensor operator()(const Tensor &x) const {
    int64_t b = x.shape()[0];
    Tensor rows = reshape(x, {b, 28, 28});
    Tensor out = rnn(rows).output;
    // out[:, -1]: for the bidirectional model the forward state after the
    // last row and the reverse state after its first step (the last row).
    int64_t width = out.shape()[2];
    Tensor last = reshape(slice(out, 1, 27, 28), {b, width});
    return fc(last);
  }
};

} // namespace

void addRecurrent(std::vector<ModelInfo> &zoo) {
  zoo.push_back({"rnn", "Fashion-MNIST rows through a tanh RNN (hidden 128)",
                 64, [](const ModelOptions &o) {
                   return buildClassifier<RowClassifier<RNN, false>>("rnn", o);
                 }});
  zoo.push_back({"lstm", "Fashion-MNIST rows through an LSTM (hidden 128)", 64,
                 [](const ModelOptions &o) {
                   return buildClassifier<RowClassifier<LSTM, false>>("lstm",
                                                                      o);
                 }});
  zoo.push_back({"gru", "Fashion-MNIST rows through a GRU (hidden 128)", 64,
                 [](const ModelOptions &o) {
                   return buildClassifier<RowClassifier<GRU, false>>("gru", o);
                 }});
  zoo.push_back(
      {"bilstm", "Fashion-MNIST rows through a bidirectional LSTM (2x128)", 64,
       [](const ModelOptions &o) {
         return buildClassifier<RowClassifier<LSTM, true>>("bilstm", o);
       }});
}

} // namespace kiln::zoo
