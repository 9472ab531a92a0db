#!/usr/bin/env python3
"""Reference tests of Kiln's reverse-mode autodiff, checked against PyTorch.

Every graph op that has a gradient rule (dialects/Graph/IR/GraphGradients.cpp)
is differentiated on several shapes. Each case is a module with one public
function

    func.func @loss(%a: ... {graph.param = "a"}, ..., %cot: tensor<OUT>
                    {graph.input = "cot"}) -> (tensor<T> {graph.output = "loss"})
      %y = <the op(s)>
      %gt_prod = graph.mul %y, %cot          // a random cotangent: every
      %gt_loss = graph.reduce_sum %gt_prod   // element of %y matters
      return %gt_loss

which Kiln compiles into an extra entry `grad` (loss and grad.NAME for each
graph.param argument). `kiln-run --jit --entry=grad` is run once per case and
mode, and `loss` and every `grad.NAME` are compared with torch.autograd in
float64 (integer operands, such as labels, and the cotangent are graph.input).
Modes:

  f64           params, inputs and compute in float64;
                pass if max|got - expected| <= 1e-9 * max(1, max|expected|)
  f32           values rounded to float32, expected computed in float64 from the
                rounded values; pass if max|got - expected| <= 1e-4 *
                max(1e-3, max|expected|) (2e-4 where a gradient or the forward
                op reduces over more than 100 terms: matmul, conv)
  f32-nofusion  as f32, compiled with --fusion=off; must meet the f32 tolerance
                both against the expected values and against the fused f32 run

An output whose element type a case fixes (cast f32 <-> f64) is held to the
tolerance of its own type. Each output (loss, grad.NAME) is one check.

Cases of the group `ties` put arguments exactly on a kink (abs and relu at 0,
clamp at its bounds, ties of maximum/minimum, reduce_max/min and max_pool2d),
where PyTorch's choice of subgradient is the reference: abs'(0) = 0, relu'(0)
= 0, clamp passes the gradient at its bounds, maximum/minimum and amax/amin
split it evenly between tied values, max_pool2d gives it to the first maximum
of each window.

Independently of PyTorch, a central finite-difference check (mode fd-f64)
perturbs each element of the small params of a few cases by +-1e-6 and
evaluates the loss of all the perturbed copies in one kiln-run call (a function
@fd holding one copy of the loss body per perturbation); pass if
max|(L+ - L-) / (x+ - x-) - grad| <= 1e-6 * max(1, max|grad|), grad being
Kiln's float64 `grad` entry.

Usage:  python3 test_gradients.py [--filter SUBSTR] [--kiln-run PATH]
                                  [--jobs N] [--modes f64,f32,f32-nofusion,fd]
                                  [--keep DIR] [--show-mlir] [--list]
                                  [--kiln-run-arg=ARG ...]
kiln-run defaults to $KILN_RUN, else ../../build/bin/kiln-run next to this file.
Prints one line per check: PASS|FAIL name mode max_err tol; exits 1 if any
check fails. Only the standard library, numpy and torch are used (and the
helpers of harness.py and safetensors.py beside this file; the cases are in
gradient_cases.py and model_gradient_cases.py, built with gradient_harness.py).
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
import torch  # noqa: E402

from harness import (Runner, Tally, arr, max_abs_diff,  # noqa: E402
                     parse_suite_args, substitute_types, tensor_type, to_torch)
from gradient_harness import CASES, FD_CASES  # noqa: E402
import gradient_cases  # noqa: E402,F401  (registers the cases)
import model_gradient_cases  # noqa: E402,F401  (and then the rest)

torch.set_num_threads(1)

MODES = ("f64", "f32", "f32-nofusion", "fd")
TOL_F64 = 1e-9
TOL_F32 = {"default": 1e-4, "long": 2e-4}
FD_STEP = 1e-6
TOL_FD = 1e-6

NP_OF_ELEMENT = {"f32": np.float32, "f64": np.float64, "i64": np.int64,
                 "i32": np.int32, "i1": np.bool_}


# --------------------------------------------------------------------------
# Building modules
# --------------------------------------------------------------------------


def mode_float(mode):
    return "f64" if mode in ("f64", "fd") else "f32"


def arg_element(c, name, array, float_type):
    if array.dtype.kind == "f":
        return c.types.get(name, float_type)
    return {np.dtype(np.int64): "i64", np.dtype(np.int32): "i32",
            np.dtype(np.bool_): "i1"}[array.dtype]


def y_element(c, float_type):
    return c.y_type or float_type


def all_args(c):
    """[(name, array, is_param)], params first, the cotangent last."""
    return ([(k, v, True) for k, v in c.params.items()]
            + [(k, v, False) for k, v in c.inputs.items()]
            + [("cot", c.cot, False)])


def mode_values(c, float_type):
    """{argument name: array as passed in this mode (floats rounded)}."""
    out = {}
    for name, a, _ in all_args(c):
        element = y_element(c, float_type) if name == "cot" else \
            arg_element(c, name, a, float_type)
        if element in ("f32", "f64"):
            a = a.astype(NP_OF_ELEMENT[element])
        out[name] = a
    return out


def loss_function(c, float_type, prefix="", params_as_inputs=False):
    """(args, body lines, (returned value, its type)) of one copy of @loss."""
    values = mode_values(c, float_type)
    types = {"T": float_type}
    for name, a in values.items():
        types[name] = tensor_type(a.shape, arg_element(c, name, a, float_type)
                                  if name != "cot" else y_element(c, float_type))
    for name, (shape, element) in c.inter.items():
        types[name] = tensor_type(shape, float_type if element == "T" else element)
    y_type = tensor_type(c.y_shape, y_element(c, float_type))
    types["y"] = y_type

    def substitute(text):
        return substitute_types(text, types, prefix, c.name)

    args = []
    for name, _, is_param in all_args(c):
        role = "param" if is_param and not params_as_inputs else "input"
        args.append("%%%s%s: %s {graph.%s = \"%s%s\"}"
                    % (prefix, name, types[name], role, prefix, name))
    body = [substitute(line) for line in c.body.split("\n") if line.strip()]
    body.append("%%%sgt_prod = graph.mul %%%sy, %%%scot : %s, %s"
                % (prefix, prefix, prefix, y_type, y_type))
    result = "%" + prefix + "gt_prod"
    if c.y_shape:
        body.append("%%%sgt_loss = graph.reduce_sum %%%sgt_prod {dims = %s} : %s"
                    % (prefix, prefix, arr(range(len(c.y_shape))), y_type))
        result = "%" + prefix + "gt_loss"
    return args, body, (result, tensor_type((), y_element(c, float_type)))


def loss_module(c, float_type):
    args, body, (value, typ) = loss_function(c, float_type)
    lines = ["module {",
             "  func.func @loss(%s) -> (%s {graph.output = \"loss\"}) {"
             % (", ".join(args), typ)]
    lines += ["    " + line for line in body]
    lines += ["    return %s : %s" % (value, typ), "  }", "}", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Expected values (PyTorch, float64)
# --------------------------------------------------------------------------


def expected_outputs(c, float_type):
    """{"loss": ..., "grad.NAME": ...} in float64 from the mode's values."""
    values = mode_values(c, float_type)
    t = {}
    leaves = []
    for name, _, is_param in all_args(c):
        x = to_torch(values[name])
        if is_param:
            x.requires_grad_(True)
            leaves.append(x)
        t[name] = x
    y = c.ref(t)
    if tuple(y.shape) != c.y_shape:
        raise ValueError("case %s: reference shape changed" % c.name)
    loss = (y.double() * t["cot"]).sum()
    if loss.requires_grad:
        grads = torch.autograd.grad(loss, leaves, allow_unused=True)
    else:
        grads = [None] * len(leaves)
    out = {"loss": loss.detach().numpy()}
    for name, g in zip(c.params, grads):
        out["grad." + name] = np.zeros(c.params[name].shape) if g is None \
            else g.detach().numpy()
    return out


