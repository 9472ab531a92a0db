//===- RuntimeCApiTest.cpp - The C API of kiln/kiln.h ---------------------===//

#include "kiln/kiln.h"

#include "RuntimeTestSupport.h"

#include "kiln/runtime/SafeTensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>

using namespace kiln::rt;
using namespace kiln::rt::test;
using ::testing::HasSubstr;

namespace {

/// A file with an f32 [2, 3] "w" (0, 1, ..., 5), an f64 [2] "d" and an i64
/// scalar "n".
std::string writeExample(const TempDir &dir) {
  SafeTensorsFile file;
  HostTensor w = HostTensor::zeros(DType::F32, {2, 3}).value();
  for (int i = 0; i < 6; ++i)
    w.data<float>()[i] = static_cast<float>(i);
  HostTensor d = HostTensor::zeros(DType::F64, {2}).value();
  d.data<double>()[0] = 0.25, d.data<double>()[1] = -4.0;
  HostTensor n = HostTensor::zeros(DType::I64, {}).value();
  n.data<int64_t>()[0] = 1ll << 40;
  file.tensors.push_back({"layer.w", std::move(w)});
  file.tensors.push_back({"d", std::move(d)});
  file.tensors.push_back({"n", std::move(n)});
  std::string path = dir.file("weights.safetensors");
  EXPECT_TRUE(writeSafeTensors(path, file).ok());
  return path;
}

TEST(CApiTest, ReadsTensorsByNameWithTheirShapes) {
  TempDir dir;
  kiln_tensors *t = kiln_tensors_open(writeExample(dir).c_str());
  ASSERT_NE(t, nullptr) << kiln_last_error();
  ASSERT_EQ(kiln_tensors_count(t), 3);
  EXPECT_STREQ(kiln_tensors_name(t, 0), "layer.w");
  EXPECT_STREQ(kiln_tensors_name(t, 2), "n");
  EXPECT_EQ(kiln_tensors_name(t, 3), nullptr);
  EXPECT_EQ(kiln_tensors_name(t, -1), nullptr);

  int64_t shape[4] = {0, 0, 0, 0};
  EXPECT_EQ(kiln_tensors_shape(t, "layer.w", shape, 4), 2);
  EXPECT_EQ(shape[0], 2);
  EXPECT_EQ(shape[1], 3);
  EXPECT_EQ(kiln_tensors_shape(t, "n", shape, 4), 0);
  // A capacity smaller than the rank writes only what fits.
  int64_t one[1] = {-1};
  EXPECT_EQ(kiln_tensors_shape(t, "layer.w", one, 1), 2);
  EXPECT_EQ(one[0], 2);

  float w[6];
  ASSERT_EQ(kiln_tensors_read_f32(t, "layer.w", w, 6), 0) << kiln_last_error();
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(w[i], static_cast<float>(i));
  double d[2];
  ASSERT_EQ(kiln_tensors_read_f64(t, "d", d, 2), 0);
  EXPECT_EQ(d[0], 0.25);
  EXPECT_EQ(d[1], -4.0);
  int64_t n = 0;
  ASSERT_EQ(kiln_tensors_read_i64(t, "n", &n, 1), 0);
  EXPECT_EQ(n, 1ll << 40);
  kiln_tensors_close(t);
  kiln_tensors_close(nullptr);
}

TEST(CApiTest, RefusesAMissingTensorAnotherDTypeOrSize) {
  TempDir dir;
  std::string path = writeExample(dir);
  kiln_tensors *t = kiln_tensors_open(path.c_str());
  ASSERT_NE(t, nullptr);
  float w[7] = {7, 7, 7, 7, 7, 7, 7};
  EXPECT_NE(kiln_tensors_read_f32(t, "layer.b", w, 6), 0);
  EXPECT_THAT(kiln_last_error(), HasSubstr("has no tensor 'layer.b'"));
  EXPECT_THAT(kiln_last_error(), HasSubstr(path));
  EXPECT_NE(kiln_tensors_read_f32(t, "layer.w", w, 7), 0);
  EXPECT_THAT(kiln_last_error(), HasSubstr("tensor 'layer.w'"));
  EXPECT_THAT(kiln_last_error(), HasSubstr("not 7 elements"));
  EXPECT_NE(kiln_tensors_read_f32(t, "d", w, 2), 0);
  EXPECT_THAT(kiln_last_error(), HasSubstr("not f32"));
  EXPECT_EQ(kiln_tensors_shape(t, "missing", nullptr, 0), -1);
  // Nothing was written by the refused reads.
  for (float v : w)
    EXPECT_EQ(v, 7.0f);
  kiln_tensors_close(t);
}

TEST(CApiTest, AMalformedOrMissingFileIsNullWithTheReason) {
  TempDir dir;
  EXPECT_EQ(kiln_tensors_open(dir.file("absent.safetensors").c_str()), nullptr);
  EXPECT_THAT(kiln_last_error(), HasSubstr("absent.safetensors"));
  writeBytes(dir.file("short.safetensors"), "\x10\x00\x00");
  EXPECT_EQ(kiln_tensors_open(dir.file("short.safetensors").c_str()), nullptr);
  EXPECT_THAT(kiln_last_error(), HasSubstr("short.safetensors"));
  EXPECT_EQ(kiln_tensors_open(nullptr), nullptr);
}

TEST(CApiTest, TheLastErrorBelongsToTheCallingThread) {
  TempDir dir;
  EXPECT_EQ(kiln_tensors_open(dir.file("here.safetensors").c_str()), nullptr);
  std::string other;
  std::thread([&] {
    other = kiln_last_error();
    EXPECT_EQ(kiln_tensors_open(dir.file("there.safetensors").c_str()),
              nullptr);
  }).join();
  EXPECT_EQ(other, "");
  EXPECT_THAT(kiln_last_error(), HasSubstr("here.safetensors"));
}

} // namespace
