"""What the reference suites share: test cases and their input generators,
graph IR formatting, building one module from many cases, running it through
`kiln-run --jit` (bisecting a failing group down to its failing cases),
comparing with tolerances, and the command line. test_ops.py and
test_gradients.py build on it; op_cases.py and model_op_cases.py hold
test_ops.py's cases.
"""

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import safetensors as st  # noqa: E402

torch.set_num_threads(1)


MODES = ("f64", "f32", "f32-nofusion")
TOL_F64 = 1e-9
TOL_F32 = {"default": 1e-4, "long": 2e-4}
# kind="relative": the largest error relative to each expected value (about
# 2.5 float32 ulp), for math functions over ranges where the absolute
# tolerance, scaled by the largest value, would say nothing about the small.
TOL_RELATIVE = {"f64": 1e-14, "f32": 3e-7}

# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------

RNG = np.random.default_rng(20240611)


class Case:
    """One test: graph IR lines, inputs, and a float64 PyTorch reference.

    body:      MLIR op lines. `%name` names an input argument or an SSA value
               of the case; `$name` is replaced by the tensor type of that
               input, output or intermediate, `$T` by the float element type
               of the mode (f32 or f64).
    inputs:    {name: numpy array}; float64 arrays are passed as the mode's
               float type (rounded to f32 in the f32 modes); int64, int32 and
               bool arrays are passed as I64, I32 and BOOL.
    ref:       function({name: torch tensor (float64 for floats)}) ->
               {output name: tensor}; the output names are SSA values of the
               body unless `results` maps them to another expression (%r#1).
    out_types: element type of an output that is not the mode's float type
               (e.g. "f32" for a cast); integer and bool outputs are inferred.
    inter:     {ssa name: (shape, element type or "T")} for intermediates
               that are not outputs but whose type a later op spells.
    kind:      "default", "long" (f32 tolerance 2e-4) or "relative" (error
               relative to each expected value, TOL_RELATIVE).
    """

    def __init__(self, group, name, inputs, body, ref, kind="default",
                 out_types=None, results=None, inter=None):
        self.group = group
        self.name = name
        self.inputs = inputs
        self.body = body
        self.ref = ref
        self.kind = kind
        self.out_types = out_types or {}
        self.results = results or {}
        self.inter = inter or {}


CASES = []


def case(group, name, inputs, body, ref, **kw):
    CASES.append(Case(group, name, inputs, body, ref, **kw))


def torch_reduce(kind, x, dims, keep):
    """PyTorch's graph.reduce_<kind> of `x` over `dims` (a copy for none),
    differentiable."""
    if not dims:
        return x.clone()
    if kind == "reduce_sum":
        return torch.sum(x, dim=dims, keepdim=keep)
    if kind == "reduce_mean":
        return torch.mean(x, dim=dims, keepdim=keep)
    if kind == "reduce_max":
        return torch.amax(x, dim=dims, keepdim=keep)
    return torch.amin(x, dim=dims, keepdim=keep)


def torch_recurrence(cell, gates, weight, bias, state=None, reverse=False):
    """graph.recurrence in PyTorch: its own cells (torch.rnn_tanh_cell,
    lstm_cell, gru_cell) stepped over time, with an identity input weight so
    that a step's input is its precomputed gates. Returns (hidden [B,T,H],
    cell states [B,T,H] or None), differentiable."""
    b, t, gh = gates.shape
    h_size = weight.shape[1]
    eye = torch.eye(gh, dtype=gates.dtype)
    zero = torch.zeros(gh, dtype=gates.dtype)
    lstm = cell == "lstm"
    if state is None:
        state = torch.zeros(b, (2 if lstm else 1) * h_size, dtype=gates.dtype)
    h = state[:, :h_size]
    c = state[:, h_size:] if lstm else None
    hs, cs = [None] * t, [None] * t
    for s in range(t):
        pos = t - 1 - s if reverse else s
        x = gates[:, pos]
        if lstm:
            h, c = torch.lstm_cell(x, (h, c), eye, weight, zero, bias)
        elif cell == "gru":
            h = torch.gru_cell(x, h, eye, weight, zero, bias)
        else:
            h = torch.rnn_tanh_cell(x, h, eye, weight, zero, bias)
        hs[pos], cs[pos] = h, c
    return torch.stack(hs, 1), (torch.stack(cs, 1) if lstm else None)


