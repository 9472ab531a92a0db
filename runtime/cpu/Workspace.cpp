//===- Workspace.cpp - The heap of generated code -------------------------===//
//
// Generated entry points allocate one arena per call (kiln-plan-memory) and
// free it on return. From glibc that is an mmap and munmap of tens of MiB
// per call, and every page of the arena faults again on each call: for small
// kernels the faults cost more than the arithmetic. The blocks are kept here
// instead, per thread, and reused while they fit.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/CodegenSupport.h"

#include <cstdlib>
#include <vector>

namespace {

/// Stored just below the pointer handed out.
struct Header {
  void *base;
  size_t capacity;  // usable bytes from the handed-out pointer
  size_t alignment; // of the handed-out pointer
};

constexpr size_t kMinAlignment = 64;
constexpr size_t kCacheFrom = size_t(64) << 10;
constexpr size_t kMaxBlocks = 8;
constexpr size_t kMaxBytes = size_t(4) << 30;

Header *headerOf(void *pointer) {
  return reinterpret_cast<Header *>(static_cast<char *>(pointer) -
                                    sizeof(Header));
}

struct Cache {
  std::vector<void *> blocks;
  size_t bytes = 0;

  ~Cache() {
    for (void *block : blocks)
      std::free(headerOf(block)->base);
  }

  /// The smallest cached block that holds `size` bytes at `alignment`
  /// without wasting more than half of itself, removed from the cache.
  void *take(size_t size, size_t alignment) {
    size_t best = blocks.size();
    for (size_t i = 0; i < blocks.size(); ++i) {
      Header *h = headerOf(blocks[i]);
      if (h->capacity < size || h->alignment % alignment != 0 ||
          h->capacity / 2 > size)
        continue;
      if (best == blocks.size() ||
          h->capacity < headerOf(blocks[best])->capacity)
        best = i;
    }
    if (best == blocks.size())
      return nullptr;
    void *block = blocks[best];
    blocks.erase(blocks.begin() + static_cast<std::ptrdiff_t>(best));
    bytes -= headerOf(block)->capacity;
    return block;
  }

  /// Keeps `block` unless the cache is full; then the smallest blocks make
  /// room, or `block` itself goes back to the system.
  void give(void *block) {
    size_t capacity = headerOf(block)->capacity;
    if (capacity > kMaxBytes) {
      std::free(headerOf(block)->base);
      return;
    }
    while (!blocks.empty() &&
           (blocks.size() >= kMaxBlocks || bytes + capacity > kMaxBytes)) {
      size_t smallest = 0;
      for (size_t i = 1; i < blocks.size(); ++i)
        if (headerOf(blocks[i])->capacity <
            headerOf(blocks[smallest])->capacity)
          smallest = i;
      bytes -= headerOf(blocks[smallest])->capacity;
      std::free(headerOf(blocks[smallest])->base);
      blocks.erase(blocks.begin() + static_cast<std::ptrdiff_t>(smallest));
    }
    blocks.push_back(block);
    bytes += capacity;
  }
};

thread_local Cache cache;

void *allocate(size_t size, size_t alignment) {
  if (alignment & (alignment - 1))
    return nullptr; // not a power of two
  if (alignment < kMinAlignment)
    alignment = kMinAlignment;
  if (size >= kCacheFrom)
    if (void *block = cache.take(size, alignment))
      return block;
  // The header sits in the padding in front of the aligned pointer.
  size_t padding = (sizeof(Header) + alignment - 1) / alignment * alignment;
  if (size > SIZE_MAX - padding - alignment)
    return nullptr;
  void *base = std::malloc(padding + size + alignment);
  if (!base)
    return nullptr;
  auto address = reinterpret_cast<uintptr_t>(base) + padding;
  address = (address + alignment - 1) & ~(uintptr_t(alignment) - 1);
  void *pointer = reinterpret_cast<void *>(address);
  Header *h = headerOf(pointer);
  h->base = base;
  h->capacity = size + alignment -
                (address - reinterpret_cast<uintptr_t>(base) - padding);
  h->alignment = alignment;
  return pointer;
}

} // namespace

extern "C" void *_mlir_memref_to_llvm_alloc(size_t size) {
  return allocate(size, kMinAlignment);
}

extern "C" void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment,
                                                    size_t size) {
  return allocate(size, alignment);
}

extern "C" void _mlir_memref_to_llvm_free(void *pointer) {
  if (!pointer)
    return;
  if (headerOf(pointer)->capacity >= kCacheFrom)
    cache.give(pointer);
  else
    std::free(headerOf(pointer)->base);
}

extern "C" size_t kiln_workspace_cached_blocks(void) {
  return cache.blocks.size();
}

extern "C" size_t kiln_workspace_cached_bytes(void) { return cache.bytes; }
