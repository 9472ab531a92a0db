//===- PrimitiveCache.cpp - Keys of the oneDNN primitive cache ------------===//

#include "PrimitiveCache.h"

#include "kiln/runtime/Status.h"

#include <string>

using namespace kiln::rt;
using namespace kiln::rt::onednn;

CacheKey::CacheKey(std::initializer_list<int64_t> values) {
  if (values.size() > capacity)
    detail::fatalError("primitive cache key with " +
                       std::to_string(values.size()) + " fields (at most " +
                       std::to_string(capacity) + ")");
  size_t index = 0;
  for (int64_t value : values)
    fields[index++] = value;
}

size_t CacheKey::hash() const {
  // 64-bit FNV-1a over the fields, then a final avalanche (splitmix64) so
  // that keys differing in one small field spread over the buckets.
  uint64_t state = 1469598103934665603ull;
  for (int64_t field : fields) {
    state ^= static_cast<uint64_t>(field);
    state *= 1099511628211ull;
  }
  state ^= state >> 30;
  state *= 0xbf58476d1ce4e5b9ull;
  state ^= state >> 27;
  state *= 0x94d049bb133111ebull;
  state ^= state >> 31;
  return static_cast<size_t>(state);
}