def output_element(c, key, float_type):
    if key == "loss":
        return y_element(c, float_type)
    name = key[len("grad."):]
    return arg_element(c, name, c.params[name], float_type)


# --------------------------------------------------------------------------
# Comparing
# --------------------------------------------------------------------------


def tolerance(element, kind, expected):
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    if element == "f64":
        return TOL_F64 * max(1.0, scale)
    return TOL_F32[kind] * max(1e-3, scale)


def worst_at(got, want):
    d = np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64))
    d = np.where(np.isnan(d), np.inf, d).reshape(-1)
    at = int(np.argmax(d)) if d.size else 0
    idx = np.unravel_index(at, np.shape(want)) if np.ndim(want) else ()
    return list(map(int, idx)), np.asarray(got)[idx].item(), \
        np.asarray(want)[idx].item()


def compare_output(element, kind, want, got, fused=None):
    """(ok, err, tol, messages) of one output."""
    if got is None:
        return False, math.inf, 0.0, ["output missing from the results file"]
    if got.shape != want.shape:
        return False, math.inf, 0.0, ["shape %s, expected %s"
                                       % (list(got.shape), list(want.shape))]
    messages = []
    ok = True
    if got.dtype != np.dtype(NP_OF_ELEMENT[element]):
        ok = False
        messages.append("dtype %s, expected %s" % (got.dtype, element))
    tol = tolerance(element, kind, want)
    err = max_abs_diff(got, want)
    worst = err
    if not err <= tol:
        ok = False
        idx, g, w = worst_at(got, want)
        messages.append("max|diff| %.3g > tol %.3g at %s: got %r, want %r"
                        % (err, tol, idx, g, w))
    if fused is not None:
        e2 = max_abs_diff(got, fused)
        worst = max(worst, e2)
        if not e2 <= tol:
            ok = False
            idx, g, w = worst_at(got, fused)
            messages.append("vs the fused f32 run: max|diff| %.3g > tol %.3g at "
                            "%s: got %r, fused %r" % (e2, tol, idx, g, w))
    return ok, worst, tol, messages


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------


