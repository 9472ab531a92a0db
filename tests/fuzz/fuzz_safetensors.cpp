// The safetensors reader on any bytes: read or refused, and what is read
// holds together (every tensor's bytes inside its buffer, names findable).
#include "FuzzSupport.h"

#include "kiln/runtime/SafeTensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = kiln::fuzz::inputFile(data, size, ".safetensors");
  auto file = kiln::rt::readSafeTensors(path);
  if (!file.ok())
    return 0;
  for (const kiln::rt::NamedTensor &t : file->tensors) {
    if (file->find(t.name) == nullptr)
      __builtin_trap();
    kiln::fuzz::readEvery(t.tensor);
  }
  return 0;
}
