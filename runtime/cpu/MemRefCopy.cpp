//===- MemRefCopy.cpp - Strided copies for generated code -----------------===//

#include "kiln/runtime/CodegenSupport.h"

#include <cstring>
#include <vector>

namespace {

struct Descriptor {
  char *base;
  int64_t offset;
  const int64_t *sizes;
  const int64_t *strides;
};

Descriptor view(const KilnUnrankedMemRef *m) {
  // {allocated, aligned, offset, sizes[rank], strides[rank]}.
  auto *words = static_cast<int64_t *>(m->descriptor);
  char *aligned;
  std::memcpy(&aligned, &words[1], sizeof(aligned));
  return {aligned, words[2], words + 3, words + 3 + m->rank};
}

} // namespace

extern "C" void memrefCopy(int64_t elementSize, KilnUnrankedMemRef *source,
                           KilnUnrankedMemRef *target) {
  int64_t rank = source->rank;
  Descriptor src = view(source), dst = view(target);
  int64_t total = 1;
  for (int64_t d = 0; d < rank; ++d)
    total *= src.sizes[d];
  if (total == 0)
    return;
  std::vector<int64_t> index(rank, 0);
  int64_t srcOffset = src.offset, dstOffset = dst.offset;
  for (int64_t n = 0; n < total; ++n) {
    std::memcpy(dst.base + dstOffset * elementSize,
                src.base + srcOffset * elementSize, elementSize);
    // Advance the multi-index, innermost first.
    for (int64_t d = rank - 1; d >= 0; --d) {
      ++index[d];
      srcOffset += src.strides[d];
      dstOffset += dst.strides[d];
      if (index[d] < src.sizes[d])
        break;
      srcOffset -= src.strides[d] * src.sizes[d];
      dstOffset -= dst.strides[d] * dst.sizes[d];
      index[d] = 0;
    }
  }
}
