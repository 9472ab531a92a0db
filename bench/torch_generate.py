#!/usr/bin/env python3
"""PyTorch's gpt sampling rate with a key/value cache, for bench/generate.sh:
the gpt of tests/reference/test_models.py in eager mode, the parameters of
a Kiln checkpoint (safetensors, same names), and the scheme of `./gpt
generate`: the prompt through the whole model once (keeping each block's
keys and values), then one position per step attending to the cache while
the text fits the 64-position context, and past it the whole window of the
last 64 characters each step (every position moves). Top-k sampling at a
temperature. Prints "THREADS CHARACTERS_PER_SECOND".

Usage: torch_generate.py --params P.safetensors [--prompt TEXT]
                         [--tokens N] [--threads T]
"""

import argparse
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "reference"))
import safetensors as st  # noqa: E402
from test_models import Gpt  # noqa: E402

CONTEXT, HEADS = 64, 4


def block_step(block, x, cache, position):
    """x [1, t, d] at positions position.. ; cache: [k, v] lists or None.
    Returns the block's output and the keys and values of all positions so
    far."""
    h = block.ln1(x)
    b, t, d = h.shape
    q, k, v = block.attn.qkv(h).split(d, dim=-1)
    q, k, v = (z.reshape(b, t, HEADS, d // HEADS).transpose(1, 2)
               for z in (q, k, v))
    if cache is not None:
        k = torch.cat([cache[0], k], 2)
        v = torch.cat([cache[1], v], 2)
    scores = q @ k.transpose(-1, -2) / math.sqrt(d // HEADS)
    if t > 1:
        future = torch.ones(t, k.shape[2], dtype=torch.bool).triu(1)
        scores = scores.masked_fill(future, float("-inf"))
    o = torch.softmax(scores, -1) @ v
    x = x + block.attn.proj(o.transpose(1, 2).reshape(b, t, d))
    return x + block.mlp(block.ln2(x)), (k, v)


def logits_of(model, ids, caches):
    """The next logits after `ids`, using and updating `caches`."""
    n = len(ids)
    if caches and n <= CONTEXT:
        x = torch.tensor([[ids[-1]]])
        h = model.tok_emb(x) + model.pos_emb[:, n - 1:n]
        for i, block in enumerate(model.blocks):
            h, caches[i] = block_step(block, h, caches[i], n - 1)
    else:
        window = ids[-CONTEXT:]
        x = torch.tensor([window])
        h = model.tok_emb(x) + model.pos_emb[:, :len(window)]
        caches.clear()
        for block in model.blocks:
            h, kv = block_step(block, h, None, 0)
            caches.append(kv)
    return model.head(model.ln_f(h))[0, -1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--params", required=True)
    parser.add_argument("--prompt", default="The ")
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--top-k", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    model = Gpt().eval()
    state = st.load(args.params)
    model.load_state_dict({k: torch.from_numpy(state[k])
                           for k in model.state_dict()})
    ids = [ord(c) - 32 if c != "\n" else 95 for c in args.prompt]
    with torch.no_grad():
        caches = []
        logits_of(model, list(ids), [])  # warm-up
        start = time.perf_counter()
        for _ in range(args.tokens):
            logits = logits_of(model, ids, caches) / args.temperature
            top = torch.topk(logits, args.top_k)
            pick = torch.multinomial(torch.softmax(top.values, -1), 1)
            ids.append(int(top.indices[pick]))
        seconds = time.perf_counter() - start
    print(args.threads, "%.0f" % (args.tokens / seconds))


if __name__ == "__main__":
    main()
