//===- ArtefactMain.cpp - main() of an executable built by kilnc ----------===//
//
// An executable built by `kilnc --emit=exe` runs one of the commands below
// on its compiled model; `./model --help` lists those its entry points
// allow, `./model COMMAND --help` gives a command's flags.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/Artefact.h"
#include "kiln/runtime/Cuda.h"
#include "kiln/runtime/RunCommand.h"
#include "kiln/runtime/Sampling.h"
#include "kiln/runtime/Threads.h"
#include "kiln/runtime/Training.h"
#include "main/Mpi.h"

#include <cstdio>
#include <cstring>
#include <functional>

extern "C" {
const char *kiln_manifest(void);
int64_t kiln_num_entries(void);
const KilnEntryRecord *kiln_entry_table(void);
// Linked (from the runtime's archive) only when the model was compiled for
// the GPU: its launches call the CUDA runtime, which defines this.
const KilnCudaApi *kiln_cuda_api(void) __attribute__((weak));
}

using namespace kiln::rt;

namespace {

int fail(const char *program, const std::string &message) {
  std::fprintf(stderr, "%s: error: %s\n", program, message.c_str());
  return 1;
}

bool has(const std::vector<EntrySpec> &entries, const char *name) {
  return findEntry(entries, name) != nullptr;
}

bool trains(const std::vector<EntrySpec> &entries) {
  for (const EntrySpec &e : entries)
    if (e.name == "train_step" || e.name.rfind("train_step_", 0) == 0)
      return true;
  return false;
}

bool samples(const std::vector<EntrySpec> &entries) {
  return has(entries, "sample") || has(entries, "ddpm_step") ||
         has(entries, "energy_grad");
}

/// An autoencoder: a `sample` entry and a `forward` whose result has as
/// many elements as its input images (logits [B, H*W] of x [B, 1, H, W]).
bool reconstructs(const std::vector<EntrySpec> &entries) {
  const EntrySpec *forward = findEntry(entries, "forward");
  if (!has(entries, "sample") || !forward || forward->results.empty())
    return false;
  auto elements = [](const std::vector<int64_t> &shape) {
    int64_t count = 1;
    for (int64_t size : shape)
      count *= size;
    return count;
  };
  for (const ArgumentSpec &a : forward->arguments)
    if (a.kind == ArgKind::Input && a.tensor.name == "x")
      return elements(a.tensor.shape) == elements(forward->results[0].shape);
  return false;
}

/// One command: what it does, its flags, whether this model's entry points
/// allow it, and what runs it.
struct Command {
  const char *name;
  const char *summary;
  const char *flags;
  std::function<bool(const std::vector<EntrySpec> &)> available;
  std::function<Status(const CompiledModel &, int, char **)> run;
};

/// A command that parses its flags into `Options` (starting from `initial`)
/// and runs `run` with them.
template <typename Options>
std::function<Status(const CompiledModel &, int, char **)>
parsedThen(Status (*parse)(int, char **, int, Options &),
           Status (*run)(const CompiledModel &, const Options &),
           Options initial = {}) {
  return [=](const CompiledModel &model, int argc, char **argv) {
    Options options = initial;
    Status s = parse(argc, argv, 2, options);
    return s.ok() ? run(model, options) : s;
  };
}

constexpr const char *kDataFlags =
    "  --data fashion-mnist|text|synthetic   (default fashion-mnist; text "
    "models\n"
    "                        read a character corpus: the fortunes package)\n"
    "  --data-dir DIR        Fashion-MNIST's folder (default\n"
    "                        /usr/share/datasets/fashion-mnist)\n"
    "  --train-file F --test-file G   text data: a label and 784 pixels per "
    "line,\n"
    "                        or a text corpus for gpt and bert\n"
    "  --threads N           threads (default: KILN_NUM_THREADS, else every "
    "CPU)\n";

std::vector<Command> commands() {
  return {
      {"train", "train the model and report test loss and accuracy per epoch",
       "  --epochs N            epochs (default 1)\n"
       "  --steps-per-epoch N   at most N steps per epoch\n"
       "  --seed S              shuffling, initialization and drawn noise\n"
       "  --checkpoint C.safetensors [--checkpoint-every N]   save the "
       "whole state\n"
       "                        (every N steps, each epoch, and on Ctrl-C or "
       "SIGTERM)\n"
       "  --resume C.safetensors   continue a checkpoint, bit for bit\n"
       "  --save-params P.safetensors   the trained parameters, PyTorch's "
       "names\n"
       "  --init-params P.safetensors   start from these parameters "
       "(fine-tuning;\n"
       "                        an imported .onnx model's: kilnc "
       "--save-params)\n"
       "  --metrics M.csv       loss and accuracy per epoch\n"
       "  --plot P.svg          draw them at the end\n"
       "  --profile T.json [--profile-steps N]   time every kernel of N steps\n"
       "                        (default 10, after one more): a Chrome trace "
       "and\n"
       "                        the top ops with their GFLOP/s and GB/s\n"
       "  --stop-after-steps N  stop (and checkpoint) after N steps\n"
       "  --check-numerics      stop at the first NaN or infinity, naming its "
       "op\n"
       "  --deterministic       the same results on any thread count\n"
       "  under mpirun -np N: data-parallel, each rank a batch of the global\n"
       "                        batch N x the compiled one; rank 0 prints and "
       "writes\n"
       "  --bucket-mb M         gradients summed across ranks in buckets of M "
       "MiB\n"
       "                        while the backward pass runs (default 1; 0: "
       "after it);\n"
       "                        GPU executables: NCCL groups of M MiB after "
       "it\n",
       trains,
       [](const CompiledModel &model, int argc, char **argv) {
         TrainOptions options;
         if (Status s = parseTrainFlags(argc, argv, 2, options, nullptr);
             !s.ok())
           return s;
         if (!startedByMpirun())
           return train(model, options);
         // Under mpirun: data-parallel across the ranks. An error on one
         // rank ends them all (the others may be waiting for it).
         StatusOr<std::unique_ptr<Communicator>> ranks = mpiCommunicator();
         if (!ranks.ok())
           return ranks.status();
         options.communicator = ranks.value().get();
         Status s = train(model, options);
         // Interrupted, every rank stopped at the same step after rank 0
         // wrote its checkpoint: nothing to abort.
         if (!s.ok() && ranks.value()->size() > 1 &&
             s.message() != "interrupted") {
           std::fprintf(stderr, "%s: error: rank %d: %s\n", argv[0],
                        ranks.value()->rank(), s.message().c_str());
           ranks.value()->abort(1);
         }
         return s;
       }},
      {"eval", "test loss and accuracy of saved parameters",
       "  --params P.safetensors   parameters (--save-params) or a "
       "checkpoint\n",
       [](const std::vector<EntrySpec> &e) {
         return has(e, "forward") || has(e, "loss");
       },
       [](const CompiledModel &model, int argc, char **argv) {
         TrainOptions options;
         std::string params;
         if (Status s = parseTrainFlags(argc, argv, 2, options, &params);
             !s.ok())
           return s;
         if (params.empty())
           return Status::error("eval needs --params=P.safetensors");
         return evaluate(model, params, options);
       }},
      {"generate", "continue a prompt, character by character",
       "  --params P.safetensors   trained parameters\n"
       "  --prompt TEXT  --tokens N  --temperature T  --top-k K  --seed S\n"
       "  --kv-cache on|off     decode with the key/value cache (default on)\n"
       "  --threads N\n",
       [](const std::vector<EntrySpec> &e) { return has(e, "prefill"); },
       parsedThen(parseGenerateFlags, generate)},
      {"fill", "fill the masked characters of a text",
       "  --params P.safetensors   trained parameters\n"
       "  --text \"Th_ qu_ck\"     the text; --mask-char C marks the gaps "
       "(default _)\n"
       "  --threads N\n",
       [](const std::vector<EntrySpec> &e) { return has(e, "fill"); },
       parsedThen(parseFillFlags, fill)},
      {"sample", "draw images: safetensors and a PNG grid",
       "  --params P.safetensors   trained parameters\n"
       "  --n N                 images (default 64)\n"
       "  --steps N | --ddim N  ddpm: ancestral steps (default 1000) or DDIM "
       "steps\n"
       "  --seed S  --out S.safetensors  --png S.png  --threads N\n",
       samples,
       parsedThen(parseSampleFlags, sample)},
      {"reconstruct", "test images and their reconstructions, as a grid",
       "  --params P.safetensors  --n N  --out R.safetensors  --png R.png\n"
       "  --data-dir DIR  --threads N\n",
       reconstructs,
       parsedThen(parseSampleFlags, sample, [] {
         SampleOptions options;
         options.reconstruct = true;
         return options;
       }())},
      {"fid", "Frechet distance of samples in a trained cnn's features",
       "  --cnn cnn.so --cnn-params C.safetensors   the feature extractor\n"
       "  --params P.safetensors   this model's parameters\n"
       "  --samples model|train|noise|FILE   what is scored (default model)\n"
       "  --reference test|FILE  against (default the test set)\n"
       "  --n N (default 10000)  --ddim N  --seed S  --threads N\n",
       samples,
       parsedThen(parseFrechetFlags, frechet)},
      {"run", "run one entry point on tensors from files",
       "  --entry=E --params=P.safetensors --inputs=I.safetensors\n"
       "  --outputs=O.safetensors (or .npy for one result)\n"
       "  [--threads=N] [--check-numerics]\n"
       "  [--repeat=N] [--profile=trace.json]   time every kernel (Chrome "
       "trace + top ops)\n",
       [](const std::vector<EntrySpec> &) { return true; }, nullptr},
      {"list", "the entry points and their tensors", "",
       [](const std::vector<EntrySpec> &) { return true; }, nullptr},
  };
}

bool isHelp(const char *arg) {
  return !std::strcmp(arg, "--help") || !std::strcmp(arg, "-h") ||
         !std::strcmp(arg, "help");
}

/// The commands this model allows, with a line each.
void printOverview(std::FILE *out, const char *program,
                   const std::vector<EntrySpec> &entries) {
  std::fprintf(out, "usage: %s COMMAND [flags]    (%s COMMAND --help: its "
                    "flags)\n\ncommands:\n",
               program, program);
  for (const Command &c : commands())
    if (c.available(entries))
      std::fprintf(out, "  %-12s %s\n", c.name, c.summary);
}

void printCommandHelp(const char *program, const Command &c) {
  std::printf("usage: %s %s [flags]\n%s.\n\nflags:\n%s", program, c.name,
              c.summary, c.flags);
  if (!std::strcmp(c.name, "train") || !std::strcmp(c.name, "eval"))
    std::printf("%s", kDataFlags);
}

void list(const std::vector<EntrySpec> &entries) {
  for (const EntrySpec &e : entries) {
    std::printf("%s\n", e.name.c_str());
    for (const ArgumentSpec &a : e.arguments)
      std::printf("  %-9s %-32s %s%s\n",
                  a.kind == ArgKind::Input    ? "input"
                  : a.kind == ArgKind::Buffer ? "buffer"
                                              : "parameter",
                  a.tensor.name.c_str(), dtypeName(a.tensor.dtype),
                  formatShape(a.tensor.shape).c_str());
    for (const TensorSpec &r : e.results)
      std::printf("  %-9s %-32s %s%s\n", "output", r.name.c_str(),
                  dtypeName(r.dtype), formatShape(r.shape).c_str());
  }
}

} // namespace

