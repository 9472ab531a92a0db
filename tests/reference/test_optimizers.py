#!/usr/bin/env python3
"""train_step against torch.optim: 10 steps of each optimizer on the mlp, and
of SGD with momentum on the resnet, whose batch norm running statistics
train_step updates too; 3 steps of the gan, trained in alternating steps.

For every configuration (SGD plain / momentum / Nesterov with weight decay,
Adam, Adam with L2 weight decay, AdamW; constant, step and warm-up+cosine
schedules; global-norm clipping) the mlp of docs/models.md is compiled with
`kilnc --train-step=...`, trained for 10 steps by feeding each step's
outputs (parameters and optimizer state, by name) back as the next step's
--params, and compared with the same 10 steps of torch.optim in float64.
Tolerance: max |Δ| of every parameter after 10 steps, relative to max
|param|, and of every step's loss: 1e-9 for the float64 artefact; 1e-5 for
the float32 artefact with SGD. Adam and AdamW are compared in float64 only:
their first steps move each weight by about lr * sign(gradient), so weights
whose gradient is zero up to float32 rounding move by +-lr at random in any
float32 implementation (torch's included), far above 1e-5.
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.join(HERE, "..", "..", "build", "bin")
STEPS = 10
BATCH = 16

CONFIGS = [
    ("sgd", "optimizer=sgd lr=0.1", dict(opt="sgd", lr=0.1)),
    ("sgd-momentum-wd", "optimizer=sgd lr=0.05 momentum=0.9 weight-decay=0.01",
     dict(opt="sgd", lr=0.05, momentum=0.9, weight_decay=0.01)),
    ("sgd-nesterov", "optimizer=sgd lr=0.05 momentum=0.9 nesterov=true",
     dict(opt="sgd", lr=0.05, momentum=0.9, nesterov=True)),
    ("adam", "optimizer=adam lr=0.001", dict(opt="adam", lr=1e-3)),
    ("adam-l2", "optimizer=adam lr=0.002 weight-decay=0.01",
     dict(opt="adam", lr=2e-3, weight_decay=0.01)),
    ("adamw", "optimizer=adamw lr=0.002 weight-decay=0.1 beta1=0.8 beta2=0.99",
     dict(opt="adamw", lr=2e-3, weight_decay=0.1, betas=(0.8, 0.99))),
    ("sgd-step-schedule", "optimizer=sgd lr=0.1 schedule=step step-size=3 gamma=0.5",
     dict(opt="sgd", lr=0.1, schedule=("step", 3, 0.5))),
    ("adam-cosine", "optimizer=adam lr=0.003 schedule=cosine warmup-steps=3 total-steps=10",
     dict(opt="adam", lr=3e-3, schedule=("cosine", 3, 10))),
    ("adam-clip", "optimizer=adam lr=0.001 clip-norm=0.5",
     dict(opt="adam", lr=1e-3, clip=0.5)),
]


def rel_err(got, want):
    """max |got - want| / max |want|, in float64; infinite where got has a
    NaN or an infinity (or want does): a NaN is the worst error, never "not
    larger" than the others."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return math.inf
    if not (np.all(np.isfinite(got)) and np.all(np.isfinite(want))):
        return math.inf
    if got.size == 0:
        return 0.0
    return float(np.max(np.abs(got - want))) / max(float(np.max(np.abs(want))), 1e-12)


def worst_of(errors):
    """(largest error, its key) of {key: error}; NaN counts as infinite."""
    worst, worst_key = 0.0, ""
    for key, err in errors.items():
        err = math.inf if math.isnan(err) else err
        if err > worst or not worst_key:
            worst, worst_key = err, key
    return worst, worst_key


