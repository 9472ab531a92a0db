#!/usr/bin/env python3
"""The reference checkers fail on the errors they exist to catch.

A checker that lets NaN through (`max()` or `>` keeping the worst error)
passes a model whose every parameter comes back NaN. Here kiln-run is
wrapped so that its float outputs are NaN (planted/nan_kiln_run.py), and
test_optimizers.py must then fail: for SGD (float64 and float32) and for
Adam, on the parameters alone (the loss left intact) and on the loss alone.
The op suite's comparison (harness.compare_case) must fail on a 1% error
in an ordinary lane of exp/16_lanes_special, whose largest value (exp(88.7))
would hide it from a tolerance scaled by the largest value, and on one NaN.

Prints PASS|FAIL per planted error; exits 1 if a checker missed one.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def op_suite_plants():
    """[(caught, what)] for errors planted in the op suite's comparison."""
    sys.path.insert(0, HERE)
    import numpy as np
    import harness
    import op_cases  # noqa: F401  (registers the cases)
    case = next(c for c in harness.CASES if c.name == "exp/16_lanes_special")
    results = []
    for mode in ("f64", "f32"):
        expected = harness.expected_outputs(case, harness.mode_float(mode))
        dtype = np.float64 if mode == "f64" else np.float32
        exact = {k: v.astype(dtype) for k, v in expected.items()}
        ok, _, _, _ = harness.compare_case(case, mode, expected, exact)
        results.append((ok, "op suite: the exact result passes (%s)" % mode))
        for lane, factor, what in ((13, 1.01, "a 1%% error in lane 13 (exp(0.5))"),
                                   (4, np.nan, "a NaN in lane 4 (exp(0))")):
            planted = {k: v.copy() for k, v in exact.items()}
            planted["y"][0, lane] = planted["y"][0, lane] * factor
            ok, _, _, msgs = harness.compare_case(case, mode, expected, planted)
            results.append((not ok, "op suite: %s of exp/16_lanes_special (%s)"
                            % (what % (), mode)))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kilnc", required=True)
    parser.add_argument("--kiln-run", required=True)
    args = parser.parse_args()
    wrapper = os.path.join(HERE, "planted", "nan_kiln_run.py")
    plants = [
        ("sgd-nesterov", "fc1.weight,fc1.bias,fc2.weight,fc2.bias,fc3.weight,fc3.bias",
         "every parameter NaN"),
        ("adam-clip", "fc3.bias", "one parameter NaN"),
        ("sgd-nesterov", "loss", "the loss NaN"),
    ]
    failures = 0
    for caught, what in op_suite_plants():
        failures += not caught
        print("%s  %s" % ("PASS" if caught else "FAIL", what))
    for config, names, what in plants:
        env = dict(os.environ, KILN_RUN_REAL=args.kiln_run, PLANT_NAN=names)
        run = subprocess.run(
            ["/usr/bin/python3", os.path.join(HERE, "test_optimizers.py"),
             "--kilnc", args.kilnc, "--kiln-run", wrapper, "--filter", config],
            env=env, capture_output=True, text=True)
        lines = [l for l in run.stdout.splitlines() if l.startswith(("PASS", "FAIL"))]
        caught = (run.returncode == 1 and lines
                  and all(l.startswith("FAIL") and "inf" in l for l in lines))
        failures += not caught
        print("%s  test_optimizers %s, %s: exit %d" %
              ("PASS" if caught else "FAIL", config, what, run.returncode))
        for l in lines:
            print("      " + l)
        if not caught:
            print(run.stderr[-2000:])
    print("all planted errors caught" if not failures else "%d missed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
