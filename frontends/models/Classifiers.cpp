//===- Classifiers.cpp - Fashion-MNIST classifiers: mlp, cnn --------------===//
//
// As specified in MODELS.md: x [B,1,28,28] f32 in [0,1], y [B] int labels,
// loss mean softmax cross-entropy. Entry points: forward (logits) and loss.
//
//===----------------------------------------------------------------------===//

#include "frontends/models/Zoo.h"

namespace kiln::zoo {
namespace {

struct Mlp : Module {
  Linear fc1{this, "fc1", 784, 256};
  Linear fc2{this, "fc2", 256, 256};
  Linear fc3{this, "fc3", 256, 10};

  explicit Mlp(DType dtype) : Module("Mlp", dtype) {}

  Tensor operator()(const Tensor &x) const {
    Tensor h = relu(fc1(flatten(x)));
    h = relu(fc2(h));
    return fc3(h);
  }
};

struct Cnn : Module {
  Conv2d conv1{this, "conv1", 1, 32, 3, {/*stride=*/1, /*padding=*/1}};
  Conv2d conv2{this, "conv2", 32, 64, 3, {/*stride=*/1, /*padding=*/1}};
  Linear fc1{this, "fc1", 3136, 128};
  Linear fc2{this, "fc2", 128, 10};

  explicit Cnn(DType dtype) : Module("Cnn", dtype) {}

  Tensor operator()(const Tensor &x) const {
    Tensor h = maxPool2d(relu(conv1(x)), {2, 2}, {2, 2});
    h = maxPool2d(relu(conv2(h)), {2, 2}, {2, 2});
    h = relu(fc1(flatten(h)));
    return fc2(h);
  }
};

/// forward(x) -> logits and loss(x, y) -> mean cross-entropy.
template <typename Model>
BuiltModel buildClassifier(const std::string &name,
                           const ModelOptions &options) {
  auto model = std::make_unique<Model>(options.dtype);
  auto program = std::make_unique<Program>(name, *model);
  Shape images{options.batch, 1, 28, 28};

  Graph &forward = program->addEntry("forward");
  forward.output("logits",
                 (*model)(forward.input("x", images, options.dtype)));

  Graph &loss = program->addEntry("loss");
  Tensor logits = (*model)(loss.input("x", images, options.dtype));
  Tensor labels = loss.input("y", {options.batch}, DType::I64);
  loss.output("loss", crossEntropy(logits, labels));
  return {std::move(model), std::move(program)};
}

} // namespace

void addClassifiers(std::vector<ModelInfo> &zoo) {
  zoo.push_back({"mlp", "Fashion-MNIST MLP 784-256-256-10", 128,
                 [](const ModelOptions &o) {
                   return buildClassifier<Mlp>("mlp", o);
                 }});
  zoo.push_back({"cnn", "Fashion-MNIST CNN: two conv+pool stages, two linear",
                 64, [](const ModelOptions &o) {
                   return buildClassifier<Cnn>("cnn", o);
                 }});
}

} // namespace kiln::zoo
