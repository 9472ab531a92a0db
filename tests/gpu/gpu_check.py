#!/usr/bin/env python3
"""Kiln's GPU artefacts on an NVIDIA GPU, against PyTorch on the same GPU.

Runs on a machine with the NVIDIA driver and PyTorch (CUDA) but no LLVM,
MLIR or oneDNN: the artefacts were compiled elsewhere (scripts/gpu-check.sh
prepare) and are loaded here with ctypes. Each is a shared library whose
entry points take device pointers: PyTorch's CUDA tensors are passed as
they are (one primary context), so no copy separates the two.

    gpu_check.py DIR                 numerics, a short training run, speed
    gpu_check.py DIR --fake-driver L --fake-cublaslt C --fake-cudnn D
                                     the same calls through a CUDA driver in
                                     host memory (tests/unit/FakeCudaDriver)
                                     with cuBLASLt's matmul and cuDNN's
                                     convolutions on the host (FakeCublasLt,
                                     FakeCudnn): the plumbing only, no
                                     numbers checked
    gpu_check.py DIR --cpu           artefacts compiled for the CPU: every
                                     check of numbers, run on the host (the
                                     checks' own test)

Ops: every case of the op reference suite in float32
and float64, one artefact each, against its PyTorch reference with the CPU
suite's tolerances (tests/reference/harness.py). Numerics: every model of
DIR/models.txt, its forward, loss and every
gradient against the reference model of tests/reference/test_models.py in
float64 on the CPU, from the same float32 weights and batch; tolerance
1e-4 of the largest magnitude, as the CPU's suite (the gradients of models
with ReLU kinks, which float32 rounding moves across, by relative norm
1e-3). Training: the cnn trains one pass over the training images carried
and is evaluated on the test set. Bandwidth: a fused elementwise kernel
and a softmax beside a device-to-device copy of the same tensor. Speed:
each train step beside PyTorch eager and torch.compile (Adam, same
batch), in milliseconds and as ratios.
Exit 1 if a check fails.
"""

import argparse
import ctypes
import gzip
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import test_models as tm  # noqa: E402

DTYPES = {"f32": torch.float32, "f64": torch.float64, "i64": torch.int64,
          "i32": torch.int32, "bool": torch.uint8, "u8": torch.uint8,
          "i8": torch.int8}


class Api(ctypes.Structure):
    """KilnCudaApi (runtime/include/kiln/runtime/Cuda.h)."""
    _fields_ = [
        ("version", ctypes.c_int),
        ("initialize", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p,
                                        ctypes.c_size_t)),
        ("allocate", ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_size_t)),
        ("release", ctypes.CFUNCTYPE(None, ctypes.c_void_p)),
        ("copyToDevice", ctypes.CFUNCTYPE(None, ctypes.c_void_p,
                                          ctypes.c_void_p, ctypes.c_size_t)),
        ("copyToHost", ctypes.CFUNCTYPE(None, ctypes.c_void_p,
                                        ctypes.c_void_p, ctypes.c_size_t)),
        ("beginEntry", ctypes.CFUNCTYPE(None, ctypes.c_char_p)),
        ("finish", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p,
                                    ctypes.c_size_t)),
        ("submit", ctypes.CFUNCTYPE(
            ctypes.c_int,
            ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                             ctypes.c_char_p, ctypes.c_size_t),
            ctypes.c_void_p)),
        ("deviceOrdinal", ctypes.CFUNCTYPE(ctypes.c_int)),
        ("deviceBusId", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p,
                                         ctypes.c_size_t)),
        ("captureBegin", ctypes.CFUNCTYPE(ctypes.c_int)),
        ("captureEnd", ctypes.CFUNCTYPE(ctypes.c_void_p)),
        ("launchGraph", ctypes.CFUNCTYPE(None, ctypes.c_void_p)),
        ("destroyGraph", ctypes.CFUNCTYPE(None, ctypes.c_void_p)),
    ]


class Record(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("packed", ctypes.c_void_p)]


