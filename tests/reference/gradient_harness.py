"""What the gradient cases are made of: Case, the registries CASES and
FD_CASES that test_gradients.py runs, and the input generators, all
drawing from one RNG (so the order in which gradient_cases.py and then
model_gradient_cases.py register their cases fixes every input)."""

import numpy as np
import torch

from harness import make_generators, to_torch

RNG = np.random.default_rng(20240917)


class Case:
    """One differentiated function.

    params:  {name: float64 array}: graph.param arguments, differentiated.
    inputs:  {name: array}: graph.input arguments, not differentiated (int64,
             int32 and bool arrays keep their type; float64 ones follow the
             mode like params).
    body:    MLIR lines that end in `%y`; `%name` names an argument or an SSA
             value, `$name` is replaced by the tensor type of an argument, of
             `y` or of an `inter` entry, `$T` by the mode's float type.
    ref:     function({name: torch float64 tensor (int for int inputs)}) -> y.
    types:   {argument name: "f32" | "f64"}: a float element type that does
             not follow the mode.
    y_type:  the element type of %y when it does not follow the mode.
    inter:   {ssa name: (shape, element type or "T")} for intermediates whose
             type a later line spells.
    kind:    "default" or "long" (f32 tolerance 2e-4).
    fd:      None, or the names of the params the finite-difference check
             perturbs (the case is then run in the fd mode only).
    """

    def __init__(self, group, name, params, body, ref, inputs=None, kind="default",
                 types=None, y_type=None, inter=None, fd=None):
        self.group = group
        self.name = name
        self.params = params
        self.inputs = inputs or {}
        self.body = body
        self.ref = ref
        self.kind = kind
        self.types = types or {}
        self.y_type = y_type
        self.inter = inter or {}
        self.fd = fd
        # The output shape, from the reference, gives the cotangent's shape.
        with torch.no_grad():
            y = ref({k: to_torch(v) for k, v in
                     list(self.params.items()) + list(self.inputs.items())})
        self.y_shape = tuple(y.shape)
        self.cot = randn(self.y_shape)


CASES = []
FD_CASES = []


def case(group, name, params, body, ref, **kw):
    CASES.append(Case(group, name, params, body, ref, **kw))


def fd_case(name, params, body, ref, fd=None, **kw):
    FD_CASES.append(Case("fd", "fd/" + name, params, body, ref,
                         fd=list(params) if fd is None else fd, **kw))


# ---- input generators (float64 numpy arrays) -----------------------------

randn, uniform, signed_away_from_zero, ints, choice, bools = \
    make_generators(RNG)


def distinct(shape, step=0.375):
    """Distinct values, exact in float32, `step` apart: no ties, no kinks
    within a finite-difference step."""
    n = int(np.prod(shape, dtype=np.int64))
    return ((RNG.permutation(n) - n // 2) * step).astype(np.float64) \
        .reshape(shape)
