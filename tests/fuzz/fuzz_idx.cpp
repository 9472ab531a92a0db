// The IDX reader on any bytes, as a plain file and as a .gz one (which the
// reader inflates).
#include "FuzzSupport.h"

#include "kiln/runtime/Idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = kiln::fuzz::inputFile(data, size, ".idx");
  auto tensor = kiln::rt::readIdx(path);
  if (tensor.ok())
    kiln::fuzz::readEvery(*tensor);
  std::string gz = kiln::fuzz::inputFile(data, size, ".idx.gz");
  (void)kiln::rt::readIdx(gz);
  return 0;
}
