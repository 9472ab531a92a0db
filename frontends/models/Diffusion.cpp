//===- Diffusion.cpp - Denoising diffusion: ddpm --------------------------===//
//
// As docs/models.md specifies it, on Fashion-MNIST images in [0, 1], which
// the entries rescale to [-1, 1]. T = 1000 steps, beta linear from 1e-4 to
// 0.02, alpha-bar the running product of 1 - beta, in float64.
//
//   ddpm  forward(x [B,1,28,28] noisy, t [B]) -> the predicted noise;
//         loss(x) -> MSE of the predicted noise, with t ~ U{0..999} and
//         eps ~ N(0, 1) drawn inside the step (counter-based);
//         ddpm_step(x, t) -> x at t - 1: one ancestral step (noise drawn
//         inside; none at t = 0);
//         ddim_step(x, t, t_prev) -> x at t_prev: one deterministic DDIM
//         step (t_prev = -1: the last, alpha-bar 1).
//
//===----------------------------------------------------------------------===//

#include "frontends/models/Zoo.h"

#include <cmath>

namespace kiln::zoo {
namespace {

constexpr int64_t kSteps = 1000;

/// The noise schedule, in float64: beta_t and alpha-bar_t for t < T.
struct Schedule {
  std::vector<double> beta, alphaBar;
  Schedule() {
    double product = 1.0;
    for (int64_t t = 0; t < kSteps; ++t) {
      double b = 1e-4 + (0.02 - 1e-4) * static_cast<double>(t) / (kSteps - 1);
      product *= 1.0 - b;
      beta.push_back(b);
      alphaBar.push_back(product);
    }
  }
};

/// `table`[t] for each t [B], shaped [B, 1, 1, 1] to scale images: a
/// constant [N, 1] gathered by the integer steps.
Tensor perStep(const Tensor &t, const std::vector<double> &table, DType dtype) {
  Graph &graph = t.graph();
  int64_t n = static_cast<int64_t>(table.size());
  Tensor rows = constant(graph, {n, 1}, table, dtype);
  return reshape(embedding(rows, t), {t.shape()[0], 1, 1, 1});
}

/// Res(cin -> cout) with the time embedding e [B, 128]:
/// h = c1(SiLU(n1(x))) + t(e); h = c2(SiLU(n2(h))); h + sc(x).
struct Res : Module {
  int64_t cin, cout;
  GroupNorm n1;
  Conv2d c1;
  Linear t;
  GroupNorm n2;
  Conv2d c2;
  std::unique_ptr<Conv2d> sc; // where cin != cout

  Res(Module *parent, std::string name, int64_t cin, int64_t cout)
      : Module(parent, std::move(name), "Res"), cin(cin), cout(cout),
        n1(this, "n1", 8, cin),
        c1(this, "c1", Conv2dOptions(cin, cout, 3).padding(1)),
        t(this, "t", 128, cout), n2(this, "n2", 8, cout),
        c2(this, "c2", Conv2dOptions(cout, cout, 3).padding(1)) {
    if (cin != cout)
      sc = std::make_unique<Conv2d>(this, "sc", cin, cout, 1);
  }

  Tensor operator()(const Tensor &x, const Tensor &e) const {
    Tensor h = c1(silu(n1(x)));
    Tensor shift = reshape(t(e), {x.shape()[0], cout, 1, 1});
    h = c2(silu(n2(h + broadcast_to(shift, h.shape()))));
    return h + (sc ? (*sc)(x) : x);
  }
};

struct Ddpm : Module {
  Schedule schedule;
  Sequential temb{this, "temb"};
  Conv2d inp{this, "inp", Conv2dOptions(1, 32, 3).padding(1)};
  Res d1{this, "d1", 32, 32};
  Conv2d down{this, "down", Conv2dOptions(32, 64, 3).stride(2).padding(1)};
  Res d2{this, "d2", 64, 64};
  Res mid{this, "mid", 64, 64};
  ConvTranspose2d up{this, "up",
                     ConvTranspose2dOptions(64, 32, 4).stride(2).padding(1)};
  Res u1{this, "u1", 64, 32};
  Sequential out{this, "out"};

  explicit Ddpm(DType dtype) : Module("DDPM", dtype) {
    temb.append<Linear>(32, 128);
    temb.append<SiLU>();
    temb.append<Linear>(128, 128);
    out.append<GroupNorm>(8, 32);
    out.append<SiLU>();
    out.append<Conv2d>(Conv2dOptions(32, 1, 3).padding(1));
  }

  /// The time embedding [B, 128] of steps t [B]: sin and cos of t times
  /// 16 frequencies exp(-ln(10^4) k / 16), then temb.
  Tensor embed(const Tensor &t) const {
    Graph &graph = t.graph();
    std::vector<double> frequencies;
    for (int k = 0; k < 16; ++k)
      frequencies.push_back(std::exp(-std::log(1e4) * k / 16.0));
    int64_t b = t.shape()[0];
    Tensor steps = reshape(cast(t, dtype()), {b, 1});
    Tensor angles = matmul(steps, constant(graph, {1, 16}, frequencies, dtype()));
    Tensor features = cat({sin(angles), cos(angles)}, 1);
    return temb(features);
  }

