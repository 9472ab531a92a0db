// The IDX reader on any bytes, as a plain file and as a .gz one (which the
// reader inflates).
#include "FuzzSupport.h"

#include "kiln/runtime/Idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = kiln::fuzz::inputFile(data, size, ".idx");
  auto tensor = kiln::rt::readIdx(path);
  if (tensor.ok()) {
    volatile uint8_t sink = 0;
    const auto *bytes = static_cast<const uint8_t *>(tensor->data());
    for (size_t i = 0; i < tensor->sizeInBytes(); ++i)
      sink = sink ^ bytes[i];
  }
  std::string gz = kiln::fuzz::inputFile(data, size, ".idx.gz");
  (void)kiln::rt::readIdx(gz);
  return 0;
}
