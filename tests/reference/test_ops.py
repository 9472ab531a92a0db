#!/usr/bin/env python3
"""Reference tests of every `graph` op, run by Kiln and checked against PyTorch.

Each case is a few lines of graph IR (usually one op) with `graph.input` arguments
and `graph.output` results, random inputs from a seeded numpy generator, and a
PyTorch float64 reference. Cases of one op family are put into one function,
compiled and run by `kiln-run --jit` once per mode (if that fails, the family is
bisected down to the failing cases, so an error names its case). Modes:

  f64           inputs and compute in float64;
                pass if max|got - expected| <= 1e-9 * max(1, max|expected|)
  f32           inputs rounded to float32, expected computed in float64 from the
                rounded inputs; pass if max|got - expected| <= 1e-4 * max(1e-3,
                max|expected|) (2e-4 for matmul/conv/attention with long reductions)
  f32-nofusion  as f32, compiled with --fusion=off; must meet the f32 tolerance
                both against the expected values and against the fused f32 run

Every element is also checked against its own magnitude: |got - expected| <=
tol * (|expected| + typical), typical being the median |expected| (at least 1
in f64, 1e-3 in f32), so that one huge value (exp(88.7)) does not leave the
ordinary ones unchecked.

Integer and boolean results (argmax, compare, casts to integers, integer
arithmetic) must match exactly. Random ops (random_uniform/normal/integers)
cannot match PyTorch; they are checked for shape, dtype and range, mean and
standard deviation within 5-sigma bounds for 10^4 samples (plus bucket counts for
integers and the 1-sigma mass for normals), bit-identical reproduction across
two runs, a shifted stream for a shifted offset (output(offset=k)[i] ==
output(offset=0)[i+k], also across the 2^32 counter boundary), another stream
for offset 2^32 (the counter is 64-bit) and for another seed, and agreement of
fused and unfused builds.

Usage:  python3 test_ops.py [--filter SUBSTR] [--kiln-run PATH] [--jobs N]
                            [--modes f64,f32,f32-nofusion] [--keep DIR]
                            [--show-mlir] [--list] [--kiln-run-arg=ARG ...]
kiln-run defaults to $KILN_RUN, else ../../build/bin/kiln-run next to this file.
Prints one line per case and mode: PASS|FAIL name mode max_err tol; exits 1 if
any case fails. Only the standard library, numpy and torch are used.
"""

import concurrent.futures
import math
import os
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from harness import (CASES, MODES, NP_OF_ELEMENT, TOL_F32,  # noqa: E402
                     Runner, Tally, arr, attrs, compare_case,
                     expected_outputs, f64, i64, max_abs_diff, mode_float,
                     parse_suite_args, run_group, single_case_module,
                     tensor_type)
import op_cases  # noqa: E402,F401  (registers the cases in CASES)
import model_op_cases  # noqa: E402,F401  (and then the rest)

# ---- random numbers (checked statistically, see run_random) -------------------------

# One function computes every output from the same `seed` and `offset` inputs.
# name: (op, shape, dtype ("T": the mode's float type), distribution and its
# parameters (low/high, mean/stddev), whether the parameters are spelled
# (False: the op's defaults 0/1 are meant))
RANDOM_OUTPUTS = {
    "u": ("random_uniform", (20000,), "T", ("uniform", -1.0, 2.0), True),
    "u01": ("random_uniform", (100, 100), "T", ("uniform", 0.0, 1.0), False),
    "n": ("random_normal", (20000,), "T", ("normal", 0.5, 2.0), True),
    "n01": ("random_normal", (50, 200), "T", ("normal", 0.0, 1.0), False),
    "i": ("random_integers", (20000,), "i64", ("integers", -3, 7), True),
    "i32": ("random_integers", (100, 100), "i32", ("integers", 0, 96), True),
    "s": ("random_uniform", (), "T", ("uniform", 5.0, 6.0), True),
}


