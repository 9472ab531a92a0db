"""Imported-model inference, Kiln beside onnxruntime, in one run.

For each zoo model: its PyTorch reference (tests/reference/test_models.py)
is exported to ONNX (opset 17, batch dimension symbolic), Kiln imports it
with `kilnc model.onnx --input-shape=... --emit=lib --entries=forward` once
per batch size, and a C program generated from the header
(bench/embed_harness.py) times `forward` with the installed runtime;
onnxruntime (all graph optimizations, the CPU provider, intra-op threads
as asked, one inter-op thread) times the same .onnx file. Each side: the
median of CALLS calls after warm-up calls. Prints, per model, batch and
thread count, both medians and onnxruntime's over Kiln's (above 1: Kiln is
faster), and throughput in examples/s.
Usage (the peers' Python, bench/peers.sh): onnx_bench.py KILN_PREFIX WORK
MODELS..."""
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
from test_models import MODELS  # noqa: E402

prefix, work = sys.argv[1], sys.argv[2]
models = sys.argv[3:]
calls = int(os.environ.get("CALLS", "200"))
threads_list = [int(t) for t in os.environ.get("THREADS", "1,2").split(",")]
kilnc = os.path.join(prefix, "bin", "kilnc")
env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib",
                                                    "pkgconfig"))
pkg = subprocess.run(["pkg-config", "--cflags", "--libs", "kiln-runtime"],
                     env=env, capture_output=True, text=True,
                     check=True).stdout.split()

# The benchmark batch of each model: kilnc --list-models.
default_batch = {}
for line in subprocess.run([kilnc, "--list-models"], capture_output=True,
                           text=True, check=True).stdout.splitlines():
    parts = line.split()
    default_batch[parts[0]] = int(parts[2])


def export(name):
    cls, seed, make_batch, _ = MODELS[name]
    torch.manual_seed(seed)
    model = cls().eval()
    inputs, _ = make_batch(1, torch.Generator().manual_seed(seed))
    names = list(inputs)
    path = os.path.join(work, name + ".onnx")
    torch.onnx.export(model, tuple(inputs[k] for k in names), path,
                      input_names=names, output_names=["output"],
                      opset_version=17,
                      dynamic_axes={k: {0: "batch"} for k in names + ["output"]})
    return path, {k: tuple(v.shape[1:]) for k, v in inputs.items()}, \
        {k: v.dtype for k, v in inputs.items()}


def kiln_harness(name, path, shapes, batch):
    folder = os.path.join(work, "%s_b%d" % (name, batch))
    os.makedirs(folder, exist_ok=True)
    stem = "%s_b%d" % (name, batch)
    onnx_path = os.path.join(folder, stem + ".onnx")
    if not os.path.exists(onnx_path):
        os.symlink(path, onnx_path)
    flags = ["--input-shape=%s=%s" % (k, "x".join(str(d) for d in
                                                  (batch,) + s))
             for k, s in shapes.items()]
    subprocess.run([kilnc, onnx_path, "--emit=lib", "--entries=forward",
                    "-o", os.path.join(folder, "lib%s.a" % stem)] + flags,
                   check=True)
    subprocess.run([sys.executable, os.path.join(ROOT, "bench",
                                                 "embed_harness.py"),
                    os.path.join(folder, stem + ".h"), stem, "forward",
                    os.path.join(folder, "harness.c")], check=True)
    exe = os.path.join(folder, "harness")
    subprocess.run(["cc", "-std=c99", "-O2", "-I" + folder,
                    os.path.join(folder, "harness.c"),
                    os.path.join(folder, "lib%s.a" % stem)] + pkg +
                   ["-o", exe], check=True)
    return exe


def time_kiln(exe, threads):
    out = subprocess.run([exe, str(calls), str(threads)], capture_output=True,
                         text=True, check=True).stdout.split()
    return float(out[0])


def time_ort(path, shapes, dtypes, batch, threads):
    options = ort.SessionOptions()
    options.graph_optimization_level = \
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options,
                                   providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feed = {}
    for k, s in shapes.items():
        if dtypes[k].is_floating_point:
            feed[k] = rng.random((batch,) + s, dtype=np.float32)
        else:
            feed[k] = np.zeros((batch,) + s, dtype=np.int64)
    for _ in range(max(10, calls // 10)):
        session.run(None, feed)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - start) * 1e6)
    return statistics.median(times)


print("%-13s %5s %3s %12s %12s %8s %12s" % (
    "model", "batch", "thr", "kiln us", "ort us", "ort/kiln", "kiln ex/s"),
    flush=True)
for name in models:
    try:
        path, shapes, dtypes = export(name)
    except Exception as e:  # the exporter's limit, reported
        print("%-13s export failed: %s" % (name, str(e).splitlines()[0]))
        continue
    for batch in sorted({1, default_batch.get(name, 64)}):
        try:
            exe = kiln_harness(name, path, shapes, batch)
        except subprocess.CalledProcessError as e:
            print("%-13s %5d kiln failed: %s" % (name, batch, e))
            continue
        for threads in threads_list:
            k = time_kiln(exe, threads)
            try:
                o = time_ort(path, shapes, dtypes, batch, threads)
                ratio = "%.2fx" % (o / k)
                o = "%.1f" % o
            except Exception as e:
                o, ratio = "-", str(e).splitlines()[0][:40]
            print("%-13s %5d %3d %12.1f %12s %8s %12.0f" % (
                name, batch, threads, k, o, ratio, batch / k * 1e6),
                flush=True)
