"""Batch-1 inference latency of a zoo model in PyTorch (eager, torch.compile,
AOTInductor) and onnxruntime, on one thread: prints one line per peer,
"NAME MEDIAN_US P10_US" or "NAME - REASON". The models are the reference
suite's (tests/reference/test_models.py), in eval mode, under no_grad.
Usage: torch_latency.py MODEL [CALLS]"""
import os
import statistics
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "reference"))
from test_models import MODELS  # noqa: E402

name = sys.argv[1]
calls = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
torch.set_num_threads(1)
torch.manual_seed(0)
model = MODELS[name][0]().eval()
x = torch.rand(1, 1, 28, 28)


def timed(label, run):
    try:
        with torch.no_grad():
            for _ in range(100):
                run()
            times = []
            for _ in range(calls):
                start = time.perf_counter()
                run()
                times.append((time.perf_counter() - start) * 1e6)
        times.sort()
        print(f"{label} {statistics.median(times):.1f} {times[len(times) // 10]:.1f}",
              flush=True)
    except Exception as e:  # a peer that cannot run here is reported, not fatal
        reason = str(e).strip().splitlines()[0][:100] if str(e).strip() else type(e).__name__
        print(f"{label} - {reason}", flush=True)


timed("eager", lambda: model(x))
compiled = torch.compile(model)
timed("torch.compile", lambda: compiled(x))
work = tempfile.mkdtemp()
try:
    with torch.no_grad():
        path = torch._export.aot_compile(model, (x,), options={
            "aot_inductor.output_path": os.path.join(work, name + ".so")})
    aot = torch._export.aot_load(path, device="cpu")
    timed("AOTInductor", lambda: aot(x))
except Exception as e:
    print(f"AOTInductor - {str(e).strip().splitlines()[0][:100]}", flush=True)
try:
    import onnxruntime
    onnx_path = os.path.join(work, name + ".onnx")
    torch.onnx.export(model, (x,), onnx_path, opset_version=17,
                      input_names=["x"], output_names=["logits"])
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = onnxruntime.InferenceSession(onnx_path, options,
                                           providers=["CPUExecutionProvider"])
    feed = {"x": x.numpy()}
    timed("onnxruntime", lambda: session.run(None, feed))
except Exception as e:
    print(f"onnxruntime - {str(e).strip().splitlines()[0][:100]}", flush=True)
