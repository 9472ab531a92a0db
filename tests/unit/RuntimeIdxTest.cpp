//===- RuntimeIdxTest.cpp - Unit tests of IDX (MNIST format) reading ------===//

#include "kiln/runtime/Idx.h"

#include "RuntimeTestSupport.h"

#include <sys/stat.h>
#include <zlib.h>

using namespace kiln::rt;
using namespace kiln::rt::test;

namespace {

const std::string fashionMnist = "/usr/share/datasets/fashion-mnist";

/// The bytes of an IDX file: magic with `type`, big-endian dims, `data`.
std::string idxBytes(unsigned char type, const std::vector<uint32_t> &dims,
                     const std::string &data) {
  std::string bytes = {0, 0, static_cast<char>(type),
                       static_cast<char>(dims.size())};
  for (uint32_t dim : dims)
    for (int shift = 24; shift >= 0; shift -= 8)
      bytes += static_cast<char>((dim >> shift) & 0xff);
  return bytes + data;
}

/// Writes `bytes` gzip-compressed to `path` with zlib.
void writeGzip(const std::string &path, const std::string &bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

Status readCrafted(const TempDir &dir, const std::string &bytes,
                   const std::string &name = "crafted.idx") {
  writeBytes(dir.file(name), bytes);
  return readIdx(dir.file(name)).status();
}

TEST(IdxTest, ReadsEveryElementTypeBigEndian) {
  TempDir dir;
  std::string path = dir.file("x.idx");
  writeBytes(
      path, idxBytes(0x08, {2, 3}, std::string("\x00\x01\x02\x03\x04\xff", 6)));
  StatusOr<HostTensor> u8 = readIdx(path);
  ASSERT_TRUE(u8.ok()) << u8.status().message();
  EXPECT_EQ(u8->describe(), "u8[2, 3]");
  EXPECT_EQ(u8->data<uint8_t>()[5], 255);

  writeBytes(path, idxBytes(0x09, {2}, "\xff\x80"));
  EXPECT_EQ(readIdx(path)->data<int8_t>()[1], -128);

  writeBytes(path, idxBytes(0x0B, {2}, std::string("\xff\xfe\x01\x02", 4)));
  StatusOr<HostTensor> i16 = readIdx(path);
  ASSERT_TRUE(i16.ok()) << i16.status().message();
  EXPECT_EQ(i16->describe(), "i32[2]");
  EXPECT_EQ(i16->data<int32_t>()[0], -2);
  EXPECT_EQ(i16->data<int32_t>()[1], 258);

  writeBytes(path, idxBytes(0x0C, {1}, std::string("\xff\xff\xff\xfd", 4)));
  EXPECT_EQ(readIdx(path)->data<int32_t>()[0], -3);

  // 1.5f is 0x3fc00000; -0.25 as a double is 0xbfd0000000000000.
  writeBytes(path, idxBytes(0x0D, {1}, std::string("\x3f\xc0\x00\x00", 4)));
  EXPECT_EQ(readIdx(path)->data<float>()[0], 1.5f);
  writeBytes(path, idxBytes(0x0E, {1}, std::string("\xbf\xd0\0\0\0\0\0\0", 8)));
  EXPECT_EQ(readIdx(path)->data<double>()[0], -0.25);

  // Trailing bytes are ignored; zero dimensions make a scalar.
  writeBytes(path, idxBytes(0x08, {}, "\x2a trailing"));
  StatusOr<HostTensor> scalar = readIdx(path);
  ASSERT_TRUE(scalar.ok()) << scalar.status().message();
  EXPECT_EQ(scalar->describe(), "u8[]");
  EXPECT_EQ(scalar->data<uint8_t>()[0], 42);
}

TEST(IdxTest, GunzipsFilesEndingInGz) {
  TempDir dir;
  std::string data(3000, '\0');
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>(i * 31 % 251);
  writeGzip(dir.file("x.idx.gz"), idxBytes(0x08, {3, 1000}, data));
  StatusOr<HostTensor> tensor = readIdx(dir.file("x.idx.gz"));
  ASSERT_TRUE(tensor.ok()) << tensor.status().message();
  EXPECT_EQ(tensor->describe(), "u8[3, 1000]");
  EXPECT_EQ(tensor->data<uint8_t>()[2999], 2999 * 31 % 251);
}

// One test per message of the reader.

TEST(IdxErrorTest, MissingFile) {
  TempDir dir;
  Status status = readIdx(dir.file("none.gz")).status();
  EXPECT_TRUE(failsWith(status, "cannot open '" + dir.file("none.gz") +
                                    "': No such file or directory"));
  EXPECT_EQ(status.message().find("setup.sh"), std::string::npos);
}

TEST(IdxErrorTest, MissingDatasetSuggestsSetup) {
  std::string path = fashionMnist + "/no-such-file-idx3-ubyte.gz";
  Status status = readIdx(path).status();
  EXPECT_TRUE(failsWith(status, "cannot open '" + path + "'"));
  EXPECT_TRUE(
      failsWith(status, "scripts/setup.sh installs dataset-fashion-mnist"));
}

TEST(IdxErrorTest, CorruptGzipChecksum) {
  TempDir dir;
  std::string path = dir.file("x.idx.gz");
  writeGzip(path, idxBytes(0x08, {4}, "abcd"));
  std::string bytes = readBytes(path);
  bytes[bytes.size() - 8] ^= 0x55; // The CRC-32 of the trailer.
  EXPECT_TRUE(failsWith(readCrafted(dir, bytes, "x.idx.gz"),
                        "x.idx.gz': corrupt gzip data: incorrect data check"));
}

TEST(IdxErrorTest, NotGzipAtAll) {
  TempDir dir;
  EXPECT_TRUE(
      failsWith(readCrafted(dir, idxBytes(0x08, {1}, "x"), "plain.idx.gz"),
                "plain.idx.gz': corrupt gzip data: incorrect header check"));
}

TEST(IdxErrorTest, TruncatedGzip) {
  TempDir dir;
  std::string path = dir.file("x.idx.gz");
  writeGzip(path, idxBytes(0x08, {4}, "abcd"));
  std::string bytes = readBytes(path);
  bytes.resize(bytes.size() - 4);
  EXPECT_TRUE(failsWith(readCrafted(dir, bytes, "x.idx.gz"),
                        "corrupt gzip data: the compressed stream ends early"));
}

TEST(IdxErrorTest, BadMagic) {
  TempDir dir;
  EXPECT_TRUE(
      failsWith(readCrafted(dir, std::string("\x1f\x8b\x08\x00 not idx", 12)),
                "crafted.idx': not an IDX file (bad magic"));
}

TEST(IdxErrorTest, TruncatedHeader) {
  TempDir dir;
  EXPECT_TRUE(failsWith(readCrafted(dir, std::string("\0\0", 2)),
                        "truncated IDX header: needs 4 bytes, only 2 present"));
  // The magic promises one dimension; only two of its four bytes follow.
  EXPECT_TRUE(failsWith(readCrafted(dir, idxBytes(0x08, {7}, "").substr(0, 6)),
                        "truncated IDX header: needs 4 bytes, only 2 present"));
}

TEST(IdxErrorTest, UnsupportedElementType) {
  TempDir dir;
  EXPECT_TRUE(failsWith(readCrafted(dir, idxBytes(0x0A, {1}, "x")),
                        "unsupported IDX element type 0x0a"));
}

TEST(IdxErrorTest, DimsProductOverflow) {
  TempDir dir;
  EXPECT_TRUE(failsWith(
      readCrafted(dir,
                  idxBytes(0x0E, {0xffffffff, 0xffffffff, 0xffffffff}, "")),
      "shape [4294967295, 4294967295, 4294967295] has too many elements"));
}

TEST(IdxErrorTest, TruncatedData) {
  TempDir dir;
  EXPECT_TRUE(failsWith(readCrafted(dir, idxBytes(0x08, {2, 3}, "12345")),
                        "truncated data: u8 dims [2, 3] need 6 bytes, at most "
                        "5 present"));
  writeGzip(dir.file("short.idx.gz"), idxBytes(0x0C, {2, 3}, "12345"));
  EXPECT_TRUE(failsWith(readIdx(dir.file("short.idx.gz")).status(),
                        "truncated data: i32 dims [2, 3]: needs 24 bytes, "
                        "only 5 present"));
}

TEST(FashionMnistTest, LoadsDebianDataset) {
  struct stat info;
  KILN_SKIP_UNLESS(::stat(fashionMnist.c_str(), &info) == 0,
                   fashionMnist << " is absent (dataset-fashion-mnist)");
  StatusOr<HostTensor> images =
      readIdx(fashionMnist + "/train-images-idx3-ubyte.gz");
  ASSERT_TRUE(images.ok()) << images.status().message();
  EXPECT_EQ(images->describe(), "u8[60000, 28, 28]");
  StatusOr<HostTensor> labels =
      readIdx(fashionMnist + "/train-labels-idx1-ubyte.gz");
  ASSERT_TRUE(labels.ok()) << labels.status().message();
  EXPECT_EQ(labels->describe(), "u8[60000]");
  int counts[10] = {};
  for (int64_t i = 0; i < labels->numElements(); ++i) {
    uint8_t label = labels->data<uint8_t>()[i];
    ASSERT_LT(label, 10) << "label " << i;
    ++counts[label];
  }
  // Fashion-MNIST's training set is balanced: 6000 images per class.
  for (int count : counts)
    EXPECT_EQ(count, 6000);
  int maxPixel = 0;
  for (int64_t i = 0; i < 28 * 28; ++i)
    maxPixel = std::max<int>(maxPixel, images->data<uint8_t>()[i]);
  EXPECT_GT(maxPixel, 0);

  StatusOr<HostTensor> testImages =
      readIdx(fashionMnist + "/t10k-images-idx3-ubyte.gz");
  ASSERT_TRUE(testImages.ok()) << testImages.status().message();
  EXPECT_EQ(testImages->describe(), "u8[10000, 28, 28]");
}

} // namespace
