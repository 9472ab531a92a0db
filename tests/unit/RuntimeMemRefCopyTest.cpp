//===- RuntimeMemRefCopyTest.cpp - Strided copies of generated code -------===//

#include "kiln/runtime/CodegenSupport.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <numeric>
#include <vector>

namespace {

/// A strided view of `base` as MLIR describes it to memrefCopy.
struct View {
  std::vector<int64_t> words;
  KilnUnrankedMemRef memref;

  View(void *base, int64_t offset, std::vector<int64_t> sizes,
       std::vector<int64_t> strides) {
    auto rank = static_cast<int64_t>(sizes.size());
    words.resize(3 + 2 * rank);
    std::memcpy(&words[0], &base, sizeof(base));
    std::memcpy(&words[1], &base, sizeof(base));
    words[2] = offset;
    for (int64_t d = 0; d < rank; ++d) {
      words[3 + d] = sizes[d];
      words[3 + rank + d] = strides[d];
    }
    memref = {rank, words.data()};
  }
};

/// The element offsets of a view, in row-major order of its indices.
std::vector<int64_t> offsets(int64_t offset, const std::vector<int64_t> &sizes,
                             const std::vector<int64_t> &strides) {
  std::vector<int64_t> out{offset};
  for (size_t d = 0; d < sizes.size(); ++d) {
    std::vector<int64_t> next;
    for (int64_t base : out)
      for (int64_t i = 0; i < sizes[d]; ++i)
        next.push_back(base + i * strides[d]);
    out = next;
  }
  return out;
}

template <typename T>
void checkCopy(int64_t srcOffset, std::vector<int64_t> srcStrides,
               int64_t dstOffset, std::vector<int64_t> dstStrides,
               std::vector<int64_t> sizes, size_t storage) {
  std::vector<T> src(storage), dst(storage, T(0)), want(storage, T(0));
  std::iota(src.begin(), src.end(), T(1));
  std::vector<int64_t> from = offsets(srcOffset, sizes, srcStrides);
  std::vector<int64_t> to = offsets(dstOffset, sizes, dstStrides);
  for (size_t i = 0; i < from.size(); ++i)
    want[to[i]] = src[from[i]];
  View s(src.data(), srcOffset, sizes, srcStrides);
  View d(dst.data(), dstOffset, sizes, dstStrides);
  memrefCopy(sizeof(T), &s.memref, &d.memref);
  EXPECT_EQ(dst, want);
}

TEST(MemRefCopy, ContiguousBlock) {
  checkCopy<float>(0, {12, 4, 1}, 0, {12, 4, 1}, {2, 3, 4}, 24);
}

TEST(MemRefCopy, IntoAPaddedInterior) {
  // A [2, 3, 4] block into the interior of a [2, 5, 6] buffer (padding 1).
  checkCopy<float>(0, {12, 4, 1}, 7, {30, 6, 1}, {2, 3, 4}, 60);
}

TEST(MemRefCopy, TransposedSource) {
  checkCopy<double>(0, {1, 3}, 0, {4, 1}, {3, 4}, 12);
  checkCopy<float>(0, {1, 6, 2}, 0, {12, 4, 1}, {2, 3, 4}, 24);
}

TEST(MemRefCopy, StridedAndSizeOneDims) {
  checkCopy<uint16_t>(1, {40, 1, 10, 2}, 0, {15, 15, 5, 1}, {2, 1, 3, 5}, 80);
  checkCopy<int64_t>(3, {5}, 2, {3}, {4}, 20);
}

TEST(MemRefCopy, RankZeroAndEmpty) {
  checkCopy<float>(2, {}, 5, {}, {}, 8);
  checkCopy<float>(0, {3, 1}, 0, {3, 1}, {0, 3}, 8);
}

} // namespace
