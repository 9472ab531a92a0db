#!/usr/bin/env python3
"""ONNX's backend test data through Kiln: import, compile, run, compare.

For every case (a folder with model.onnx and test_data_set_*/input_N.pb,
output_N.pb) under each data directory, the runner compiles the model with
`kilnc model.onnx --emit=so --entries=forward`, runs `forward` with
`kiln-run` on the case's inputs and compares every output with the expected
one: floats within 1e-4 absolute plus 1e-4 relative, integers and booleans
exactly, shapes exactly.

Each case ends as one of:
  pass         every output matches
  unsupported  kilnc refused the model with an error naming what it lacks
               (an operator, an attribute value, an element type)
  fail         kilnc refused it for another reason, kiln-run failed, or an
               output differs
  crash        a tool died on a signal or its error was not a clean one

Prints a table per directory (and the reasons for the non-passing cases with
--verbose). Exits non-zero when any case crashes, or, with --expected FILE,
when a case listed there no longer passes. --write-expected FILE records
the passing cases.

Needs Debian's python3-onnx (to read the .pb tensors) and libonnx-testdata.
"""

import argparse
import collections
import concurrent.futures
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
import safetensors  # noqa: E402

try:
    import onnx
    from onnx import numpy_helper
except ImportError:  # pragma: no cover
    onnx = None

DEFAULT_ROOT = "/usr/share/libonnx-testdata/data"
DIRECTORIES = ["node", "pytorch-converted", "pytorch-operator", "simple"]
TOLERANCE = 1e-4


def read_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t.name, numpy_helper.to_array(t)


def run(cmd, timeout):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "timed out after %d s" % timeout
    return p.returncode, (p.stderr or "") + (p.stdout or "")[-2000:]


def clean_error(rc, text):
    """A clean error: exit status 1 and a 'kilnc: error:' style message."""
    return rc == 1 and "error:" in text and "Stack dump" not in text and \
        "Assertion" not in text


def classify_error(rc, text):
    if rc is None:
        return "fail", text
    if rc < 0 or rc >= 128 or not clean_error(rc, text):
        return "crash", text.strip().splitlines()[-1] if text.strip() else \
            "exit status %d" % rc
    line = next((l for l in text.splitlines() if "error:" in l), text)
    line = line.split("error: ", 1)[-1]
    if any(word in line for word in ("unsupported", "element type",
                                     "not supported", "must be known when",
                                     "symbolic dimensions")):
        return "unsupported", line
    return "fail", line


def compare(name, actual, expected):
    if actual.shape != expected.shape:
        return "output '%s' has shape %s, expected %s" % (
            name, list(actual.shape), list(expected.shape))
    if expected.dtype.kind == "f":
        a = actual.astype(np.float64)
        e = expected.astype(np.float64)
        nan_ok = np.isnan(a) == np.isnan(e)
        finite = ~np.isnan(e)
        bad = ~nan_ok | (finite & ~(np.abs(a - e) <= TOLERANCE +
                                    TOLERANCE * np.abs(e)))
        # Infinities compare equal only to themselves.
        inf = np.isinf(e)
        bad |= inf & (a != e)
        if bad.any():
            k = np.argmax(bad.reshape(-1))
            return "output '%s' differs at %d elements (first: %r, " \
                   "expected %r)" % (name, int(bad.sum()), a.reshape(-1)[k],
                                     e.reshape(-1)[k])
        return None
    if not np.array_equal(actual.astype(expected.dtype), expected):
        return "output '%s' differs" % name
    return None