def lr_factor(schedule, t):
    if schedule is None:
        return 1.0
    if schedule[0] == "step":
        return schedule[2] ** (t // schedule[1])
    warm, total = schedule[1], schedule[2]
    if t < warm:
        return (t + 1) / warm
    progress = min((t - warm) / max(1, total - warm), 1.0)
    return 0.5 * (1 + math.cos(math.pi * progress))


def torch_run(cfg, params, batches):
    model = torch.nn.ModuleDict({
        "fc1": torch.nn.Linear(784, 256), "fc2": torch.nn.Linear(256, 256),
        "fc3": torch.nn.Linear(256, 10)}).double()
    model.load_state_dict({k: torch.tensor(v, dtype=torch.float64) for k, v in params.items()})
    ps = list(model.parameters())
    if cfg["opt"] == "sgd":
        opt = torch.optim.SGD(ps, lr=cfg["lr"], momentum=cfg.get("momentum", 0),
                              nesterov=cfg.get("nesterov", False),
                              weight_decay=cfg.get("weight_decay", 0))
    else:
        cls = torch.optim.Adam if cfg["opt"] == "adam" else torch.optim.AdamW
        opt = cls(ps, lr=cfg["lr"], betas=cfg.get("betas", (0.9, 0.999)), eps=1e-8,
                  weight_decay=cfg.get("weight_decay", 0))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: lr_factor(cfg.get("schedule"), t))
    losses = []
    for x, y in batches:
        opt.zero_grad()
        h = torch.tensor(x, dtype=torch.float64).reshape(BATCH, 784)
        h = torch.relu(model["fc1"](h))
        h = torch.relu(model["fc2"](h))
        loss = torch.nn.functional.cross_entropy(model["fc3"](h), torch.tensor(y))
        loss.backward()
        if "clip" in cfg:
            torch.nn.utils.clip_grad_norm_(ps, cfg["clip"])
        opt.step()
        sched.step()
        losses.append(loss.item())
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}, losses


def kiln_run(args, options, dtype, params, batches, work):
    module = os.path.join(work, f"mlp_{dtype}.mlir")
    subprocess.run([args.kilnc, "--model=mlp", f"--batch={BATCH}", f"--dtype={dtype}",
                    "-o", module], check=True)
    state = os.path.join(work, "state0.safetensors")
    safetensors.save(state, params)
    losses = []
    for step, (x, y) in enumerate(batches):
        inputs = os.path.join(work, "inputs.safetensors")
        safetensors.save(inputs, {"x": x, "y": y})
        out = os.path.join(work, f"state{step + 1}.safetensors")
        cmd = [args.kiln_run, module, "--jit", "--entry=train_step",
               f"--train-step={options}", f"--params={state}",
               f"--inputs={inputs}", f"--outputs={out}"]
        if step == 0:
            # Zero optimizer state and step count on the first step.
            first = dict(params)
            for name, tensor in list(params.items()):
                for kind in ("adam.m.", "adam.v.", "sgd.momentum."):
                    first[kind + name] = np.zeros_like(tensor)
            first["optimizer.step"] = np.zeros((), dtype=np.int64)
            safetensors.save(state, first)
        subprocess.run(cmd, check=True)
        result = safetensors.load(out)
        losses.append(float(result.pop("loss")))
        safetensors.save(out, result)
        state = out
    final = safetensors.load(state)
    return {k: final[k] for k in params}, losses


