//===- kiln-run.cpp - Run an entry point of a compiled model --------------===//
//
//   kiln-run MODEL.so --entry=forward --params=P.safetensors
//            --inputs=I.safetensors --outputs=O.safetensors
//   kiln-run MODEL.mlir --jit ...      (compile a graph module in-process)
//
// Parameters and inputs are found by name (PyTorch state_dict keys for
// parameters); results are written under their output names. `.npy` files
// are accepted for a single input (`--inputs=x.npy`) or output.
//
//===----------------------------------------------------------------------===//

#include "compiler/Target/CPU/JitSession.h"

#include "kiln/runtime/Artefact.h"
#include "kiln/runtime/Library.h"
#include "kiln/runtime/RunCommand.h"
#include "kiln/runtime/Threads.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;
using namespace kiln;

namespace {

cl::OptionCategory category("kiln-run options");
cl::opt<std::string> modelFile(cl::Positional, cl::Required,
                               cl::desc("<model.so | model.mlir with --jit>"),
                               cl::cat(category));
cl::opt<bool> jitFlag("jit",
                      cl::desc("The model is a graph .mlir file: compile it "
                               "in-process"),
                      cl::init(false), cl::cat(category));
cl::opt<std::string> entryName("entry", cl::desc("Entry point to run"),
                               cl::init("forward"), cl::cat(category));
cl::opt<std::string> paramsFile("params",
                                cl::desc("Parameters and buffers "
                                         "(.safetensors)"),
                                cl::init(""), cl::cat(category));
cl::opt<std::string> inputsFile("inputs",
                                cl::desc("Inputs (.safetensors, or .npy for "
                                         "an entry with one input)"),
                                cl::init(""), cl::cat(category));
cl::opt<std::string> outputsFile("outputs",
                                 cl::desc("Where to write the results "
                                          "(.safetensors, or .npy for one "
                                          "result)"),
                                 cl::Required, cl::cat(category));
cl::opt<std::string> fusion("fusion",
                            cl::desc("Fuse kernels: on or off (one kernel "
                                     "per op)"),
                            cl::init("on"), cl::cat(category));
cl::opt<std::string> trainStep("train-step",
                               cl::desc("With --jit: the optimizer of "
                                        "train_step (graph-train-step "
                                        "options)"),
                               cl::init(""), cl::cat(category));
cl::opt<std::string> libraryCalls("library-calls",
                                  cl::desc("float32 matmul/conv through "
                                           "oneDNN: on or off (generated "
                                           "code)"),
                                  cl::init("on"), cl::cat(category));
cl::opt<std::string> fusedAttention(
    "fused-attention",
    cl::desc("With --jit: attention and its gradient as loop nests over rows "
             "that recompute the scores (the GPU's form): on or off"),
    cl::init("off"), cl::cat(category));
cl::opt<std::string> channelsLast(
    "channels-last",
    cl::desc("With --jit: float32 convolutions keep channels-last (NHWC) "
             "activations: on or off"),
    cl::init("on"), cl::cat(category));
cl::opt<std::string> deviceName(
    "device",
    cl::desc("Where the entry point runs: cpu (default), or cuda (an "
             "artefact compiled with kilnc --target=cuda, on the first "
             "NVIDIA GPU)"),
    cl::init("cpu"), cl::cat(category));
cl::opt<bool> checkNumerics(
    "check-numerics",
    cl::desc("Scan every kernel's output; fail (after writing the outputs) "
             "naming the first op that wrote a NaN or Inf"),
    cl::init(false), cl::cat(category));

cl::opt<int64_t> repeat("repeat",
                        cl::desc("Run the entry point this many times (the "
                                 "outputs are the last run's)"),
                        cl::init(1), cl::cat(category));
cl::opt<std::string> profile(
    "profile",
    cl::desc("Time every kernel: write a Chrome trace (chrome://tracing, "
             "ui.perfetto.dev) and print the ops that took the most time"),
    cl::value_desc("trace.json"), cl::init(""), cl::cat(category));

int fail(const std::string &message) {
  llvm::errs() << "kiln-run: error: " << message << "\n";
  return 1;
}

} // namespace

