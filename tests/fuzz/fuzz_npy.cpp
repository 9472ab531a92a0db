// The .npy reader on any bytes.
#include "FuzzSupport.h"

#include "kiln/runtime/Npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = kiln::fuzz::inputFile(data, size, ".npy");
  auto tensor = kiln::rt::readNpy(path);
  if (!tensor.ok())
    return 0;
  volatile uint8_t sink = 0;
  const auto *bytes = static_cast<const uint8_t *>(tensor->data());
  for (size_t i = 0; i < tensor->sizeInBytes(); ++i)
    sink = sink ^ bytes[i];
  return 0;
}