def run_case(case, kilnc, kiln_run, timeout):
    model_path = os.path.join(case, "model.onnx")
    sets = sorted(d for d in os.listdir(case) if d.startswith("test_data_set"))
    try:
        model = onnx.load(model_path, load_external_data=False)
    except Exception as e:  # the reader of the expected data, not Kiln
        return "unsupported", "python3-onnx cannot read the model: %s" % e
    initializers = {t.name for t in model.graph.initializer}
    graph_inputs = [i for i in model.graph.input if i.name not in initializers]
    inputs = [i.name for i in graph_inputs]
    # Symbolic dimensions are fixed from the first data set, as a user
    # fixes them with --input-shape.
    shape_flags = []
    for k, i in enumerate(graph_inputs):
        dims = i.type.tensor_type.shape.dim
        if any(not d.HasField("dim_value") for d in dims):
            pb = os.path.join(case, sets[0], "input_%d.pb" % k) if sets else ""
            if pb and os.path.exists(pb):
                shape = read_pb(pb)[1].shape
                shape_flags.append("--input-shape=%s=%s" % (
                    i.name, "x".join(str(d) for d in shape)))
    outputs = [o.name for o in model.graph.output]
    with tempfile.TemporaryDirectory(prefix="kiln-onnx-") as tmp:
        so = os.path.join(tmp, "model.so")
        params = os.path.join(tmp, "params.safetensors")
        rc, text = run([kilnc, model_path, "--emit=so", "--entries=forward",
                        "-o", so, "--save-params=" + params] + shape_flags,
                       timeout)
        if rc != 0:
            return classify_error(rc, text)
        for s in sets:
            folder = os.path.join(case, s)
            feed = {}
            for k in range(len(inputs)):
                pb = os.path.join(folder, "input_%d.pb" % k)
                if not os.path.exists(pb):
                    break
                _, value = read_pb(pb)
                feed[inputs[k]] = np.array(value, order="C")
            expected = {}
            for k in range(len(outputs)):
                pb = os.path.join(folder, "output_%d.pb" % k)
                if os.path.exists(pb):
                    expected[outputs[k]] = read_pb(pb)[1]
            ins = os.path.join(tmp, "inputs.safetensors")
            outs = os.path.join(tmp, "outputs.safetensors")
            try:
                safetensors.save(ins, feed)
            except Exception as e:
                return "unsupported", "an input Kiln cannot take: %s" % e
            cmd = [kiln_run, so, "--entry=forward", "--inputs=" + ins,
                   "--outputs=" + outs]
            if os.path.exists(params):
                cmd.append("--params=" + params)
            rc, text = run(cmd, timeout)
            if rc != 0:
                status, why = classify_error(rc, text)
                return ("crash" if status == "crash" else "fail"), why
            got = safetensors.load(outs)
            for name, value in expected.items():
                if name not in got:
                    return "fail", "no output '%s'" % name
                why = compare(name, np.asarray(got[name]), value)
                if why:
                    return "fail", why
    return "pass", ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kilnc", required=True)
    parser.add_argument("--kiln-run", required=True)
    parser.add_argument("--root", default=DEFAULT_ROOT)
    parser.add_argument("--dirs", default=",".join(DIRECTORIES))
    parser.add_argument("--filter", default="",
                        help="only cases whose name contains this")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=int, default=120)
    parser.add_argument("--expected", help="cases that must pass")
    parser.add_argument("--write-expected", help="record the passing cases")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    # Under ctest (KILN_NO_SKIPS=1) a missing package fails the test.
    skip = 1 if os.environ.get("KILN_NO_SKIPS") else 77
    if onnx is None:
        print("SKIP: python3-onnx is not installed")
        return skip
    if not os.path.isdir(args.root):
        print("SKIP: no ONNX test data at %s (Debian's libonnx-testdata)"
              % args.root)
        return skip

    cases = []
    for d in args.dirs.split(","):
        base = os.path.join(args.root, d)
        if not os.path.isdir(base):
            continue
        for name in sorted(os.listdir(base)):
            if args.filter in name and os.path.exists(
                    os.path.join(base, name, "model.onnx")):
                cases.append((d, name, os.path.join(base, name)))

    results = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(run_case, path, args.kilnc, args.kiln_run,
                               args.timeout): (d, name)
                   for d, name, path in cases}
        for f in concurrent.futures.as_completed(futures):
            results[futures[f]] = f.result()

    table = collections.OrderedDict()
    for d, name, _ in cases:
        table.setdefault(d, collections.Counter())[results[(d, name)][0]] += 1
    print("%-20s %6s %6s %12s %6s %6s" % ("directory", "cases", "pass",
                                          "unsupported", "fail", "crash"))
    for d, counts in table.items():
        print("%-20s %6d %6d %12d %6d %6d" % (
            d, sum(counts.values()), counts["pass"], counts["unsupported"],
            counts["fail"], counts["crash"]))
    # Why the rest are unsupported, grouped: an operator Kiln lacks, or
    # another reason (an attribute value, an input computed at run time).
    reasons = collections.Counter()
    for status, why in results.values():
        if status != "unsupported":
            continue
        text = why.split("): ", 1)[-1]
        if text.startswith("unsupported operator "):
            reasons["operator " + text.split()[-1]] += 1
        else:
            reasons[text.replace("unsupported: ", "")[:90]] += 1
    if reasons:
        print("\nunsupported, by reason (cases):")
        for reason, n in reasons.most_common():
            print("  %4d  %s" % (n, reason))
    if args.verbose:
        for (d, name), (status, why) in sorted(results.items()):
            if status != "pass":
                print("%s/%s: %s: %s" % (d, name, status, why))

    failed = False
    crashes = [k for k, v in results.items() if v[0] == "crash"]
    for d, name in sorted(crashes):
        print("CRASH %s/%s: %s" % (d, name, results[(d, name)][1]))
        failed = True
    if args.expected:
        with open(args.expected) as f:
            must = [l.strip() for l in f if l.strip() and not l.startswith("#")]
        for entry in must:
            d, name = entry.split("/", 1)
            if args.filter not in name or (d, name) not in results:
                continue
            status, why = results[(d, name)]
            if status != "pass":
                print("REGRESSION %s: %s: %s" % (entry, status, why))
                failed = True
    if args.write_expected:
        with open(args.write_expected, "w") as f:
            f.write("# ONNX backend test cases Kiln passes "
                    "(tests/onnx/conformance.py --write-expected).\n")
            for (d, name), (status, _) in sorted(results.items()):
                if status == "pass":
                    f.write("%s/%s\n" % (d, name))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