def random_op_line(name, float_type):
    op, shape, element, (kind, a, b), spelled = RANDOM_OUTPUTS[name]
    items = {"shape": arr(shape),
             "dtype": float_type if element == "T" else element}
    if spelled:
        keys = {"uniform": ("low", "high"), "normal": ("mean", "stddev"),
                "integers": ("low", "high")}[kind]
        values = (i64(a), i64(b)) if kind == "integers" else (f64(a), f64(b))
        items.update(zip(keys, values))
    return "%%%s = graph.%s %%seed, %%offset%s" % (name, op, attrs(**items))


def random_module(float_type):
    types = {name: tensor_type(shape, float_type if el == "T" else el)
             for name, (_, shape, el, _, _) in RANDOM_OUTPUTS.items()}
    results = ", ".join("%s {graph.output = \"%s\"}" % (types[k], k)
                        for k in RANDOM_OUTPUTS)
    lines = ["module {",
             "  func.func @f(%seed: tensor<i64> {graph.input = \"seed\"}, "
             "%offset: tensor<i64> {graph.input = \"offset\"}) -> (" + results
             + ") {"]
    lines += ["    " + random_op_line(k, float_type) for k in RANDOM_OUTPUTS]
    lines.append("    return %s : %s" % (
        ", ".join("%" + k for k in RANDOM_OUTPUTS),
        ", ".join(types[k] for k in RANDOM_OUTPUTS)))
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def seeds(seed, offset):
    return {"seed": np.array(seed, dtype=np.int64),
            "offset": np.array(offset, dtype=np.int64)}


def moments(dist):
    """(mean, std, fourth central moment) of a distribution."""
    kind, a, b = dist
    if kind == "uniform":
        return (a + b) / 2, (b - a) / math.sqrt(12), (b - a) ** 4 / 80
    if kind == "normal":
        return a, b, 3 * b ** 4
    support = np.arange(a, b, dtype=np.float64)
    mean = support.mean()
    return mean, support.std(), np.mean((support - mean) ** 4)


def random_checks(name, mode, values, spec):
    """Statistical checks of one output; yields (check, ok, err, tol, msg)."""
    op, shape, element, dist, _ = spec
    float_type = mode_float(mode)
    element = float_type if element == "T" else element
    want = np.dtype(NP_OF_ELEMENT[element])
    base = "%s/%s" % (op, name)
    ok = values.shape == tuple(shape) and values.dtype == want
    yield (base + "/shape_dtype", ok, 0.0, 0.0,
           "" if ok else "got %s %s, expected %s %s"
           % (list(values.shape), values.dtype, list(shape), want))
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    kind, a, b = dist
    if kind in ("uniform", "integers"):
        lo, hi = a, b
        bad = int(np.sum(~((x >= lo) & (x < hi))))
        if kind == "integers":
            bad += int(np.sum(x != np.round(x)))
        yield (base + "/range", bad == 0, float(bad), 0.0,
               "" if bad == 0 else "%d values outside [%g, %g): min %r max %r"
               % (bad, lo, hi, x.min(), x.max()))
    if x.size < 1000:
        return
    n = x.size
    mu, sigma, m4 = moments(dist)
    err = abs(x.mean() - mu)
    tol = 5 * sigma / math.sqrt(n)
    yield (base + "/mean", err <= tol, err, tol,
           "mean %.5g, expected %.5g" % (x.mean(), mu))
    s = x.std()
    err = abs(s - sigma)
    tol = 5 * math.sqrt(max(m4 - sigma ** 4, 0.0) / n) / (2 * sigma)
    yield (base + "/std", err <= tol, err, tol,
           "std %.5g, expected %.5g" % (s, sigma))
    if kind == "normal":
        p = math.erf(1 / math.sqrt(2))
        frac = float(np.mean(np.abs(x - mu) < sigma))
        err = abs(frac - p)
        tol = 5 * math.sqrt(p * (1 - p) / n)
        yield (base + "/one_sigma_mass", err <= tol, err, tol,
               "fraction within 1 sigma %.4f, expected %.4f" % (frac, p))
        above = float(np.mean(x > mu))
        err = abs(above - 0.5)
        tol = 5 * math.sqrt(0.25 / n)
        yield (base + "/symmetry", err <= tol, err, tol,
               "fraction above the mean %.4f" % above)
    if kind == "integers":
        k = b - a
        counts = np.bincount((x - a).astype(np.int64).clip(0, k - 1),
                             minlength=k)
        p = 1.0 / k
        err = float(np.max(np.abs(counts - n * p)))
        tol = 5 * math.sqrt(n * p * (1 - p))
        yield (base + "/buckets", err <= tol and np.all(counts > 0), err, tol,
               "bucket counts %s, expected %.1f each" % (counts.tolist(), n * p))


