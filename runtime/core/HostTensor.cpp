//===- HostTensor.cpp - Dense tensors in host memory, with their dtypes ---===//

#include "kiln/runtime/HostTensor.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

namespace kiln::rt {

namespace {

struct DTypeInfo {
  DType dtype;
  const char *name;
  size_t size;
};

constexpr DTypeInfo dtypeInfos[] = {
    {DType::F32, "f32", 4},   {DType::F64, "f64", 8}, {DType::F16, "f16", 2},
    {DType::BF16, "bf16", 2}, {DType::I64, "i64", 8}, {DType::I32, "i32", 4},
    {DType::I8, "i8", 1},     {DType::U8, "u8", 1},   {DType::Bool, "bool", 1},
};

const DTypeInfo &infoOf(DType dtype) {
  for (const DTypeInfo &info : dtypeInfos)
    if (info.dtype == dtype)
      return info;
  detail::fatalError("invalid DType value " +
                     std::to_string(static_cast<int>(dtype)));
}

/// The byte count to allocate for `bytes` bytes: at least one alignment
/// unit (so data() is never null) and a multiple of the alignment, as
/// std::aligned_alloc requires.
size_t allocationSize(size_t bytes) {
  size_t units = bytes / HostTensor::Alignment + 1;
  return units * HostTensor::Alignment;
}

/// Writes every element of `src`, converted to Dst, to `dst`. Only used for
/// conversions that isLosslessConversion allows, so every value is exact.
template <typename Dst> void convertElements(const HostTensor &src, Dst *dst) {
  int64_t count = src.numElements();
  auto loop = [&](auto load) {
    for (int64_t i = 0; i < count; ++i)
      dst[i] = static_cast<Dst>(load(i));
  };
  switch (src.dtype()) {
  case DType::F32:
    return loop([p = src.data<float>()](int64_t i) { return p[i]; });
  case DType::F64:
    return loop([p = src.data<double>()](int64_t i) { return p[i]; });
  case DType::F16:
    return loop(
        [p = src.data<uint16_t>()](int64_t i) { return halfToFloat(p[i]); });
  case DType::BF16:
    return loop([p = src.data<uint16_t>()](int64_t i) {
      return bfloat16ToFloat(p[i]);
    });
  case DType::I64:
    return loop([p = src.data<int64_t>()](int64_t i) { return p[i]; });
  case DType::I32:
    return loop([p = src.data<int32_t>()](int64_t i) { return p[i]; });
  case DType::I8:
    return loop([p = src.data<int8_t>()](int64_t i) { return p[i]; });
  case DType::U8:
    return loop([p = src.data<uint8_t>()](int64_t i) { return p[i]; });
  case DType::Bool:
    return loop([p = static_cast<const uint8_t *>(src.data())](int64_t i) {
      return p[i] != 0 ? 1 : 0;
    });
  }
}

} // namespace

const char *dtypeName(DType dtype) { return infoOf(dtype).name; }

size_t dtypeSize(DType dtype) { return infoOf(dtype).size; }

std::optional<DType> parseDTypeName(std::string_view name) {
  for (const DTypeInfo &info : dtypeInfos)
    if (name == info.name)
      return info.dtype;
  return std::nullopt;
}

bool isLosslessConversion(DType from, DType to) {
  if (from == to)
    return true;
  switch (from) {
  case DType::F32:
    return to == DType::F64;
  case DType::F16:
  case DType::BF16:
    return to == DType::F32 || to == DType::F64;
  case DType::I32:
    return to == DType::I64 || to == DType::F64;
  case DType::I8:
  case DType::U8:
    return to == DType::I32 || to == DType::I64 || to == DType::F32 ||
           to == DType::F64;
  case DType::Bool:
    return to == DType::U8 || to == DType::I8 || to == DType::I32 ||
           to == DType::I64 || to == DType::F32 || to == DType::F64;
  case DType::F64:
  case DType::I64:
    return false;
  }
  return false;
}

float halfToFloat(uint16_t bits) {
  uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  uint32_t exponent = (bits >> 10) & 0x1fu;
  uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in float.
    float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  uint32_t out;
  if (exponent == 0x1f) // Infinity or NaN, keeping the NaN payload.
    out = sign | 0x7f800000u | (mantissa << 13);
  else
    out = sign | ((exponent + 112) << 23) | (mantissa << 13);
  float value;
  std::memcpy(&value, &out, sizeof(value));
  return value;
}

float bfloat16ToFloat(uint16_t bits) {
  uint32_t out = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &out, sizeof(value));
  return value;
}

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i != 0)
      text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