Packed = ctypes.CFUNCTYPE(None, ctypes.POINTER(ctypes.c_void_p))


class Artefact:
    """A GPU artefact: its manifest and entry points, on tensors of
    `device` (cuda, or cpu with the fake driver)."""

    def __init__(self, path, device):
        self.lib = ctypes.CDLL(os.path.abspath(path))
        self.device = device
        self.lib.kiln_manifest.restype = ctypes.c_char_p
        self.lib.kiln_num_entries.restype = ctypes.c_int64
        self.lib.kiln_entry_table.restype = ctypes.POINTER(Record)
        manifest = json.loads(self.lib.kiln_manifest().decode())
        self.entries = {e["name"]: e for e in manifest["entries"]}
        table = self.lib.kiln_entry_table()
        self.functions = {}
        for i in range(self.lib.kiln_num_entries()):
            self.functions[table[i].name.decode()] = Packed(table[i].packed)
        self.api = None
        if hasattr(self.lib, "kiln_cuda_api"):
            self.lib.kiln_cuda_api.restype = ctypes.POINTER(Api)
            self.api = self.lib.kiln_cuda_api().contents
            error = ctypes.create_string_buffer(1024)
            if self.api.initialize(error, len(error)):
                raise RuntimeError(error.value.decode())
        elif device != "cpu":
            raise RuntimeError("%s was compiled for the CPU" % path)

    def arguments(self, entry, given):
        """The tensors of `entry`'s arguments: from `given` by name, the
        rest (optimizer state) zeros."""
        tensors = []
        for a in self.entries[entry]["arguments"]:
            dtype = DTYPES[a["dtype"]]
            if a["name"] in given:
                t = given[a["name"]].to(self.device, dtype).contiguous()
            else:
                t = torch.zeros(a["shape"], dtype=dtype, device=self.device)
            if list(t.shape) != a["shape"]:
                raise ValueError("%s: %s has shape %s, the artefact wants %s"
                                 % (entry, a["name"], list(t.shape),
                                    a["shape"]))
            tensors.append(t)
        return tensors

    def bind(self, entry, arguments):
        """`entry`'s results (made here; those that update an argument are
        that argument) and the packed pointers of a call on `arguments`."""
        spec = self.entries[entry]
        names = [a["name"] for a in spec["arguments"]]
        results, pointers = {}, [t.data_ptr() for t in arguments]
        for r in spec["results"]:
            if "updates" in r:
                t = arguments[names.index(r["updates"])]
            else:
                t = torch.empty(r["shape"], dtype=DTYPES[r["dtype"]],
                                device=self.device)
            results[r["name"]] = t
            pointers.append(t.data_ptr())
        return results, (ctypes.c_void_p * len(pointers))(*pointers)

    def call(self, entry, arguments, sync=True):
        """Runs `entry`; results that update an argument are computed into
        it. Returns {result name: tensor}."""
        results, array = self.bind(entry, arguments)
        # PyTorch's work on the tensors first (Kiln has a stream of its own).
        if self.device == "cuda" and sync:
            torch.cuda.synchronize()
        if self.api:
            self.api.beginEntry(entry.encode())
        self.functions[entry](array)
        if sync:
            self.finish()
        return results

    def record(self, entry, arguments):
        """`entry` on `arguments` as a CUDA graph, as the training
        executables run it from their second call: its results made once
        (a graph holds its buffers' addresses), one call made launch by
        launch, then one recorded. Returns a function that launches it."""
        results, array = self.bind(entry, arguments)
        if self.device == "cuda":
            torch.cuda.synchronize()
        self.api.beginEntry(entry.encode())
        self.functions[entry](array)
        self.finish()
        if self.api.captureBegin():
            raise RuntimeError("the driver records no CUDA graphs")
        self.functions[entry](array)
        graph = self.api.captureEnd()
        self.finish()
        if not graph:
            raise RuntimeError("the capture of %s failed" % entry)

        def launch():
            self.api.launchGraph(graph)
        launch.keep = (arguments, results, array)
        return launch

    def finish(self):
        if not self.api:
            return
        error = ctypes.create_string_buffer(1024)
        if self.api.finish(error, len(error)):
            raise RuntimeError(error.value.decode())


