// The .npy reader on any bytes.
#include "FuzzSupport.h"

#include "kiln/runtime/Npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = kiln::fuzz::inputFile(data, size, ".npy");
  auto tensor = kiln::rt::readNpy(path);
  if (tensor.ok())
    kiln::fuzz::readEvery(*tensor);
  return 0;
}