def resnet_check(args, work):
    """10 SGD-with-momentum steps of the resnet (batch norm in training mode)
    in float64, compiled once as a shared library: parameters, running
    statistics, num_batches_tracked and losses against torch."""
    from test_models import ResNet
    batch, options = 8, "optimizer=sgd lr=0.05 momentum=0.9"
    torch.manual_seed(3)
    model = ResNet().double().train()
    params = {k: v.detach().clone().numpy() for k, v in model.state_dict().items()}
    rng = np.random.default_rng(2)
    batches = [(rng.random((batch, 1, 28, 28)),
                rng.integers(0, 10, batch).astype(np.int64)) for _ in range(STEPS)]
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    expected_losses = []
    for x, y in batches:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(torch.tensor(x)), torch.tensor(y))
        loss.backward()
        opt.step()
        expected_losses.append(loss.item())
    expected = {k: v.detach().numpy() for k, v in model.state_dict().items()}

    library = os.path.join(work, "resnet.so")
    subprocess.run([args.kilnc, "--model=resnet", f"--batch={batch}", "--dtype=f64",
                    f"--train-step={options}", "--emit=so", "-o", library], check=True)
    state = dict(params)
    for name, tensor in params.items():
        if name in dict(model.named_parameters()):
            state["sgd.momentum." + name] = np.zeros_like(tensor)
    state["optimizer.step"] = np.zeros((), dtype=np.int64)
    losses = []
    for step, (x, y) in enumerate(batches):
        paths = [os.path.join(work, f"resnet_{kind}.safetensors")
                 for kind in ("state", "inputs", "out")]
        safetensors.save(paths[0], state)
        safetensors.save(paths[1], {"x": x, "y": y})
        subprocess.run([args.kiln_run, library, "--entry=train_step",
                        f"--params={paths[0]}", f"--inputs={paths[1]}",
                        f"--outputs={paths[2]}"], check=True)
        result = safetensors.load(paths[2])
        losses.append(float(result.pop("loss")))
        state.update(result)
    worst, worst_name = worst_of({k: rel_err(state[k], v) for k, v in expected.items()})
    loss_err, _ = worst_of({i: rel_err(a, b) for i, (a, b) in
                            enumerate(zip(losses, expected_losses))})
    ok = worst <= 1e-9 and loss_err <= 1e-9
    print(f"{'PASS' if ok else 'FAIL'}  {'resnet-sgd-momentum':<20} f64  state max_rel_err={worst:.2e}"
          f" ({worst_name})  losses max_rel_err={loss_err:.2e}  tol=1e-09")
    return ok


