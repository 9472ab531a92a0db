"""PyTorch float64 references for tests/dsl/dsl_cases.cpp's models.

  dsl_cases.py DIR write         params and inputs of both models
  dsl_cases.py DIR check MODEL   DIR/MODEL.forward.safetensors and
                                 DIR/MODEL.grad.safetensors (Kiln's outputs)
                                 against torch.nn and torch.nn.functional

The torch models are built from torch.nn's own layers and the parameters are
saved from their state_dict, so a name or layout the DSL gets wrong fails to
load. Every forward value and every gradient must agree to 1e-9 relative to
the largest magnitude of the tensor (float64).
"""
import collections
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "reference"))
import safetensors  # noqa: E402

torch.set_default_dtype(torch.float64)
TOLERANCE = 1e-9


class Losses(nn.Module):
    def __init__(self):
        super().__init__()
        self.logits = nn.Parameter(torch.randn(6, 5))
        self.scores = nn.Parameter(torch.randn(6, 5))
        self.pred = nn.Parameter(torch.randn(4, 3))
        self.kl_in = nn.Parameter(torch.randn(3, 4))

    def forward(self, i):
        z, s, p, k = self.logits, self.scores, self.pred, self.kl_in
        y, y_all = i["y"], i["y_all"]
        return collections.OrderedDict([
            ("ce", F.cross_entropy(z, y_all)),
            ("ce_none", F.cross_entropy(z, y_all, reduction="none")),
            ("ce_smooth", F.cross_entropy(z, y_all, label_smoothing=0.1)),
            ("ce_ignore", F.cross_entropy(z, y, ignore_index=-100)),
            ("ce_ignore_smooth_sum", F.cross_entropy(
                z, y, ignore_index=-100, label_smoothing=0.2, reduction="sum")),
            ("ce_ignore_none", F.cross_entropy(z, y, ignore_index=-100,
                                               reduction="none")),
            ("nll", F.nll_loss(F.log_softmax(s, 1), y, ignore_index=-100)),
            ("nll_sum", F.nll_loss(F.log_softmax(s, 1), y_all, reduction="sum")),
            ("l1", F.l1_loss(p, i["target"])),
            ("l1_none", F.l1_loss(p, i["target"], reduction="none")),
            ("smooth_l1", F.smooth_l1_loss(p, i["target"])),
            ("smooth_l1_sum", F.smooth_l1_loss(p, i["target"], reduction="sum",
                                               beta=0.5)),
            ("mse", F.mse_loss(p, i["target"])),
            ("kl_batchmean", F.kl_div(F.log_softmax(k, 1), i["probs"],
                                      reduction="batchmean")),
            ("kl_mean", F.kl_div(F.log_softmax(k, 1), i["probs"],
                                 reduction="mean")),
            ("kl_log_target_sum", F.kl_div(F.log_softmax(k, 1), i["log_probs"],
                                           reduction="sum", log_target=True)),
            ("bce", F.binary_cross_entropy_with_logits(
                p, torch.sigmoid(i["target"]))),
        ])


class Layers(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(6, 4))
        self.k = nn.Parameter(torch.randn(3, 6, 2))
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1, bias=False),
            nn.BatchNorm2d(8, momentum=0.2), nn.LeakyReLU(0.1),
            nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=4), nn.GELU(),
            nn.MaxPool2d(2))
        self.up = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1,
                                     output_padding=1)
        self.gn = nn.GroupNorm(2, 4)
        self.avg = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
        self.head = nn.Sequential(collections.OrderedDict([
            ("0", nn.AdaptiveAvgPool2d(2)), ("1", nn.Flatten()),
            ("2", nn.Linear(16, 6)), ("3", nn.SiLU()),
            ("softmax", nn.Softmax(1))]))
        self.ln = nn.LayerNorm(6, eps=1e-3)
        self.emb = nn.Embedding(10, 4)
        self.lstm = nn.LSTM(4, 3, num_layers=2, bidirectional=True)
        self.gru = nn.GRU(6, 3)
        self.rnn = nn.RNN(6, 2, batch_first=True, bias=False)

    def forward(self, i):
        f = self.features(i["x"])
        u = self.avg(self.gn(self.up(f)))
        h = self.ln(self.head(u))
        e = self.emb(i["tokens"]).transpose(0, 1)
        lo, (lh, lc) = self.lstm(e)
        go, gh = self.gru(lo)
        q = lo.transpose(0, 1)
        rb, _ = self.rnn(q)
        scores = torch.softmax(q @ q.transpose(1, 2), -1)
        sliced = q[:, :, 1:6:2].narrow(1, 1, 3)
        chosen = (torch.where(q > 0.1, q, -q * 0.5) +
                  torch.where(q <= -0.2, q * q, q))
        return collections.OrderedDict([
            ("features", f), ("up", u), ("head", h), ("lstm", lo),
            ("lstm_h", lh), ("lstm_c", lc), ("gru", go), ("gru_h", gh),
            ("rnn", rb), ("projected", scores @ (q @ self.w)),
            ("broadcast", q.unsqueeze(1) @ self.k), ("picked", sliced),
            ("extremes", q.amax(1) + q.amin(1, keepdim=True).squeeze(1)),
            ("chosen", chosen),
            ("hot", F.one_hot(i["tokens"], 10).double() * 2.0),
            ("log_softmax", torch.log_softmax(u.flatten(1), 1)),
        ])