class Report:
    def __init__(self):
        self.failed = 0

    def line(self, ok, what, detail):
        self.failed += not ok
        print("%-4s %-40s %s" % ("ok" if ok else "FAIL", what, detail),
              flush=True)


def compare(report, what, got, want, tol, relative_norm=False):
    got = got.detach().double().cpu().numpy()
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        report.line(False, what, "shape %s, expected %s"
                    % (list(got.shape), list(want.shape)))
        return
    if relative_norm:
        err = float(np.linalg.norm(got - want) /
                    max(np.linalg.norm(want), 1e-30))
        report.line(err <= 1e-3, what, "relative norm %.2e (tol 1e-3)" % err)
        return
    err = float(np.max(np.abs(got - want))) if got.size else 0.0
    report.line(err <= tol, what, "max|diff| %.2e (tol %.2e)" % (err, tol))


def check_numerics(report, directory, name, batch, device, fake):
    _, seed, make_batch, loss_of = tm.MODELS[name]
    model = tm.seeded_model(name)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    gen = torch.Generator().manual_seed(100 + seed)
    forward_inputs, loss_inputs = make_batch(batch, gen)
    artefact = Artefact(os.path.join(directory, name + ".so"), device)

    start = time.time()
    got = {}
    for entry, inputs in (("forward", forward_inputs), ("loss", loss_inputs),
                          ("grad", loss_inputs)):
        given = dict(state)
        given.update(inputs)
        got[entry] = artefact.call(entry, artefact.arguments(entry, given))
    if fake:
        report.line(True, name + "/plumbing", "forward, loss and grad ran "
                    "through the fake driver (%.1f s)" % (time.time() - start))
        return

    reference = tm.seeded_model(name).double()
    wide = {k: v.double() if v.is_floating_point() else v
            for k, v in loss_inputs.items()}
    with torch.no_grad():
        logits = reference.eval()(**{k: v.double() if v.is_floating_point()
                                     else v for k, v in forward_inputs.items()})
        loss = loss_of(reference.train(), wide)
    output = tm.FORWARD_OUTPUT.get(name, "logits")
    scale = lambda t: max(1e-3, float(t.abs().max()))  # noqa: E731
    compare(report, name + "/forward/" + output, got["forward"][output],
            logits.numpy(), 1e-4 * scale(logits))
    compare(report, name + "/loss", got["loss"]["loss"], loss.numpy(),
            1e-4 * scale(loss))
    reference = tm.seeded_model(name).double()
    grad_loss = loss_of(reference.train(), wide)
    grad_loss.backward()
    grads = {"grad." + k: p.grad for k, p in reference.named_parameters()}
    largest = max(float(g.abs().max()) for g in grads.values())
    worst = None
    for key, want in grads.items():
        if key not in got["grad"]:
            report.line(False, name + "/" + key, "missing from the artefact")
            continue
        tol = 1e-4 * max(float(want.abs().max()), 1e-3 * largest)
        before = report.failed
        compare(_Quiet(report), name + "/" + key, got["grad"][key],
                want.numpy(), tol, relative_norm=name in tm.KINKED)
        if report.failed > before and worst is None:
            worst = key
    report.line(worst is None, name + "/grad (%d tensors)" % len(grads),
                "all within tolerance" if worst is None
                else "first failure: " + worst)


class _Quiet:
    """Counts failures without a line per tensor; prints the failing ones."""

    def __init__(self, report):
        self.report = report

    def line(self, ok, what, detail):
        if not ok:
            self.report.line(ok, what, detail)