def gan_check(args, work):
    """3 steps of the gan in float64, compiled once as a shared library,
    against the DCGAN loop of torch.optim (two Adams at lr 2e-4, betas 0.5
    and 0.999: the discriminator's step on G(z) detached, then the
    generator's through the same G(z)): Kiln's train_step, which chains the
    two steps, and its train_step_d then train_step_g, which a data-parallel
    run calls. Parameters, optimizer state, running statistics and losses
    (Kiln's train_step reports the sum of the steps' losses)."""
    from test_models import Gan, bce_logits, kiln_draws
    batch, steps = 8, 3
    torch.manual_seed(5)
    model = Gan().double().train()
    params = {k: v.detach().clone().numpy() for k, v in model.state_dict().items()}
    rng = np.random.default_rng(4)
    images = [rng.random((batch, 1, 28, 28)) for _ in range(steps)]
    # The latents each step draws inside itself from its counters.
    counters = [{"rng_seed": np.array(11, dtype=np.int64),
                 "rng_offset": np.array(step << 32, dtype=np.int64)}
                for step in range(steps)]
    args.kiln_run_arg = []
    latents = [kiln_draws(args, work, "gan%d" % step, [("eps", (batch, 64), None)],
                          counters[step])["f64"]["eps"] for step in range(steps)]
    opt_d = torch.optim.Adam(model.d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(model.g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    expected_losses = []
    for x, z in zip(images, latents):
        fake = model.generate(z)
        opt_d.zero_grad()
        loss_d = (bce_logits(model.discriminate(2 * torch.tensor(x) - 1), 1.0)
                  + bce_logits(model.discriminate(fake.detach()), 0.0))
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = bce_logits(model.discriminate(fake), 1.0)
        loss_g.backward()
        opt_g.step()
        expected_losses.append(loss_d.item() + loss_g.item())
    expected = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    for name, p in model.named_parameters():
        opt = opt_d if name.startswith("d.") else opt_g
        expected["adam.m." + name] = opt.state[p]["exp_avg"].numpy()
        expected["adam.v." + name] = opt.state[p]["exp_avg_sq"].numpy()

    library = os.path.join(work, "gan.so")
    subprocess.run([args.kilnc, "--model=gan", f"--batch={batch}", "--dtype=f64",
                    "--emit=so", "-o", library], check=True)
    ok = True
    for entries in (["train_step"], ["train_step_d", "train_step_g"]):
        state = dict(params)
        for name, p in model.named_parameters():
            state["adam.m." + name] = np.zeros_like(params[name])
            state["adam.v." + name] = np.zeros_like(params[name])
        state["optimizer.d.step"] = np.zeros((), dtype=np.int64)
        state["optimizer.g.step"] = np.zeros((), dtype=np.int64)
        losses = []
        for x, rng_counters in zip(images, counters):
            loss = 0.0
            for entry in entries:
                paths = [os.path.join(work, f"gan_{kind}.safetensors")
                         for kind in ("state", "inputs", "out")]
                safetensors.save(paths[0], state)
                safetensors.save(paths[1], dict(x=x, **rng_counters))
                subprocess.run([args.kiln_run, library, "--entry=" + entry,
                                f"--params={paths[0]}", f"--inputs={paths[1]}",
                                f"--outputs={paths[2]}"], check=True)
                result = safetensors.load(paths[2])
                loss += float(result.pop("loss"))
                state.update(result)
            losses.append(loss)
        worst, worst_name = worst_of({k: rel_err(state[k], v)
                                      for k, v in expected.items()})
        loss_err, _ = worst_of({i: rel_err(a, b) for i, (a, b) in
                                enumerate(zip(losses, expected_losses))})
        passed = worst <= 1e-9 and loss_err <= 1e-9
        ok &= passed
        label = "gan-" + "+".join(e[len("train_step"):].lstrip("_") or "chained"
                                  for e in entries)
        print(f"{'PASS' if passed else 'FAIL'}  {label:<20} f64  state max_rel_err={worst:.2e}"
              f" ({worst_name})  losses max_rel_err={loss_err:.2e}  tol=1e-09")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kilnc", default=os.environ.get("KILNC", os.path.join(BIN, "kilnc")))
    parser.add_argument("--kiln-run", default=os.environ.get("KILN_RUN", os.path.join(BIN, "kiln-run")))
    parser.add_argument("--filter", default="")
    args = parser.parse_args()

    torch.manual_seed(0)
    reference = torch.nn.ModuleDict({
        "fc1": torch.nn.Linear(784, 256), "fc2": torch.nn.Linear(256, 256),
        "fc3": torch.nn.Linear(256, 10)})
    params = {k: v.detach().numpy() for k, v in reference.state_dict().items()}
    rng = np.random.default_rng(1)
    batches = [(rng.random((BATCH, 1, 28, 28), dtype=np.float32),
                rng.integers(0, 10, BATCH).astype(np.int64)) for _ in range(STEPS)]

    failures = 0
    with tempfile.TemporaryDirectory() as work:
        for name, options, cfg in CONFIGS:
            if args.filter not in name:
                continue
            expected, expected_losses = torch_run(cfg, params, batches)
            precisions = [("f64", 1e-9)]
            if cfg["opt"] == "sgd":
                precisions.append(("f32", 1e-5))
            for dtype, tol in precisions:
                got, losses = kiln_run(args, options, dtype, params, batches, work)
                worst, _ = worst_of({k: rel_err(got[k], v) for k, v in expected.items()})
                loss_err, _ = worst_of({i: rel_err(a, b) for i, (a, b) in
                                        enumerate(zip(losses, expected_losses))})
                ok = worst <= tol and loss_err <= tol
                failures += not ok
                print(f"{'PASS' if ok else 'FAIL'}  {name:<20} {dtype}  params max_rel_err={worst:.2e}"
                      f"  losses max_rel_err={loss_err:.2e}  tol={tol:g}")
        if args.filter in "resnet-sgd-momentum":
            failures += not resnet_check(args, work)
        if args.filter in "gan-chained-steps":
            failures += not gan_check(args, work)
    print(f"{'all passed' if not failures else f'{failures} failed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