def build(model):
    torch.manual_seed(5)
    m = Losses() if model == "losses" else Layers()
    if model == "layers":  # running statistics away from their defaults
        bn = m.features[1]
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.num_batches_tracked.fill_(3)
    return m


def inputs(model):
    rng = np.random.default_rng(17)
    if model == "losses":
        probs = rng.uniform(0.1, 1.0, (3, 4))
        probs[0, 2] = 0.0  # 0 log 0 counts as 0
        probs /= probs.sum(1, keepdims=True)
        logits = rng.standard_normal((3, 4))
        return {
            "y": np.array([0, -100, 3, 4, -100, 1], dtype=np.int64),
            "y_all": np.array([2, 0, 4, 1, 3, 3], dtype=np.int64),
            "target": rng.standard_normal((4, 3)),
            "probs": probs,
            "log_probs": logits - np.log(np.exp(logits).sum(1, keepdims=True)),
        }
    return {"x": rng.standard_normal((2, 3, 8, 8)),
            "tokens": rng.integers(0, 10, (2, 5)).astype(np.int64)}


def loss_of(model, outputs):
    total = 0
    for value in outputs.values():
        if not value.is_floating_point():
            continue
        total = total + (value.sum() if model == "losses"
                         else (value * value).mean())
    return total


def compare(what, got, expected, failures):
    expected = expected.detach().numpy()
    if got.shape != expected.shape:
        failures.append(f"{what}: shape {got.shape}, expected {expected.shape}")
        return
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    err = float(np.abs(got.astype(np.float64) - expected).max(initial=0.0))
    if not err <= TOLERANCE * scale:
        failures.append(f"{what}: max error {err:.3e} (allowed {TOLERANCE * scale:.1e})")


def main(directory, command, model=None):
    if command == "write":
        for name in ("losses", "layers"):
            state = {k: v.detach().numpy() for k, v in build(name).state_dict().items()}
            safetensors.save(os.path.join(directory, name + ".params.safetensors"), state)
            safetensors.save(os.path.join(directory, name + ".inputs.safetensors"), inputs(name))
        return 0
    m = build(model)
    feed = {k: torch.tensor(v) for k, v in inputs(model).items()}
    failures = []
    m.eval()
    forward = safetensors.load(os.path.join(directory, model + ".forward.safetensors"))
    with torch.no_grad():
        expected = m(feed)
    for name, value in expected.items():
        if name not in forward:
            failures.append(f"forward: no output '{name}'")
        else:
            compare("forward " + name, forward[name], value, failures)
    m.train()
    loss = loss_of(model, m(feed))
    loss.backward()
    grad = safetensors.load(os.path.join(directory, model + ".grad.safetensors"))
    compare("loss", grad["loss"], loss, failures)
    for name, p in m.named_parameters():
        key = "grad." + name
        if key not in grad:
            failures.append(f"no gradient '{key}'")
        else:
            compare(key, grad[key], p.grad, failures)
    checked = len(expected) + 1 + len(list(m.parameters()))
    for f in failures:
        print("FAIL:", f)
    print(f"{model}: {checked - len(failures)} of {checked} tensors match "
          f"PyTorch (float64, {TOLERANCE:g} relative)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
