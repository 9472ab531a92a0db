#!/usr/bin/env python3
"""Writes small ONNX models into the folder given, good and broken, for the
ONNX frontend's tests (Debian's python3-onnx builds them)."""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
rng = np.random.default_rng(0)


def save(model, name, check=True):
    if check:
        onnx.checker.check_model(model)
    with open(os.path.join(out, name), "wb") as f:
        f.write(model.SerializeToString())


def model(nodes, inputs, outputs, initializers=(), opset=17, domain=None):
    graph = helper.make_graph(nodes, "g", inputs, outputs,
                              initializer=list(initializers))
    opsets = [helper.make_opsetid("", opset)]
    if domain:
        opsets.append(helper.make_opsetid(domain, 1))
    return helper.make_model(graph, opset_imports=opsets)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


# mlp: x [N, 2, 2] -> reshape to [N, 4] through the exporters' Shape ->
# Gather -> Unsqueeze -> Concat chain -> fc1 (MatMul + Add) -> Relu ->
# fc2 (Gemm, transB) -> y [N, 3].
w1 = rng.standard_normal((4, 5)).astype(np.float32)
b1 = rng.standard_normal(5).astype(np.float32)
w2 = rng.standard_normal((3, 5)).astype(np.float32)
b2 = rng.standard_normal(3).astype(np.float32)
mlp_nodes = [
    helper.make_node("Shape", ["x"], ["shape"]),
    helper.make_node("Gather", ["shape", "zero"], ["n"], axis=0),
    helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
    helper.make_node("Concat", ["n1", "minus_one"], ["target"], axis=0),
    helper.make_node("Reshape", ["x", "target"], ["flat"]),
    helper.make_node("MatMul", ["flat", "fc1.weight"], ["h0"], name="fc1"),
    helper.make_node("Add", ["h0", "fc1.bias"], ["h1"]),
    helper.make_node("Relu", ["h1"], ["h"]),
    helper.make_node("Gemm", ["h", "fc2.weight", "fc2.bias"], ["y"],
                     transB=1, name="fc2"),
]
mlp_inits = [init("fc1.weight", w1), init("fc1.bias", b1),
             init("fc2.weight", w2), init("fc2.bias", b2),
             init("zero", np.array(0, dtype=np.int64)),
             init("axes", np.array([0], dtype=np.int64)),
             init("minus_one", np.array([-1], dtype=np.int64))]
x_info = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 2])
y_info = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])
mlp = model(mlp_nodes, [x_info], [y_info], mlp_inits)
save(mlp, "mlp.onnx")
np.save(os.path.join(out, "mlp_x.npy"),
        rng.standard_normal((2, 2, 2)).astype(np.float32))
blob = mlp.SerializeToString()

# Broken files.
with open(os.path.join(out, "truncated.onnx"), "wb") as f:
    f.write(blob[: len(blob) // 2])
with open(os.path.join(out, "garbage.onnx"), "wb") as f:
    f.write(bytes(rng.integers(0, 256, 4096, dtype=np.uint8)))
open(os.path.join(out, "empty.onnx"), "wb").close()

a_info = helper.make_tensor_value_info("a", TensorProto.FLOAT, [2])
b_info = helper.make_tensor_value_info("b", TensorProto.FLOAT, [2])
# A cycle: p = Add(a, q), q = Relu(p).
save(model([helper.make_node("Add", ["a", "q"], ["p"], name="first"),
            helper.make_node("Relu", ["p"], ["q"], name="second")],
           [a_info], [helper.make_tensor_value_info("q", TensorProto.FLOAT,
                                                    [2])]),
     "cycle.onnx", check=False)
# A node reading a value nothing defines.
save(model([helper.make_node("Add", ["a", "nowhere"], ["b"], name="adder")],
           [a_info], [b_info]), "missing-input.onnx", check=False)
# An output no node defines.
save(model([helper.make_node("Relu", ["a"], ["b"])], [a_info],
           [b_info, helper.make_tensor_value_info("c", TensorProto.FLOAT,
                                                  [2])]),
     "missing-output.onnx", check=False)


def with_initializer(tensor, name):
    nodes = [helper.make_node("Add", ["a", tensor.name], ["b"])]
    save(model(nodes, [a_info], [b_info], [tensor]), name, check=False)


# An initializer whose data is shorter than its shape.
short = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2],
                    raw_data=b"\0\0\0\0")
with_initializer(short, "short-initializer.onnx")
# One of 2^40 elements (its data, of course, is not there).
huge = TensorProto(name="w", data_type=TensorProto.FLOAT,
                   dims=[1 << 20, 1 << 20], raw_data=b"\0" * 8)
with_initializer(huge, "huge-initializer.onnx")


def external(location, name, length=None):
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2])
    t.data_location = TensorProto.EXTERNAL
    entry = t.external_data.add()
    entry.key, entry.value = "location", location
    if length is not None:
        entry = t.external_data.add()
        entry.key, entry.value = "length", str(length)
    with_initializer(t, name)


external("weights.bin", "external.onnx")
np.array([1.5, -2.0], dtype=np.float32).tofile(os.path.join(out,
                                                            "weights.bin"))
