//===- Generative.cpp - Generative models: vae ----------------------------===//
//
// As docs/models.md specifies them, on Fashion-MNIST images x [B,1,28,28]
// in [0,1] (no labels).
//
//   vae  forward(x) -> reconstruction logits [B,784] from z = mu;
//        loss(x) -> (sum of BCE-with-logits + KL) / B, with z = mu +
//        eps * exp(logvar / 2) and eps ~ N(0, 1) drawn inside the step
//        (counter-based: inputs rng_seed, rng_offset);
//        sample(z [B,20]) -> images [B,1,28,28] in [0,1].
//
//===----------------------------------------------------------------------===//

#include "frontends/models/Zoo.h"

namespace kiln::zoo {
namespace {

struct Vae : Module {
  static constexpr int64_t kLatent = 20;
  Module enc{this, "enc", "Encoder"};
  Linear encFc1{&enc, "fc1", 784, 400};
  Linear encFc2{&enc, "fc2", 400, 2 * kLatent};
  Module dec{this, "dec", "Decoder"};
  Linear decFc1{&dec, "fc1", kLatent, 400};
  Linear decFc2{&dec, "fc2", 400, 784};

  explicit Vae(DType dtype) : Module("VAE", dtype) {}

  /// mu and log sigma^2 [B, 20] of images [B, 1, 28, 28].
  std::pair<Tensor, Tensor> encode(const Tensor &x) const {
    int64_t b = x.shape()[0];
    Tensor stats = encFc2(relu(encFc1(flatten(x))));
    return {slice(stats, {0, 0}, {b, kLatent}),
            slice(stats, {0, kLatent}, {b, 2 * kLatent})};
  }

  /// Logits [B, 784] of latents [B, 20].
  Tensor decode(const Tensor &z) const { return decFc2(relu(decFc1(z))); }

  /// The loss per example for noise `eps` [B, 20].
  Tensor loss(const Tensor &x, const Tensor &eps) const {
    int64_t b = x.shape()[0];
    auto [mu, logVar] = encode(x);
    Tensor z = mu + eps * exp(logVar * 0.5);
    Tensor reconstruction =
        sum(bceWithLogits(decode(z), flatten(x), Reduction::None), {0, 1});
    Tensor kl = sum(scalarLike(mu, 1.0) + logVar - mu * mu - exp(logVar),
                    {0, 1}) *
                -0.5;
    return (reconstruction + kl) / static_cast<double>(b);
  }
};

BuiltModel buildVae(const ModelOptions &options) {
  auto model = std::make_unique<Vae>(options.dtype);
  auto program = std::make_unique<Program>("vae", *model);
  Shape images{options.batch, 1, 28, 28};

  Graph &forward = program->addEntry("forward");
  Tensor x = forward.input("x", images, options.dtype);
  forward.output("logits", model->decode(model->encode(x).first));

  Graph &loss = program->addEntry("loss");
  loss.setTraining(true);
  Tensor lossX = loss.input("x", images, options.dtype);
  Graph::RandomStream noise =
      loss.randomStream(options.batch * Vae::kLatent);
  Tensor eps = randomNormal(noise.seed, noise.offset,
                            {options.batch, Vae::kLatent}, 0.0, 1.0,
                            options.dtype);
  loss.output("loss", model->loss(lossX, eps));

  Graph &sample = program->addEntry("sample");
  Tensor z = sample.input("z", {options.batch, Vae::kLatent}, options.dtype);
  sample.output("images",
                reshape(sigmoid(model->decode(z)), {options.batch, 1, 28, 28}));
  return {std::move(model), std::move(program)};
}

} // namespace

void addGenerative(std::vector<ModelInfo> &zoo) {
  zoo.push_back({"vae",
                 "Fashion-MNIST variational autoencoder: 784-400-(20+20), "
                 "20-400-784",
                 128, buildVae});
}

} // namespace kiln::zoo
