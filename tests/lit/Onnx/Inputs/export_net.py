#!/usr/bin/env python3
"""Exports a small PyTorch classifier of Fashion-MNIST images to ONNX (as a
user would: eval mode, a symbolic batch), for the fine-tuning test."""
import sys

import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8 * 14 * 14, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.bn(self.conv(x))), 2)
        return self.fc(x.flatten(1))


torch.manual_seed(0)
net = Net().eval()
torch.onnx.export(net, torch.randn(2, 1, 28, 28), sys.argv[1],
                  input_names=["image"], output_names=["scores"],
                  opset_version=17,
                  training=torch.onnx.TrainingMode.TRAINING,
                  do_constant_folding=False,
                  dynamic_axes={"image": {0: "batch"}, "scores": {0: "batch"}})
