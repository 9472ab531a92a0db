//===- HostTensor.h - Dense tensors in host memory, with their dtypes -----===//
//
// A HostTensor owns a 64-byte-aligned, row-major buffer of elements of one
// DType. Tensors are created through checked factories: a shape whose
// element count or byte size would overflow yields an error Status instead
// of a wrapped-around allocation. Tensors are move-only; `clone` copies.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_HOSTTENSOR_H
#define KILN_RUNTIME_HOSTTENSOR_H

#include "kiln/runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace kiln::rt {

/// Element types of runtime tensors. F16 and BF16 are stored as their raw
/// 16-bit patterns (accessed as uint16_t); Bool is one byte, 0 or 1.
enum class DType { F32, F64, F16, BF16, I64, I32, I8, U8, Bool };

/// The lower-case name of `dtype`: "f32", "f64", "f16", "bf16", "i64", "i32",
/// "i8", "u8" or "bool" (the spelling of kilnc's --dtype flag).
const char *dtypeName(DType dtype);

/// The dtype called `name` (as printed by dtypeName), if any.
std::optional<DType> parseDTypeName(std::string_view name);

/// Bytes per element of `dtype`.
size_t dtypeSize(DType dtype);

/// True if every value of `from` is exactly representable in `to`, so a
/// conversion loses nothing (f32 -> f64, i32 -> i64, f16 -> f32, u8 -> f32,
/// ...). A dtype always converts losslessly to itself.
bool isLosslessConversion(DType from, DType to);

/// The float value of the IEEE binary16 bit pattern `bits` (exact).
float halfToFloat(uint16_t bits);

/// The float value of the bfloat16 bit pattern `bits` (exact).
float bfloat16ToFloat(uint16_t bits);

/// Prints a shape as "[2, 3]" ("[]" for a scalar).
std::string formatShape(const std::vector<int64_t> &shape);

/// Whether C++ type T is the element type of a dtype: float/F32,
/// double/F64, int64_t/I64, int32_t/I32, int8_t/I8, uint8_t/U8, bool/Bool,
/// and uint16_t for the raw bits of F16 and BF16.
template <typename T> bool isElementTypeOf(DType dtype);

/// A dense, row-major tensor in host memory that owns its buffer.
class HostTensor {
public:
  /// Alignment in bytes of every tensor buffer.
  static constexpr size_t Alignment = 64;

  /// An empty f32 tensor of shape [0].
  HostTensor();
  HostTensor(HostTensor &&other) noexcept;
  HostTensor &operator=(HostTensor &&other) noexcept;
  HostTensor(const HostTensor &) = delete;
  HostTensor &operator=(const HostTensor &) = delete;
  ~HostTensor();

  /// A zero-filled tensor. Fails if a dimension is negative, if the element
  /// count or byte size overflows, or if the memory cannot be allocated.
  static StatusOr<HostTensor> zeros(DType dtype, std::vector<int64_t> shape);

  /// The number of elements of `shape`, or an error if a dimension is
  /// negative or the product overflows int64_t.
  static StatusOr<int64_t>
  checkedNumElements(const std::vector<int64_t> &shape);

  /// numElements(shape) * dtypeSize(dtype), or an error on a negative
  /// dimension or an overflow.
  static StatusOr<uint64_t>
  checkedSizeInBytes(DType dtype, const std::vector<int64_t> &shape);

  /// A deep copy (throws std::bad_alloc if memory runs out).
  HostTensor clone() const;

  DType dtype() const { return elementType; }
  const std::vector<int64_t> &shape() const { return dims; }
  int64_t rank() const { return static_cast<int64_t>(dims.size()); }
  int64_t numElements() const { return elementCount; }
  size_t sizeInBytes() const {
    return static_cast<size_t>(elementCount) * dtypeSize(elementType);
  }

  /// "f32[2, 3]": the dtype and shape, for messages.
  std::string describe() const;

  /// The buffer (never null once built by a factory, even when empty).
  void *data() { return buffer.get(); }
  const void *data() const { return buffer.get(); }

  /// The buffer as elements of T; T must be the dtype's element type (see
  /// isElementTypeOf), or the process stops: that is a programming error.
  template <typename T> T *data() {
    checkElementType<T>();
    return static_cast<T *>(data());
  }
  template <typename T> const T *data() const {
    checkElementType<T>();
    return static_cast<const T *>(data());
  }

private:
  struct FreeAligned {
    void operator()(void *pointer) const;
  };

  template <typename T> void checkElementType() const {
    if (!isElementTypeOf<T>(elementType))
      detail::fatalError("HostTensor::data<T>() with an element type that "
                         "does not match " +
                         describe());
  }

  DType elementType = DType::F32;
  std::vector<int64_t> dims = {0};
  int64_t elementCount = 0;
  std::unique_ptr<void, FreeAligned> buffer;
};

/// `tensor` converted to `target` if that loses nothing (see
/// isLosslessConversion): f32 -> f64 exactly, i32 -> i64, f16/bf16 -> f32.
/// Any narrowing or lossy conversion is refused with an error naming both
/// dtypes. Converting to the same dtype copies.
StatusOr<HostTensor> convertTo(const HostTensor &tensor, DType target);

template <typename T> bool isElementTypeOf(DType dtype) {
  if constexpr (std::is_same_v<T, float>)
    return dtype == DType::F32;
  else if constexpr (std::is_same_v<T, double>)
    return dtype == DType::F64;
  else if constexpr (std::is_same_v<T, int64_t>)
    return dtype == DType::I64;
  else if constexpr (std::is_same_v<T, int32_t>)
    return dtype == DType::I32;
  else if constexpr (std::is_same_v<T, int8_t>)
    return dtype == DType::I8;
  else if constexpr (std::is_same_v<T, uint8_t>)
    return dtype == DType::U8;
  else if constexpr (std::is_same_v<T, bool>)
    return dtype == DType::Bool;
  else if constexpr (std::is_same_v<T, uint16_t>)
    return dtype == DType::F16 || dtype == DType::BF16;
  else
    return false;
}

} // namespace kiln::rt

#endif // KILN_RUNTIME_HOSTTENSOR_H