def check_ops(report, directory, float_type, device, fake):
    import harness
    import ops_module
    text, inputs, indexed = ops_module.module(float_type)
    artefact = Artefact(os.path.join(directory, "ops_%s.so" % float_type),
                        device)
    given = {k: torch.from_numpy(np.array(v, order="C"))
             for k, v in inputs.items()}
    start = time.time()
    outputs = artefact.call("f", artefact.arguments("f", given))
    if fake:
        report.line(True, "ops/%s/plumbing" % float_type,
                    "%d cases ran through the fake driver (%.1f s)"
                    % (len(indexed), time.time() - start))
        return
    failed = 0
    for index, c in indexed:
        prefix = "c%d_" % index
        expected = harness.expected_outputs(c, float_type)
        got = {k: outputs[prefix + k].cpu().numpy() for k in expected
               if prefix + k in outputs}
        ok, worst, tol, messages = harness.compare_case(c, float_type,
                                                        expected, got)
        if not ok:
            failed += 1
            report.line(False, "ops/%s/%s" % (float_type, c.name),
                        "; ".join(messages)[:300])
    report.line(failed == 0, "ops/%s" % float_type,
                "%d of %d cases within tolerance (%.1f s)"
                % (len(indexed) - failed, len(indexed), time.time() - start))


def load_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big")
             for i in range(dims)]
    return np.frombuffer(data, np.uint8,
                         offset=4 + 4 * dims).reshape(shape).copy()


