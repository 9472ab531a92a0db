//===- PrimitiveCache.h - oneDNN primitives created once per configuration ===//
//
// Creating a oneDNN primitive costs from tens of microseconds to milliseconds
// (it picks an implementation and may JIT-compile a kernel), far more than
// running a small one. The library therefore keys each primitive by every
// value that shaped it and creates it once.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_DNNL_PRIMITIVECACHE_H
#define KILN_RUNTIME_DNNL_PRIMITIVECACHE_H

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace kiln::rt::onednn {

/// Every value that determines a primitive: sizes, flags, the activation, the
/// bits of its parameter and the thread count, in a fixed order per kind of
/// primitive. Unused trailing slots stay zero.
class CacheKey {
public:
  static constexpr size_t capacity = 25;

  CacheKey(std::initializer_list<int64_t> fields);

  /// The bits of `value`, so that a double parameter can be a key field.
  static int64_t bitsOf(double value) {
    int64_t bits;
    std::memcpy(&bits, &value, sizeof(bits));
    return bits;
  }

  bool operator==(const CacheKey &other) const {
    return fields == other.fields;
  }

  /// A hash mixing every field.
  size_t hash() const;

private:
  std::array<int64_t, capacity> fields{};
};

struct CacheKeyHash {
  size_t operator()(const CacheKey &key) const { return key.hash(); }
};

/// A thread-safe map from configurations to created primitives (`Entry`
/// holds the primitive and the memory descriptors and reorders it needs).
/// Entries are immutable once created and live as long as the process.
template <typename Entry> class PrimitiveCache {
public:
  /// The entry for `key`, made by `create()` if there is none yet. Creation
  /// runs without the lock held, so a slow creation does not stall threads
  /// running other configurations; if two threads race to create the same
  /// entry, the first one stored wins.
  template <typename Create>
  std::shared_ptr<const Entry> getOrCreate(const CacheKey &key,
                                           Create &&create) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      auto found = entries.find(key);
      if (found != entries.end())
        return found->second;
    }
    auto made = std::make_shared<const Entry>(create());
    std::lock_guard<std::mutex> lock(mutex);
    return entries.emplace(key, std::move(made)).first->second;
  }

  /// The number of entries.
  size_t size() const {
    std::lock_guard<std::mutex> lock(mutex);
    return entries.size();
  }

private:
  mutable std::mutex mutex;
  std::unordered_map<CacheKey, std::shared_ptr<const Entry>, CacheKeyHash>
      entries;
};

} // namespace kiln::rt::onednn

#endif // KILN_RUNTIME_DNNL_PRIMITIVECACHE_H
