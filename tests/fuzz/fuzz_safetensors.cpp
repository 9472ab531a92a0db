// The safetensors reader on any bytes: read or refused, and what is read
// holds together (every tensor's bytes inside its buffer, names findable).
#include "FuzzSupport.h"

#include "kiln/runtime/SafeTensors.h"

#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = kiln::fuzz::inputFile(data, size, ".safetensors");
  auto file = kiln::rt::readSafeTensors(path);
  if (!file.ok())
    return 0;
  volatile uint8_t sink = 0;
  for (const kiln::rt::NamedTensor &t : file->tensors) {
    if (file->find(t.name) == nullptr)
      __builtin_trap();
    const auto *bytes = static_cast<const uint8_t *>(t.tensor.data());
    for (size_t i = 0; i < t.tensor.sizeInBytes(); ++i)
      sink = sink ^ bytes[i];
  }
  return 0;
}