def train_cnn(report, directory, device):
    """One pass of the cnn over the carried training images, then test
    accuracy; far above chance (10%) or a failure."""
    artefact = Artefact(os.path.join(directory, "bench_cnn.so"), device)
    batch = artefact.entries["train_step"]["arguments"][-1]["shape"][0]
    images = np.load(os.path.join(directory, "fashion_train.npz"))
    x_train, y_train = images["x"], images["y"]
    x_test = load_idx(os.path.join(directory, "t10k-images-idx3-ubyte.gz"))
    y_test = load_idx(os.path.join(directory, "t10k-labels-idx1-ubyte.gz"))
    torch.manual_seed(1)
    state = {k: v for k, v in tm.Cnn().state_dict().items()}
    args = artefact.arguments("train_step", state)
    names = [a["name"] for a in artefact.entries["train_step"]["arguments"]]
    ix, iy = names.index("x"), names.index("y")
    order = np.random.default_rng(0).permutation(len(x_train))
    steps = len(x_train) // batch
    start = time.time()
    for s in range(steps):
        take = order[s * batch:(s + 1) * batch]
        args[ix].copy_(torch.from_numpy(x_train[take]).to(device).float()
                       .div_(255).reshape(batch, 1, 28, 28))
        args[iy].copy_(torch.from_numpy(y_train[take].astype(np.int64)))
        loss = artefact.call("train_step", args)["loss"]
    seconds = time.time() - start
    params = {n: t for n, t in zip(names, args)}
    correct = total = 0
    for s in range(len(x_test) // batch):
        x = torch.from_numpy(x_test[s * batch:(s + 1) * batch]).float() / 255
        given = dict(params)
        given["x"] = x.reshape(batch, 1, 28, 28)
        logits = artefact.call("forward",
                               artefact.arguments("forward", given))["logits"]
        labels = torch.from_numpy(
            y_test[s * batch:(s + 1) * batch].astype(np.int64))
        correct += int((logits.argmax(1).cpu() == labels).sum())
        total += batch
    accuracy = correct / total
    report.line(accuracy >= 0.75, "cnn/train %d steps of %d" % (steps, batch),
                "last loss %.3f, test accuracy %.2f%% (%.2f s; an epoch of "
                "60,000 at this rate: %.2f s)"
                % (float(loss), 100 * accuracy, seconds,
                   seconds / (steps * batch) * 60000))


def bench(report, directory, name, device, deadline):
    artefact = Artefact(os.path.join(directory, "bench_%s.so" % name), device)
    spec = artefact.entries["train_step"]
    _, seed, make_batch, loss_of = tm.MODELS[name]
    batch = spec["arguments"][-1]["shape"][0]
    model = tm.seeded_model(name)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    _, loss_inputs = make_batch(batch, torch.Generator().manual_seed(seed))
    given = dict(state)
    given.update(loss_inputs)
    args = artefact.arguments("train_step", given)
    torch.cuda.synchronize()

    def kiln_steps(n):
        for _ in range(n):
            artefact.call("train_step", args, sync=False)
        artefact.finish()

    reference = tm.MODELS[name][0]().to(device).train()
    inputs = {k: v.to(device) for k, v in loss_inputs.items()}
    optimizer = torch.optim.Adam(reference.parameters(), lr=1e-3)

    def torch_step(m):
        optimizer.zero_grad(set_to_none=True)
        loss_of(m, inputs).backward()
        optimizer.step()

    def timed(run, n):
        run(3)
        torch.cuda.synchronize()
        start = time.perf_counter()
        run(n)
        torch.cuda.synchronize()
        return (time.perf_counter() - start) / n * 1000

    n = 30
    launches = timed(kiln_steps, n)
    try:
        graph = artefact.record("train_step", args)

        def kiln_graph_steps(k):
            for _ in range(k):
                graph()
            artefact.finish()

        kiln = timed(kiln_graph_steps, n)
    except RuntimeError as e:
        # The executables then run launch by launch: so is it timed.
        report.line(False, "%s/train_step as a CUDA graph" % name, str(e))
        kiln = launches
    eager = timed(lambda k: [torch_step(reference) for _ in range(k)], n)
    try:
        # torch.compile's own compile takes a minute or more per model.
        if time.time() > deadline:
            raise RuntimeError("skipped: the check's time budget is spent")
        compiled_model = torch.compile(reference)
        compiled = timed(lambda k: [torch_step(compiled_model)
                                    for _ in range(k)], n)
    except Exception as e:  # noqa: BLE001 (no Triton, no compiler)
        compiled = float("nan")
        print("     torch.compile unavailable: %s" % str(e).split("\n")[0])
    best = min(eager, compiled) if compiled == compiled else eager
    report.line(True, "%s/train_step batch %d" % (name, batch),
                "Kiln %.2f ms (one CUDA graph; %.2f ms launch by launch), "
                "eager %.2f ms, torch.compile %.2f ms: %.2fx the faster"
                % (kiln, launches, eager, compiled, best / kiln))


def check_bandwidth(report, directory, device, fake):
    """The fused elementwise kernel and the softmax of bandwidth.so
    (bandwidth_module.py) beside a device-to-device copy of the same
    tensor: each moves the tensor's bytes in and a result's out, so the
    bandwidths compare directly (the issue's target: 70% of the copy's).
    Their results are checked against PyTorch first."""
    artefact = Artefact(os.path.join(directory, "bandwidth.so"), device)
    shape = artefact.entries["elementwise"]["arguments"][0]["shape"]
    x = torch.randn(shape, generator=torch.Generator().manual_seed(3))
    x = x.to(device)
    bytes_moved = 2 * x.numel() * x.element_size()
    wants = {"elementwise": ("y", lambda: -torch.exp(x)),
             "softmax": ("p", lambda: torch.softmax(x, dim=-1))}
    if fake:
        for entry in wants:
            artefact.call(entry, artefact.arguments(entry, {"x": x}))
        report.line(True, "bandwidth/plumbing",
                    "elementwise and softmax ran through the fake driver")
        return

    def seconds(run, n=20):
        run(2)
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        run(n)
        if device == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - start) / n

    copy = torch.empty_like(x)
    copy_rate = bytes_moved / seconds(
        lambda n: [copy.copy_(x) for _ in range(n)])
    for entry, (name, want) in wants.items():
        args = artefact.arguments(entry, {"x": x})
        got = artefact.call(entry, args)[name]
        compare(report, "bandwidth/%s/%s" % (entry, name), got, want().cpu(),
                1e-5 * float(want().abs().max()))

        def kiln(n, entry=entry, args=args):
            for _ in range(n):
                artefact.call(entry, args, sync=False)
            artefact.finish()
        rate = bytes_moved / seconds(kiln)
        share = rate / copy_rate
        # The target is the GPU's; on the host (--cpu) the line reports.
        report.line(device != "cuda" or share >= 0.7,
                    "bandwidth/%s %dx%d" % (entry, shape[0], shape[1]),
                    "%.1f GB/s, %.0f%% of a device-to-device copy's %.1f GB/s "
                    "(target 70%%)" % (rate / 1e9, 100 * share,
                                       copy_rate / 1e9))


