//===- ArtefactMain.cpp - main() of an executable built by kilnc ----------===//
//
//   ./model --entry=forward --params=P.safetensors --inputs=I.safetensors
//           --outputs=O.safetensors
//   ./model --list            (the entry points and their tensors)
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/Artefact.h"
#include "kiln/runtime/RunCommand.h"

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
  if (argc == 2 && std::strcmp(argv[1], "--list") == 0) {
    for (const EntrySpec &e : artefact.value()->entries()) {
      std::printf("%s\n", e.name.c_str());
      for (const ArgumentSpec &a : e.arguments)
        std::printf("  %-9s %-32s %s%s\n",
                    a.kind == ArgKind::Input ? "input" : "parameter",
                    a.tensor.name.c_str(), dtypeName(a.tensor.dtype),
                    formatShape(a.tensor.shape).c_str());
      for (const TensorSpec &r : e.results)
        std::printf("  %-9s %-32s %s%s\n", "output", r.name.c_str(),
                    dtypeName(r.dtype), formatShape(r.shape).c_str());
    }
    return 0;
  }
  StatusOr<RunRequest> request = parseRunFlags(argc, argv, 1);
  if (!request.ok())
    return fail(argv[0], request.status().message());
  Artefact &a = *artefact.value();
  Status s = runEntryOnFiles(
      a.entries(),
      [&](const std::string &e, std::vector<HostTensor> &args,
          std::vector<HostTensor> &results) { return a.run(e, args, results); },
      request.value());
  if (!s.ok())
    return fail(argv[0], s.message());
  return 0;
}
