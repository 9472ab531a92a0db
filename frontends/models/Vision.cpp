//===- Vision.cpp - Fashion-MNIST CNNs: densenet, inception, efficientnet -===//
//
// As docs/models.md specifies them: x [B,1,28,28] f32 in [0,1], y [B] int
// labels, loss mean softmax cross-entropy; batch norm as in resnet.
//
//===----------------------------------------------------------------------===//

#include "frontends/models/Zoo.h"

#include <algorithm>

namespace kiln::zoo {
namespace {

/// A convolution without bias, padded to keep the size at stride 1.
Conv2dOptions noBias(int64_t in, int64_t out, int64_t kernel) {
  return Conv2dOptions(in, out, kernel).padding(kernel / 2).bias(false);
}

/// A dense layer: BN -> ReLU -> 1x1 conv to 48 -> BN -> ReLU -> 3x3 conv to
/// the growth rate; the block concatenates its output to its input.
struct DenseLayer : Module {
  BatchNorm2d norm1;
  Conv2d conv1;
  BatchNorm2d norm2;
  Conv2d conv2;

  DenseLayer(Module *parent, std::string name, int64_t in, int64_t growth)
      : Module(parent, std::move(name), "DenseLayer"), norm1{this, "norm1", in},
        conv1{this, "conv1", noBias(in, 4 * growth, 1)},
        norm2{this, "norm2", 4 * growth},
        conv2{this, "conv2", noBias(4 * growth, growth, 3)} {}

  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const {
    Scope scope(*this, x.graph(), loc);
    Tensor h = conv1(relu(norm1(x)));
    return conv2(relu(norm2(h)));
  }
};

/// Four dense layers `layer1`..`layer4`, each fed everything before it.
struct DenseBlock : Module {
  DenseLayer layer1, layer2, layer3, layer4;

  DenseBlock(Module *parent, std::string name, int64_t in, int64_t growth)
      : Module(parent, std::move(name), "DenseBlock"),
        layer1{this, "layer1", in, growth},
        layer2{this, "layer2", in + growth, growth},
        layer3{this, "layer3", in + 2 * growth, growth},
        layer4{this, "layer4", in + 3 * growth, growth} {}

  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const {
    Scope scope(*this, x.graph(), loc);
    Tensor h = x;
    for (const DenseLayer *layer : {&layer1, &layer2, &layer3, &layer4})
      h = cat({h, (*layer)(h)}, 1);
    return h;
  }
};

/// BN -> ReLU -> 1x1 conv halving the channels -> 2x2 average pool.
struct Transition : Module {
  BatchNorm2d norm;
  Conv2d conv;

  Transition(Module *parent, std::string name, int64_t in)
      : Module(parent, std::move(name), "Transition"), norm{this, "norm", in},
        conv{this, "conv", noBias(in, in / 2, 1)} {}

  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const {
    Scope scope(*this, x.graph(), loc);
    return avg_pool2d(conv(relu(norm(x))), {2, 2}, {2, 2});
  }
};

struct DenseNet : Module {
  Conv2d conv0{this, "conv0", noBias(1, 24, 3)};
  DenseBlock block1{this, "block1", 24, 12};
  Transition trans1{this, "trans1", 72};
  DenseBlock block2{this, "block2", 36, 12};
  BatchNorm2d norm{this, "norm", 84};
  Linear fc{this, "fc", 84, 10};

  explicit DenseNet(DType dtype) : Module("DenseNet", dtype) {}

  Tensor operator()(const Tensor &x) const {
    Tensor h = block2(trans1(block1(conv0(x))));
    return fc(flatten(adaptive_avg_pool2d(relu(norm(h)), {1, 1}), 1));
  }
};

/// Four branches concatenated on channels, a ReLU after every conv: `b1`
/// 1x1 to 16; `b2a` 1x1 to 16 -> `b2b` 3x3 to 24; `b3a` 1x1 to 8 -> `b3b`
/// 5x5 to 12; 3x3 max pool (stride 1, padding 1) -> `b4` 1x1 to 12.
struct InceptionBlock : Module {
  Conv2d b1, b2a, b2b, b3a, b3b, b4;

  InceptionBlock(Module *parent, std::string name, int64_t in)
      : Module(parent, std::move(name), "InceptionBlock"),
        b1{this, "b1", in, 16, 1}, b2a{this, "b2a", in, 16, 1},
        b2b{this, "b2b", Conv2dOptions(16, 24, 3).padding(1)},
        b3a{this, "b3a", in, 8, 1},
        b3b{this, "b3b", Conv2dOptions(8, 12, 5).padding(2)},
        b4{this, "b4", in, 12, 1} {}

  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const {
    Scope scope(*this, x.graph(), loc);
    Tensor one = relu(b1(x));
    Tensor three = relu(b2b(relu(b2a(x))));
    Tensor five = relu(b3b(relu(b3a(x))));
    Tensor pooled = relu(b4(max_pool2d(x, {3, 3}, {1, 1}, {1, 1})));
    return cat({one, three, five, pooled}, 1);
  }
};

struct Inception : Module {
  Conv2d stem{this, "stem", Conv2dOptions(1, 32, 3).padding(1)};
  InceptionBlock mix1{this, "mix1", 32};
  InceptionBlock mix2{this, "mix2", 64};
  Linear fc{this, "fc", 64, 10};

