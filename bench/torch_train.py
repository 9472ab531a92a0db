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
from test_models import MODELS  # noqa: E402


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
