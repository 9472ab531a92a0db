#!/usr/bin/env python3
"""End-to-end check of the mlp, cnn and resnet models of docs/models.md against PyTorch.

For each model, `kilnc --model=NAME --batch=8` prints the graph IR (entries
`forward` -> logits and `loss` -> mean cross-entropy, parameters named by their
PyTorch state_dict keys). The same model is built in PyTorch with the
parameter names of docs/models.md (mlp: fc1, fc2, fc3; cnn: conv1, conv2, fc1,
fc2; resnet: conv1, bn1, layerK.J..., fc), initialized under
torch.manual_seed (batch norm's running statistics randomized), and its
state_dict (float32, num_batches_tracked int64) is written to
params.safetensors. A random batch x [8,1,28,28] in [0,1) and labels y [8]
(int64) are run through `kiln-run --jit --entry=forward|loss`, and the
results are compared with the PyTorch model in float64 (model.double()):
forward in evaluation mode (running statistics), loss in training mode,
whose updated running statistics (and num_batches_tracked) are outputs too.

  f32 artefact                   max|Δ| <= 1e-4 * max(1e-3, max|expected|)
  f32 artefact, --fusion=off     same, and against the fused run
  f64 artefact (--dtype=f64),
    same float32 params/inputs,
    widened by kiln-run          max|Δ| <= 1e-9 * max(1e-3, max|expected|)

It also checks that the IR's graph.param and graph.buffer names and shapes
are exactly the state_dict's.

Usage:  python3 test_models.py [--filter SUBSTR] [--kiln-run PATH] [--kilnc PATH]
                               [--batch 8] [--keep DIR]
Defaults: $KILN_RUN / $KILNC, else ../../build/bin/{kiln-run,kilnc} next to this
file. Prints PASS|FAIL name mode max_err tol per check; exits 1 on any failure.
"""

import argparse
import collections
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import safetensors as st  # noqa: E402

torch.set_num_threads(1)

TOL = {"f32": 1e-4, "f64": 1e-9}
# Models whose float32 gradients may differ at ReLU kinks (docs/models.md):
# their gradients are compared in float64 only.
KINKED = {"resnet", "densenet", "gan"}


