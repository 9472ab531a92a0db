# lit configuration for Kiln's FileCheck tests.
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "Kiln"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.kiln_obj_root, "tests", "lit")

# The sanitizers' settings (lit's own list misses ASAN_OPTIONS).
llvm_config.with_system_environment(["HOME", "TMP", "TEMP", "ASAN_OPTIONS",
                                     "UBSAN_OPTIONS", "LSAN_OPTIONS"])
# A build with KILN_SANITIZE: tests that time or count things unsuited to
# an instrumented build say `UNSUPPORTED: sanitized`.
if config.kiln_sanitize:
    config.available_features.add("sanitized")
llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.kiln_tools_dir, append_path=True)

tools = ["kiln-opt", "kilnc", "kiln-run", "tiny-mlp", "kiln-dsl-cases",
         "kiln-nccl-average-test"]
# The reference numerics use Debian's python3 (numpy, torch), whichever
# interpreter runs lit: replace lit's own %python.
config.substitutions = [s for s in config.substitutions if s[0] != "%python"]
config.substitutions.append(("%python", "/usr/bin/python3"))
config.substitutions.append(("%reference", os.path.join(config.test_source_root, "..", "reference")))
config.substitutions.append(("%kiln_build", config.kiln_obj_root))
config.substitutions.append(("%kiln_src", os.path.abspath(os.path.join(config.test_source_root, "..", ".."))))
llvm_config.add_tool_substitutions(tools, [config.kiln_tools_dir])

if os.path.exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"):
    config.available_features.add("fashion-mnist")
elif os.environ.get("KILN_NO_SKIPS"):
    # Under ctest an unsupported test would pass silently.
    lit_config.fatal("Fashion-MNIST is absent (dataset-fashion-mnist; "
                     "scripts/setup.sh installs it) and KILN_NO_SKIPS is set")

# --target=cuda: the CUDA toolkit's ptxas and libdevice (CUDA_PATH, else
# /usr/local/cuda; not a Debian package, so its tests are optional).
cuda = os.environ.get("CUDA_PATH") or "/usr/local/cuda"
if os.path.exists(os.path.join(cuda, "bin", "ptxas")) and os.path.exists(
        os.path.join(cuda, "nvvm", "libdevice", "libdevice.10.bc")):
    config.available_features.add("cuda-toolkit")
    config.substitutions.append(("%ptxas", os.path.join(cuda, "bin", "ptxas")))
    llvm_config.with_system_environment(["CUDA_PATH"])
# A CUDA driver in host memory (tests/unit/FakeCudaDriver.cpp).
config.substitutions.append(
    ("%fake_cuda", os.path.join(config.kiln_obj_root, "lib", "libkiln-fake-cuda.so")))
# cuBLASLt's matmul on that host memory (tests/unit/FakeCublasLt.cpp).
config.substitutions.append(
    ("%fake_cublaslt", os.path.join(config.kiln_obj_root, "lib", "libkiln-fake-cublaslt.so")))
# cuDNN's convolutions on that host memory (tests/unit/FakeCudnn.cpp).
config.substitutions.append(
    ("%fake_cudnn", os.path.join(config.kiln_obj_root, "lib", "libkiln-fake-cudnn.so")))
# NCCL over MPI on that host memory (tests/unit/FakeNccl.cpp).
config.substitutions.append(
    ("%fake_nccl", os.path.join(config.kiln_obj_root, "lib", "libkiln-fake-nccl.so")))

# Data-parallel runs: Open MPI's launcher, as root in a container (no
# network but the loopback), more ranks than cores allowed.
mpirun = ("mpirun --allow-run-as-root --oversubscribe --bind-to none "
          "--mca btl self,vader --mca btl_vader_single_copy_mechanism none")
# Under the sanitizers, ranks check memory and undefined behaviour but not
# leaks: Open MPI's own allocations (in plugins it unloads at MPI_Finalize,
# so no suppression can name them) are reported as leaks at exit.
if config.kiln_sanitize:
    options = config.environment.get("ASAN_OPTIONS", "")
    options = ":".join(o for o in options.split(":")
                       if o and not o.startswith("detect_leaks="))
    mpirun = "env ASAN_OPTIONS=%s mpirun" % ((options + ":" if options else "")
                                              + "detect_leaks=0") + mpirun[len("mpirun"):]
config.substitutions.append(("%mpirun", mpirun))
