#!/usr/bin/env python3
"""PyTorch's training throughput on the models of docs/models.md, for
bench/train.sh: the same model (tests/reference/test_models.py), batch and
optimizer (Adam, lr 1e-3) as Kiln's training executables, eager mode or,
with --compile, the model under torch.compile (PyTorch 2), on one random
batch (no data loading). Prints "MODEL THREADS EXAMPLES_PER_SECOND" (an
example of gpt or bert is one window of token ids, of transformer or
seq2seq one reversal problem).

Usage: torch_train.py --model NAME --batch B --threads T [--steps N]
                      [--compile]
"""

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "reference"))
from test_models import MODELS, ddpm_schedule  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def generative_step(name, model, batch, inputs, compile_methods):
    """The training step of a generative model as a PyTorch user writes
    it, its noise drawn with torch's generator each step; None for the
    others (one Adam on loss_of). With compile_methods, the methods the
    step calls besides forward (vae's encode/decode, gan's generate and
    discriminate) run under torch.compile too."""
    x = inputs.get("x")
    net = model._orig_mod if hasattr(model, "_orig_mod") else model
    if compile_methods and name in ("vae", "gan"):
        for method in ("encode", "decode", "generate", "discriminate"):
            if hasattr(net, method):
                setattr(net, method, torch.compile(getattr(net, method)))
    if name == "vae":
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_of = MODELS[name][3]

        def step():
            optimizer.zero_grad(set_to_none=True)
            loss_of(net, {"x": x, "eps": torch.randn(batch, 20)}).backward()
            optimizer.step()
        return step
    if name == "gan":
        # One D step (on G(z) detached), then one G step through the same
        # G(z), each network with its own Adam.
        opt_d = torch.optim.Adam(net.d.parameters(), lr=2e-4, betas=(0.5, 0.999))
        opt_g = torch.optim.Adam(net.g.parameters(), lr=2e-4, betas=(0.5, 0.999))

        def step():
            fake = net.generate(torch.randn(batch, 64))
            opt_d.zero_grad(set_to_none=True)
            real = net.discriminate(2 * x - 1)
            out = net.discriminate(fake.detach())
            (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
             + F.binary_cross_entropy_with_logits(out, torch.zeros_like(out))
             ).backward()
            opt_d.step()
            opt_g.zero_grad(set_to_none=True)
            out = net.discriminate(fake)
            F.binary_cross_entropy_with_logits(
                out, torch.ones_like(out)).backward()
            opt_g.step()
        return step
    if name == "ddpm":
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        alpha_bar = ddpm_schedule()[1].float()

        def step():
            t = torch.randint(0, 1000, (batch,))
            eps = torch.randn_like(x)
            ab = alpha_bar[t][:, None, None, None]
            noisy = ab.sqrt() * (2 * x - 1) + (1 - ab).sqrt() * eps
            optimizer.zero_grad(set_to_none=True)
            F.mse_loss(model(noisy, t), eps).backward()
            optimizer.step()
        return step
    if name == "ebm":
        # 20 Langevin steps from a replay buffer (5% restarts), then the
        # contrastive loss.
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        buffer = torch.rand(10000, 1, 28, 28)
        loss_of = MODELS[name][3]

        def step():
            slots = torch.randint(0, 10000, (batch,))
            start = buffer[slots]
            restart = torch.rand(batch) < 0.05
            start[restart] = torch.rand(int(restart.sum()), 1, 28, 28)
            neg = start.requires_grad_()
            for _ in range(20):
                g, = torch.autograd.grad(model(neg).sum(), neg)
                neg = (neg - 0.005 * g + 0.1 * torch.randn_like(neg).clamp(-1, 1)
                       ).detach().requires_grad_()
            neg = neg.detach()
            buffer[slots] = neg
            optimizer.zero_grad(set_to_none=True)
            loss_of(model, {"x": x, "x_neg": neg}).backward()
            optimizer.step()
        return step
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, choices=list(MODELS))
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile the model (PyTorch 2)")
    args = parser.parse_args()

    torch.manual_seed(1)
    torch.set_num_threads(args.threads)
    cls, _, make_batch, loss_of = MODELS[args.model]
    model = cls().train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    if args.compile:
        if not hasattr(torch, "compile"):
            sys.exit("torch %s has no torch.compile: run bench/peers.sh and "
                     "use its Python" % torch.__version__)
        model = torch.compile(model)
    _, inputs = make_batch(args.batch, torch.Generator().manual_seed(1))

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss_of(model, inputs).backward()
        optimizer.step()

    step = generative_step(args.model, model, args.batch, inputs,
                           args.compile) or step

    # Warm-up: allocator, first-call dispatch, torch.compile's compilation.
    for _ in range(10):
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = time.perf_counter() - start
    print(args.model, args.threads, f"{args.steps * args.batch / seconds:.0f}")


if __name__ == "__main__":
    main()