# ---- input generators (float64 numpy arrays) -----------------------------

def make_generators(rng):
    """randn, uniform, signed_away_from_zero, ints, choice and bools, drawing
    from `rng` (each suite seeds its own)."""

    def randn(shape, scale=1.0):
        return np.asarray(rng.standard_normal(shape) * scale, dtype=np.float64)

    def uniform(lo, hi, shape):
        return np.asarray(rng.uniform(lo, hi, shape), dtype=np.float64)

    def signed_away_from_zero(lo, hi, shape):
        sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
        return np.asarray(sign * rng.uniform(lo, hi, shape), dtype=np.float64)

    def ints(lo, hi, shape, dtype=np.int64):
        return np.asarray(rng.integers(lo, hi, shape), dtype=dtype)

    def choice(values, shape):
        return np.asarray(rng.choice(np.asarray(values, dtype=np.float64),
                                     shape), dtype=np.float64)

    def bools(shape, p=0.5):
        return np.asarray(rng.random(shape) < p)

    return randn, uniform, signed_away_from_zero, ints, choice, bools


randn, uniform, signed_away_from_zero, ints, choice, bools = \
    make_generators(RNG)


def distinct(shape):
    """Distinct values, exact in float32: no ties for argmax."""
    n = int(np.prod(shape, dtype=np.int64))
    return ((RNG.permutation(n) - n // 2) * 0.375).astype(np.float64) \
        .reshape(shape)


def sn(shape):
    return "x".join(str(d) for d in shape) if len(shape) else "scalar"


def binary_body(op):
    """The body of a binary-op case: %y = op(%a, %b)."""
    return "%%y = graph.%s %%a, %%b : $a, $b" % op


def fmt(value):
    """A float literal MLIR accepts (it needs a '.' before any exponent)."""
    text = repr(float(value))
    if "e" in text:
        mantissa, exponent = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        text = mantissa + "e" + exponent
    elif "." not in text:
        text += ".0"
    return text


def arr(values):
    values = list(values)
    return "array<i64: %s>" % ", ".join(str(int(v)) for v in values) \
        if values else "array<i64>"


def attrs(**items):
    """An attribute dictionary; None values are left out, True is a unit attr."""
    parts = []
    for key, value in items.items():
        if value is None or value is False:
            continue
        if value is True:
            parts.append(key)
        elif isinstance(value, str):
            parts.append("%s = %s" % (key, value))
        else:
            raise TypeError(key)
    return " {%s}" % ", ".join(parts) if parts else ""


def conv_operands(has_bias, strides=(1, 1), padding=(0, 0), dilation=(1, 1),
                  groups=1, output_padding=None, explicit=False):
    """`%x, %w[, %bias]{attributes} : $x, $w[, $bias]`: the operands of a
    conv2d case (output_padding None) or a conv_transpose2d case; attributes
    at their defaults are left out unless `explicit`."""
    def given(value, default):
        return value is not None and (value != default or explicit)
    at = attrs(strides=arr(strides) if given(strides, (1, 1)) else None,
               padding=arr(padding) if given(padding, (0, 0)) else None,
               output_padding=arr(output_padding)
               if given(output_padding, (0, 0)) else None,
               dilation=arr(dilation) if given(dilation, (1, 1)) else None,
               groups=i64(groups) if given(groups, 1) else None)
    names = ["x", "w", "bias"] if has_bias else ["x", "w"]
    return "%s%s : %s" % (", ".join("%" + n for n in names), at,
                          ", ".join("$" + n for n in names))


def f64(value):
    return "%s : f64" % fmt(value)


def i64(value):
    return "%d : i64" % value


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# --------------------------------------------------------------------------
# Building modules
# --------------------------------------------------------------------------

NP_OF_ELEMENT = {"f32": np.float32, "f64": np.float64, "i64": np.int64,
                 "i32": np.int32, "i1": np.bool_}


def tensor_type(shape, element):
    return "tensor<%s%s>" % ("".join("%dx" % d for d in shape), element)


def element_of(array, float_type):
    if array.dtype == np.float64 or array.dtype == np.float32:
        return float_type
    return {np.dtype(np.int64): "i64", np.dtype(np.int32): "i32",
            np.dtype(np.bool_): "i1"}[array.dtype]


def mode_float(mode):
    return "f64" if mode == "f64" else "f32"


def mode_inputs(c, float_type):
    """The case's inputs as passed in this mode (floats rounded for f32)."""
    out = {}
    for name, a in c.inputs.items():
        if a.dtype == np.float64:
            a = a.astype(np.float32 if float_type == "f32" else np.float64)
        out[name] = a
    return out


def to_torch(a):
    """A float64 (floats) or same-dtype copy of `a` as a torch tensor; 0-d
    arrays stay tensors."""
    if a.dtype in (np.float32, np.float64):
        return torch.from_numpy(np.array(a, dtype=np.float64))
    return torch.from_numpy(a.copy())


def to_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def expected_outputs(c, float_type):
    """Runs the reference on the mode's (rounded) inputs; float64 results."""
    inputs = mode_inputs(c, float_type)
    with torch.no_grad():
        result = c.ref({k: to_torch(v) for k, v in inputs.items()})
    return {k: to_numpy(v) for k, v in result.items()}


def output_element(c, key, value, float_type):
    if key in c.out_types:
        return c.out_types[key]
    return element_of(value, float_type)


def substitute_types(text, types, prefix, case_name):
    """`text` with each $name replaced by the type `types` gives it and each
    SSA name %x renamed %<prefix>x (cases share one module)."""
    def typ(m):
        if m.group(1) not in types:
            raise KeyError("case %s: no type for $%s" % (case_name, m.group(1)))
        return types[m.group(1)]
    text = re.sub(r"\$(\w+)", typ, text)
    return re.sub(r"%(\w+)", lambda m: "%" + prefix + m.group(1), text)


def case_function_parts(c, prefix, float_type, expected):
    """(args, results, body lines, return values) of a case, names prefixed."""
    types = {"T": float_type}
    inputs = mode_inputs(c, float_type)
    for name, a in inputs.items():
        types[name] = tensor_type(a.shape, element_of(a, float_type))
    for name, (shape, element) in c.inter.items():
        types[name] = tensor_type(shape, float_type if element == "T" else element)
    out_types = {}
    for key, value in expected.items():
        out_types[key] = tensor_type(value.shape,
                                     output_element(c, key, value, float_type))
        types.setdefault(key, out_types[key])

    def substitute(text):
        return substitute_types(text, types, prefix, c.name)

    args = ["%%%s%s: %s {graph.input = \"%s%s\"}"
            % (prefix, name, types[name], prefix, name) for name in inputs]
    results = ["%s {graph.output = \"%s%s\"}" % (out_types[k], prefix, k)
               for k in expected]
    body = [substitute(line) for line in c.body.split("\n") if line.strip()]
    returns = [(substitute(c.results.get(k, "%" + k)), out_types[k])
               for k in expected]
    return args, results, body, returns


def build_module(cases, float_type, expected_of):
    """One function @f holding every case; returns (text, inputs)."""
    args, results, body, returns, inputs = [], [], [], [], {}
    for index, c in cases:
        prefix = "c%d_" % index
        a, r, b, ret = case_function_parts(c, prefix, float_type,
                                           expected_of(c))
        args += a
        results += r
        body += b
        returns += ret
        for name, value in mode_inputs(c, float_type).items():
            inputs[prefix + name] = value
    lines = ["module {",
             "  func.func @f(%s) -> (%s) {" % (", ".join(args),
                                               ", ".join(results))]
    lines += ["    " + line for line in body]
    lines.append("    return %s : %s" % (", ".join(v for v, _ in returns),
                                         ", ".join(t for _, t in returns)))
    lines += ["  }", "}", ""]
    return "\n".join(lines), inputs


# --------------------------------------------------------------------------
# Running kiln-run
# --------------------------------------------------------------------------


def summarize_stderr(text, limit=40):
    """The informative lines of kiln-run's stderr (it may dump whole IR)."""
    lines = text.rstrip().splitlines()
    if len(lines) <= limit:
        return "\n".join(lines)
    keep = [i for i, line in enumerate(lines)
            if re.search(r"error|Assertion|Segmentation|PLEASE|Stack dump|"
                         r"^\s*#\d+ |^kiln-run|failed", line, re.I)]
    # An error's "see current operation" note and its first lines.
    for i in list(keep):
        if "error" in lines[i].lower():
            keep += [j for j in range(i + 1, min(i + 4, len(lines)))]
    keep = sorted(set(keep + [len(lines) - 1]))[:limit]
    out = [lines[i][:400] + (" ..." if len(lines[i]) > 400 else "")
           for i in keep]
    return "\n".join(out + ["(%d of %d lines of stderr shown; all of it is "
                             "in stderr.txt with --keep)" % (len(keep),
                                                             len(lines))])


class Runner:
    def __init__(self, kiln_run, workdir, timeout, extra_args=()):
        self.kiln_run = kiln_run
        self.extra_args = list(extra_args)
        self.workdir = workdir
        self.timeout = timeout
        self.counter = 0
        self.lock = threading.Lock()
        self.calls = 0
        self.seconds = 0.0

    def _dir(self, tag):
        with self.lock:
            self.counter += 1
            number = self.counter
        path = os.path.join(self.workdir, "%04d_%s" % (
            number, re.sub(r"[^A-Za-z0-9_.-]+", "_", tag)[:80]))
        os.makedirs(path)
        return path

    def run(self, tag, module_text, inputs, fusion=True, entry="f",
            params=None):
        """Runs kiln-run; returns (outputs dict, None) or (None, error text)."""
        d = self._dir(tag)
        module = os.path.join(d, "module.mlir")
        with open(module, "w") as f:
            f.write(module_text)
        in_path = os.path.join(d, "inputs.safetensors")
        out_path = os.path.join(d, "outputs.safetensors")
        st.save(in_path, inputs)
        cmd = [self.kiln_run, module, "--jit", "--entry=" + entry,
               "--inputs=" + in_path, "--outputs=" + out_path,
               "--fusion=" + ("on" if fusion else "off")] + self.extra_args
        if params:
            p = os.path.join(d, "params.safetensors")
            st.save(p, params)
            cmd.insert(3, "--params=" + p)
        start = time.time()
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            return None, "kiln-run timed out after %ds: %s" % (
                self.timeout, " ".join(cmd))
        finally:
            with self.lock:
                self.calls += 1
                self.seconds += time.time() - start
        err = proc.stderr.decode("utf-8", "replace")
        if err:
            with open(os.path.join(d, "stderr.txt"), "w") as f:
                f.write(err)
        if proc.returncode != 0:
            return None, "kiln-run exited with %d: %s\n%s" % (
                proc.returncode, " ".join(cmd), summarize_stderr(err))
        try:
            return st.load(out_path), None
        except (OSError, ValueError) as e:
            return None, "cannot read %s: %s" % (out_path, e)


def run_group(runner, indexed_cases, mode, expected_of, tag):
    """Runs cases in one module; on failure bisects down to the bad cases.

    Returns {case name: ({output key: array}, None) or (None, error)}.
    """
    float_type = mode_float(mode)
    text, inputs = build_module(indexed_cases, float_type, expected_of)
    outputs, error = runner.run(tag, text, inputs, fusion=mode != "f32-nofusion")
    if error is not None and len(indexed_cases) > 1:
        mid = len(indexed_cases) // 2
        out = run_group(runner, indexed_cases[:mid], mode, expected_of, tag)
        out.update(run_group(runner, indexed_cases[mid:], mode, expected_of, tag))
        return out
    result = {}
    for index, c in indexed_cases:
        if error is not None:
            result[c.name] = (None, error)
            continue
        prefix = "c%d_" % index
        got, missing = {}, []
        for key in expected_of(c):
            if prefix + key in outputs:
                got[key] = outputs[prefix + key]
            else:
                missing.append(prefix + key)
        result[c.name] = (None, "outputs missing from the results file: %s"
                          % ", ".join(missing)) if missing else (got, None)
    return result


# --------------------------------------------------------------------------
# Comparing
# --------------------------------------------------------------------------


def tolerance(mode, kind, expected):
    if expected.dtype.kind != "f":
        return 0.0
    if kind == "relative":
        return TOL_RELATIVE["f64" if mode == "f64" else "f32"]
    # The scale of the finite values: NaN or inf (checked exactly by
    # max_abs_diff) must not make the tolerance NaN or infinite.
    finite = np.abs(expected[np.isfinite(expected)])
    scale = float(np.max(finite)) if finite.size else 0.0
    if mode == "f64":
        return TOL_F64 * max(1.0, scale)
    return TOL_F32[kind] * max(1e-3, scale)


def elementwise_ratios(got, expected, mode, kind):
    """Per element, |got - expected| / (tol * (|expected| + typical)),
    where typical is the median magnitude of the expected values (at least 1
    in float64, 1e-3 in float32): a relative-plus-absolute rule that checks
    every element, so that one huge value (exp(88.7) = 1.6e38) does not
    leave the ordinary ones unchecked, as a tolerance scaled by the largest
    value would. At most 1 passes; NaN-ness or infinities that disagree give
    inf."""
    if expected.dtype.kind != "f" or kind == "relative" or expected.size == 0:
        return np.zeros(expected.shape)
    want = np.asarray(expected, dtype=np.float64)
    finite = np.abs(want[np.isfinite(want)])
    typical = float(np.median(finite)) if finite.size else 0.0
    if mode == "f64":
        tol, typical = TOL_F64, max(1.0, typical)
    else:
        tol, typical = TOL_F32[kind], max(1e-3, typical)
    d = differences(got, want)
    with np.errstate(invalid="ignore", over="ignore"):
        scale = tol * (np.where(np.isfinite(want), np.abs(want), 0.0) + typical)
        return np.where(d == 0, 0.0, d / scale)


def elementwise_ratio(got, expected, mode, kind):
    """The largest of elementwise_ratios; at most 1 passes."""
    r = elementwise_ratios(got, expected, mode, kind)
    return float(np.max(r)) if r.size else 0.0


def differences(a, b, relative=False):
    """|a - b| in float64, relative to |b| where b is finite and not 0 if
    `relative`; inf where NaN-ness or infinities disagree."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        d = np.abs(a - b)
        if relative:
            scaled = np.isfinite(b) & (b != 0)
            d = np.where(scaled, d / np.where(scaled, np.abs(b), 1.0), d)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    d = np.where(same, 0.0, d)
    return np.where(np.isnan(d), np.inf, d)


def max_abs_diff(a, b):
    """max |a - b| in float64; inf where NaN-ness or infinities disagree."""
    d = differences(a, b)
    return float(np.max(d)) if d.size else 0.0


def max_rel_diff(a, b):
    """max |a - b| / |b| (|a - b| where b is 0); inf where NaN-ness or
    infinities disagree."""
    d = differences(a, b, relative=True)
    return float(np.max(d)) if d.size else 0.0


def compare_case(c, mode, expected, got, fused=None):
    """Returns (ok, worst error, its tolerance, messages)."""
    ok, worst, worst_tol, worst_ratio, messages = True, 0.0, 0.0, -1.0, []
    float_type = mode_float(mode)
    for key, exp in expected.items():
        element = output_element(c, key, exp, float_type)
        if key not in got:
            return False, math.inf, 0.0, ["output %s missing" % key]
        g = got[key]
        if g.shape != exp.shape:
            ok = False
            messages.append("output %s: shape %s, expected %s"
                            % (key, list(g.shape), list(exp.shape)))
            continue
        want = np.dtype(NP_OF_ELEMENT[element])
        if g.dtype != want and not (want == np.bool_ and g.dtype == np.uint8):
            ok = False
            messages.append("output %s: dtype %s, expected %s (%s)"
                            % (key, g.dtype, want, element))
        tol = tolerance(mode, c.kind, exp)
        diff = max_rel_diff if c.kind == "relative" else max_abs_diff
        checks = [("expected", diff(g, exp), tol)]
        if fused is not None and key in fused:
            checks.append(("fused f32 run", diff(g, fused[key]), tol))
        # Every element, against its own magnitude (ratio, passing at 1).
        checks.append(("expected, element-wise", elementwise_ratio(g, exp, mode, c.kind), 1.0))
        for what, e, tol in checks:
            ratio = e / tol if tol > 0 else (0.0 if e == 0 else math.inf)
            if ratio > worst_ratio:
                worst, worst_tol, worst_ratio = e, tol, ratio
            if not e <= tol:
                ok = False
                ref = fused[key] if what == "fused f32 run" else exp
                if what == "expected, element-wise":
                    flat = elementwise_ratios(g, exp, mode, c.kind).reshape(-1)
                else:
                    flat = differences(g, ref, relative=c.kind == "relative").reshape(-1)
                at = int(np.argmax(flat)) if flat.size else 0
                idx = np.unravel_index(at, exp.shape) if exp.ndim else ()
                messages.append(
                    "output %s vs %s: max|diff| %.3g > tol %.3g at %s: got %r, "
                    "want %r" % (key, what, e, tol, list(map(int, idx)),
                                 np.asarray(g)[idx].item(),
                                 np.asarray(ref)[idx].item()))
    return ok, worst, worst_tol, messages


# --------------------------------------------------------------------------
# Random ops
# --------------------------------------------------------------------------


def default_kiln_run():
    if os.environ.get("KILN_RUN"):
        return os.environ["KILN_RUN"]
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "build", "bin",
                                         "kiln-run"))


def single_case_module(c, mode):
    expected = expected_outputs(c, mode_float(mode))
    text, _ = build_module([(0, c)], mode_float(mode), lambda _: expected)
    return text


class Tally:
    """Prints one line per check and counts passes and failures."""

    def __init__(self, name_width):
        self.name_width = name_width
        self.passes = 0
        self.failures = []

    def add(self, ok, name, mode, err, tol, messages=()):
        print("%s  %-*s  %-12s  max_err=%-10.3g tol=%.3g"
              % ("PASS" if ok else "FAIL", self.name_width, name, mode, err,
                 tol), flush=True)
        for m in messages:
            for line in m.splitlines()[:60]:
                print("      " + line)
        if ok:
            self.passes += 1
        else:
            self.failures.append("%s [%s]" % (name, mode))

    def finish(self, runner, start, workdir, keep):
        """Prints the totals and the failures, removes `workdir` unless
        `keep`; the suite's exit status."""
        print("\n%d passed, %d failed; %d kiln-run calls, %.1f s in "
              "kiln-run, %.1f s wall"
              % (self.passes, len(self.failures), runner.calls,
                 runner.seconds, time.time() - start))
        if self.failures:
            print("failed:")
            for f in self.failures:
                print("  " + f)
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print("files kept in " + workdir)
        return 1 if self.failures else 0


def parse_suite_args(doc, all_modes):
    """The command line shared by the reference suites: (args, modes), the
    modes checked against `all_modes`, f32 added when f32-nofusion (which is
    compared against it) is asked for alone."""
    parser = argparse.ArgumentParser(
        description=doc.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--filter", default="",
                        help="run only cases whose name contains SUBSTR")
    parser.add_argument("--kiln-run", default=default_kiln_run(),
                        help="path of kiln-run (default: $KILN_RUN or "
                        "../../build/bin/kiln-run)")
    parser.add_argument("--modes", default=",".join(all_modes),
                        help="comma-separated subset of " + ",".join(all_modes))
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="kiln-run processes at a time (default 2)")
    parser.add_argument("--kiln-run-arg", action="append", default=[],
                        metavar="ARG", help="extra kiln-run argument, e.g. "
                        "--kiln-run-arg=--library-calls=off (repeatable)")
    parser.add_argument("--timeout", type=int, default=600,
                        help="seconds per kiln-run call")
    parser.add_argument("--keep", metavar="DIR",
                        help="keep modules, inputs and outputs under DIR")
    parser.add_argument("--show-mlir", action="store_true",
                        help="print the module of each failing case")
    parser.add_argument("--list", action="store_true",
                        help="list the cases and exit")
    args = parser.parse_args()

    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in all_modes:
            parser.error("unknown mode %r" % m)
    if "f32-nofusion" in modes and "f32" not in modes:
        modes.insert(modes.index("f32-nofusion"), "f32")
    return args, modes
