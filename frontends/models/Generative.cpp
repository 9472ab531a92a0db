//===- Generative.cpp - Generative models: vae, gan, ebm ------------------===//
//
// As docs/models.md specifies them, on Fashion-MNIST images x [B,1,28,28]
// in [0,1] (no labels).
//
//   vae  forward(x) -> reconstruction logits [B,784] from z = mu;
//        loss(x) -> (sum of BCE-with-logits + KL) / B, with z = mu +
//        eps * exp(logvar / 2) and eps ~ N(0, 1) drawn inside the step
//        (counter-based: inputs rng_seed, rng_offset);
//        sample(z [B,20]) -> images [B,1,28,28] in [0,1].
//   gan  forward(x) -> the discriminator's logits [B,1];
//        loss(x) -> L_D + L_G; loss_d(x) trains d, loss_g() trains g
//        (train_step_d then train_step_g per batch, each with its own
//        Adam; train_step chains them, G(z) computed once), one
//        z ~ N(0, 1) per batch drawn inside each step from the same
//        counters; sample(z [B,64]) -> images [B,1,28,28] in [0,1].
//   ebm  forward(x) -> energies [B]; loss(x, x_neg) -> mean(E+ - E-) +
//        0.1 mean(E+^2 + E-^2); energy(x) -> sum of E, whose gradient by
//        x the compiler adds as energy_grad (the Langevin chain's drift).
//
//===----------------------------------------------------------------------===//

#include "frontends/models/Zoo.h"

namespace kiln::zoo {
namespace {

struct Vae : Module {
  static constexpr int64_t kLatent = 20;
  Sequential enc{this, "enc"};
  Sequential dec{this, "dec"};

  explicit Vae(DType dtype) : Module("VAE", dtype) {
    enc.add<Flatten>("flatten");
    enc.add<Linear>("fc1", 784, 400);
    enc.add<ReLU>("relu");
    enc.add<Linear>("fc2", 400, 2 * kLatent);
    dec.add<Linear>("fc1", kLatent, 400);
    dec.add<ReLU>("relu");
    dec.add<Linear>("fc2", 400, 784);
  }

  /// mu and log sigma^2 [B, 20] of images [B, 1, 28, 28].
  std::pair<Tensor, Tensor> encode(const Tensor &x) const {
    Tensor stats = enc(x);
    return {narrow(stats, 1, 0, kLatent), narrow(stats, 1, kLatent, kLatent)};
  }

  /// Logits [B, 784] of latents [B, 20].
  Tensor decode(const Tensor &z) const { return dec(z); }