/// Takes `--threads=N` / `--threads N` out of argv: LLVM's libraries register
/// a `threads` option of their own, so kiln-run reads this one itself.
std::optional<std::string> takeThreadsFlag(int &argc, char **argv) {
  std::optional<std::string> value;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef arg(argv[i]);
    if (arg.consume_front("--threads=") || arg.consume_front("-threads=")) {
      value = arg.str();
      continue;
    }
    if ((arg == "--threads" || arg == "-threads") && i + 1 < argc) {
      value = argv[++i];
      continue;
    }
    argv[out++] = argv[i];
  }
  argc = out;
  return value;
}

int main(int argc, char **argv) {
  kiln::rt::boundOpenMpSpinning(argv);
  llvm::InitLLVM init(argc, argv);
  std::optional<std::string> threads = takeThreadsFlag(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "kiln-run: run an entry point of a model\n");
  for (const cl::opt<std::string> *flag :
       {&fusion, &libraryCalls, &channelsLast, &fusedAttention})
    if (*flag != "on" && *flag != "off")
      return fail("--" + flag->ArgStr.str() + " must be on or off, got '" +
                  flag->getValue() + "'");
  if (rt::Status s = rt::knownDevice(deviceName); !s.ok())
    return fail(s.message());
  bool cuda = deviceName == "cuda";
  rt::RunRequest request{entryName, paramsFile, inputsFile, outputsFile};
  request.checkNumerics = checkNumerics;
  request.repeat = repeat;
  request.profile = profile;
  if (threads) {
    int64_t n = 0;
    if (llvm::StringRef(*threads).getAsInteger(10, n) || n < 1)
      return fail("--threads must be a positive integer, got '" + *threads +
                  "'");
    request.threads = n;
  }

  if (!jitFlag) {
    if (llvm::StringRef(modelFile).ends_with(".mlir"))
      return fail("'" + modelFile + "' is IR: run it with --jit, or compile "
                  "it first with kilnc --emit=so");
    auto artefact = rt::Artefact::open(modelFile);
    if (!artefact.ok())
      return fail(artefact.status().message());
    rt::Artefact &a = *artefact.value();
    if (rt::Status s = a.checkDevice(deviceName, "'" + modelFile + "'");
        !s.ok())
      return fail(s.message());
    if (cuda) {
      request.onGpu = true;
      if (rt::Status s = a.initializeGpu(); !s.ok())
        return fail(s.message());
    }
    if (request.threads > 0)
      a.setNumThreads(request.threads);
    rt::Status status = rt::runEntryOnFiles(
        a.entries(),
        [&](const std::string &entry, std::vector<rt::HostTensor> &arguments,
            std::vector<rt::HostTensor> &results) {
          return a.run(entry, arguments, results);
        },
        request);
    return status.ok() ? 0 : fail(status.message());
  }

  if (cuda)
    return fail("--jit compiles for the CPU; compile the model with kilnc "
                "--target=cuda --emit=so to run it with --device=cuda");
  auto buffer = llvm::MemoryBuffer::getFile(modelFile);
  if (!buffer)
    return fail("cannot read '" + modelFile +
                "': " + buffer.getError().message());
  jit::Options options;
  options.fusion = fusion == "on";
  options.libraryCalls = libraryCalls == "on";
  options.channelsLast = channelsLast == "on";
  options.fusedAttention = fusedAttention == "on";
  options.trainStep = trainStep;
  // Only the entry that runs is compiled: the others would cost most of
  // the compile time (train_step alone holds forward, backward and update).
  options.entries = {entryName};
  std::string error;
  std::unique_ptr<jit::Session> session =
      jit::Session::compile((*buffer)->getBuffer().str(), options, error);
  if (!session) {
    llvm::errs() << error;
    return fail("cannot compile '" + modelFile + "'");
  }
  rt::Status status = rt::runEntryOnFiles(
      session->entries(),
      [&](const std::string &entry, std::vector<rt::HostTensor> &arguments,
          std::vector<rt::HostTensor> &results) {
        return session->run(entry, arguments, results);
      },
      request);
  if (!status.ok())
    return fail(status.message());
  return 0;
}
