#!/usr/bin/env python3
"""The reference checkers fail on the errors they exist to catch.

A checker that lets NaN through (`max()` or `>` keeping the worst error)
passes a model whose every parameter comes back NaN. Here kiln-run is
wrapped so that its float outputs are NaN (planted/nan_kiln_run.py), and
test_optimizers.py must then fail: for SGD (float64 and float32) and for
Adam, on the parameters alone (the loss left intact) and on the loss alone.
Prints PASS|FAIL per planted error; exits 1 if a checker missed one.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


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