  /// The loss per example for noise `eps` [B, 20].
  Tensor loss(const Tensor &x, const Tensor &eps) const {
    int64_t b = x.shape()[0];
    auto [mu, logVar] = encode(x);
    Tensor z = mu + eps * exp(logVar * 0.5);
    Tensor reconstruction =
        sum(binary_cross_entropy_with_logits(decode(z), flatten(x, 1), kNone),
            {0, 1});
    Tensor kl = sum(scalar_like(mu, 1.0) + logVar - mu * mu - exp(logVar),
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
  Tensor eps = randn(noise.seed, noise.offset,
                            {options.batch, Vae::kLatent}, 0.0, 1.0,
                            options.dtype);
  loss.output("loss", model->loss(lossX, eps));

  Graph &sample = program->addEntry("sample");
  Tensor z = sample.input("z", {options.batch, Vae::kLatent}, options.dtype);
  sample.output("images",
                reshape(sigmoid(model->decode(z)), {options.batch, 1, 28, 28}));
  return {std::move(model), std::move(program)};
}

/// A tensor of `value` shaped as `like`.
Tensor filled(const Tensor &like, double value) {
  return broadcast_to(scalar_like(like, value), like.shape());
}

/// DCGAN-style generator `g` and discriminator `d` (docs/models.md), in
/// [-1, 1] pixel space: entries take Fashion-MNIST images in [0, 1] and
/// rescale them.
struct Gan : Module {
  static constexpr int64_t kLatent = 64;
  Sequential g{this, "g"};
  Sequential d{this, "d"};

  explicit Gan(DType dtype) : Module("GAN", dtype) {
    g.add<Linear>("fc", kLatent, 6272);
    g.add<ReLU>("relu1");
    g.add<Unflatten>("unflatten", UnflattenOptions(1, {128, 7, 7}));
    g.add<ConvTranspose2d>(
        "deconv1", ConvTranspose2dOptions(128, 64, 4).stride(2).padding(1).bias(
                       false));
    g.add<BatchNorm2d>("bn1", 64);
    g.add<ReLU>("relu2");
    g.add<ConvTranspose2d>("deconv2",
                           ConvTranspose2dOptions(64, 1, 4).stride(2).padding(1));
    g.add<Tanh>("tanh");
    auto slope = LeakyReLUOptions().negative_slope(0.2);
    d.add<Conv2d>("conv1", Conv2dOptions(1, 64, 4).stride(2).padding(1));
    d.add<LeakyReLU>("act1", slope);
    d.add<Conv2d>("conv2", Conv2dOptions(64, 128, 4).stride(2).padding(1));
    d.add<LeakyReLU>("act2", slope);
    d.add<Flatten>("flatten");
    d.add<Linear>("fc", 6272, 1);
  }

  /// Images [B, 1, 28, 28] in [-1, 1] of latents [B, 64].
  Tensor generate(const Tensor &z) const { return g(z); }

  /// The discriminator's logit [B, 1] of images in [-1, 1].
  Tensor discriminate(const Tensor &x) const { return d(x); }

  /// L_D: real images scored 1, generated ones 0.
  Tensor discriminatorLoss(const Tensor &real, const Tensor &fake) const {
    Tensor realLogits = discriminate(real), fakeLogits = discriminate(fake);
    return binary_cross_entropy_with_logits(realLogits, filled(realLogits, 1.0)) +
           binary_cross_entropy_with_logits(fakeLogits, filled(fakeLogits, 0.0));
  }

  /// L_G, non-saturating: generated images scored 1.
  Tensor generatorLoss(const Tensor &fake) const {
    Tensor logits = discriminate(fake);
    return binary_cross_entropy_with_logits(logits, filled(logits, 1.0));
  }
};

/// One latent batch z ~ N(0, 1) [B, 64], the entry's first random numbers:
/// every entry given the same rng_seed and rng_offset draws the same z.
Tensor ganLatents(Graph &graph, const ModelOptions &options) {
  Graph::RandomStream noise = graph.randomStream(options.batch * Gan::kLatent);
  return randn(noise.seed, noise.offset, {options.batch, Gan::kLatent},
                      0.0, 1.0, options.dtype);
}

BuiltModel buildGan(const ModelOptions &options) {
  auto model = std::make_unique<Gan>(options.dtype);
  auto program = std::make_unique<Program>("gan", *model);
  Shape images{options.batch, 1, 28, 28};
  auto scaled = [](const Tensor &x) { return x * 2.0 - 1.0; };

  Graph &forward = program->addEntry("forward");
  forward.output("logits", model->discriminate(scaled(
                               forward.input("x", images, options.dtype))));

  // L_D + L_G at the same parameters, the number training reports.
  Graph &loss = program->addEntry("loss");
  loss.setTraining(true);
  Tensor x = scaled(loss.input("x", images, options.dtype));
  Tensor fake = model->generate(ganLatents(loss, options));
  loss.output("loss", model->discriminatorLoss(x, fake) +
                          model->generatorLoss(fake));

  // The two training steps, in order: the discriminator's, on the batch and
  // G(z) as a constant; then the generator's, on the same z. Batch norm's
  // running statistics count the batch once, in the first.
  Graph &lossD = program->addEntry("loss_d");
  lossD.setTraining(true);
  lossD.trains(model->d);
  Tensor real = scaled(lossD.input("x", images, options.dtype));
  lossD.output("loss", model->discriminatorLoss(
                           real, model->generate(ganLatents(lossD, options))));

  Graph &lossG = program->addEntry("loss_g");
  lossG.setTraining(true);
  lossG.setKeepBuffers(true);
  lossG.trains(model->g);
  lossG.output("loss", model->generatorLoss(
                           model->generate(ganLatents(lossG, options))));

  Graph &sample = program->addEntry("sample");
  Tensor z = sample.input("z", {options.batch, Gan::kLatent}, options.dtype);
  sample.output("images", (model->generate(z) + 1.0) * 0.5);
  return {std::move(model), std::move(program)};
}

/// An energy-based model: the cnn's body with one output, E(x) [B].
struct Ebm : Module {
  Conv2d conv1{this, "conv1", Conv2dOptions(1, 32, 3).padding(1)};
  Conv2d conv2{this, "conv2", Conv2dOptions(32, 64, 3).padding(1)};
  Linear fc1{this, "fc1", 3136, 128};
  Linear fc2{this, "fc2", 128, 1};

  explicit Ebm(DType dtype) : Module("EBM", dtype) {}

  Tensor operator()(const Tensor &x) const {
    Tensor h = max_pool2d(relu(conv1(x)), {2, 2}, {2, 2});
    h = max_pool2d(relu(conv2(h)), {2, 2}, {2, 2});
    return reshape(fc2(relu(fc1(flatten(h, 1)))), {x.shape()[0]});
  }
};

BuiltModel buildEbm(const ModelOptions &options) {
  auto model = std::make_unique<Ebm>(options.dtype);
  auto program = std::make_unique<Program>("ebm", *model);
  Shape images{options.batch, 1, 28, 28};

  Graph &forward = program->addEntry("forward");
  forward.output("energy",
                 (*model)(forward.input("x", images, options.dtype)));

  // Data x scored low, negatives x_neg (Langevin samples, an input: no
  // gradient flows into the chain) high, both energies kept near 0.
  Graph &loss = program->addEntry("loss");
  loss.setTraining(true);
  Tensor positive = (*model)(loss.input("x", images, options.dtype));
  Tensor negative = (*model)(loss.input("x_neg", images, options.dtype));
  loss.output("loss", mean(positive - negative, {0}) +
                          mean(positive * positive + negative * negative,
                               {0}) *
                              0.1);

  // The Langevin chain's drift: energy_grad(x) gives d/dx of sum_b E(x_b).
  Graph &energy = program->addEntry("energy");
  Tensor chain = energy.input("x", images, options.dtype);
  energy.output("energy", sum((*model)(chain), {0}));
  energy.differentiateInputs({"x"});
  return {std::move(model), std::move(program)};
}

} // namespace

void addGenerative(std::vector<ModelInfo> &zoo) {
  zoo.push_back({"vae",
                 "Fashion-MNIST variational autoencoder: 784-400-(20+20), "
                 "20-400-784",
                 128, buildVae});
  zoo.push_back({"gan",
                 "Fashion-MNIST DCGAN: generator 64-6272-deconv-deconv, "
                 "discriminator conv-conv-6272-1, trained in alternating "
                 "steps",
                 64, buildGan, "optimizer=adam lr=2e-4 beta1=0.5 beta2=0.999"});
  zoo.push_back({"ebm",
                 "Fashion-MNIST energy-based model: the cnn body with one "
                 "output, trained on short-run Langevin negatives from a "
                 "replay buffer",
                 128, buildEbm});
}

} // namespace kiln::zoo
