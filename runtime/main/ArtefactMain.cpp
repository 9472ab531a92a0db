//===- ArtefactMain.cpp - main() of an executable built by kilnc ----------===//
//
//   ./model train --epochs 5 [--seed S] [--data fashion-mnist|text|synthetic]
//           [--data-dir DIR] [--train-file F --test-file G (with --data text)]
//           Text models (gpt, bert) read a character corpus instead: the
//           fortunes package, or [--train-file TEXT [--test-file TEXT]]
//           [--checkpoint C.safetensors --checkpoint-every N]
//           [--resume C.safetensors] [--metrics M.csv] [--save-params P]
//           [--steps-per-epoch N] [--threads N] [--check-numerics]
//           [--deterministic]
//   ./model eval --params P.safetensors [--data ...]
//   ./gpt generate --params P.safetensors [--prompt TEXT] [--tokens N]
//           [--temperature T] [--top-k K] [--seed S] [--kv-cache on|off]
//   ./bert fill --params P.safetensors --text "Th_ qu_ck" [--mask-char C]
//   ./gan sample --params P.safetensors [--n 64] [--seed S]
//           [--out samples.safetensors] [--png samples.png]
//   ./vae reconstruct --params P.safetensors [--n 64] [--out ...] [--png ...]
//   ./ddpm sample --params P.safetensors [--steps 1000 | --ddim 50] ...
//   ./gan fid --cnn cnn.so --cnn-params C.safetensors --params P.safetensors
//           [--n 10000] [--ddim 50] [--samples model|train|noise|FILE]
//           [--reference test|FILE]   (Fréchet distance in cnn features)
//   ./model run --entry=forward --params=P.safetensors
//           --inputs=I.safetensors --outputs=O.safetensors [--check-numerics]
//   ./model list               (the entry points and their tensors)
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/Artefact.h"
#include "kiln/runtime/RunCommand.h"
#include "kiln/runtime/Sampling.h"
#include "kiln/runtime/Training.h"

#include <cstdio>
#include <cstring>

extern "C" {
const char *kiln_manifest(void);
int64_t kiln_num_entries(void);
const KilnEntryRecord *kiln_entry_table(void);
}

using namespace kiln::rt;

static int fail(const char *program, const std::string &message) {
  std::fprintf(stderr, "%s: error: %s\n", program, message.c_str());
  return 1;
}

int main(int argc, char **argv) {
  auto artefact =
      Artefact::linked(kiln_manifest, kiln_num_entries, kiln_entry_table);
  if (!artefact.ok())
    return fail(argv[0], artefact.status().message());
  std::string command = argc > 1 ? argv[1] : "";
  if (command == "list" || command == "--list") {
    for (const EntrySpec &e : artefact.value()->entries()) {
      std::printf("%s\n", e.name.c_str());
      for (const ArgumentSpec &a : e.arguments)
        std::printf("  %-9s %-32s %s%s\n",
                    a.kind == ArgKind::Input     ? "input"
                    : a.kind == ArgKind::Buffer ? "buffer"
                                                : "parameter",
                    a.tensor.name.c_str(), dtypeName(a.tensor.dtype),
                    formatShape(a.tensor.shape).c_str());
      for (const TensorSpec &r : e.results)
        std::printf("  %-9s %-32s %s%s\n", "output", r.name.c_str(),
                    dtypeName(r.dtype), formatShape(r.shape).c_str());
    }
    return 0;
  }
  Artefact &a = *artefact.value();
  CompiledModel model{a.entries(),
                      [&](const std::string &e, std::vector<HostTensor> &args,
                          std::vector<HostTensor> &results) {
                        return a.run(e, args, results);
                      }};
  if (command == "train" || command == "eval") {
    TrainOptions options;
    std::string params;
    if (Status s = parseTrainFlags(argc, argv, 2, options,
                                   command == "eval" ? &params : nullptr);
        !s.ok())
      return fail(argv[0], s.message());
    if (command == "eval" && params.empty())
      return fail(argv[0], "eval needs --params=P.safetensors");
    Status s = command == "train" ? train(model, options)
                                  : evaluate(model, params, options);
    return s.ok() ? 0 : fail(argv[0], s.message());
  }
  if (command == "generate") {
    GenerateOptions options;
    Status s = parseGenerateFlags(argc, argv, 2, options);
    if (s.ok())
      s = generate(model, options);
    return s.ok() ? 0 : fail(argv[0], s.message());
  }
  if (command == "fill") {
    FillOptions options;
    Status s = parseFillFlags(argc, argv, 2, options);
    if (s.ok())
      s = fill(model, options);
    return s.ok() ? 0 : fail(argv[0], s.message());
  }
  if (command == "sample" || command == "reconstruct") {
    SampleOptions options;
    options.reconstruct = command == "reconstruct";
    Status s = parseSampleFlags(argc, argv, 2, options);
    if (s.ok())
      s = sample(model, options);
    return s.ok() ? 0 : fail(argv[0], s.message());
  }
  if (command == "fid") {
    FrechetOptions options;
    Status s = parseFrechetFlags(argc, argv, 2, options);
    if (s.ok())
      s = frechet(model, options);
    return s.ok() ? 0 : fail(argv[0], s.message());
  }
  // `run` (also the default when the first argument is a flag).
  int first = command == "run" ? 2 : 1;
  if (command != "run" && !command.empty() && command.rfind("--", 0) != 0)
    return fail(argv[0], "unknown command '" + command +
                             "'; commands: train, eval, generate, fill, sample, "
                             "reconstruct, fid, run, list");
  StatusOr<RunRequest> request = parseRunFlags(argc, argv, first);
  if (!request.ok())
    return fail(argv[0], request.status().message());
  Status s = runEntryOnFiles(a.entries(), model.run, request.value());
  if (!s.ok())
    return fail(argv[0], s.message());
  return 0;
}
