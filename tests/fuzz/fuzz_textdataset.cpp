// The text data set reader on any bytes, for a 4-value, 3-class example
// shape (small, so that short inputs reach whole examples).
#include "FuzzSupport.h"

#include "kiln/runtime/Training.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = kiln::fuzz::inputFile(data, size, ".csv");
  auto set = kiln::rt::loadTextDataset(path, {2, 2}, 3);
  if (set.ok()) {
    for (int64_t i = 0; i < set->size(); ++i) {
      int64_t label = set->labels.data<int64_t>()[i];
      if (label < 0 || label >= 3)
        __builtin_trap();
    }
  }
  return 0;
}