class Mlp(nn.Module):
    """flatten -> fc1 784-256 -> ReLU -> fc2 256-256 -> ReLU -> fc3 256-10."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 256)
        self.fc3 = nn.Linear(256, 10)

    def forward(self, x):
        h = F.relu(self.fc1(torch.flatten(x, 1)))
        h = F.relu(self.fc2(h))
        return self.fc3(h)


class Cnn(nn.Module):
    """conv1 1-32 3x3 pad 1 -> ReLU -> MaxPool 2 -> conv2 32-64 3x3 pad 1 ->
    ReLU -> MaxPool 2 -> flatten (C,H,W) -> fc1 3136-128 -> ReLU -> fc2 128-10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(3136, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        h = F.relu(self.fc1(torch.flatten(h, 1)))
        return self.fc2(h)


class BasicBlock(nn.Module):
    """conv1 3x3 (stride) -> bn1 -> ReLU -> conv2 3x3 -> bn2, plus the
    identity or downsample.0 (1x1, stride) -> downsample.1; then ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (self.downsample(x) if self.downsample else x))


class ResNet(nn.Module):
    """conv1 1-16 -> bn1 -> ReLU -> layer1..3 (16, 32, 64 channels, two
    basic blocks each) -> global average pool -> fc 64-10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = nn.Sequential(BasicBlock(16, 16, 1), BasicBlock(16, 16, 1))
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2), BasicBlock(32, 32, 1))
        self.layer3 = nn.Sequential(BasicBlock(32, 64, 2), BasicBlock(64, 64, 1))
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.layer3(self.layer2(self.layer1(h)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


class DenseLayer(nn.Module):
    def __init__(self, cin, growth=12):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, 4 * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(4 * growth)
        self.conv2 = nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False)

    def forward(self, x):
        return self.conv2(F.relu(self.norm2(self.conv1(F.relu(self.norm1(x))))))


class DenseBlock(nn.Module):
    def __init__(self, cin):
        super().__init__()
        for i in range(4):
            self.add_module("layer%d" % (i + 1), DenseLayer(cin + 12 * i))

    def forward(self, x):
        for layer in self.children():
            x = torch.cat([x, layer(x)], 1)
        return x


class Transition(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.norm = nn.BatchNorm2d(cin)
        self.conv = nn.Conv2d(cin, cin // 2, 1, bias=False)

    def forward(self, x):
        return F.avg_pool2d(self.conv(F.relu(self.norm(x))), 2)


class DenseNet(nn.Module):
    """conv0 1-24 -> block1 (24->72) -> trans1 (->36) -> block2 (->84) ->
    norm -> ReLU -> global average pool -> fc 84-10."""

    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(1, 24, 3, padding=1, bias=False)
        self.block1 = DenseBlock(24)
        self.trans1 = Transition(72)
        self.block2 = DenseBlock(36)
        self.norm = nn.BatchNorm2d(84)
        self.fc = nn.Linear(84, 10)

    def forward(self, x):
        h = self.block2(self.trans1(self.block1(self.conv0(x))))
        return self.fc(F.relu(self.norm(h)).mean((2, 3)))


class InceptionBlock(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.b1 = nn.Conv2d(cin, 16, 1)
        self.b2a = nn.Conv2d(cin, 16, 1)
        self.b2b = nn.Conv2d(16, 24, 3, padding=1)
        self.b3a = nn.Conv2d(cin, 8, 1)
        self.b3b = nn.Conv2d(8, 12, 5, padding=2)
        self.b4 = nn.Conv2d(cin, 12, 1)

    def forward(self, x):
        return torch.cat([
            F.relu(self.b1(x)),
            F.relu(self.b2b(F.relu(self.b2a(x)))),
            F.relu(self.b3b(F.relu(self.b3a(x)))),
            F.relu(self.b4(F.max_pool2d(x, 3, 1, 1)))], 1)


class Inception(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 32, 3, padding=1)
        self.mix1 = InceptionBlock(32)
        self.mix2 = InceptionBlock(64)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        h = self.mix1(F.relu(self.stem(x)))
        h = self.mix2(F.max_pool2d(h, 2))
        return self.fc(h.mean((2, 3)))


class ConvBn(nn.Module):
    def __init__(self, cin, cout, kernel, stride=1, groups=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2,
                              groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class MBConv(nn.Module):
    def __init__(self, cin, cout, ratio, stride):
        super().__init__()
        ch = cin * ratio
        if ratio > 1:
            self.expand = ConvBn(cin, ch, 1)
        self.dw = ConvBn(ch, ch, 3, stride, groups=ch)
        self.se = nn.Module()
        self.se.reduce = nn.Conv2d(ch, max(1, cin // 4), 1)
        self.se.expand = nn.Conv2d(max(1, cin // 4), ch, 1)
        self.project = ConvBn(ch, cout, 1)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        h = F.silu(self.expand(x)) if hasattr(self, "expand") else x
        h = F.silu(self.dw(h))
        gate = torch.sigmoid(self.se.expand(F.silu(
            self.se.reduce(h.mean((2, 3), keepdim=True)))))
        h = self.project(h * gate)
        return h + x if self.residual else h


class EfficientNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = ConvBn(1, 16, 3, 2)
        self.blocks = nn.ModuleList([MBConv(16, 16, 1, 1), MBConv(16, 24, 4, 2),
                                     MBConv(24, 24, 4, 1)])
        self.head = ConvBn(24, 128, 1)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        h = F.silu(self.stem(x))
        for block in self.blocks:
            h = block(h)
        return self.fc(F.silu(self.head(h)).mean((2, 3)))


class SelfAttention(nn.Module):
    """qkv Linear(d, 3d) split into q, k, v; heads of d/heads; scaled
    dot-product attention (causal if asked); heads concatenated; proj."""

    def __init__(self, dim, heads, causal):
        super().__init__()
        self.heads, self.causal = heads, causal
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=-1)
        q, k, v = (z.reshape(b, t, self.heads, d // self.heads).transpose(1, 2)
                   for z in (q, k, v))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads)
        if self.causal:
            future = torch.ones(t, t, dtype=torch.bool).triu(1)
            scores = scores.masked_fill(future, float("-inf"))
        o = torch.softmax(scores, dim=-1) @ v
        return self.proj(o.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    """Pre-LN: x += attn(ln1(x)); x += mlp(ln2(x)), mlp fc1 -> GELU -> fc2."""

    def __init__(self, dim, heads, hidden, causal):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads, causal)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(collections.OrderedDict(
            [("fc1", nn.Linear(dim, hidden)), ("gelu", nn.GELU()),
             ("fc2", nn.Linear(hidden, dim))]))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class Vit(nn.Module):
    """patch_embed.proj 1-64 7x7 stride 7 -> 16 tokens, cls_token first,
    + pos_embed -> 4 blocks (4 heads, mlp 128) -> norm of the class token ->
    head 64-10."""

    def __init__(self):
        super().__init__()
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(1, 64, 7, stride=7)
        self.cls_token = nn.Parameter(torch.randn(1, 1, 64) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, 17, 64) * 0.02)
        self.blocks = nn.ModuleList(Block(64, 4, 128, False) for _ in range(4))
        self.norm = nn.LayerNorm(64)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        h = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        h = torch.cat([self.cls_token.expand(x.shape[0], 1, 64), h], 1)
        h = h + self.pos_embed
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h[:, 0]))


class TextEncoder(nn.Module):
    """tok_emb + pos_emb -> 4 blocks (width 128, 4 heads, mlp 512) -> ln_f ->
    head."""

    def __init__(self, vocab, context, causal):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab, 128)
        self.pos_emb = nn.Parameter(torch.randn(1, context, 128) * 0.02)
        self.blocks = nn.ModuleList(Block(128, 4, 512, causal)
                                    for _ in range(4))
        self.ln_f = nn.LayerNorm(128)
        self.head = nn.Linear(128, vocab)

    def forward(self, x):
        h = self.tok_emb(x) + self.pos_emb
        for block in self.blocks:
            h = block(h)
        return self.head(self.ln_f(h))


class Gpt(TextEncoder):
    def __init__(self):
        super().__init__(96, 64, True)


class Bert(TextEncoder):
    def __init__(self):
        super().__init__(97, 32, False)


class RowClassifier(nn.Module):
    """The 28 rows as 28 steps: `rnn` (nn.RNN, nn.LSTM or nn.GRU, hidden 128,
    batch first, optionally bidirectional) -> `fc` on out[:, -1]."""

    def __init__(self, layer, bidirectional=False):
        super().__init__()
        self.rnn = layer(28, 128, batch_first=True,
                         bidirectional=bidirectional)
        self.fc = nn.Linear(256 if bidirectional else 128, 10)

    def forward(self, x):
        out, _ = self.rnn(x.reshape(x.shape[0], 28, 28))
        return self.fc(out[:, -1])


def row_classifier(layer, bidirectional=False):
    return lambda: RowClassifier(layer, bidirectional)


class Attention(nn.Module):
    """`q`, `k`, `v`, `o` Linear(128, 128), 4 heads of 32."""

    def __init__(self, causal):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(128, 128)
                                          for _ in range(4))
        self.causal = causal

    def forward(self, x, memory):
        def heads(t):
            return t.reshape(t.shape[0], t.shape[1], 4, 32).transpose(1, 2)
        q, k, v = heads(self.q(x)), heads(self.k(memory)), heads(self.v(memory))
        scores = q @ k.transpose(-1, -2) / math.sqrt(32)
        if self.causal:
            tq, tk = scores.shape[-2:]
            keep = torch.ones(tq, tk, dtype=torch.bool).tril()
            scores = scores.masked_fill(~keep, float("-inf"))
        h = (torch.softmax(scores, -1) @ v).transpose(1, 2)
        return self.o(h.reshape(x.shape[0], x.shape[1], 128))


class FeedForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(128, 256)
        self.fc2 = nn.Linear(256, 128)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class EncoderLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attn = Attention(False)
        self.norm1 = nn.LayerNorm(128)
        self.ff = FeedForward()
        self.norm2 = nn.LayerNorm(128)

    def forward(self, x):
        x = self.norm1(x + self.self_attn(x, x))
        return self.norm2(x + self.ff(x))


class DecoderLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attn = Attention(True)
        self.norm1 = nn.LayerNorm(128)
        self.cross_attn = Attention(False)
        self.norm2 = nn.LayerNorm(128)
        self.ff = FeedForward()
        self.norm3 = nn.LayerNorm(128)

    def forward(self, x, memory):
        x = self.norm1(x + self.self_attn(x, x))
        x = self.norm2(x + self.cross_attn(x, memory))
        return self.norm3(x + self.ff(x))


def sinusoids(positions, dim):
    p = torch.arange(positions, dtype=torch.float64)[:, None]
    i = torch.arange(0, dim, 2, dtype=torch.float64)[None, :]
    angle = p * torch.pow(10000.0, -i / dim)
    pe = torch.zeros(positions, dim, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe[None]


REVERSAL_BOS, REVERSAL_TARGET = 30, 17


class Transformer(nn.Module):
    """Post-LN encoder-decoder on the reversal task: width 128, 4 heads,
    2 + 2 layers, FFN 256 with ReLU, embeddings scaled by sqrt(128) plus
    sinusoidal positions."""

    def __init__(self):
        super().__init__()
        self.src_emb = nn.Embedding(32, 128)
        self.tgt_emb = nn.Embedding(32, 128)
        self.encoder = nn.Module()
        self.encoder.layers = nn.ModuleList(EncoderLayer() for _ in range(2))
        self.decoder = nn.Module()
        self.decoder.layers = nn.ModuleList(DecoderLayer() for _ in range(2))
        self.out = nn.Linear(128, 32)

    def embed(self, table, tokens):
        e = table(tokens)
        return e * math.sqrt(128) + sinusoids(tokens.shape[1], 128).to(e.dtype)

    def encode(self, src):
        h = self.embed(self.src_emb, src)
        for layer in self.encoder.layers:
            h = layer(h)
        return h

    def decode_logits(self, tgt, memory):
        h = self.embed(self.tgt_emb, tgt)
        for layer in self.decoder.layers:
            h = layer(h, memory)
        return self.out(h)

    def forward(self, src, tgt):
        return self.decode_logits(tgt, self.encode(src))

    def greedy(self, src):
        memory = self.encode(src)
        tokens = torch.full((src.shape[0], 1), REVERSAL_BOS, dtype=torch.int64)
        out = []
        for t in range(REVERSAL_TARGET):
            pred = self.decode_logits(tokens, memory)[:, t].argmax(-1)
            out.append(pred)
            tokens = torch.cat([tokens, pred[:, None]], 1)
        return torch.stack(out, 1)


class Seq2Seq(nn.Module):
    """Bidirectional GRU encoder (64 -> 2x128), `bridge`, additive
    attention `attn.{w_enc,w_dec,v}`, GRUCell decoder, `out`."""

    def __init__(self):
        super().__init__()
        self.src_emb = nn.Embedding(32, 64)
        self.tgt_emb = nn.Embedding(32, 64)
        self.encoder = nn.GRU(64, 128, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(256, 128)
        self.attn = nn.Module()
        self.attn.w_enc = nn.Linear(256, 128)
        self.attn.w_dec = nn.Linear(128, 128)
        self.attn.v = nn.Linear(128, 1, bias=False)
        self.decoder = nn.GRUCell(64 + 256, 128)
        self.out = nn.Linear(128 + 256, 32)

    def encode(self, src):
        enc, h_n = self.encoder(self.src_emb(src))
        h = torch.tanh(self.bridge(torch.cat([h_n[0], h_n[1]], 1)))
        return enc, self.attn.w_enc(enc), h

    def step(self, enc, keys, h, previous):
        score = self.attn.v(torch.tanh(keys + self.attn.w_dec(h)[:, None]))
        weights = torch.softmax(score.squeeze(-1), 1)
        context = (weights[:, :, None] * enc).sum(1)
        h = self.decoder(torch.cat([self.tgt_emb(previous), context], 1), h)
        return h, self.out(torch.cat([h, context], 1))

    def forward(self, src, tgt):
        enc, keys, h = self.encode(src)
        logits = []
        for t in range(tgt.shape[1]):
            h, step_logits = self.step(enc, keys, h, tgt[:, t])
            logits.append(step_logits)
        return torch.stack(logits, 1)

    def greedy(self, src):
        enc, keys, h = self.encode(src)
        token = torch.full((src.shape[0],), REVERSAL_BOS, dtype=torch.int64)
        out = []
        for _ in range(REVERSAL_TARGET):
            h, step_logits = self.step(enc, keys, h, token)
            token = step_logits.argmax(-1)
            out.append(token)
        return torch.stack(out, 1)


class Vae(nn.Module):
    """enc.fc1 784-400 -> ReLU -> enc.fc2 400-40 (mu, log sigma^2);
    dec.fc1 20-400 -> ReLU -> dec.fc2 400-784 logits. forward decodes mu."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Module()
        self.enc.fc1 = nn.Linear(784, 400)
        self.enc.fc2 = nn.Linear(400, 40)
        self.dec = nn.Module()
        self.dec.fc1 = nn.Linear(20, 400)
        self.dec.fc2 = nn.Linear(400, 784)

    def encode(self, x):
        stats = self.enc.fc2(F.relu(self.enc.fc1(x.flatten(1))))
        return stats[:, :20], stats[:, 20:]

    def decode(self, z):
        return self.dec.fc2(F.relu(self.dec.fc1(z)))

    def forward(self, x):
        return self.decode(self.encode(x)[0])


class Gan(nn.Module):
    """Generator g: fc 64-6272 -> ReLU -> [128,7,7] -> deconv1 (no bias) ->
    bn1 -> ReLU -> deconv2 -> tanh. Discriminator d: conv1 -> LeakyReLU(0.2)
    -> conv2 -> LeakyReLU(0.2) -> fc 6272-1. Images enter in [0, 1] and are
    rescaled to [-1, 1]; forward is the discriminator's logit."""

    def __init__(self):
        super().__init__()
        self.g = nn.Module()
        self.g.fc = nn.Linear(64, 6272)
        self.g.deconv1 = nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False)
        self.g.bn1 = nn.BatchNorm2d(64)
        self.g.deconv2 = nn.ConvTranspose2d(64, 1, 4, 2, 1)
        self.d = nn.Module()
        self.d.conv1 = nn.Conv2d(1, 64, 4, 2, 1)
        self.d.conv2 = nn.Conv2d(64, 128, 4, 2, 1)
        self.d.fc = nn.Linear(6272, 1)

    def generate(self, z):
        h = F.relu(self.g.fc(z)).view(-1, 128, 7, 7)
        return torch.tanh(self.g.deconv2(F.relu(self.g.bn1(self.g.deconv1(h)))))

    def discriminate(self, x):
        h = F.leaky_relu(self.d.conv1(x), 0.2)
        return self.d.fc(F.leaky_relu(self.d.conv2(h), 0.2).flatten(1))

    def forward(self, x):
        return self.discriminate(2 * x - 1)


def bce_logits(logits, target):
    return F.binary_cross_entropy_with_logits(logits,
                                              torch.full_like(logits, target))


def gan_d_loss(model, inputs):
    fake = model.generate(inputs["eps"]).detach()
    return (bce_logits(model.discriminate(2 * inputs["x"] - 1), 1.0)
            + bce_logits(model.discriminate(fake), 0.0))


def gan_g_loss(model, inputs):
    return bce_logits(model.discriminate(model.generate(inputs["eps"])), 1.0)


def gan_loss(model, inputs):
    """L_D + L_G at the same parameters, the generator run once."""
    fake = model.generate(inputs["eps"])
    return (bce_logits(model.discriminate(2 * inputs["x"] - 1), 1.0)
            + bce_logits(model.discriminate(fake), 0.0)
            + bce_logits(model.discriminate(fake), 1.0))


# The name of `forward`'s result, where not "logits".
FORWARD_OUTPUT = {"ddpm": "eps", "ebm": "energy"}


# Models trained in alternating steps: for each step, its loss, the
# parameters it trains (a state_dict prefix) and the inputs it takes.
TRAIN_STEPS = {
    "gan": [("d", gan_d_loss, "d.", ("x", "rng_seed", "rng_offset")),
            ("g", gan_g_loss, "g.", ("rng_seed", "rng_offset"))],
}


class DdpmRes(nn.Module):
    """h = c1(SiLU(n1(x))) + t(e); h = c2(SiLU(n2(h))); h + sc(x)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.n1 = nn.GroupNorm(8, cin)
        self.c1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.t = nn.Linear(128, cout)
        self.n2 = nn.GroupNorm(8, cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.sc = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, e):
        h = self.c1(F.silu(self.n1(x))) + self.t(e)[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        return h + (self.sc(x) if self.sc is not None else x)


def ddpm_schedule():
    """beta and alpha-bar (float64) of the 1000 steps."""
    beta = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    return beta, torch.cumprod(1 - beta, 0)


class Ddpm(nn.Module):
    """The small U-Net: forward(x, t) predicts the noise of x at steps t."""

    def __init__(self):
        super().__init__()
        self.temb = nn.Sequential(nn.Linear(32, 128), nn.SiLU(),
                                  nn.Linear(128, 128))
        self.inp = nn.Conv2d(1, 32, 3, 1, 1)
        self.d1 = DdpmRes(32, 32)
        self.down = nn.Conv2d(32, 64, 3, 2, 1)
        self.d2 = DdpmRes(64, 64)
        self.mid = DdpmRes(64, 64)
        self.up = nn.ConvTranspose2d(64, 32, 4, 2, 1)
        self.u1 = DdpmRes(64, 32)
        self.out = nn.Sequential(nn.GroupNorm(8, 32), nn.SiLU(),
                                 nn.Conv2d(32, 1, 3, 1, 1))

    def forward(self, x, t):
        k = torch.arange(16, dtype=torch.float64)
        f = torch.exp(-math.log(1e4) * k / 16).to(x.dtype)
        angles = t[:, None].to(x.dtype) * f[None]
        e = self.temb(torch.cat([torch.sin(angles), torch.cos(angles)], 1))
        h1 = self.d1(self.inp(x), e)
        h = self.mid(self.d2(self.down(h1), e), e)
        h = self.u1(torch.cat([self.up(h), h1], 1), e)
        return self.out(h)


def ddpm_batch(batch, gen):
    x = torch.rand(batch, 1, 28, 28, generator=gen, dtype=torch.float32)
    t = torch.randint(0, 1000, (batch,), generator=gen)
    t[0] = 0
    t[-1] = 999
    noisy = torch.randn(batch, 1, 28, 28, generator=gen)
    return {"x": noisy, "t": t}, {"x": x, "rng_seed": torch.tensor(3),
                                  "rng_offset": torch.tensor(5)}


def ddpm_loss(model, inputs):
    _, alpha_bar = ddpm_schedule()
    x0 = 2 * inputs["x"] - 1
    ab = alpha_bar[inputs["t"]].to(x0.dtype)[:, None, None, None]
    noisy = ab.sqrt() * x0 + (1 - ab).sqrt() * inputs["eps"]
    return F.mse_loss(model(noisy, inputs["t"]), inputs["eps"])


def ddpm_sampler_checks(args, workdir, reference, forward_inputs, expected,
                        inputs_paths, draws, dtype):
    """One ancestral step (its noise drawn by Kiln) and one DDIM step, from
    the forward inputs' noisy images and steps."""
    beta, alpha_bar = ddpm_schedule()
    x, t = forward_inputs["x"].double(), forward_inputs["t"]
    with torch.no_grad():
        eps = reference.eval()(x, t)
    b = beta[t][:, None, None, None]
    ab = alpha_bar[t][:, None, None, None]
    sigma = torch.where(t[:, None, None, None] > 0, b.sqrt(),
                        torch.zeros_like(b))
    z = draws[dtype]["z"]
    expected["ddpm_step"] = {"x_prev": ((x - b / (1 - ab).sqrt() * eps)
                                        / (1 - b).sqrt() + sigma * z).numpy()}
    t_prev = t - 20
    ab_prev = torch.where(t_prev >= 0, alpha_bar[t_prev.clamp(min=0)],
                          torch.ones_like(ab[:, 0, 0, 0]))[:, None, None, None]
    clean = (x - (1 - ab).sqrt() * eps) / ab.sqrt()
    expected["ddim_step"] = {"x_prev": (ab_prev.sqrt() * clean
                                        + (1 - ab_prev).sqrt() * eps).numpy()}
    inputs_paths["ddpm_step"] = os.path.join(workdir, "ddpm_step_inputs.safetensors")
    st.save(inputs_paths["ddpm_step"], {"x": forward_inputs["x"], "t": t,
                                        "rng_seed": torch.tensor(7),
                                        "rng_offset": torch.tensor(11)})
    inputs_paths["ddim_step"] = os.path.join(workdir, "ddim_step_inputs.safetensors")
    st.save(inputs_paths["ddim_step"], {"x": forward_inputs["x"], "t": t,
                                        "t_prev": t_prev.clamp(min=-1)})


class Ebm(nn.Module):
    """The cnn's body with one output: the energy E(x) [B]."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(3136, 128)
        self.fc2 = nn.Linear(128, 1)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        return self.fc2(F.relu(self.fc1(h.flatten(1))))[:, 0]


def ebm_batch(batch, gen):
    x = torch.rand(batch, 1, 28, 28, generator=gen, dtype=torch.float32)
    x_neg = torch.rand(batch, 1, 28, 28, generator=gen) * 1.4 - 0.2
    return {"x": x}, {"x": x, "x_neg": x_neg}


def ebm_loss(model, inputs):
    positive, negative = model(inputs["x"]), model(inputs["x_neg"])
    return ((positive - negative).mean()
            + 0.1 * (positive ** 2 + negative ** 2).mean())


def ebm_energy_checks(workdir, reference, forward_inputs, expected,
                      inputs_paths):
    """energy_grad: the summed energy of images and its gradient by them
    (the Langevin chain's drift)."""
    x = forward_inputs["x"].double().requires_grad_()
    energy = reference.eval()(x).sum()
    energy.backward()
    expected["energy_grad"] = {"energy": energy.detach().numpy(),
                               "grad.x": x.grad.numpy()}
    inputs_paths["energy_grad"] = inputs_paths["forward"]


def vae_batch(batch, gen):
    x = torch.rand(batch, 1, 28, 28, generator=gen, dtype=torch.float32)
    return {"x": x}, {"x": x, "rng_seed": torch.tensor(3),
                      "rng_offset": torch.tensor(5)}


def vae_loss(model, inputs):
    x, eps = inputs["x"], inputs["eps"]
    mu, log_var = model.encode(x)
    logits = model.decode(mu + eps * torch.exp(0.5 * log_var))
    bce = F.binary_cross_entropy_with_logits(logits, x.flatten(1),
                                             reduction="sum")
    kl = -0.5 * torch.sum(1 + log_var - mu * mu - log_var.exp())
    return (bce + kl) / x.shape[0]


# Models whose loss draws random numbers inside the compiled step: per
# batch size, the requests in order (name, shape, and for integers
# (low, high); standard normal otherwise). Each request starts where the
# previous one's numbers end (Graph::randomStream).
NOISE = {
    "vae": lambda batch: [("eps", (batch, 20), None)],
    "gan": lambda batch: [("eps", (batch, 64), None)],
    "ddpm": lambda batch: [("t", (batch,), (0, 1000)),
                           ("eps", (batch, 1, 28, 28), None)],
}


def kiln_draws(args, workdir, tag, requests, rng):
    """The numbers a step draws (Kiln's counter-based generator from the
    0-d inputs rng["rng_seed"] and rng["rng_offset"]), run by kiln-run for
    each precision: {dtype: {name: float64 or int64 tensor}}."""
    out = {}
    for dtype in ("f32", "f64"):
        lines, results, names = [], [], []
        offset = 0
        for i, (key, shape, bounds) in enumerate(requests):
            dims = "x".join(str(d) for d in shape)
            element = "i64" if bounds else dtype
            if offset:
                lines.append("  %%c%d = graph.constant dense<%d> : tensor<i64>"
                             % (i, offset))
                lines.append("  %%o%d = graph.add %%offset, %%c%d : "
                             "tensor<i64>, tensor<i64>" % (i, i))
            at = "%%o%d" % i if offset else "%offset"
            attrs = "shape = array<i64: %s>, dtype = %s" % (
                ", ".join(str(d) for d in shape), element)
            if bounds:
                attrs += ", low = %d : i64, high = %d : i64" % bounds
                op = "graph.random_integers"
            else:
                op = "graph.random_normal"
            lines.append("  %%r%d = %s %%seed, %s {%s}" % (i, op, at, attrs))
            results.append(("%%r%d" % i, "tensor<%sx%s>" % (dims, element)))
            names.append(key)
            offset += int(np.prod(shape))
        module = os.path.join(workdir, "%s_noise_%s.mlir" % (tag, dtype))
        with open(module, "w") as f:
            f.write(
                "func.func @noise(%%seed: tensor<i64> {graph.input = \"rng_seed\"}, "
                "%%offset: tensor<i64> {graph.input = \"rng_offset\"}) -> (%s) {\n"
                "%s\n  return %s : %s\n}\n"
                % (", ".join('%s {graph.output = "%s"}' % (t, k)
                             for (_, t), k in zip(results, names)),
                   "\n".join(lines), ", ".join(v for v, _ in results),
                   ", ".join(t for _, t in results)))
        inputs = os.path.join(workdir, "%s_noise_inputs.safetensors" % tag)
        st.save(inputs, {"rng_seed": rng["rng_seed"],
                         "rng_offset": rng["rng_offset"]})
        outputs = os.path.join(workdir, "%s_noise_%s.safetensors" % (tag, dtype))
        error = run([args.kiln_run, module, "--jit", "--entry=noise",
                     "--inputs=" + inputs, "--outputs=" + outputs]
                    + args.kiln_run_arg)
        if error is not None:
            raise RuntimeError("drawing the noise: " + error)
        drawn = st.load(outputs)
        out[dtype] = {k: torch.from_numpy(drawn[k]).double()
                      if drawn[k].dtype.kind == "f"
                      else torch.from_numpy(drawn[k]) for k in names}
    return out


def kiln_noise(args, workdir, name, loss_inputs):
    """The numbers the model's loss draws."""
    return kiln_draws(args, workdir, name, NOISE[name](args.batch),
                      loss_inputs)


def image_batch(batch, gen):
    x = torch.rand(batch, 1, 28, 28, generator=gen, dtype=torch.float32)
    y = torch.randint(0, 10, (batch,), generator=gen, dtype=torch.int64)
    return {"x": x}, {"x": x, "y": y}


def token_batch(vocab, context, masked):
    def make(batch, gen):
        x = torch.randint(0, vocab, (batch, context), generator=gen)
        y = torch.randint(0, vocab, (batch, context), generator=gen)
        loss = {"x": x, "y": y}
        if masked:
            mask = (torch.rand(batch, context, generator=gen) < 0.3).float()
            mask[:, 0] = 1.0  # Never an empty selection.
            loss["mask"] = mask
        return {"x": x}, loss
    return make


def reversal_batch(batch, gen):
    src = torch.randint(1, 30, (batch, 16), generator=gen)
    reversed_src = src.flip(1)
    tgt = torch.cat([torch.full((batch, 1), REVERSAL_BOS), reversed_src], 1)
    y = torch.cat([reversed_src, torch.full((batch, 1), 31)], 1)
    return {"src": src, "tgt": tgt}, {"src": src, "tgt": tgt, "y": y}


def reversal_loss(model, inputs):
    logits = model(inputs["src"], inputs["tgt"])
    return F.cross_entropy(logits.reshape(-1, 32), inputs["y"].reshape(-1))


def classifier_loss(model, inputs):
    return F.cross_entropy(model(inputs["x"]), inputs["y"])


def sequence_loss(model, inputs):
    logits = model(inputs["x"])
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                         inputs["y"].reshape(-1), reduction="none")
    if "mask" not in inputs:
        return ce.mean()
    mask = inputs["mask"].reshape(-1).to(ce.dtype)
    return (ce * mask).sum() / mask.sum()


# name: (class, seed, batch maker, loss).
MODELS = collections.OrderedDict([
    ("mlp", (Mlp, 0, image_batch, classifier_loss)),
    ("cnn", (Cnn, 1, image_batch, classifier_loss)),
    ("resnet", (ResNet, 2, image_batch, classifier_loss)),
    ("densenet", (DenseNet, 12, image_batch, classifier_loss)),
    ("inception", (Inception, 13, image_batch, classifier_loss)),
    ("efficientnet", (EfficientNet, 14, image_batch, classifier_loss)),
    ("vit", (Vit, 3, image_batch, classifier_loss)),
    ("rnn", (row_classifier(nn.RNN), 6, image_batch, classifier_loss)),
    ("lstm", (row_classifier(nn.LSTM), 7, image_batch, classifier_loss)),
    ("gru", (row_classifier(nn.GRU), 8, image_batch, classifier_loss)),
    ("bilstm", (row_classifier(nn.LSTM, True), 9, image_batch,
                classifier_loss)),
    ("gpt", (Gpt, 4, token_batch(96, 64, False), sequence_loss)),
    ("bert", (Bert, 5, token_batch(97, 32, True), sequence_loss)),
    ("transformer", (Transformer, 10, reversal_batch, reversal_loss)),
    ("seq2seq", (Seq2Seq, 11, reversal_batch, reversal_loss)),
    ("vae", (Vae, 15, vae_batch, vae_loss)),
    ("gan", (Gan, 16, vae_batch, gan_loss)),
    ("ddpm", (Ddpm, 17, ddpm_batch, ddpm_loss)),
    ("ebm", (Ebm, 18, ebm_batch, ebm_loss)),
])


def default_tool(env, name):
    if os.environ.get(env):
        return os.environ[env]
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "build", "bin", name))


def run(cmd, timeout=600):
    """Runs a command; returns None or an error text."""
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timed out after %ds: %s" % (timeout, " ".join(cmd))
    if proc.returncode != 0:
        return "exited with %d: %s\n%s" % (
            proc.returncode, " ".join(cmd),
            proc.stderr.decode("utf-8", "replace").strip()[-3000:])
    return None


def ir_params(text, entry):
    """{state_dict key: (shape, element type)} of an entry's graph.param and
    graph.buffer args."""
    m = re.search(r"func\.func @%s\((.*?)\) ->" % re.escape(entry), text, re.S)
    if not m:
        return None
    out = {}
    for shape, element, name in re.findall(
            r"tensor<((?:\d+x)*)(\w+)> \{[^}]*graph\.(?:param|buffer) = \"([^\"]+)\"[^}]*\}",
            m.group(1)):
        out[name] = (tuple(int(d) for d in shape.split("x") if d), element)
    return out


def max_abs_diff(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    d = np.abs(a - b)
    return float(np.max(np.where(np.isnan(d), np.inf, d))) if d.size else 0.0


class Report:
    def __init__(self):
        self.failures = []
        self.passes = 0

    def line(self, ok, name, mode, err=0.0, tol=0.0, messages=()):
        print("%s  %-28s  %-13s  max_err=%-10.3g tol=%.3g"
              % ("PASS" if ok else "FAIL", name, mode, err, tol), flush=True)
        for m in messages:
            for text in str(m).splitlines()[:40]:
                print("      " + text)
        if ok:
            self.passes += 1
        else:
            self.failures.append("%s [%s]" % (name, mode))


def gpt_keys_values(model, x):
    """Every block's keys and values of the window x [1, T], as the cache
    of Kiln's gpt: [blocks, 2, heads, T, head dim]."""
    kept = []

    def keep(module, inputs, output):
        d = output.shape[-1] // 3
        _, k, v = output.split(d, dim=-1)
        b, t = k.shape[:2]
        kept.append(torch.stack([z.reshape(b, t, 4, d // 4).transpose(1, 2)[0]
                                 for z in (k, v)]))
    hooks = [block.attn.qkv.register_forward_hook(keep)
             for block in model.blocks]
    logits = model(x)
    for h in hooks:
        h.remove()
    return logits, torch.stack(kept)


def gpt_decode_reference(model, token, p, cache):
    """One cached step of the gpt: `token` at position p attends to the
    cache's positions up to p, after writing its own key and value there.
    Returns the logits [1, V] and the new cache."""
    cache = cache.clone()
    h = model.tok_emb(token.reshape(1, 1)) + model.pos_emb[:, p:p + 1]
    for i, block in enumerate(model.blocks):
        q, k, v = block.attn.qkv(block.ln1(h)).split(128, dim=-1)
        q, k, v = (z.reshape(1, 1, 4, 32).transpose(1, 2) for z in (q, k, v))
        cache[i, 0, :, p] = k[0, :, 0]
        cache[i, 1, :, p] = v[0, :, 0]
        keys, values = cache[i, 0, :, :p + 1][None], cache[i, 1, :, :p + 1][None]
        weights = torch.softmax(q @ keys.transpose(-1, -2) / math.sqrt(32), -1)
        o = (weights @ values).transpose(1, 2).reshape(1, 1, 128)
        h = h + block.attn.proj(o)
        h = h + block.mlp(block.ln2(h))
    return model.head(model.ln_f(h))[0], cache


def add_cache_checks(reference, x, workdir, expected, inputs_paths):
    """gpt's generation entries: prefill of one window, and decode_step at a
    position p from a cache holding positions < p (the rest zero) must give
    the window's logits at p and the cache with p written."""
    with torch.no_grad():
        logits, cache = gpt_keys_values(reference.eval(), x)
    expected["prefill"] = {"logits": logits.numpy(), "cache": cache.numpy()}
    inputs_paths["prefill"] = os.path.join(workdir, "gpt_prefill.safetensors")
    st.save(inputs_paths["prefill"], {"x": x})
    # The cache as the entry receives it: float32, positions from p on zero.
    p = 37
    before = cache.float().double()
    before[:, :, :, p:] = 0
    with torch.no_grad():
        step_logits, after = gpt_decode_reference(reference, x[0, p], p,
                                                  before)
    expected["decode_step"] = {"logits": step_logits.numpy(),
                               "next_cache": after.numpy()}
    inputs_paths["decode_step"] = os.path.join(workdir,
                                               "gpt_decode_step.safetensors")
    st.save(inputs_paths["decode_step"],
            {"token": x[0, p:p + 1].clone(),
             "position": torch.tensor(p, dtype=torch.int64),
             "cache": before.float()})


def seeded_model(name):
    """The reference model `name` in evaluation mode, initialized from its
    seed, its running statistics moved away from their initial values so
    that forward (evaluation mode) depends on them."""
    cls, seed, _, _ = MODELS[name]
    torch.manual_seed(seed)
    model = cls().eval()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.num_batches_tracked.fill_(3)
    return model


def check_model(name, args, workdir, report):
    cls, seed, make_batch, loss_of = MODELS[name]
    model = seeded_model(name)
    state = {k: (v.detach().clone().float() if v.is_floating_point()
                 else v.detach().clone()).contiguous()
             for k, v in model.state_dict().items()}
    params_path = os.path.join(workdir, "%s_params.safetensors" % name)
    st.save(params_path, state)

    gen = torch.Generator().manual_seed(100 + seed)
    forward_inputs, loss_inputs = make_batch(args.batch, gen)
    inputs = {"forward": forward_inputs, "loss": loss_inputs}
    inputs_paths = {}
    for entry, tensors in inputs.items():
        inputs_paths[entry] = os.path.join(workdir, "%s_%s_inputs.safetensors"
                                           % (name, entry))
        st.save(inputs_paths[entry], tensors)

    # The reference: the same float32 values in float64.
    # forward runs the model in evaluation mode, loss in training mode
    # (batch statistics; the running statistics it updates are outputs).
    def fresh_reference():
        reference = cls().double()
        reference.load_state_dict({k: v.double() if v.is_floating_point()
                                   else v for k, v in state.items()})
        return reference

    def widened(tensors):
        return {k: v.double() if v.is_floating_point() else v
                for k, v in tensors.items()}

    # A model drawing random numbers inside its loss (vae) gets them from
    # Kiln's own generator, for the reference too: once per precision.
    noise = kiln_noise(args, workdir, name, loss_inputs) \
        if name in NOISE else None
    # ddpm's ancestral step draws its noise z the same way.
    step_draws = kiln_draws(
        args, workdir, "ddpm_step",
        [("z", (args.batch, 1, 28, 28), None)],
        {"rng_seed": torch.tensor(7), "rng_offset": torch.tensor(11)}) \
        if name == "ddpm" else None

    def reference_inputs(dtype):
        given = widened(loss_inputs)
        if noise:
            given.update(noise[dtype])
        return given

    def expectations(dtype):
        reference = fresh_reference()
        with torch.no_grad():
            logits = reference.eval()(**widened(forward_inputs))
            loss = loss_of(reference.train(), reference_inputs(dtype))
        expected = {"forward": {FORWARD_OUTPUT.get(name, "logits"):
                                logits.numpy()},
                    "loss": {"loss": loss.numpy()}}
        if name == "gpt":
            add_cache_checks(reference, forward_inputs["x"][:1], workdir, expected,
                             inputs_paths)
        if name == "ebm":
            ebm_energy_checks(workdir, reference, forward_inputs, expected,
                              inputs_paths)
        if name == "ddpm":
            ddpm_sampler_checks(args, workdir, reference, forward_inputs,
                                expected, inputs_paths, step_draws, dtype)
        if hasattr(reference, "greedy"):
            # Greedy decoding: every token must be the reference's.
            with torch.no_grad():
                tokens = reference.eval().greedy(forward_inputs["src"])
            expected["decode"] = {"tokens": tokens.numpy()}
            inputs_paths["decode"] = os.path.join(
                workdir, "%s_decode_inputs.safetensors" % name)
            st.save(inputs_paths["decode"], {"src": forward_inputs["src"]})
        for k, v in reference.state_dict().items():
            if k.endswith("running_mean") or k.endswith("running_var"):
                expected["loss"][k] = v.numpy()
            if k.endswith("num_batches_tracked"):
                expected["loss"][k] = v.numpy()
        # Every parameter's gradient of the training-mode loss; for a model
        # trained in alternating steps, each step's loss and the gradients
        # of the parameters it trains (grad_<step>).
        steps = TRAIN_STEPS.get(name, [("", loss_of, "", None)])
        for step, step_loss, prefix, step_inputs in steps:
            entry = "grad_" + step if step else "grad"
            reference = fresh_reference()
            grad_loss = step_loss(reference.train(), reference_inputs(dtype))
            grad_loss.backward()
            expected[entry] = {"loss": grad_loss.detach().numpy()}
            for k, p in reference.named_parameters():
                if k.startswith(prefix):
                    expected[entry]["grad." + k] = p.grad.numpy()
            inputs_paths[entry] = inputs_paths["loss"]
            if step_inputs is not None:
                inputs_paths[entry] = os.path.join(
                    workdir, "%s_%s_inputs.safetensors" % (name, entry))
                st.save(inputs_paths[entry],
                        {k: loss_inputs[k] for k in step_inputs})
        # Gradients are scaled by the model's largest one (docs/models.md's
        # tolerance rule): those zero by construction are rounding noise.
        largest_grad = max(float(np.max(np.abs(g)))
                           for entry, tensors in expected.items()
                           if entry.startswith("grad")
                           for k, g in tensors.items() if k != "loss")

        return expected, largest_grad

    for dtype in ("f32", "f64"):
        if dtype == "f32" or noise:
            expected, largest_grad = expectations(dtype)
        module = os.path.join(workdir, "%s_%s.mlir" % (name, dtype))
        cmd = [args.kilnc, "--model=" + name, "--batch=%d" % args.batch,
               "-o", module]
        if dtype == "f64":
            cmd.insert(3, "--dtype=f64")
        error = run(cmd)
        if error is not None:
            report.line(False, "%s/kilnc" % name, dtype, messages=["kilnc " + error])
            continue
        with open(module) as f:
            text = f.read()

        # The IR's parameters are the state_dict, by name and shape.
        for entry in ("forward", "loss"):
            params = ir_params(text, entry)
            msgs = []
            if params is None:
                msgs.append("no func.func @%s in the kilnc output" % entry)
            else:
                want = {k: (tuple(v.shape),
                            dtype if v.is_floating_point() else "i64")
                        for k, v in state.items()}
                for k in sorted(set(want) | set(params)):
                    if want.get(k) != params.get(k):
                        msgs.append("%s: IR has %s, state_dict has %s"
                                    % (k, params.get(k), want.get(k)))
            report.line(not msgs, "%s/%s/params" % (name, entry), dtype,
                        messages=msgs)

        modes = [(dtype, True)] + ([(dtype + "-nofusion", False)]
                                   if dtype == "f32" else [])
        fused = {}
        for mode, fusion in modes:
            for entry, outputs in expected.items():
                if entry.startswith("grad") and dtype == "f32" and \
                        name in KINKED:
                    continue  # ReLU kinks: gradients compared in float64.
                out_path = os.path.join(workdir, "%s_%s_%s_outputs.safetensors"
                                        % (name, mode, entry))
                error = run([args.kiln_run, module, "--jit", "--entry=" + entry,
                             "--params=" + params_path,
                             "--inputs=" + inputs_paths[entry],
                             "--outputs=" + out_path,
                             "--fusion=" + ("on" if fusion else "off")]
                            + args.kiln_run_arg)
                got = None
                if error is None:
                    try:
                        got = st.load(out_path)
                    except (OSError, ValueError) as e:
                        error = "cannot read %s: %s" % (out_path, e)
                for key, want in outputs.items():
                    check = "%s/%s/%s" % (name, entry, key)
                    if error is not None:
                        report.line(False, check, mode, float("inf"), 0.0,
                                    ["kiln-run " + error])
                        continue
                    if key not in got:
                        report.line(False, check, mode, float("inf"), 0.0,
                                    ["output '%s' missing; got %s"
                                     % (key, sorted(got))])
                        continue
                    g = got[key]
                    scale = float(np.max(np.abs(want))) if want.size else 0.0
                    if key.startswith("grad."):
                        tol = TOL[dtype] * max(scale, 1e-3 * largest_grad)
                    else:
                        tol = TOL[dtype] * max(1e-3, scale)
                    err = max_abs_diff(g, want)
                    msgs = []
                    if g.shape != want.shape:
                        msgs.append("shape %s, expected %s"
                                    % (list(g.shape), list(want.shape)))
                    want_dtype = (np.float32 if dtype == "f32" else np.float64) \
                        if want.dtype.kind == "f" else want.dtype
                    if g.dtype != want_dtype:
                        msgs.append("dtype %s, expected %s"
                                    % (g.dtype, np.dtype(want_dtype)))
                    if not err <= tol:
                        msgs.append("max|diff| vs torch %.3g > tol %.3g"
                                    % (err, tol))
                    if fusion:
                        fused[(entry, key)] = g
                    elif (entry, key) in fused:
                        e2 = max_abs_diff(g, fused[(entry, key)])
                        if not e2 <= tol:
                            msgs.append("max|diff| vs the fused run %.3g > "
                                        "tol %.3g" % (e2, tol))
                        err = max(err, e2)
                    report.line(not msgs, check, mode, err, tol, msgs)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--filter", default="", help="only models whose name "
                        "contains SUBSTR (or one of SUBSTR,SUBSTR,...)")
    parser.add_argument("--kiln-run", default=default_tool("KILN_RUN", "kiln-run"))
    parser.add_argument("--kilnc", default=default_tool("KILNC", "kilnc"))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--kiln-run-arg", action="append", default=[],
                        metavar="ARG", help="extra kiln-run argument, e.g. "
                        "--kiln-run-arg=--library-calls=off (repeatable)")
    parser.add_argument("--keep", metavar="DIR",
                        help="keep the IR, parameters, inputs and outputs")
    args = parser.parse_args()
    for tool in (args.kiln_run, args.kilnc):
        if not os.path.isfile(tool):
            print("error: %s not found (see --help)" % tool, file=sys.stderr)
            return 2

    workdir = args.keep or tempfile.mkdtemp(prefix="kiln-test-models-")
    os.makedirs(workdir, exist_ok=True)
    report = Report()
    for name in MODELS:
        if any(f in name for f in args.filter.split(",")):
            check_model(name, args, workdir, report)
    print("\n%d passed, %d failed" % (report.passes, len(report.failures)))
    for f in report.failures:
        print("  FAILED " + f)
    if args.keep:
        print("files kept in " + workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
