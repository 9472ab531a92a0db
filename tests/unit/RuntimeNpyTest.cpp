//===- RuntimeNpyTest.cpp - Unit tests of .npy reading and writing --------===//

#include "kiln/runtime/Npy.h"

#include "RuntimeTestSupport.h"

#include <cstring>

using namespace kiln::rt;
using namespace kiln::rt::test;

namespace {

/// The bytes of a version 1.0 .npy file with header dict `dict`.
std::string npyBytes(const std::string &dict, const std::string &data = "") {
  std::string header = dict + "\n";
  return std::string("\x93NUMPY\x01\x00", 8) + littleEndian(header.size(), 2) +
         header + data;
}

Status readCrafted(const TempDir &dir, const std::string &bytes) {
  std::string path = dir.file("crafted.npy");
  writeBytes(path, bytes);
  return readNpy(path).status();
}

TEST(NpyTest, RoundTripsEveryNumpyDType) {
  TempDir dir;
  const DType dtypes[] = {DType::F32, DType::F64, DType::F16, DType::I64,
                          DType::I32, DType::I8,  DType::U8,  DType::Bool};
  const std::vector<std::vector<int64_t>> shapes = {{}, {5}, {2, 3}, {0, 2}};
  for (DType dtype : dtypes) {
    for (const std::vector<int64_t> &shape : shapes) {
      HostTensor tensor = std::move(HostTensor::zeros(dtype, shape).value());
      auto *bytes = static_cast<unsigned char *>(tensor.data());
      for (size_t i = 0; i < tensor.sizeInBytes(); ++i)
        bytes[i] = dtype == DType::Bool ? i % 2 : static_cast<uint8_t>(7 * i);
      std::string path = dir.file("t.npy");
      Status written = writeNpy(path, tensor);
      ASSERT_TRUE(written.ok()) << written.message();
      EXPECT_EQ(readBytes(path).size() % 64, tensor.sizeInBytes() % 64);
      StatusOr<HostTensor> read = readNpy(path);
      ASSERT_TRUE(read.ok()) << read.status().message();
      EXPECT_EQ(read->describe(), tensor.describe());
      EXPECT_EQ(std::memcmp(read->data(), tensor.data(), tensor.sizeInBytes()),
                0)
          << tensor.describe();
    }
  }
  EXPECT_EQ(dir.entries(), std::set<std::string>{"t.npy"});
}

TEST(NpyTest, WritesTheHeaderNumpyWrites) {
  TempDir dir;
  HostTensor tensor = std::move(HostTensor::zeros(DType::F32, {2, 3}).value());
  ASSERT_TRUE(writeNpy(dir.file("a.npy"), tensor).ok());
  std::string bytes = readBytes(dir.file("a.npy"));
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(bytes.substr(10, 60), "{'descr': '<f4', 'fortran_order': False, "
                                  "'shape': (2, 3), } ");
  // 10 + 59 bytes of header, padded to 128 so that the data is aligned.
  EXPECT_EQ(bytes[127], '\n');
  EXPECT_EQ(bytes.size(), 128u + 24u);
}

TEST(NpyTest, ReadsVersion2AndIgnoresTrailingData) {
  TempDir dir;
  std::string header = "{'descr':'|u1','shape':(3,),'fortran_order':False}\n";
  std::string path = dir.file("v2.npy");
  writeBytes(path, std::string("\x93NUMPY\x02\x00", 8) +
                       littleEndian(header.size(), 4) + header + "abcXYZ");
  StatusOr<HostTensor> read = readNpy(path);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->describe(), "u8[3]");
  EXPECT_EQ(read->data<uint8_t>()[2], 'c');
}

TEST(NpyTest, RefusesBfloat16) {
  TempDir dir;
  HostTensor tensor = std::move(HostTensor::zeros(DType::BF16, {1}).value());
  EXPECT_TRUE(
      failsWith(writeNpy(dir.file("b.npy"), tensor), "bf16 has no .npy dtype"));
  EXPECT_TRUE(dir.entries().empty());
}

TEST(NpyTest, AtomicWriteFailureLeavesNoTemporary) {
  TempDir dir;
  HostTensor tensor = std::move(HostTensor::zeros(DType::F32, {1}).value());
  EXPECT_TRUE(failsWith(writeNpy(dir.file("missing/a.npy"), tensor),
                        "No such file or directory"));
  EXPECT_TRUE(dir.entries().empty());
}

// One test per message of the reader.