def run_case(runner, c, mode):
    """Runs the grad entry; returns ({output: array}, None) or (None, error)."""
    float_type = mode_float(mode)
    values = mode_values(c, float_type)
    params = {k: values[k] for k in c.params}
    inputs = {k: v for k, v in values.items() if k not in c.params}
    return runner.run("%s_%s" % (c.name, mode), loss_module(c, float_type),
                      inputs, fusion=mode != "f32-nofusion", entry="grad",
                      params=params)


def fd_copies(c):
    """[(param, flat index, sign)] of the perturbed copies."""
    copies = []
    for name in c.fd:
        for i in range(c.params[name].size):
            copies += [(name, i, +1), (name, i, -1)]
    return copies


def fd_module(c):
    """@fd: one copy of the loss per perturbation, all args graph.input."""
    args, body, returns = [], [], []
    for j in range(len(fd_copies(c))):
        a, b, ret = loss_function(c, "f64", "k%d_" % j, params_as_inputs=True)
        args += a
        body += b
        returns.append(ret)
    lines = ["module {",
             "  func.func @fd(%s) -> (%s) {" % (
                 ", ".join(args), ", ".join("%s {graph.output = \"l%d\"}" % (t, j)
                                            for j, (_, t) in enumerate(returns)))]
    lines += ["    " + line for line in body]
    lines += ["    return %s : %s" % (", ".join(v for v, _ in returns),
                                      ", ".join(t for _, t in returns)),
              "  }", "}", ""]
    return "\n".join(lines)