def chance_agreement_limit(name):
    """The largest fraction of equal elements two independent streams may
    share: twice the chance level for integers, 5% for floats."""
    kind, low, high = RANDOM_OUTPUTS[name][3]
    return 2.0 / (high - low) if kind == "integers" else 0.05


def run_random(runner, modes):
    """Returns a list of (name, mode, ok, err, tol, messages)."""
    lines = []
    stream_outputs = [k for k, v in RANDOM_OUTPUTS.items() if len(v[1]) >= 1]
    fused_a = None
    for mode in modes:
        float_type = mode_float(mode)
        text = random_module(float_type)
        fusion = mode != "f32-nofusion"

        def call(seed, offset, what):
            out, error = runner.run("random_%s_%s" % (mode, what), text,
                                    seeds(seed, offset), fusion=fusion)
            missing = [k for k in RANDOM_OUTPUTS if error is None and k not in out]
            if missing:
                return None, "outputs missing from the results file: " + \
                    ", ".join(missing)
            return out, error

        a, error = call(1234, 0, "a")
        if error is not None:
            lines.append(("random/all", mode, False, math.inf, 0.0, [error]))
            continue
        if mode == "f32":
            fused_a = a
        if mode == "f32-nofusion":
            # The unfused build gives the numbers of the fused one.
            for k, (op, _, _, dist, _) in RANDOM_OUTPUTS.items():
                name = "%s/%s/fused_vs_unfused" % (op, k)
                if fused_a is None:
                    lines.append((name, mode, False, math.inf, 0.0,
                                  ["no fused f32 run to compare with"]))
                    continue
                exact = dist[0] == "integers"
                err = max_abs_diff(a[k], fused_a[k])
                tol = 0.0 if exact else TOL_F32["default"] * max(
                    1e-3, float(np.max(np.abs(fused_a[k]))))
                lines.append((name, mode, err <= tol, err, tol, []))
            continue
        for k, spec in RANDOM_OUTPUTS.items():
            for check, ok, err, tol, msg in random_checks(k, mode, a[k], spec):
                lines.append((check, mode, ok, err, tol, [msg] if not ok else []))

        # Reproducible, bit for bit, in another process.
        b, error = call(1234, 0, "b")
        for k in RANDOM_OUTPUTS:
            name = "%s/%s/reproducible" % (RANDOM_OUTPUTS[k][0], k)
            if error is not None:
                lines.append((name, mode, False, math.inf, 0.0, [error]))
                continue
            same = a[k].tobytes() == b[k].tobytes()
            lines.append((name, mode, same, max_abs_diff(a[k], b[k]), 0.0,
                          [] if same else ["two runs differ"]))

        # Offsets shift the stream: out(offset=k)[i] == out(offset=0)[i + k].
        for shift, (base, what) in [(37, (0, "small")),
                                    (7, (2 ** 32 - 7, "carry_2^32"))]:
            if base == 0:
                ref, error = a, None
            else:
                ref, error = call(1234, base, "base_" + what)
            shifted, error2 = call(1234, base + shift, "shift_" + what)
            error = error or error2
            for k in stream_outputs:
                name = "%s/%s/offset_shift_%s" % (RANDOM_OUTPUTS[k][0], k, what)
                if error is not None:
                    lines.append((name, mode, False, math.inf, 0.0, [error]))
                    continue
                r = ref[k].reshape(-1)
                s = shifted[k].reshape(-1)
                same = r[shift:].tobytes() == s[:-shift].tobytes()
                lines.append((name, mode, same,
                              max_abs_diff(r[shift:], s[:-shift]), 0.0,
                              [] if same else
                              ["out(offset=%d)[i] != out(offset=%d)[i+%d]"
                               % (base + shift, base, shift)]))

        # The counter is 64 bits wide: offset 2^32 is not offset 0.
        if error is None:
            for k in stream_outputs:
                name = "%s/%s/offset_2^32_differs" % (RANDOM_OUTPUTS[k][0], k)
                frac = float(np.mean(a[k] == shifted[k]))
                limit = chance_agreement_limit(k)
                lines.append((name, mode, frac <= limit, frac, limit,
                              [] if frac <= limit else
                              ["%.3f of the values equal those of offset 0"
                               % frac]))

        # Another seed gives another stream.
        other, error = call(99, 0, "seed99")
        for k in stream_outputs:
            name = "%s/%s/seed_changes_stream" % (RANDOM_OUTPUTS[k][0], k)
            if error is not None:
                lines.append((name, mode, False, math.inf, 0.0, [error]))
                continue
            frac = float(np.mean(a[k] == other[k]))
            limit = chance_agreement_limit(k)
            lines.append((name, mode, frac <= limit, frac, limit,
                          [] if frac <= limit else
                          ["%.3f of the values equal those of seed 1234" % frac]))
    return lines


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def main():
    args, modes = parse_suite_args(__doc__, MODES)
    cases = [(i, c) for i, c in enumerate(CASES) if args.filter in c.name]
    with_random = "random" in args.filter or any(
        args.filter in "%s/%s" % (v[0], k) for k, v in RANDOM_OUTPUTS.items())
    if args.list:
        for _, c in cases:
            print("%-10s %s" % (c.group, c.name))
        if with_random:
            for k, v in RANDOM_OUTPUTS.items():
                print("%-10s %s/%s" % ("random", v[0], k))
        return 0
    if not os.path.isfile(args.kiln_run):
        print("error: kiln-run not found at %s (use --kiln-run or $KILN_RUN)"
              % args.kiln_run, file=sys.stderr)
        return 2

    # Expected values first: a failure here is a bug of the test, not Kiln.
    expected = {}
    for _, c in cases:
        for ft in {mode_float(m) for m in modes}:
            expected[(c.name, ft)] = expected_outputs(c, ft)

    def expected_for(ft):
        return lambda c: expected[(c.name, ft)]

    workdir = args.keep or tempfile.mkdtemp(prefix="kiln-test-ops-")
    os.makedirs(workdir, exist_ok=True)
    runner = Runner(args.kiln_run, workdir, args.timeout, args.kiln_run_arg)
    groups = []
    for _, c in cases:
        if c.group not in groups:
            groups.append(c.group)
    name_width = max([len(c.name) for _, c in cases] + [44])

    start = time.time()
    tally = Tally(name_width)
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = {}
        for g in groups:
            members = [(i, c) for i, c in cases if c.group == g]
            for mode in modes:
                futures[(g, mode)] = pool.submit(
                    run_group, runner, members, mode,
                    expected_for(mode_float(mode)), "%s_%s" % (g, mode))
        random_future = pool.submit(run_random, runner, modes) \
            if with_random else None

        for g in groups:
            fused_results = {}
            for mode in modes:
                results = futures[(g, mode)].result()
                if mode == "f32":
                    fused_results = results
                for _, c in cases:
                    if c.group != g:
                        continue
                    got, error = results[c.name]
                    if error is not None:
                        ok, err, tol, msgs = False, math.inf, 0.0, [error]
                    else:
                        fused = fused_results.get(c.name, (None, None))[0] \
                            if mode == "f32-nofusion" else None
                        ok, err, tol, msgs = compare_case(
                            c, mode, expected[(c.name, mode_float(mode))],
                            got, fused)
                    if not ok and args.show_mlir:
                        msgs = msgs + ["module of this case alone:\n"
                                       + single_case_module(c, mode)]
                    tally.add(ok, c.name, mode, err, tol, msgs)
        if random_future is not None:
            for name, mode, ok, err, tol, msgs in random_future.result():
                if args.filter in name or args.filter in "random":
                    tally.add(ok, name, mode, err, tol, msgs)

    return tally.finish(runner, start, workdir, args.keep)


if __name__ == "__main__":
    sys.exit(main())
