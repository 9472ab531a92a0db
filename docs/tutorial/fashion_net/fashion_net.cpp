// fashion_net: the tutorial's model (docs/tutorial/README.md). A small
// convolutional classifier of Fashion-MNIST's 28x28 images, written with
// Kiln's DSL, offered twice: with PyTorch's cross-entropy ("fashion_net"),
// and with a loss of our own, cross-entropy with label smoothing
// ("fashion_net_smooth").
#include "kiln/DSL.h"
#include "kiln/Driver.h"

using namespace kiln;

namespace {

// Step 1: the model. Layers take their parent and their name: the names
// make the parameters' state_dict keys (conv.weight, fc.bias), as
// PyTorch's would be.
struct FashionNet : Module {
  Conv2d conv{this, "conv", Conv2dOptions(1, 16, 3).padding(1)};
  Linear fc{this, "fc", 16 * 14 * 14, 10};

  explicit FashionNet(DType dtype) : Module("FashionNet", dtype) {}

  // images [B, 1, 28, 28] -> logits [B, 10]
  Tensor operator()(const Tensor &x) const {
    Tensor h = max_pool2d(relu(conv(x)), {2, 2}, {2, 2});
    return fc(flatten(h, 1));
  }
};

// Step 5: a loss of our own. Label smoothing spreads `epsilon` of each
// label's weight over all ten classes: (1 - epsilon) times the usual
// cross-entropy plus epsilon times the mean negative log-probability.
Tensor smoothedCrossEntropy(const Tensor &logits, const Tensor &labels,
                            double epsilon) {
  Tensor uniform = mean(-log_softmax(logits, 1), {0, 1});
  return cross_entropy(logits, labels) * (1 - epsilon) + uniform * epsilon;
}

// The program of entry points: `forward` for inference, and `loss` (built
// in training mode) from which kilnc derives `grad` and `train_step`.
BuiltModel build(const ModelOptions &options, bool smooth) {
  auto model = std::make_unique<FashionNet>(options.dtype);
  auto program = std::make_unique<Program>(
      smooth ? "fashion_net_smooth" : "fashion_net", *model);
  Shape images{options.batch, 1, 28, 28};

  Graph &forward = program->addEntry("forward");
  forward.output("logits",
                 (*model)(forward.input("x", images, options.dtype)));

  Graph &loss = program->addEntry("loss");
  loss.setTraining(true);
  Tensor logits = (*model)(loss.input("x", images, options.dtype));
  Tensor labels = loss.input("y", {options.batch}, DType::I64);
  loss.output("loss", smooth ? smoothedCrossEntropy(logits, labels, 0.1)
                             : cross_entropy(logits, labels));
  return {std::move(model), std::move(program)};
}

} // namespace

// Step 2: the program is kilnc for these two models, with all its flags.
int main(int argc, char **argv) {
  return driver::kilncMain(
      argc, argv,
      {{"fashion_net", "conv 16 + linear, cross-entropy", 64,
        [](const ModelOptions &o) { return build(o, false); }},
       {"fashion_net_smooth", "the same, cross-entropy with label smoothing",
        64, [](const ModelOptions &o) { return build(o, true); }}});
}
