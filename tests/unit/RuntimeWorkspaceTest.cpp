//===- RuntimeWorkspaceTest.cpp - The heap of generated code --------------===//

#include "kiln/runtime/CodegenSupport.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>

namespace {

bool alignedTo(const void *pointer, size_t alignment) {
  return reinterpret_cast<uintptr_t>(pointer) % alignment == 0;
}

TEST(Workspace, SmallBlocksAreAlignedAndNotCached) {
  size_t cached = kiln_workspace_cached_blocks();
  void *a = _mlir_memref_to_llvm_alloc(100);
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(alignedTo(a, 64));
  std::memset(a, 0xab, 100);
  _mlir_memref_to_llvm_free(a);
  EXPECT_EQ(kiln_workspace_cached_blocks(), cached);
  _mlir_memref_to_llvm_free(nullptr);
}

TEST(Workspace, LargeBlockIsReusedForARequestItFits) {
  constexpr size_t size = size_t(8) << 20;
  void *first = _mlir_memref_to_llvm_alloc(size);
  ASSERT_NE(first, nullptr);
  std::memset(first, 1, size);
  _mlir_memref_to_llvm_free(first);
  EXPECT_GE(kiln_workspace_cached_bytes(), size);
  // Same size, then a little smaller: the cached block comes back.
  void *second = _mlir_memref_to_llvm_alloc(size);
  EXPECT_EQ(second, first);
  _mlir_memref_to_llvm_free(second);
  void *third = _mlir_memref_to_llvm_alloc(size - 4096);
  EXPECT_EQ(third, first);
  // While it is in use, a second request gets a different block.
  void *other = _mlir_memref_to_llvm_alloc(size);
  EXPECT_NE(other, third);
  std::memset(other, 2, size);
  _mlir_memref_to_llvm_free(other);
  _mlir_memref_to_llvm_free(third);
}

TEST(Workspace, BlockTooLargeForTheRequestIsNotHandedOut) {
  void *big = _mlir_memref_to_llvm_alloc(size_t(16) << 20);
  _mlir_memref_to_llvm_free(big);
  // Less than half of the cached block: a fresh one.
  void *small = _mlir_memref_to_llvm_alloc(size_t(1) << 20);
  EXPECT_NE(small, big);
  _mlir_memref_to_llvm_free(small);
}

TEST(Workspace, AlignedAllocationHonoursTheAlignment) {
  for (size_t alignment : {size_t(16), size_t(64), size_t(256), size_t(4096)}) {
    void *p = _mlir_memref_to_llvm_aligned_alloc(alignment, size_t(100) << 10);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(alignedTo(p, alignment)) << alignment;
    std::memset(p, 3, size_t(100) << 10);
    _mlir_memref_to_llvm_free(p);
  }
  EXPECT_EQ(_mlir_memref_to_llvm_aligned_alloc(48, 1024), nullptr);
}

TEST(Workspace, CacheIsBoundedAndPerThread) {
  void *blocks[12];
  for (void *&b : blocks)
    b = _mlir_memref_to_llvm_alloc(size_t(1) << 20);
  for (void *b : blocks)
    _mlir_memref_to_llvm_free(b);
  EXPECT_LE(kiln_workspace_cached_blocks(), 8u);
  size_t seen = 99;
  std::thread([&] { seen = kiln_workspace_cached_blocks(); }).join();
  EXPECT_EQ(seen, 0u);
}

} // namespace