external("../weights.bin", "external-parent.onnx")
external("/etc/passwd", "external-absolute.onnx")
external("link.bin", "external-link.onnx")
external("weights.bin", "external-long.onnx", length=800)
external("missing.bin", "external-missing.onnx")

# Inputs of 2^40 elements.
save(model([helper.make_node("Relu", ["big"], ["out"])],
           [helper.make_tensor_value_info("big", TensorProto.FLOAT,
                                          [1 << 20, 1 << 20])],
           [helper.make_tensor_value_info("out", TensorProto.FLOAT,
                                          [1 << 20, 1 << 20])]),
     "huge-input.onnx")
# What Kiln does not support: named in the error.
save(model([helper.make_node("Acos", ["a"], ["b"], name="my_acos")],
           [a_info], [b_info]), "unsupported-op.onnx")
pool_in = helper.make_tensor_value_info("img", TensorProto.FLOAT, [1, 1, 5, 5])
pool_out = helper.make_tensor_value_info("o", TensorProto.FLOAT, [1, 1, 3, 3])
save(model([helper.make_node("MaxPool", ["img"], ["o"], name="pool",
                             kernel_shape=[2, 2], strides=[2, 2],
                             ceil_mode=1)],
           [pool_in], [pool_out]), "unsupported-attribute.onnx")
save(model([helper.make_node("FusedGemm", ["a", "a"], ["b"], name="fused",
                             domain="com.microsoft")],
           [a_info], [b_info], domain="com.microsoft"),
     "custom-domain.onnx", check=False)
save(model([helper.make_node("Relu", ["a"], ["b"])], [a_info], [b_info],
           opset=99), "opset-99.onnx", check=False)
u8 = helper.make_tensor_value_info("a", TensorProto.UINT8, [2])
save(model([helper.make_node("Identity", ["a"], ["b"])], [u8],
           [helper.make_tensor_value_info("b", TensorProto.UINT8, [2])]),
     "uint8.onnx")

# Attention as exporters write it: q @ transpose(k) / sqrt(d), a causal
# mask built from Trilu and Where(-inf), softmax, @ v (q, k, v [1, 2, 4, 8]).
def attention_model(name, mask, softmax_axis=-1):
    info = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 2, 4, 8])
            for n in ("q", "k", "v")]
    nodes = [helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
             helper.make_node("MatMul", ["q", "kt"], ["s"]),
             helper.make_node("Div", ["s", "root"], ["scaled"])]
    inits = [init("root", np.array(np.sqrt(8), dtype=np.float32))]
    last = "scaled"
    if mask:
        nodes += [helper.make_node("Constant", [], ["ones"],
                                   value=numpy_helper.from_array(
                                       np.ones((4, 4), dtype=np.float32))),
                  helper.make_node("Trilu", ["ones", "one"], ["future"],
                                   upper=1),
                  helper.make_node("Cast", ["future"], ["cond"],
                                   to=TensorProto.BOOL),
                  helper.make_node("Where", ["cond", "minus_inf", "scaled"],
                                   ["masked"])]
        inits += [init("one", np.array(1, dtype=np.int64)),
                  init("minus_inf", np.array(-np.inf, dtype=np.float32))]
        last = "masked"
    nodes += [helper.make_node("Softmax", [last], ["p"], axis=softmax_axis),
              helper.make_node("MatMul", ["p", "v"], ["o"])]
    out_info = helper.make_tensor_value_info("o", TensorProto.FLOAT,
                                             [1, 2, 4, 8])
    save(model(nodes, info, [out_info], inits), name)


attention_model("attention.onnx", mask=False)
attention_model("causal-attention.onnx", mask=True)
attention_model("softmax-axis2.onnx", mask=False, softmax_axis=2)
for n in ("q", "k", "v"):
    np.save(os.path.join(out, "attn_%s.npy" % n),
            rng.standard_normal((1, 2, 4, 8)).astype(np.float32))

# Slices with negative steps: x[:, ::-1] and x[:, 3:0:-2] of x [2, 5].
def slice_model(name, start, end, step):
    x_in = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5])
    n = len(range(5)[start:end:step])
    y_out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, n])
    save(model([helper.make_node("Slice", ["x", "s", "e", "a", "k"], ["y"])],
               [x_in], [y_out],
               [init("s", np.array([start], np.int64)),
                init("e", np.array([end], np.int64)),
                init("a", np.array([1], np.int64)),
                init("k", np.array([step], np.int64))]), name)


slice_model("reverse.onnx", -1, -(1 << 63), -1)
slice_model("backwards.onnx", 3, 0, -2)
np.save(os.path.join(out, "slice_x.npy"),
        rng.standard_normal((2, 5)).astype(np.float32))

# Nearest upsampling by 2 (what PyTorch's nn.Upsample exports): x [1, 2, 2, 3].
img_in = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 2, 3])
img_out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 4, 6])
save(model([helper.make_node("Resize", ["x", "", "scales"], ["y"],
                             mode="nearest",
                             coordinate_transformation_mode="asymmetric",
                             nearest_mode="floor")],
           [img_in], [img_out],
           [init("scales", np.array([1, 1, 2, 2], np.float32))]),
     "upsample.onnx")
np.save(os.path.join(out, "upsample_x.npy"),
        rng.standard_normal((1, 2, 2, 3)).astype(np.float32))