void HostTensor::FreeAligned::operator()(void *pointer) const {
  std::free(pointer);
}

HostTensor::HostTensor() = default;
HostTensor::HostTensor(HostTensor &&other) noexcept = default;
HostTensor &HostTensor::operator=(HostTensor &&other) noexcept = default;
HostTensor::~HostTensor() = default;

StatusOr<int64_t>
HostTensor::checkedNumElements(const std::vector<int64_t> &shape) {
  int64_t count = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0)
      return Status::error("shape " + formatShape(shape) +
                           " has a negative dimension " +
                           std::to_string(shape[i]));
    if (shape[i] != 0 && count > std::numeric_limits<int64_t>::max() / shape[i])
      return Status::error("shape " + formatShape(shape) +
                           " has too many elements (overflow)");
    count *= shape[i];
  }
  return count;
}

StatusOr<uint64_t>
HostTensor::checkedSizeInBytes(DType dtype, const std::vector<int64_t> &shape) {
  StatusOr<int64_t> count = checkedNumElements(shape);
  if (!count.ok())
    return count.status();
  // Keep sizes well inside size_t so that allocation rounding cannot wrap.
  constexpr uint64_t limit = std::numeric_limits<int64_t>::max() / 2;
  uint64_t elementSize = dtypeSize(dtype);
  if (static_cast<uint64_t>(*count) > limit / elementSize)
    return Status::error("shape " + formatShape(shape) + " of " +
                         dtypeName(dtype) + " is too large (overflow)");
  return static_cast<uint64_t>(*count) * elementSize;
}

StatusOr<HostTensor> HostTensor::zeros(DType dtype,
                                       std::vector<int64_t> shape) {
  StatusOr<uint64_t> bytes = checkedSizeInBytes(dtype, shape);
  if (!bytes.ok())
    return bytes.status();
  size_t size = allocationSize(static_cast<size_t>(*bytes));
  void *memory = std::aligned_alloc(Alignment, size);
  if (!memory)
    return Status::error("cannot allocate " + std::to_string(*bytes) +
                         " bytes for a " + dtypeName(dtype) +
                         " tensor of shape " + formatShape(shape));
  std::memset(memory, 0, size);
  HostTensor tensor;
  tensor.elementType = dtype;
  tensor.elementCount = *checkedNumElements(shape);
  tensor.dims = std::move(shape);
  tensor.buffer.reset(memory);
  return tensor;
}

HostTensor HostTensor::clone() const {
  HostTensor copy;
  copy.elementType = elementType;
  copy.dims = dims;
  copy.elementCount = elementCount;
  if (!buffer)
    return copy;
  size_t size = allocationSize(sizeInBytes());
  void *memory = std::aligned_alloc(Alignment, size);
  if (!memory)
    throw std::bad_alloc();
  std::memcpy(memory, buffer.get(), size);
  copy.buffer.reset(memory);
  return copy;
}

std::string HostTensor::describe() const {
  return std::string(dtypeName(elementType)) + formatShape(dims);
}

StatusOr<HostTensor> convertTo(const HostTensor &tensor, DType target) {
  DType source = tensor.dtype();
  if (!isLosslessConversion(source, target))
    return Status::error(std::string("cannot convert a ") + dtypeName(source) +
                         " tensor to " + dtypeName(target) +
                         ": only lossless widening conversions are done, "
                         "and " +
                         dtypeName(source) + " -> " + dtypeName(target) +
                         " could lose precision or range");
  if (source == target)
    return tensor.clone();
  StatusOr<HostTensor> result = HostTensor::zeros(target, tensor.shape());
  if (!result.ok())
    return result.status();
  switch (target) {
  case DType::F64:
    convertElements(tensor, result->data<double>());
    break;
  case DType::F32:
    convertElements(tensor, result->data<float>());
    break;
  case DType::I64:
    convertElements(tensor, result->data<int64_t>());
    break;
  case DType::I32:
    convertElements(tensor, result->data<int32_t>());
    break;
  case DType::I8:
    convertElements(tensor, result->data<int8_t>());
    break;
  case DType::U8:
    convertElements(tensor, result->data<uint8_t>());
    break;
  case DType::F16:
  case DType::BF16:
  case DType::Bool:
    // isLosslessConversion allows these targets only from the same dtype,
    // which was copied above.
    detail::fatalError(std::string("unexpected conversion to ") +
                       dtypeName(target));
  }
  return result;
}

} // namespace kiln::rt
