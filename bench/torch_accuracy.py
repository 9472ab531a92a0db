#!/usr/bin/env python3
"""Fashion-MNIST test accuracy of PyTorch's own training of a zoo
classifier (tests/reference/test_models.py), with the recipe Kiln's
training executables use: the full training set reshuffled each epoch,
batch 64, Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8), PyTorch's default
initialization, no augmentation; accuracy on the 10,000 test images after
each epoch (batch norm in evaluation mode). It tells what a model reaches
under this recipe independently of Kiln: a target Kiln misses that PyTorch
misses as well is the recipe's, not the compiler's.

Usage: torch_accuracy.py --model NAME --epochs N [--threads T]
                         [--seed S] [--data DIR]
Prints "epoch E: train loss L, test accuracy A%" per epoch.
"""

import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "reference"))
from test_models import MODELS  # noqa: E402

CLASSIFIERS = ("mlp", "cnn", "resnet", "densenet", "inception",
               "efficientnet", "vit", "rnn", "lstm", "gru", "bilstm")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big")
             for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(data, split):
    images = read_idx(os.path.join(data, split + "-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data, split + "-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.astype(np.float32) / 255).unsqueeze(1)
    return x, torch.from_numpy(labels.astype(np.int64))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, choices=CLASSIFIERS)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--data",
                        default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    for split in ("train", "t10k"):
        if not os.path.exists(os.path.join(
                args.data, split + "-images-idx3-ubyte.gz")):
            sys.exit("torch_accuracy.py: no Fashion-MNIST in %s (--data)"
                     % args.data)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_x, train_y = load(args.data, "train")
    test_x, test_y = load(args.data, "t10k")
    model = MODELS[args.model][0]()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(args.epochs):
        start = time.time()
        model.train()
        order = torch.randperm(len(train_x))
        total, steps = 0.0, 0
        for b in range(len(train_x) // args.batch):
            index = order[b * args.batch:(b + 1) * args.batch]
            loss = F.cross_entropy(model(train_x[index]), train_y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
            steps += 1
        model.eval()
        correct = 0
        with torch.no_grad():
            for b in range(0, len(test_x), 500):
                logits = model(test_x[b:b + 500])
                correct += (logits.argmax(1) == test_y[b:b + 500]).sum().item()
        print("epoch %d: train loss %.4f, test accuracy %.2f%% (%.0f s)"
              % (epoch + 1, total / steps, 100 * correct / len(test_x),
                 time.time() - start), flush=True)


if __name__ == "__main__":
    main()