/// Takes --device=D (or --device D) out of the arguments; "" if absent.
std::string takeDevice(int &argc, char **argv) {
  std::string device;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (!std::strncmp(argv[i], "--device=", 9)) {
      device = argv[i] + 9;
      continue;
    }
    if (!std::strcmp(argv[i], "--device") && i + 1 < argc) {
      device = argv[++i];
      continue;
    }
    argv[out++] = argv[i];
  }
  argc = out;
  return device;
}

int main(int argc, char **argv) {
  boundOpenMpSpinning(argv);
  auto artefact = Artefact::linked(kiln_manifest, kiln_num_entries,
                                   kiln_entry_table, kiln_cuda_api);
  if (!artefact.ok())
    return fail(argv[0], artefact.status().message());
  Artefact &a = *artefact.value();
  // Where the model runs is where it was compiled for; --device names it.
  std::string device = takeDevice(argc, argv);
  if (!device.empty())
    if (Status s = a.checkDevice(device, "this program"); !s.ok())
      return fail(argv[0], s.message());
  // Help (the program's or a command's) and the entry list need no GPU.
  bool wantsHelp = argc < 2 || isHelp(argv[1]) ||
                   !std::strcmp(argv[1], "list") ||
                   !std::strcmp(argv[1], "--list");
  for (int i = 2; i < argc && !wantsHelp; ++i)
    wantsHelp = isHelp(argv[i]);
  if (a.onGpu() && !wantsHelp)
    if (Status s = a.initializeGpu(); !s.ok())
      return fail(argv[0], s.message());
  const std::vector<EntrySpec> &entries = a.entries();
  if (argc < 2) {
    printOverview(stderr, argv[0], entries);
    return 2;
  }
  std::string command = argv[1];
  if (isHelp(argv[1])) {
    printOverview(stdout, argv[0], entries);
    return 0;
  }
  // `run` is also the command when the first argument is a flag.
  if (command == "--list")
    command = "list";
  else if (command.rfind("--", 0) == 0)
    command = "run";
  const std::vector<Command> all = commands();
  const Command *chosen = nullptr;
  for (const Command &c : all)
    if (command == c.name)
      chosen = &c;
  if (!chosen || !chosen->available(entries)) {
    std::string names;
    for (const Command &c : all)
      if (c.available(entries))
        names += (names.empty() ? "" : ", ") + std::string(c.name);
    return fail(argv[0], (chosen ? "this model has no command '"
                                 : "unknown command '") +
                             command + "'; commands: " + names +
                             " (--help describes them)");
  }
  for (int i = 2; i < argc; ++i)
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      printCommandHelp(argv[0], *chosen);
      return 0;
    }
  if (command == "list") {
    list(entries);
    return 0;
  }
  std::string name = argv[0];
  name = name.substr(name.find_last_of('/') + 1);
  CompiledModel model{entries,
                      [&](const std::string &e, std::vector<HostTensor> &args,
                          std::vector<HostTensor> &results) {
                        return a.run(e, args, results);
                      },
                      name, &a};
  if (command == "run") {
    StatusOr<RunRequest> request =
        parseRunFlags(argc, argv, std::string(argv[1]) == "run" ? 2 : 1);
    if (!request.ok())
      return fail(argv[0], request.status().message());
    request.value().onGpu = a.onGpu();
    Status s = runEntryOnFiles(entries, model.run, request.value());
    return s.ok() ? 0 : fail(argv[0], s.message());
  }
  Status s = chosen->run(model, argc, argv);
  return s.ok() ? 0 : fail(argv[0], s.message());
}
