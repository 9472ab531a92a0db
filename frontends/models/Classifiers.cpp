//===- Classifiers.cpp - Fashion-MNIST classifiers: mlp, cnn, resnet -------===//
//
// As docs/models.md specifies them: x [B,1,28,28] f32 in [0,1], y [B] int labels,
// loss mean softmax cross-entropy. Entry points: forward (logits) and loss;
// the cnn also has features (fc1's activations, for Fréchet distances).
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
    Tensor h = relu(fc1(flatten(x, 1)));
    h = relu(fc2(h));
    return fc3(h);
  }
};

struct Cnn : Module {
  Conv2d conv1{this, "conv1", Conv2dOptions(1, 32, 3).padding(1)};
  Conv2d conv2{this, "conv2", Conv2dOptions(32, 64, 3).padding(1)};
  Linear fc1{this, "fc1", 3136, 128};
  Linear fc2{this, "fc2", 128, 10};

  explicit Cnn(DType dtype) : Module("Cnn", dtype) {}

  /// The 128 activations of fc1 (after its ReLU): the feature space of
  /// the generative models' Fréchet distance.
  Tensor features(const Tensor &x) const {
    Tensor h = max_pool2d(relu(conv1(x)), {2, 2}, {2, 2});
    h = max_pool2d(relu(conv2(h)), {2, 2}, {2, 2});
    return relu(fc1(flatten(h, 1)));
  }

  Tensor operator()(const Tensor &x) const { return fc2(features(x)); }
};

/// cnn: a classifier, and `features(x)` -> [B, 128].
BuiltModel buildCnn(const ModelOptions &options) {
  BuiltModel built = buildClassifier<Cnn>("cnn", options);
  const auto &cnn = static_cast<const Cnn &>(*built.model);
  Graph &features = built.program->addEntry("features");
  features.output("features",
                  cnn.features(features.input(
                      "x", {options.batch, 1, 28, 28}, options.dtype)));
  return built;
}

/// A 3x3 convolution without bias, as the residual blocks use them.
Conv2dOptions conv3x3(int64_t in, int64_t out, int64_t stride = 1) {
  return Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false);
}

/// A basic residual block: two 3x3 convolutions with batch norm, and a
/// shortcut that is the identity or, where the shape changes, a strided 1x1
/// convolution with batch norm (`downsample.0`, `downsample.1`).
struct BasicBlock : Module {
  Conv2d conv1;
  BatchNorm2d bn1;
  Conv2d conv2;
  BatchNorm2d bn2;
  std::unique_ptr<Sequential> downsample;

  BasicBlock(Module *parent, std::string name, int64_t in, int64_t out,
             int64_t stride)
      : Module(parent, std::move(name), "BasicBlock"),
        conv1{this, "conv1", conv3x3(in, out, stride)}, bn1{this, "bn1", out},
        conv2{this, "conv2", conv3x3(out, out)}, bn2{this, "bn2", out} {
    if (stride == 1 && in == out)
      return;
    downsample = std::make_unique<Sequential>(this, "downsample");
    downsample->append<Conv2d>(
        Conv2dOptions(in, out, 1).stride(stride).bias(false));
    downsample->append<BatchNorm2d>(out);
  }

  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const {
    Scope scope(*this, x.graph(), loc);
    Tensor h = relu(bn1(conv1(x)));
    h = bn2(conv2(h));
    return relu(h + (downsample ? (*downsample)(x) : x));
  }
};

struct ResNet : Module {
  Conv2d conv1{this, "conv1", conv3x3(1, 16)};
  BatchNorm2d bn1{this, "bn1", 16};
  Sequential layer1{this, "layer1"};
  Sequential layer2{this, "layer2"};
  Sequential layer3{this, "layer3"};
  Linear fc{this, "fc", 64, 10};

  explicit ResNet(DType dtype) : Module("ResNet", dtype) {
    layer1.append<BasicBlock>(16, 16, 1);
    layer1.append<BasicBlock>(16, 16, 1);
    layer2.append<BasicBlock>(16, 32, 2);
    layer2.append<BasicBlock>(32, 32, 1);
    layer3.append<BasicBlock>(32, 64, 2);
    layer3.append<BasicBlock>(64, 64, 1);
  }

  Tensor operator()(const Tensor &x) const {
    Tensor h = layer3(layer2(layer1(relu(bn1(conv1(x))))));
    return fc(flatten(adaptive_avg_pool2d(h, {1, 1}), 1));
  }
};

} // namespace

void addClassifiers(std::vector<ModelInfo> &zoo) {
  zoo.push_back({"mlp", "Fashion-MNIST MLP 784-256-256-10", 128,
                 [](const ModelOptions &o) {
                   return buildClassifier<Mlp>("mlp", o);
                 }});
  zoo.push_back({"cnn", "Fashion-MNIST CNN: two conv+pool stages, two linear",
                 64, buildCnn});
  zoo.push_back({"resnet",
                 "Fashion-MNIST ResNet: basic blocks 16-32-64 with batch norm",
                 64, [](const ModelOptions &o) {
                   return buildClassifier<ResNet>("resnet", o);
                 }});
}

} // namespace kiln::zoo
