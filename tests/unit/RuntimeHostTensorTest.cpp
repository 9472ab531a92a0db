//===- RuntimeHostTensorTest.cpp - Unit tests of runtime tensors ----------===//

#include "kiln/runtime/HostTensor.h"

#include "RuntimeTestSupport.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace kiln::rt;
using kiln::rt::test::failsWith;

namespace {

TEST(DTypeTest, NamesSizesAndParsing) {
  const DType all[] = {DType::F32,  DType::F64, DType::F16,
                       DType::BF16, DType::I64, DType::I32,
                       DType::I8,   DType::U8,  DType::Bool};
  const size_t sizes[] = {4, 8, 2, 2, 8, 4, 1, 1, 1};
  const char *names[] = {"f32", "f64", "f16", "bf16", "i64",
                         "i32", "i8",  "u8",  "bool"};
  for (size_t i = 0; i < std::size(all); ++i) {
    EXPECT_EQ(dtypeSize(all[i]), sizes[i]);
    EXPECT_STREQ(dtypeName(all[i]), names[i]);
    EXPECT_EQ(parseDTypeName(names[i]), all[i]);
  }
  EXPECT_FALSE(parseDTypeName("float32").has_value());
}

TEST(HostTensorTest, ZerosIsAlignedAndZeroFilled) {
  StatusOr<HostTensor> tensor = HostTensor::zeros(DType::F32, {2, 3});
  ASSERT_TRUE(tensor.ok()) << tensor.status().message();
  EXPECT_EQ(tensor->shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(tensor->rank(), 2);
  EXPECT_EQ(tensor->numElements(), 6);
  EXPECT_EQ(tensor->sizeInBytes(), 24u);
  EXPECT_EQ(tensor->describe(), "f32[2, 3]");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(tensor->data()) % 64, 0u);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(tensor->data<float>()[i], 0.0f);
}

TEST(HostTensorTest, ScalarsAndEmptyTensorsHaveBuffers) {
  StatusOr<HostTensor> scalar = HostTensor::zeros(DType::F64, {});
  ASSERT_TRUE(scalar.ok());
  EXPECT_EQ(scalar->numElements(), 1);
  EXPECT_EQ(scalar->describe(), "f64[]");
  StatusOr<HostTensor> empty = HostTensor::zeros(DType::I32, {0, 5});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->numElements(), 0);
  EXPECT_EQ(empty->sizeInBytes(), 0u);
  EXPECT_NE(empty->data(), nullptr);
}

TEST(HostTensorTest, NegativeDimensionIsAnError) {
  EXPECT_TRUE(failsWith(HostTensor::zeros(DType::F32, {2, -3}).status(),
                        "shape [2, -3] has a negative dimension -3"));
}

TEST(HostTensorTest, ElementCountOverflowIsAnError) {
  int64_t big = int64_t(1) << 32;
  EXPECT_TRUE(failsWith(HostTensor::checkedNumElements({big, big}).status(),
                        "has too many elements (overflow)"));
  // The count fits in int64_t, but not the byte size.
  EXPECT_TRUE(failsWith(HostTensor::zeros(DType::F64, {big, big / 4}).status(),
                        "of f64 is too large (overflow)"));
  // A zero dimension makes any shape empty, without overflow.
  StatusOr<int64_t> count = HostTensor::checkedNumElements({big, 0, big});
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 0);
}

TEST(HostTensorTest, CloneIsDeepAndMoveTransfers) {
  HostTensor original = std::move(HostTensor::zeros(DType::I64, {3}).value());
  original.data<int64_t>()[1] = 42;
  HostTensor copy = original.clone();
  copy.data<int64_t>()[1] = 7;
  EXPECT_EQ(original.data<int64_t>()[1], 42);
  const void *buffer = original.data();
  HostTensor moved = std::move(original);
  EXPECT_EQ(moved.data(), buffer);
  EXPECT_EQ(moved.describe(), "i64[3]");
}

TEST(HostTensorDeathTest, TypedAccessWithTheWrongTypeStops) {
  HostTensor tensor = std::move(HostTensor::zeros(DType::F32, {1}).value());
  EXPECT_DEATH(tensor.data<double>(), "does not match f32\\[1\\]");
}

TEST(ConvertTest, WidensF32ToF64Exactly) {
  HostTensor f32 = std::move(HostTensor::zeros(DType::F32, {6}).value());
  const float values[] = {0.1f,
                          -3.5f,
                          std::numeric_limits<float>::denorm_min(),
                          std::numeric_limits<float>::max(),
                          -std::numeric_limits<float>::infinity(),
                          16777217.0f};
  std::memcpy(f32.data(), values, sizeof(values));
  StatusOr<HostTensor> f64 = convertTo(f32, DType::F64);
  ASSERT_TRUE(f64.ok()) << f64.status().message();
  EXPECT_EQ(f64->describe(), "f64[6]");
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(f64->data<double>()[i], static_cast<double>(values[i]));
  EXPECT_EQ(f64->data<double>()[0], 0.100000001490116119384765625);
}