TEST(NpyErrorTest, BadMagic) {
  TempDir dir;
  EXPECT_TRUE(failsWith(readCrafted(dir, "PK\x03\x04 a zip file"),
                        "crafted.npy': not a .npy file (bad magic)"));
}

TEST(NpyErrorTest, TruncatedHeader) {
  TempDir dir;
  EXPECT_TRUE(
      failsWith(readCrafted(dir, std::string("\x93NUMPY\x01\x00\x10", 9)),
                "truncated .npy header: the file has only 9 bytes"));
}

TEST(NpyErrorTest, UnsupportedVersion) {
  TempDir dir;
  EXPECT_TRUE(failsWith(readCrafted(dir, std::string("\x93NUMPY\x04\x00", 8) +
                                             littleEndian(0, 4)),
                        "unsupported .npy version 4.0 (1.0, 2.0 and 3.0 are "
                        "supported)"));
}

TEST(NpyTest, ReadsVersionsTwoAndThree) {
  TempDir dir;
  std::string header =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n";
  std::string data = littleEndian(0x3f800000, 4) + littleEndian(0x40000000, 4);
  for (char major : {'\x02', '\x03'}) {
    std::string bytes = std::string("\x93NUMPY", 6) + major + '\x00' +
                        littleEndian(header.size(), 4) + header + data;
    std::string path = dir.file("v.npy");
    writeBytes(path, bytes);
    StatusOr<HostTensor> t = readNpy(path);
    ASSERT_TRUE(t.ok()) << t.status().message();
    EXPECT_EQ(t.value().shape(), (std::vector<int64_t>{2}));
    EXPECT_EQ(t.value().data<float>()[1], 2.0f);
  }
}

TEST(NpyErrorTest, HeaderLengthPastTheEnd) {
  TempDir dir;
  EXPECT_TRUE(
      failsWith(readCrafted(dir, std::string("\x93NUMPY\x01\x00", 8) +
                                     littleEndian(1000, 2) + "{'descr': '<f4'"),
                "header length 1000 runs past the end of the file (25 bytes)"));
}

TEST(NpyErrorTest, UnparsableDict) {
  TempDir dir;
  EXPECT_TRUE(failsWith(
      readCrafted(dir, npyBytes("{'descr': '<f4' 'fortran_order': False}")),
      "cannot parse the header dict at byte 16: expected ',' or '}'"));
  EXPECT_TRUE(failsWith(
      readCrafted(dir, npyBytes("{'descr': '<f4', 'fortran_order': False, "
                                "'shape': (2, x)}")),
      "cannot parse the header dict at byte 54: expected an integer"));
  EXPECT_TRUE(failsWith(
      readCrafted(dir, npyBytes("{'descr': '<f4', 'fortran_order': False}")),
      "the header dict lacks 'shape'"));
  EXPECT_TRUE(failsWith(
      readCrafted(dir, npyBytes("{'descr': '<f4', 'fortran_order': False, "
                                "'shape': (), 'extra': ()}")),
      "unexpected key 'extra' in the header dict"));
}

TEST(NpyErrorTest, FortranOrder) {
  TempDir dir;
  EXPECT_TRUE(failsWith(
      readCrafted(dir, npyBytes("{'descr': '<f4', 'fortran_order': True, "
                                "'shape': (2, 2), }",
                                std::string(16, '\0'))),
      "Fortran-order arrays are not supported; save np.ascontiguousarray(a)"));
}

TEST(NpyErrorTest, BigEndian) {
  TempDir dir;
  EXPECT_TRUE(failsWith(
      readCrafted(dir, npyBytes("{'descr': '>f8', 'fortran_order': False, "
                                "'shape': (1,), }",
                                std::string(8, '\0'))),
      "big-endian dtype '>f8' is not supported"));
}

TEST(NpyErrorTest, UnsupportedDescr) {
  TempDir dir;
  EXPECT_TRUE(failsWith(
      readCrafted(dir, npyBytes("{'descr': '<c8', 'fortran_order': False, "
                                "'shape': (1,), }")),
      "unsupported dtype '<c8'"));
}

TEST(NpyErrorTest, DataShorterThanTheShape) {
  TempDir dir;
  EXPECT_TRUE(failsWith(
      readCrafted(dir, npyBytes("{'descr': '<f4', 'fortran_order': False, "
                                "'shape': (2, 3), }",
                                std::string(20, '\0'))),
      "data is truncated: f32 shape [2, 3] needs 24 bytes, but the file has "
      "20 after the header"));
}