  explicit Inception(DType dtype) : Module("Inception", dtype) {}

  Tensor operator()(const Tensor &x) const {
    Tensor h = mix1(relu(stem(x)));
    h = mix2(max_pool2d(h, {2, 2}, {2, 2}));
    return fc(flatten(adaptive_avg_pool2d(h, {1, 1}), 1));
  }
};

/// A convolution without bias and its batch norm: `conv`, `bn`.
struct ConvBn : Module {
  Conv2d conv;
  BatchNorm2d bn;

  ConvBn(Module *parent, std::string name, int64_t in, int64_t out,
         int64_t kernel, int64_t stride = 1, int64_t groups = 1)
      : Module(parent, std::move(name), "ConvBn"),
        conv{this, "conv",
             noBias(in, out, kernel).stride(stride).groups(groups)},
        bn{this, "bn", out} {}

  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const {
    Scope scope(*this, x.graph(), loc);
    return bn(conv(x));
  }
};

/// Squeeze-and-excitation: a per-channel gate [B, C, 1, 1] of `[B, C, H,
/// W]`: global average, `reduce` 1x1 to `hidden`, SiLU, `expand` 1x1 back,
/// sigmoid.
struct SqueezeExcitation : Module {
  Conv2d reduce, expand;

  SqueezeExcitation(Module *parent, std::string name, int64_t channels,
                    int64_t hidden)
      : Module(parent, std::move(name), "SqueezeExcitation"),
        reduce{this, "reduce", channels, hidden, 1},
        expand{this, "expand", hidden, channels, 1} {}

  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const {
    Scope scope(*this, x.graph(), loc);
    return sigmoid(expand(silu(reduce(adaptive_avg_pool2d(x, {1, 1})))));
  }
};

/// MBConv: optional 1x1 expansion, depthwise 3x3, squeeze-and-excitation
/// (reduce to max(1, cin/4), SiLU, expand, sigmoid gate), 1x1 projection;
/// a residual sum where the shape is kept.
struct MBConv : Module {
  int64_t in, out, stride;
  std::unique_ptr<ConvBn> expand;
  ConvBn dw;
  SqueezeExcitation se;
  ConvBn project;

  MBConv(Module *parent, std::string name, int64_t in, int64_t out,
         int64_t ratio, int64_t stride)
      : Module(parent, std::move(name), "MBConv"), in(in), out(out),
        stride(stride),
        expand(ratio > 1 ? std::make_unique<ConvBn>(this, "expand", in,
                                                    in * ratio, 1)
                         : nullptr),
        dw{this, "dw", in * ratio, in * ratio, 3, stride, in * ratio},
        se{this, "se", in * ratio, std::max<int64_t>(1, in / 4)},
        project{this, "project", in * ratio, out, 1} {}

  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const {
    Scope scope(*this, x.graph(), loc);
    Tensor h = expand ? silu((*expand)(x)) : x;
    h = silu(dw(h));
    h = project(h * se(h));
    return stride == 1 && in == out ? h + x : h;
  }
};

struct EfficientNet : Module {
  ConvBn stem{this, "stem", 1, 16, 3, /*stride=*/2};
  ModuleList<MBConv> blocks{this, "blocks"};
  ConvBn head{this, "head", 24, 128, 1};
  Linear fc{this, "fc", 128, 10};

  explicit EfficientNet(DType dtype) : Module("EfficientNet", dtype) {
    blocks.append(16, 16, /*expand=*/1, /*stride=*/1);
    blocks.append(16, 24, /*expand=*/4, /*stride=*/2);
    blocks.append(24, 24, /*expand=*/4, /*stride=*/1);
  }

  Tensor operator()(const Tensor &x) const {
    Tensor h = silu(stem(x));
    for (const MBConv &block : blocks)
      h = block(h);
    return fc(flatten(adaptive_avg_pool2d(silu(head(h)), {1, 1}), 1));
  }
};

} // namespace

void addVision(std::vector<ModelInfo> &zoo) {
  zoo.push_back({"densenet",
                 "Fashion-MNIST DenseNet: two dense blocks of four layers "
                 "(growth 12), a transition between",
                 64, [](const ModelOptions &o) {
                   return buildClassifier<DenseNet>("densenet", o);
                 }});
  zoo.push_back({"inception",
                 "Fashion-MNIST Inception: two four-branch blocks (1x1, 3x3, "
                 "5x5, pool) of 64 channels",
                 64, [](const ModelOptions &o) {
                   return buildClassifier<Inception>("inception", o);
                 }});
  zoo.push_back({"efficientnet",
                 "Fashion-MNIST EfficientNet: MBConv blocks with "
                 "squeeze-and-excitation and SiLU",
                 64, [](const ModelOptions &o) {
                   return buildClassifier<EfficientNet>("efficientnet", o);
                 }});
}

} // namespace kiln::zoo
