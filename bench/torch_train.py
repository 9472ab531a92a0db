#!/usr/bin/env python3
"""PyTorch's training throughput on the models of docs/models.md, for
bench/train.sh: the same model (tests/reference/test_models.py), batch and
optimizer (Adam, lr 1e-3) as Kiln's training executables, eager mode, on one
random batch (no data loading). Prints "MODEL THREADS EXAMPLES_PER_SECOND".

Usage: torch_train.py --model mlp|cnn|resnet --batch B --threads T [--steps N]
"""

import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "reference"))
from test_models import MODELS  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, choices=list(MODELS))
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()

    torch.manual_seed(1)
    torch.set_num_threads(args.threads)
    model = MODELS[args.model][0]().train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(args.batch, 1, 28, 28)
    y = torch.randint(0, 10, (args.batch,))

    def step():
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    for _ in range(10):  # warm-up: allocator, first-call dispatch
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = time.perf_counter() - start
    print(args.model, args.threads, f"{args.steps * args.batch / seconds:.0f}")


if __name__ == "__main__":
    main()