  /// The predicted noise of images x [B, 1, 28, 28] at steps t [B].
  Tensor operator()(const Tensor &x, const Tensor &t) const {
    Tensor e = embed(t);
    Tensor h1 = d1(inp(x), e);
    Tensor h = mid(d2(down(h1), e), e);
    h = u1(cat({up(h), h1}, 1), e);
    return out(h);
  }
};

BuiltModel buildDdpm(const ModelOptions &options) {
  auto model = std::make_unique<Ddpm>(options.dtype);
  auto program = std::make_unique<Program>("ddpm", *model);
  const Schedule &s = model->schedule;
  DType dtype = options.dtype;
  int64_t b = options.batch;
  Shape images{b, 1, 28, 28};
  std::vector<double> rootAlphaBar, rootOneMinus;
  for (double a : s.alphaBar) {
    rootAlphaBar.push_back(std::sqrt(a));
    rootOneMinus.push_back(std::sqrt(1.0 - a));
  }

  Graph &forward = program->addEntry("forward");
  Tensor x = forward.input("x", images, dtype);
  Tensor t = forward.input("t", {b}, DType::I64);
  forward.output("eps", (*model)(x, t));

  // x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) eps; the loss is the MSE of the
  // predicted noise.
  Graph &loss = program->addEntry("loss");
  Tensor x0 = loss.input("x", images, dtype) * 2.0 - 1.0;
  Graph::RandomStream steps = loss.randomStream(b);
  Tensor lossT = randint(steps.seed, steps.offset, {b}, 0, kSteps);
  Graph::RandomStream noise = loss.randomStream(b * 784);
  Tensor eps = randn(noise.seed, noise.offset, images, 0.0, 1.0, dtype);
  Tensor noisy =
      broadcast_to(perStep(lossT, rootAlphaBar, dtype), images) * x0 +
      broadcast_to(perStep(lossT, rootOneMinus, dtype), images) * eps;
  loss.output("loss", mse_loss((*model)(noisy, lossT), eps));

  // Ancestral: x_{t-1} = (x_t - beta_t / sqrt(1 - ab_t) eps^) / sqrt(1 -
  // beta_t) + sqrt(beta_t) z, without z at t = 0.
  std::vector<double> inverseRootAlpha, noiseScale, sigma;
  for (int64_t i = 0; i < kSteps; ++i) {
    inverseRootAlpha.push_back(1.0 / std::sqrt(1.0 - s.beta[i]));
    noiseScale.push_back(s.beta[i] / std::sqrt(1.0 - s.alphaBar[i]));
    sigma.push_back(i == 0 ? 0.0 : std::sqrt(s.beta[i]));
  }
  Graph &ddpm = program->addEntry("ddpm_step");
  Tensor xt = ddpm.input("x", images, dtype);
  Tensor tt = ddpm.input("t", {b}, DType::I64);
  Graph::RandomStream fresh = ddpm.randomStream(b * 784);
  Tensor z = randn(fresh.seed, fresh.offset, images, 0.0, 1.0, dtype);
  Tensor predicted = (*model)(xt, tt);
  auto at = [&](const Tensor &step, const std::vector<double> &table) {
    return broadcast_to(perStep(step, table, dtype), images);
  };
  ddpm.output("x_prev", at(tt, inverseRootAlpha) *
                            (xt - at(tt, noiseScale) * predicted) +
                            at(tt, sigma) * z);

  // DDIM (deterministic): x0^ = (x_t - sqrt(1 - ab_t) eps^) / sqrt(ab_t);
  // x_prev = sqrt(ab_prev) x0^ + sqrt(1 - ab_prev) eps^, ab_prev from
  // t_prev (-1: 1).
  std::vector<double> rootPrev{1.0}, rootOneMinusPrev{0.0};
  for (int64_t i = 0; i < kSteps; ++i) {
    rootPrev.push_back(rootAlphaBar[i]);
    rootOneMinusPrev.push_back(rootOneMinus[i]);
  }
  Graph &ddim = program->addEntry("ddim_step");
  Tensor xd = ddim.input("x", images, dtype);
  Tensor td = ddim.input("t", {b}, DType::I64);
  Tensor prev = ddim.input("t_prev", {b}, DType::I64) +
                constant(ddim, {}, {1.0}, DType::I64);
  Tensor eh = (*model)(xd, td);
  Tensor clean = (xd - at(td, rootOneMinus) * eh) / at(td, rootAlphaBar);
  ddim.output("x_prev", at(prev, rootPrev) * clean + at(prev, rootOneMinusPrev) * eh);
  return {std::move(model), std::move(program)};
}

} // namespace

void addDiffusion(std::vector<ModelInfo> &zoo) {
  zoo.push_back({"ddpm",
                 "Fashion-MNIST denoising diffusion: a small U-Net with time "
                 "embedding, T = 1000; DDPM and DDIM sampling",
                 64, buildDdpm});
}

} // namespace kiln::zoo
