#!/usr/bin/env python3
"""The zoo's PyTorch reference models, exported to ONNX and run by Kiln.

For every model of tests/reference/test_models.py: build the reference
implementation with its test seed (batch-norm running statistics moved off
their initial values), export it with torch.onnx.export (opset 17, the
exporter's constant folding on, PyTorch's parameter names kept), import it
with `kilnc model.onnx --emit=so --entries=forward --save-params`, run
`forward` with kiln-run on the test batch and compare with PyTorch's output
in float32: |kiln - torch| <= 1e-4 + 1e-4 |torch|. Where onnxruntime is
found (--ort-python, a Python with it, e.g. the benchmarks' virtual
environment made by bench/peers.sh), its output is compared too; otherwise
that comparison is reported as skipped, never as passed.

A model whose export or import is expected to fail is listed in
EXPECTED_REFUSALS with the reason; the test fails if such a model starts to
pass (update the list) or if any other model fails.
"""

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import safetensors as st  # noqa: E402
import test_models as zoo  # noqa: E402

TOLERANCE = 1e-4

# Models whose ONNX export Kiln does not import, and why (checked: each
# must still fail, with this text in kilnc's error).
EXPECTED_REFUSALS = {
}


def run(cmd, timeout=600):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, (p.stderr + p.stdout).strip()


def reference_model(name):
    _, seed, make_batch, _ = zoo.MODELS[name]
    model = zoo.seeded_model(name)
    gen = torch.Generator().manual_seed(100 + seed)
    forward_inputs, _ = make_batch(8, gen)
    return model, forward_inputs


def compare(got, want):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return "shape %s, expected %s" % (list(got.shape), list(want.shape))
    err = np.abs(got - want)
    bad = ~(err <= TOLERANCE + TOLERANCE * np.abs(want))
    if bad.any():
        return "%d elements differ, max |error| %.3g" % (bad.sum(), err.max())
    return None


ORT_SCRIPT = r"""
import sys, numpy as np, onnxruntime as ort
sys.path.insert(0, sys.argv[1])
import safetensors as st
options = ort.SessionOptions()
options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
s = ort.InferenceSession(sys.argv[2], options, providers=["CPUExecutionProvider"])
feed = st.load(sys.argv[3])
out = s.run(None, {k: np.asarray(v) for k, v in feed.items()})
st.save(sys.argv[4], {o.name: out[k] for k, o in enumerate(s.get_outputs())})
"""


def check(name, args, workdir):
    """Returns (status, message): pass, fail or refused."""
    model, inputs = reference_model(name)
    names = list(inputs)
    path = os.path.join(workdir, name + ".onnx")
    try:
        torch.onnx.export(model, tuple(inputs[k] for k in names), path,
                          input_names=names, output_names=["output"],
                          opset_version=17, do_constant_folding=True)
    except Exception as e:  # the exporter's limits, not Kiln's
        return "refused", "torch.onnx.export: %s" % str(e).splitlines()[0]
    with torch.no_grad():
        want = model(*[inputs[k] for k in names]).numpy()
    so = os.path.join(workdir, name + ".so")
    params = os.path.join(workdir, name + "_params.safetensors")
    rc, text = run([args.kilnc, path, "--emit=so", "--entries=forward",
                    "-o", so, "--save-params=" + params])
    if rc != 0:
        return "refused", text.splitlines()[-1] if text else "kilnc failed"
    feed = os.path.join(workdir, name + "_inputs.safetensors")
    st.save(feed, {k: v.contiguous() for k, v in inputs.items()})
    out = os.path.join(workdir, name + "_outputs.safetensors")
    rc, text = run([args.kiln_run, so, "--entry=forward", "--params=" + params,
                    "--inputs=" + feed, "--outputs=" + out])
    if rc != 0:
        return "fail", "kiln-run: " + text
    got = st.load(out)["output"]
    why = compare(got, want)
    if why:
        return "fail", "against PyTorch: " + why
    message = "matches PyTorch"
    if args.ort_python:
        ort_out = os.path.join(workdir, name + "_ort.safetensors")
        rc, text = run([args.ort_python, "-c", ORT_SCRIPT,
                        os.path.join(HERE, "..", "reference"), path, feed,
                        ort_out])
        if rc != 0 and "NOT_IMPLEMENTED" in text:
            # onnxruntime's own gap (e.g. Cos in float64): nothing to
            # compare with.
            message += " (onnxruntime cannot run the export: %s)" % (
                text.splitlines()[-1].split(" : ")[-1])
        elif rc != 0:
            return "fail", "onnxruntime: " + text[-1500:]
        else:
            why = compare(got, st.load(ort_out)["output"])
            if why:
                return "fail", "against onnxruntime: " + why
            message += " and onnxruntime"
    else:
        message += " (onnxruntime: skipped, not found)"
    return "pass", message


def find_ort_python():
    candidates = [os.environ.get("KILN_ORT_PYTHON", ""),
                  os.path.join(HERE, "..", "..", ".venv", "bin", "python")]
    for c in candidates:
        if c and os.path.exists(c) and subprocess.run(
                [c, "-c", "import onnxruntime"],
                capture_output=True).returncode == 0:
            return c
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kilnc", required=True)
    parser.add_argument("--kiln-run", required=True)
    parser.add_argument("--filter", default="")
    parser.add_argument("--ort-python", default=None,
                        help="a Python with onnxruntime (default: "
                             "$KILN_ORT_PYTHON, else .venv/bin/python)")
    args = parser.parse_args()
    if args.ort_python is None:
        args.ort_python = find_ort_python()
    failures = []
    with tempfile.TemporaryDirectory(prefix="kiln-onnx-interop-") as workdir:
        for name in zoo.MODELS:
            if args.filter not in name:
                continue
            status, message = check(name, args, workdir)
            expected = EXPECTED_REFUSALS.get(name)
            if expected is not None:
                ok = status == "refused" and expected in message
                print("%s  %-13s refused as expected: %s" % (
                    "PASS" if ok else "FAIL", name, message), flush=True)
                if not ok:
                    failures.append(name)
                continue
            print("%s  %-13s %s" % ("PASS" if status == "pass" else "FAIL",
                                    name, message), flush=True)
            if status != "pass":
                failures.append(name)
    if not args.ort_python:
        print("onnxruntime comparisons skipped: no Python with onnxruntime "
              "(bench/peers.sh makes .venv)")
    print("%d failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