TEST(NpyErrorTest, NegativeAndOverflowingShapes) {
  TempDir dir;
  EXPECT_TRUE(failsWith(
      readCrafted(dir, npyBytes("{'descr': '<f4', 'fortran_order': False, "
                                "'shape': (2, -3), }")),
      "shape [2, -3] has a negative dimension -3"));
  EXPECT_TRUE(failsWith(
      readCrafted(dir, npyBytes("{'descr': '<f4', 'fortran_order': False, "
                                "'shape': (4611686018427387904, 4), }")),
      "(overflow)"));
}

TEST(NpyErrorTest, BoolBytesMustBeZeroOrOne) {
  TempDir dir;
  EXPECT_TRUE(failsWith(
      readCrafted(dir, npyBytes("{'descr': '|b1', 'fortran_order': False, "
                                "'shape': (2,), }",
                                "\x01\x05")),
      "bool element 1 is 5, not 0 or 1"));
}

TEST(NpyInteropTest, ReadsAndWritesWhatNumpyDoes) {
  KILN_SKIP_UNLESS(haveNumpy(), "/usr/bin/python3 with numpy is not available");
  TempDir dir;
  ASSERT_EQ(runPython(dir, R"PY(
import sys, numpy as np
d = sys.argv[1]
np.save(d + '/f4.npy', np.arange(6, dtype=np.float32).reshape(2, 3) / 8)
np.save(d + '/f8.npy', np.array([0.1, -2.5e300]))
np.save(d + '/f2.npy', np.array([1.5, -0.25], dtype=np.float16))
np.save(d + '/i8.npy', np.array([[-(2**40)], [3]], dtype=np.int64))
np.save(d + '/i4.npy', np.array(-17, dtype=np.int32))
np.save(d + '/i1.npy', np.array([-128, 127], dtype=np.int8))
np.save(d + '/u1.npy', np.zeros((0, 4), dtype=np.uint8))
np.save(d + '/b1.npy', np.array([True, False, True]))
np.save(d + '/fortran.npy', np.asfortranarray(np.ones((2, 3))))
)PY"),
            0);
  auto read = [&](const char *name) {
    StatusOr<HostTensor> tensor = readNpy(dir.file(name));
    EXPECT_TRUE(tensor.ok()) << tensor.status().message();
    return tensor.ok() ? std::move(tensor.value()) : HostTensor();
  };
  HostTensor f4 = read("f4.npy");
  EXPECT_EQ(f4.describe(), "f32[2, 3]");
  EXPECT_EQ(f4.data<float>()[5], 0.625f);
  HostTensor f8 = read("f8.npy");
  EXPECT_EQ(f8.data<double>()[0], 0.1);
  EXPECT_EQ(f8.data<double>()[1], -2.5e300);
  EXPECT_EQ(halfToFloat(read("f2.npy").data<uint16_t>()[1]), -0.25f);
  HostTensor i8 = read("i8.npy");
  EXPECT_EQ(i8.describe(), "i64[2, 1]");
  EXPECT_EQ(i8.data<int64_t>()[0], -(int64_t(1) << 40));
  EXPECT_EQ(read("i4.npy").data<int32_t>()[0], -17);
  EXPECT_EQ(read("i1.npy").data<int8_t>()[0], -128);
  EXPECT_EQ(read("u1.npy").describe(), "u8[0, 4]");
  HostTensor b1 = read("b1.npy");
  EXPECT_TRUE(b1.data<bool>()[0] && !b1.data<bool>()[1] && b1.data<bool>()[2]);
  EXPECT_TRUE(failsWith(readNpy(dir.file("fortran.npy")).status(),
                        "Fortran-order arrays are not supported"));

  // numpy reads back what Kiln writes.
  ASSERT_TRUE(writeNpy(dir.file("kf4.npy"), f4).ok());
  ASSERT_TRUE(writeNpy(dir.file("ki8.npy"), i8).ok());
  ASSERT_TRUE(writeNpy(dir.file("kb1.npy"), b1).ok());
  EXPECT_EQ(runPython(dir, R"PY(
import sys, numpy as np
d = sys.argv[1]
f4 = np.load(d + '/kf4.npy')
assert f4.dtype == np.float32 and f4.shape == (2, 3), f4
assert (f4 == np.arange(6, dtype=np.float32).reshape(2, 3) / 8).all()
i8 = np.load(d + '/ki8.npy')
assert i8.dtype == np.int64 and i8.tolist() == [[-(2**40)], [3]], i8
b1 = np.load(d + '/kb1.npy')
assert b1.dtype == np.bool_ and b1.tolist() == [True, False, True], b1
)PY"),
            0);
}

} // namespace
