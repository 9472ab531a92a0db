#!/usr/bin/env python3
"""PyTorch's DDIM sampling rate on the ddpm of docs/models.md, for
bench/ddim.sh: the same U-Net (tests/reference/test_models.py), batch and
step count as `./ddpm sample --ddim S`, eager or (--compile) under
torch.compile, in inference mode. Prints "THREADS IMAGES_PER_SECOND".

Usage: torch_ddim.py --threads T [--batch 64] [--steps 50] [--n 256]
                     [--compile]
"""

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "reference"))
from test_models import Ddpm, ddpm_schedule  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    torch.manual_seed(1)
    torch.set_num_threads(args.threads)
    model = Ddpm().eval()
    if args.compile:
        model = torch.compile(model)
    alpha_bar = ddpm_schedule()[1].float()
    stride = 1000 // args.steps

    def chain(batch):
        x = torch.randn(batch, 1, 28, 28)
        for k in range(args.steps - 1, -1, -1):
            t = torch.full((batch,), k * stride)
            ab = alpha_bar[k * stride]
            ab_prev = alpha_bar[(k - 1) * stride] if k > 0 else torch.tensor(1.0)
            eps = model(x, t)
            clean = (x - (1 - ab).sqrt() * eps) / ab.sqrt()
            x = ab_prev.sqrt() * clean + (1 - ab_prev).sqrt() * eps
        return x

    with torch.inference_mode():
        chain(args.batch)  # warm-up (and torch.compile's compilation)
        start = time.perf_counter()
        for _ in range(args.n // args.batch):
            chain(args.batch)
        seconds = time.perf_counter() - start
    print(args.threads, f"{(args.n // args.batch) * args.batch / seconds:.2f}")


if __name__ == "__main__":
    main()
