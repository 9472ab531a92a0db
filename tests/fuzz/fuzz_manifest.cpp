// The manifest parser on any text; what it accepts binds arguments and
// results of the shapes it declares.
#include "kiln/runtime/Artefact.h"
#include "kiln/runtime/Manifest.h"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string json(reinterpret_cast<const char *>(data), size);
  auto entries = kiln::rt::parseManifest(json);
  if (!entries.ok())
    return 0;
  for (const kiln::rt::EntrySpec &e : *entries) {
    // Allocating what a manifest declares must fail cleanly when huge.
    auto results = kiln::rt::allocateResults(e);
    (void)results;
  }
  return 0;
}
