// A checkpoint on any bytes: the safetensors file, then the progress its
// metadata records; what is accepted is in range.
#include "FuzzSupport.h"

#include "kiln/runtime/SafeTensors.h"
#include "train/Checkpoint.h"

#include <cmath>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = kiln::fuzz::inputFile(data, size, ".safetensors");
  auto file = kiln::rt::readSafeTensors(path);
  if (!file.ok())
    return 0;
  auto progress = kiln::rt::readProgress(*file, path);
  if (progress.ok() &&
      (progress->epoch < 0 || progress->batch < 0 || progress->steps < 0 ||
       progress->lossCount < 0 || !std::isfinite(progress->lossSum)))
    __builtin_trap();
  return 0;
}
