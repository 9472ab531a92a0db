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

namespace {

/// Copies `count` elements of `size` bytes with the given element strides.
void copyRow(char *dst, int64_t dstStride, const char *src, int64_t srcStride,
             int64_t count, int64_t size) {
  if (dstStride == 1 && srcStride == 1) {
    std::memcpy(dst, src, static_cast<size_t>(count * size));
    return;
  }
  auto strided = [&](auto element) {
    using T = decltype(element);
    auto *d = reinterpret_cast<T *>(dst);
    auto *s = reinterpret_cast<const T *>(src);
    for (int64_t i = 0; i < count; ++i) {
      T value;
      std::memcpy(&value, s + i * srcStride, sizeof(T));
      std::memcpy(d + i * dstStride, &value, sizeof(T));
    }
  };
  switch (size) {
  case 1: return strided(uint8_t());
  case 2: return strided(uint16_t());
  case 4: return strided(uint32_t());
  case 8: return strided(uint64_t());
  default:
    for (int64_t i = 0; i < count; ++i)
      std::memcpy(dst + i * dstStride * size, src + i * srcStride * size,
                  static_cast<size_t>(size));
  }
}

} // namespace

extern "C" void memrefCopy(int64_t elementSize, KilnUnrankedMemRef *source,
                           KilnUnrankedMemRef *target) {
  Descriptor src = view(source), dst = view(target);
  // Drop size-1 dimensions and merge neighbours that are contiguous in both
  // memrefs, so that the innermost dimension is as long as possible.
  std::vector<int64_t> sizes, srcStrides, dstStrides;
  for (int64_t d = 0; d < source->rank; ++d) {
    if (src.sizes[d] == 0)
      return;
    if (src.sizes[d] == 1)
      continue;
    if (!sizes.empty() &&
        srcStrides.back() == src.strides[d] * src.sizes[d] &&
        dstStrides.back() == dst.strides[d] * src.sizes[d]) {
      sizes.back() *= src.sizes[d];
      srcStrides.back() = src.strides[d];
      dstStrides.back() = dst.strides[d];
      continue;
    }
    sizes.push_back(src.sizes[d]);
    srcStrides.push_back(src.strides[d]);
    dstStrides.push_back(dst.strides[d]);
  }
  char *dstBase = dst.base + dst.offset * elementSize;
  const char *srcBase = src.base + src.offset * elementSize;
  if (sizes.empty()) {
    std::memcpy(dstBase, srcBase, static_cast<size_t>(elementSize));
    return;
  }
  // One row (the innermost dimension) at a time, over the outer indices.
  auto rank = static_cast<int64_t>(sizes.size());
  int64_t inner = rank - 1, rows = 1;
  for (int64_t d = 0; d < inner; ++d)
    rows *= sizes[d];
  std::vector<int64_t> index(inner, 0);
  int64_t srcOffset = 0, dstOffset = 0;
  for (int64_t r = 0; r < rows; ++r) {
    copyRow(dstBase + dstOffset * elementSize, dstStrides[inner],
            srcBase + srcOffset * elementSize, srcStrides[inner], sizes[inner],
            elementSize);
    for (int64_t d = inner - 1; d >= 0; --d) {
      ++index[d];
      srcOffset += srcStrides[d];
      dstOffset += dstStrides[d];
      if (index[d] < sizes[d])
        break;
      srcOffset -= srcStrides[d] * sizes[d];
      dstOffset -= dstStrides[d] * sizes[d];
      index[d] = 0;
    }
  }
}