def run_fd(runner, c):
    """Returns [(output, ok, err, tol, messages)] of a finite-difference case."""
    name_of = ["grad." + p for p in c.fd]
    got, error = run_case(runner, c, "fd")
    if error is not None:
        return [(k, False, math.inf, 0.0, ["grad entry: " + error])
                for k in name_of]
    base = mode_values(c, "f64")
    inputs, steps = {}, []
    for j, (p, i, sign) in enumerate(fd_copies(c)):
        for k, v in base.items():
            v = v.copy()
            if k == p:
                flat = v.reshape(-1)
                flat[i] = flat[i] + sign * FD_STEP
                steps.append(flat[i])
            inputs["k%d_%s" % (j, k)] = v
    out, error = runner.run(c.name + "_fd", fd_module(c), inputs, entry="fd")
    if error is not None:
        return [(k, False, math.inf, 0.0, ["fd entry: " + error]) for k in name_of]
    lines = []
    j = 0
    for p in c.fd:
        n = c.params[p].size
        fd = np.zeros(n)
        for i in range(n):
            plus = float(out["l%d" % j])
            minus = float(out["l%d" % (j + 1)])
            fd[i] = (plus - minus) / (steps[j] - steps[j + 1])
            j += 2
        fd = fd.reshape(c.params[p].shape)
        g = got.get("grad." + p)
        if g is None:
            lines.append(("grad." + p, False, math.inf, 0.0,
                          ["grad.%s missing from the grad entry's results" % p]))
            continue
        g = np.asarray(g, np.float64)
        tol = TOL_FD * max(1.0, float(np.max(np.abs(g))) if g.size else 0.0)
        err = max_abs_diff(fd, g)
        msgs = []
        if not err <= tol:
            idx, a, b = worst_at(fd, g)
            msgs.append("max|fd - grad| %.3g > tol %.3g at %s: fd %r, grad %r"
                        % (err, tol, idx, a, b))
        lines.append(("grad." + p, err <= tol, err, tol, msgs))
    return lines


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def main():
    args, modes = parse_suite_args(__doc__, MODES)
    cases = [c for c in CASES if args.filter in c.name]
    fd_cases = [c for c in FD_CASES if args.filter in c.name] \
        if "fd" in modes else []
    run_modes = [m for m in modes if m != "fd"]
    if args.list:
        for c in cases + fd_cases:
            print("%-8s %-50s params %s" % (c.group, c.name, ", ".join(
                "%s%s" % (k, list(v.shape)) for k, v in c.params.items())))
        return 0
    if not os.path.isfile(args.kiln_run):
        print("error: kiln-run not found at %s (use --kiln-run or $KILN_RUN)"
              % args.kiln_run, file=sys.stderr)
        return 2

    # Expected values first: a failure here is a bug of the test, not Kiln.
    expected = {}
    for c in cases:
        for ft in {mode_float(m) for m in run_modes}:
            expected[(c.name, ft)] = expected_outputs(c, ft)

    workdir = args.keep or tempfile.mkdtemp(prefix="kiln-test-gradients-")
    os.makedirs(workdir, exist_ok=True)
    runner = Runner(args.kiln_run, workdir, args.timeout, args.kiln_run_arg)
    name_width = max([len(c.name) + 12 for c in cases + fd_cases] + [44])

    start = time.time()
    tally = Tally(name_width)
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = {(c.name, m): pool.submit(run_case, runner, c, m)
                   for c in cases for m in run_modes}
        fd_futures = {c.name: pool.submit(run_fd, runner, c) for c in fd_cases}
        for c in cases:
            fused = None
            for mode in run_modes:
                ft = mode_float(mode)
                want = expected[(c.name, ft)]
                got, error = futures[(c.name, mode)].result()
                if mode == "f32":
                    fused = got
                messages_all = []
                for key, w in want.items():
                    label = "%s %s" % (c.name, key)
                    if error is not None:
                        ok, err, tol, msgs = False, math.inf, 0.0, [error]
                        error = "(same kiln-run failure as above)"
                    else:
                        f = fused.get(key) if (mode == "f32-nofusion" and
                                               fused is not None) else None
                        ok, err, tol, msgs = compare_output(
                            output_element(c, key, ft), c.kind, w,
                            got.get(key), f)
                    messages_all += msgs
                    tally.add(ok, label, mode, err, tol, msgs)
                if messages_all and args.show_mlir:
                    print("      module of this case (%s):" % ft)
                    for line in loss_module(c, ft).splitlines():
                        print("        " + line)
        for c in fd_cases:
            results = fd_futures[c.name].result()
            for key, ok, err, tol, msgs in results:
                tally.add(ok, "%s %s" % (c.name, key), "fd-f64", err, tol, msgs)
            if args.show_mlir and not all(r[1] for r in results):
                print("      module of this case:")
                for line in loss_module(c, "f64").splitlines():
                    print("        " + line)

    return tally.finish(runner, start, workdir, args.keep)


if __name__ == "__main__":
    sys.exit(main())