def find_library(variable, package, prefix):
    """A CUDA library the artefacts' runtime loads: $variable, else the one
    PyTorch's CUDA build ships (its nvidia-* wheel `package`, or torch/lib),
    else None (the loader's search path decides)."""
    if os.environ.get(variable):
        return os.environ[variable]
    roots = [os.path.join(os.path.dirname(torch.__file__), "lib")]
    try:
        module = __import__("nvidia." + package, fromlist=["__path__"])
        roots += [os.path.join(p, "lib") for p in module.__path__]
    except ImportError:
        pass
    for root in roots:
        if os.path.isdir(root):
            for name in sorted(os.listdir(root), reverse=True):
                if name.startswith(prefix + ".so"):
                    return os.path.join(root, name)
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("directory")
    parser.add_argument("--fake-driver", metavar="LIB",
                        help="run the plumbing through this CUDA driver")
    parser.add_argument("--fake-cublaslt", metavar="LIB",
                        help="with --fake-driver: cuBLASLt on the host")
    parser.add_argument("--fake-cudnn", metavar="LIB",
                        help="with --fake-driver: cuDNN on the host")
    parser.add_argument("--cpu", action="store_true",
                        help="the artefacts were compiled for the CPU")
    parser.add_argument("--budget", type=float, default=300,
                        help="seconds after which torch.compile is skipped")
    args = parser.parse_args()
    deadline = time.time() + args.budget
    fake = args.fake_driver is not None
    if fake:
        os.environ["KILN_CUDA_DRIVER"] = os.path.abspath(args.fake_driver)
        if args.fake_cublaslt:
            os.environ["KILN_CUBLASLT"] = os.path.abspath(args.fake_cublaslt)
        if args.fake_cudnn:
            os.environ["KILN_CUDNN"] = os.path.abspath(args.fake_cudnn)
        device = "cpu"
    elif args.cpu:
        device = "cpu"
    else:
        if not torch.cuda.is_available():
            print("no CUDA device visible to PyTorch")
            return 1
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        device = "cuda"
        print("device: %s; PyTorch %s" % (torch.cuda.get_device_name(0),
                                          torch.__version__))
        for label, variable, package, prefix in [
                ("cuBLASLt", "KILN_CUBLASLT", "cublas", "libcublasLt"),
                ("cuDNN", "KILN_CUDNN", "cudnn", "libcudnn")]:
            found = find_library(variable, package, prefix)
            print("%s: %s" % (label, found))
            if found:
                os.environ.setdefault(variable, found)
    with open(os.path.join(args.directory, "models.txt")) as f:
        plan = [line.split() for line in f if line.strip()]
    report = Report()
    for kind, name, batch in plan:
        try:
            if kind == "ops":
                check_ops(report, args.directory, batch, device, fake)
            elif kind == "numerics":
                check_numerics(report, args.directory, name, int(batch),
                               device, fake)
            elif kind == "bandwidth":
                check_bandwidth(report, args.directory, device, fake)
            elif kind == "train" and not fake:
                train_cnn(report, args.directory, device)
            elif kind == "bench" and device == "cuda":
                bench(report, args.directory, name, device, deadline)
        except Exception as e:  # noqa: BLE001 (a failed check, reported)
            report.line(False, "%s/%s" % (name, kind), str(e))
    print("%d check(s) failed" % report.failed if report.failed
          else "every check passed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
