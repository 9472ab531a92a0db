"""The op reference suite (tests/reference/op_cases.py, model_op_cases.py)
as one graph module per float type, for GPU artefacts: every case, one
function @f whose
arguments and results carry each case's prefix (c<index>_).

    ops_module.py f32 OUT.mlir      writes the module (scripts/gpu-check.sh)

gpu_check.py imports it to rebuild the same module's inputs and expected
values where the artefact runs: only shapes are compiled in, so inputs drawn
there match the artefact whatever numpy draws.
"""
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))

from harness import CASES, build_module, expected_outputs  # noqa: E402
import op_cases  # noqa: E402,F401  (registers the cases in CASES)
import model_op_cases  # noqa: E402,F401


def gpu_cases():
    return list(CASES)


def module(float_type):
    """(text, inputs, indexed cases)."""
    indexed = list(enumerate(gpu_cases()))
    text, inputs = build_module(indexed, float_type,
                                lambda c: expected_outputs(c, float_type))
    return text, inputs, indexed


if __name__ == "__main__":
    text, _, indexed = module(sys.argv[1])
    with open(sys.argv[2], "w") as f:
        f.write(text)
    print("%d op cases in %s" % (len(indexed), sys.argv[1]))