TEST(ConvertTest, WidensI32ToI64) {
  HostTensor i32 = std::move(HostTensor::zeros(DType::I32, {3}).value());
  i32.data<int32_t>()[0] = std::numeric_limits<int32_t>::min();
  i32.data<int32_t>()[1] = -1;
  i32.data<int32_t>()[2] = std::numeric_limits<int32_t>::max();
  StatusOr<HostTensor> i64 = convertTo(i32, DType::I64);
  ASSERT_TRUE(i64.ok());
  EXPECT_EQ(i64->data<int64_t>()[0], -2147483648LL);
  EXPECT_EQ(i64->data<int64_t>()[1], -1);
  EXPECT_EQ(i64->data<int64_t>()[2], 2147483647LL);
}

TEST(ConvertTest, WidensHalfBfloatBytesAndBools) {
  HostTensor f16 = std::move(HostTensor::zeros(DType::F16, {5}).value());
  const uint16_t halves[] = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00};
  std::memcpy(f16.data(), halves, sizeof(halves));
  HostTensor f32 = std::move(convertTo(f16, DType::F32).value());
  EXPECT_EQ(f32.data<float>()[0], 1.0f);
  EXPECT_EQ(f32.data<float>()[1], -2.0f);
  EXPECT_EQ(f32.data<float>()[2], 65504.0f);
  EXPECT_EQ(f32.data<float>()[3], std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(f32.data<float>()[4]));
  EXPECT_TRUE(std::isnan(halfToFloat(0x7e00)));
  EXPECT_EQ(bfloat16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(bfloat16ToFloat(0xc0a0), -5.0f);

  HostTensor u8 = std::move(HostTensor::zeros(DType::U8, {2}).value());
  u8.data<uint8_t>()[0] = 255;
  EXPECT_EQ(convertTo(u8, DType::F32)->data<float>()[0], 255.0f);
  HostTensor flags = std::move(HostTensor::zeros(DType::Bool, {2}).value());
  flags.data<bool>()[1] = true;
  EXPECT_EQ(convertTo(flags, DType::I64)->data<int64_t>()[1], 1);
}

TEST(ConvertTest, SameDTypeCopies) {
  HostTensor a = std::move(HostTensor::zeros(DType::U8, {2}).value());
  a.data<uint8_t>()[0] = 9;
  StatusOr<HostTensor> b = convertTo(a, DType::U8);
  ASSERT_TRUE(b.ok());
  EXPECT_NE(b->data(), a.data());
  EXPECT_EQ(b->data<uint8_t>()[0], 9);
}

TEST(ConvertTest, RefusesNarrowingAndLossyConversions) {
  HostTensor f64 = std::move(HostTensor::zeros(DType::F64, {2}).value());
  EXPECT_TRUE(failsWith(convertTo(f64, DType::F32).status(),
                        "cannot convert a f64 tensor to f32"));
  HostTensor i64 = std::move(HostTensor::zeros(DType::I64, {2}).value());
  EXPECT_TRUE(failsWith(convertTo(i64, DType::I32).status(),
                        "i64 -> i32 could lose precision or range"));
  HostTensor f32 = std::move(HostTensor::zeros(DType::F32, {2}).value());
  EXPECT_TRUE(failsWith(convertTo(f32, DType::I32).status(),
                        "cannot convert a f32 tensor to i32"));
  HostTensor i32 = std::move(HostTensor::zeros(DType::I32, {2}).value());
  EXPECT_TRUE(failsWith(convertTo(i32, DType::F32).status(),
                        "only lossless widening conversions"));
  EXPECT_FALSE(isLosslessConversion(DType::I64, DType::F64));
  EXPECT_TRUE(isLosslessConversion(DType::I32, DType::F64));
}

TEST(StatusTest, ErrorsAndPrefixes) {
  EXPECT_TRUE(Status().ok());
  EXPECT_TRUE(Status::success().ok());
  Status error = Status::error("bad shape");
  EXPECT_FALSE(error.ok());
  EXPECT_EQ(error.withPrefix("'x.npy': ").message(), "'x.npy': bad shape");
  EXPECT_EQ(Status::error("").message(), "unknown error");
  StatusOr<int> fromSuccess = Status::success();
  EXPECT_FALSE(fromSuccess.ok());
  StatusOr<int> value = 3;
  EXPECT_TRUE(value.ok());
  EXPECT_EQ(*value, 3);
}

} // namespace
