//===- RuntimeIOTest.cpp - Unit tests of safetensors IO and atomic writes -===//

#include "kiln/runtime/SafeTensors.h"

#include "RuntimeTestSupport.h"

#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

using namespace kiln::rt;
using namespace kiln::rt::test;

namespace {

/// A tensor of `shape` whose bytes are 0, 1, 2, ... (mod 256), or 0/1 for
/// Bool.
HostTensor patterned(DType dtype, std::vector<int64_t> shape) {
  HostTensor tensor = std::move(HostTensor::zeros(dtype, shape).value());
  auto *bytes = static_cast<unsigned char *>(tensor.data());
  for (size_t i = 0; i < tensor.sizeInBytes(); ++i)
    bytes[i] = dtype == DType::Bool ? i % 2 : static_cast<unsigned char>(i);
  return tensor;
}

bool sameContents(const HostTensor &a, const HostTensor &b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), a.sizeInBytes()) == 0;
}

/// The bytes of a safetensors file with the given header and data.
std::string safetensorsBytes(const std::string &header,
                             const std::string &data = "") {
  return littleEndian(header.size(), 8) + header + data;
}

/// Reads `bytes` as a safetensors file and returns the status.
Status readCrafted(const TempDir &dir, const std::string &bytes) {
  std::string path = dir.file("crafted.safetensors");
  writeBytes(path, bytes);
  return readSafeTensors(path).status();
}

TEST(SafeTensorsTest, RoundTripsEveryDTypeWithMetadata) {
  TempDir dir;
  SafeTensorsFile file;
  const DType dtypes[] = {DType::F32,  DType::F64, DType::F16,
                          DType::BF16, DType::I64, DType::I32,
                          DType::I8,   DType::U8,  DType::Bool};
  for (DType dtype : dtypes)
    file.tensors.push_back(
        {std::string("layer.") + dtypeName(dtype), patterned(dtype, {2, 3})});
  file.tensors.push_back({"scalar", patterned(DType::F32, {})});
  file.tensors.push_back({"empty", patterned(DType::F32, {0, 4})});
  file.tensors.push_back({"caf\xc3\xa9 \"q\"\n", patterned(DType::U8, {1})});
  file.metadata = {{"format", "pt"}, {"note", "tab\there \\ \"x\""}};
  std::string path = dir.file("model.safetensors");
  Status written = writeSafeTensors(path, file);
  ASSERT_TRUE(written.ok()) << written.message();

  StatusOr<SafeTensorsFile> read = readSafeTensors(path);
  ASSERT_TRUE(read.ok()) << read.status().message();
  ASSERT_EQ(read->tensors.size(), file.tensors.size());
  for (size_t i = 0; i < file.tensors.size(); ++i) {
    EXPECT_EQ(read->tensors[i].name, file.tensors[i].name);
    EXPECT_TRUE(sameContents(read->tensors[i].tensor, file.tensors[i].tensor))
        << file.tensors[i].name;
  }
  EXPECT_EQ(read->metadata, file.metadata);
  ASSERT_NE(read->find("layer.bf16"), nullptr);
  EXPECT_EQ(read->find("layer.bf16")->dtype(), DType::BF16);
  EXPECT_EQ(read->find("missing"), nullptr);

  // The header is padded so that the data region is 8-byte aligned.
  std::string bytes = readBytes(path);
  uint64_t headerSize = 0;
  std::memcpy(&headerSize, bytes.data(), 8);
  EXPECT_EQ(headerSize % 8, 0u);
  EXPECT_EQ(bytes.compare(8, 16, "{\"__metadata__\":"), 0);
}

TEST(SafeTensorsTest, ReadsHeadersWithEscapesWhitespaceAndAnyOrder) {
  TempDir dir;
  std::string header =
      "{ \"b\\u00e9\\ud83d\\ude00\" : {\"shape\": [1], \"dtype\": \"U8\", "
      "\"data_offsets\": [1, 2]},\n \"a\": {\"dtype\": \"I8\", \"shape\": [], "
      "\"data_offsets\": [0, 1]} }   ";
  std::string path = dir.file("x.safetensors");
  writeBytes(path, safetensorsBytes(header, "\xff\x07"));
  StatusOr<SafeTensorsFile> file = readSafeTensors(path);
  ASSERT_TRUE(file.ok()) << file.status().message();
  // Tensors come back in the order of their data.
  ASSERT_EQ(file->tensors.size(), 2u);
  EXPECT_EQ(file->tensors[0].name, "a");
  EXPECT_EQ(file->tensors[0].tensor.data<int8_t>()[0], -1);
  EXPECT_EQ(file->tensors[1].name, "b\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(file->tensors[1].tensor.data<uint8_t>()[0], 7);
}

// One test per message of the reader.

TEST(SafeTensorsErrorTest, MissingFile) {
  TempDir dir;
  EXPECT_TRUE(failsWith(readSafeTensors(dir.file("none")).status(),
                        "cannot open '" + dir.file("none") +
                            "': No such file or directory"));
}

TEST(SafeTensorsErrorTest, ShorterThanEightBytes) {
  TempDir dir;
  std::string path = dir.file("crafted.safetensors");
  EXPECT_TRUE(failsWith(readCrafted(dir, "abc"),
                        "'" + path +
                            "': not a safetensors file: it has 3 "
                            "bytes, fewer than the 8-byte header"));
}

TEST(SafeTensorsErrorTest, HeaderLengthPastTheEnd) {
  TempDir dir;
  EXPECT_TRUE(failsWith(readCrafted(dir, littleEndian(100, 8) + "{}"),
                        "header length 100 runs past the end of the file "
                        "(10 bytes)"));
}

TEST(SafeTensorsErrorTest, AbsurdHeaderLength) {
  TempDir dir;
  EXPECT_TRUE(failsWith(readCrafted(dir, littleEndian(~0ull, 8) + "{}"),
                        "header length 18446744073709551615 is absurd"));
}

TEST(SafeTensorsErrorTest, InvalidJsonSaysWhere) {
  TempDir dir;
  EXPECT_TRUE(failsWith(
      readCrafted(dir, safetensorsBytes("{\"a\": {\"dtype\" \"F32\"}}")),
      "invalid JSON header: at byte 15: expected ':'"));
}

TEST(SafeTensorsErrorTest, UnknownDType) {
  TempDir dir;
  EXPECT_TRUE(failsWith(
      readCrafted(dir, safetensorsBytes("{\"w\": {\"dtype\": \"F8_E4M3\", "
                                        "\"shape\": [1], \"data_offsets\": "
                                        "[0, 1]}}",
                                        "x")),
      "tensor 'w': unknown dtype 'F8_E4M3'"));
}

TEST(SafeTensorsErrorTest, NegativeDimension) {
  TempDir dir;
  EXPECT_TRUE(failsWith(
      readCrafted(dir, safetensorsBytes("{\"w\": {\"dtype\": \"F32\", "
                                        "\"shape\": [2, -1], "
                                        "\"data_offsets\": [0, 0]}}")),
      "tensor 'w': shape [2, -1] has a negative dimension -1"));
}

TEST(SafeTensorsErrorTest, OverflowingShape) {
  TempDir dir;
  EXPECT_TRUE(failsWith(
      readCrafted(dir, safetensorsBytes(
                           "{\"w\": {\"dtype\": \"F32\", \"shape\": "
                           "[4294967296, 4294967296, 4], \"data_offsets\": "
                           "[0, 0]}}")),
      "tensor 'w': shape [4294967296, 4294967296, 4] has too many elements"));
}

TEST(SafeTensorsErrorTest, DataOffsetsNotTwoIntegers) {
  TempDir dir;
  for (const char *offsets :
       {"[0]", "[0, 4, 8]", "[\"0\", \"4\"]", "[-4, 0]", "{}"})
    EXPECT_TRUE(failsWith(
        readCrafted(dir,
                    safetensorsBytes(std::string("{\"w\": {\"dtype\": "
                                                 "\"F32\", \"shape\": "
                                                 "[1], \"data_offsets\": ") +
                                         offsets + "}}",
                                     "1234")),
        "tensor 'w': data_offsets must be two non-negative integers"))
        << offsets;
}

TEST(SafeTensorsErrorTest, DataOffsetsBeginAfterEnd) {
  TempDir dir;
  EXPECT_TRUE(failsWith(
      readCrafted(dir, safetensorsBytes("{\"w\": {\"dtype\": \"F32\", "
                                        "\"shape\": [1], \"data_offsets\": "
                                        "[8, 4]}}",
                                        "12345678")),
      "tensor 'w': data_offsets [8, 4] have begin > end"));
}

TEST(SafeTensorsErrorTest, DataOffsetsPastTheDataRegion) {
  TempDir dir;
  EXPECT_TRUE(failsWith(
      readCrafted(dir, safetensorsBytes("{\"w\": {\"dtype\": \"F32\", "
                                        "\"shape\": [2], \"data_offsets\": "
                                        "[0, 8]}}",
                                        "1234")),
      "tensor 'w': data_offsets [0, 8] end past the data region (4 bytes)"));
}

TEST(SafeTensorsErrorTest, ByteSizeDisagreesWithShape) {
  TempDir dir;
  EXPECT_TRUE(failsWith(
      readCrafted(dir, safetensorsBytes("{\"w\": {\"dtype\": \"F32\", "
                                        "\"shape\": [2, 3], "
                                        "\"data_offsets\": [0, 20]}}",
                                        std::string(24, 'x'))),
      "tensor 'w': data_offsets [0, 20] hold 20 bytes, but F32 shape [2, 3] "
      "needs 24"));
}

TEST(SafeTensorsErrorTest, OverlappingTensors) {
  TempDir dir;
  EXPECT_TRUE(failsWith(
      readCrafted(dir, safetensorsBytes(
                           "{\"a\": {\"dtype\": \"U8\", \"shape\": [4], "
                           "\"data_offsets\": [0, 4]}, \"b\": {\"dtype\": "
                           "\"U8\", \"shape\": [4], \"data_offsets\": [2, 6]}}",
                           "123456")),
      "tensors 'a' and 'b' overlap in the data region"));
}

TEST(SafeTensorsErrorTest, HeaderLengthOneShortOrTrailingBytes) {
  TempDir dir;
  // A well-formed file whose header ends in padding, read with a header
  // length one byte short: every tensor would be read one byte early.
  std::string header = "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], "
                       "\"data_offsets\": [0, 8]}}  ";
  std::string data(8, 'x');
  std::string bytes = littleEndian(header.size() - 1, 8) + header + data;
  EXPECT_TRUE(failsWith(readCrafted(dir, bytes),
                        "the tensors cover 8 bytes of the 9-byte data region: "
                        "the header length is wrong or bytes follow the last "
                        "tensor"));
  EXPECT_TRUE(failsWith(readCrafted(dir, safetensorsBytes(header, data + "!")),
                        "the tensors cover 8 bytes of the 9-byte data region"));
  // A gap between tensors.
  EXPECT_TRUE(failsWith(
      readCrafted(dir, safetensorsBytes(
                           "{\"a\": {\"dtype\": \"U8\", \"shape\": [2], "
                           "\"data_offsets\": [0, 2]}, \"b\": {\"dtype\": "
                           "\"U8\", \"shape\": [2], \"data_offsets\": [3, 5]}}",
                           "12345")),
      "bytes [2, 3) of the data region belong to no tensor (before 'b')"));
  // The same header with the right length reads.
  EXPECT_TRUE(readCrafted(dir, safetensorsBytes(header, data)).ok());
}

TEST(SafeTensorsErrorTest, DuplicateNames) {
  TempDir dir;
  std::string entry = "{\"dtype\": \"U8\", \"shape\": [1], "
                      "\"data_offsets\": [0, 1]}";
  EXPECT_TRUE(
      failsWith(readCrafted(dir, safetensorsBytes("{\"w\": " + entry +
                                                      ", \"w\": " + entry + "}",
                                                  "1")),
                "duplicate tensor name 'w'"));
}

TEST(SafeTensorsErrorTest, MalformedEntriesAndMetadata) {
  TempDir dir;
  const std::pair<const char *, const char *> cases[] = {
      {"[]", "the JSON header is not an object"},
      {"{\"w\": 3}", "tensor 'w': expected an object, found a integer"},
      {"{\"w\": {\"dtype\": \"U8\", \"shape\": [1]}}",
       "tensor 'w': missing key 'data_offsets'"},
      {"{\"w\": {\"dtype\": \"U8\", \"dtype\": \"U8\"}}",
       "tensor 'w': duplicate key 'dtype'"},
      {"{\"w\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1], "
       "\"extra\": 1}}",
       "tensor 'w': unknown key 'extra'"},
      {"{\"w\": {\"dtype\": \"U8\", \"shape\": [\"1\"], \"data_offsets\": "
       "[0, 1]}}",
       "tensor 'w': shape is not an array of integers"},
      {"{\"__metadata__\": {\"k\": 1}}", "__metadata__ value of 'k' is not"},
      {"{\"__metadata__\": {\"k\": \"a\", \"k\": \"b\"}}",
       "duplicate __metadata__ key 'k'"},
      {"{\"w\": {\"dtype\": \"BOOL\", \"shape\": [2], \"data_offsets\": "
       "[0, 2]}}",
       "tensor 'w': BOOL element 1 is 2, not 0 or 1"},
  };
  for (const auto &[header, message] : cases)
    EXPECT_TRUE(
        failsWith(readCrafted(dir, safetensorsBytes(header, "\1\2")), message))
        << header;
}

TEST(SafeTensorsErrorTest, StrictJson) {
  TempDir dir;
  const std::pair<std::string, const char *> cases[] = {
      {"{\"a\": 1.5}", "at byte 7: only integers are supported"},
      {"{\"a\": true}", "at byte 6: expected an object, array, string or"},
      {"{\"a\": [1,]}", "at byte 9: expected an object, array, string or"},
      {"{\"a\": 01}", "at byte 6: leading zeros are not allowed"},
      {"{\"a\": 9223372036854775808}", "at byte 24: integer out of the range"},
      {"{\"a\\x\": 1}", "at byte 4: invalid escape '\\x'"},
      {"{\"\\ud800\": 1}", "at byte 8: high surrogate not followed by a \\u"},
      {"{\"\\udc00\": 1}", "at byte 8: unpaired low surrogate"},
      {"{\"\xc3\x28\": 1}", "at byte 2: invalid UTF-8 in string"},
      {"{\"\xc0\xaf\": 1}", "at byte 2: invalid UTF-8 in string"},
      {"{\"a\tb\": 1}", "at byte 3: unescaped control character"},
      {"{\"a\": \"x", "at byte 8: unterminated string"},
      {"{\"a\": {}} x", "at byte 10: unexpected data after the JSON value"},
      {std::string(100, '[') + std::string(100, ']'),
       "at byte 65: nesting deeper than 64 levels"},
  };
  for (const auto &[header, message] : cases)
    EXPECT_TRUE(failsWith(readCrafted(dir, safetensorsBytes(header)),
                          std::string("invalid JSON header: ") + message))
        << header;
}

TEST(SafeTensorsWriteTest, RejectsBadNamesAndKeys) {
  TempDir dir;
  std::string path = dir.file("bad.safetensors");
  SafeTensorsFile file;
  file.tensors.push_back({"w", patterned(DType::F32, {1})});
  file.tensors.push_back({"w", patterned(DType::F32, {1})});
  EXPECT_TRUE(
      failsWith(writeSafeTensors(path, file),
                "cannot write '" + path + "': duplicate tensor name 'w'"));
  file.tensors.pop_back();
  file.tensors.push_back({"__metadata__", patterned(DType::F32, {1})});
  EXPECT_TRUE(failsWith(writeSafeTensors(path, file), "is reserved"));
  file.tensors.back().name = "bad\xff";
  EXPECT_TRUE(failsWith(writeSafeTensors(path, file), "is not valid UTF-8"));
  file.tensors.pop_back();
  file.metadata = {{"k", "1"}, {"k", "2"}};
  EXPECT_TRUE(
      failsWith(writeSafeTensors(path, file), "duplicate metadata key 'k'"));
  EXPECT_TRUE(dir.entries().empty());
}

TEST(AtomicWriteTest, ReplacesAnExistingFile) {
  TempDir dir;
  std::string path = dir.file("ckpt.safetensors");
  writeBytes(path, "old contents");
  SafeTensorsFile file;
  file.tensors.push_back({"w", patterned(DType::I32, {4})});
  ASSERT_TRUE(writeSafeTensors(path, file).ok());
  StatusOr<SafeTensorsFile> read = readSafeTensors(path);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_TRUE(sameContents(read->tensors[0].tensor, file.tensors[0].tensor));
  EXPECT_EQ(dir.entries(), std::set<std::string>{"ckpt.safetensors"});
}

TEST(AtomicWriteTest, WritesThroughSymlinksAndSpecialFiles) {
  TempDir dir;
  SafeTensorsFile file;
  file.tensors.push_back({"w", patterned(DType::I32, {4})});
  // A symbolic link keeps pointing at the file, which is replaced.
  std::string target = dir.file("real.safetensors");
  std::string link = dir.file("link.safetensors");
  writeBytes(target, "old");
  ASSERT_EQ(::symlink("real.safetensors", link.c_str()), 0);
  ASSERT_TRUE(writeSafeTensors(link, file).ok());
  struct stat info;
  ASSERT_EQ(::lstat(link.c_str(), &info), 0);
  EXPECT_TRUE(S_ISLNK(info.st_mode));
  StatusOr<SafeTensorsFile> read = readSafeTensors(target);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_TRUE(sameContents(read->tensors[0].tensor, file.tensors[0].tensor));
  // A dangling link creates its target.
  std::string dangling = dir.file("dangling.safetensors");
  ASSERT_EQ(::symlink("created.safetensors", dangling.c_str()), 0);
  ASSERT_TRUE(writeSafeTensors(dangling, file).ok());
  EXPECT_TRUE(readSafeTensors(dir.file("created.safetensors")).ok());
  // A FIFO (as a device such as /dev/null) is written to, not replaced.
  std::string fifo = dir.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  ASSERT_TRUE(writeSafeTensors(fifo, file).ok());
  char buffer[4096];
  ssize_t got = ::read(reader, buffer, sizeof(buffer));
  ::close(reader);
  EXPECT_GT(got, 8);
  ASSERT_EQ(::lstat(fifo.c_str(), &info), 0);
  EXPECT_TRUE(S_ISFIFO(info.st_mode));
  EXPECT_EQ(dir.entries(),
            (std::set<std::string>{"real.safetensors", "link.safetensors",
                                   "dangling.safetensors",
                                   "created.safetensors", "fifo"}));
}

TEST(AtomicWriteTest, FailedWritesLeaveNoTemporaryFile) {
  TempDir dir;
  SafeTensorsFile file;
  file.tensors.push_back({"w", patterned(DType::F32, {2})});
  // The directory does not exist: nothing can be created.
  std::string missing = dir.file("no-such-dir/ckpt.safetensors");
  EXPECT_TRUE(failsWith(writeSafeTensors(missing, file),
                        "cannot write '" + missing +
                            "': cannot create temporary file"));
  EXPECT_TRUE(
      failsWith(writeSafeTensors(missing, file), "No such file or directory"));
  EXPECT_TRUE(dir.entries().empty());

  // The target is a directory: the rename fails after the temporary file was
  // written; it is removed and the target is left as it was.
  std::string target = dir.file("target");
  std::filesystem::create_directory(target);
  writeBytes(target + "/inside", "keep");
  EXPECT_TRUE(failsWith(writeSafeTensors(target, file),
                        "over it failed: Is a directory"));
  EXPECT_EQ(dir.entries(), std::set<std::string>{"target"});
  EXPECT_EQ(readBytes(target + "/inside"), "keep");
}

TEST(SafeTensorsInteropTest, ReadsAndWritesWhatPythonDoes) {
  KILN_SKIP_UNLESS(haveNumpy(), "/usr/bin/python3 with numpy is not available");
  TempDir dir;
  // Python writes a file the way the safetensors package lays it out.
  ASSERT_EQ(runPython(dir, R"PY(
import json, struct, sys, numpy as np
a = np.arange(6, dtype='<f4').reshape(2, 3) / 4
b = np.array([-7, 2**40], dtype='<i8')
header = {'__metadata__': {'format': 'pt'},
          'a': {'dtype': 'F32', 'shape': [2, 3], 'data_offsets': [0, 24]},
          'b': {'dtype': 'I64', 'shape': [2], 'data_offsets': [24, 40]}}
text = json.dumps(header).encode()
text += b' ' * (-len(text) % 8)
with open(sys.argv[1] + '/py.safetensors', 'wb') as f:
    f.write(struct.pack('<Q', len(text)) + text + a.tobytes() + b.tobytes())
)PY"),
            0);
  StatusOr<SafeTensorsFile> read = readSafeTensors(dir.file("py.safetensors"));
  ASSERT_TRUE(read.ok()) << read.status().message();
  const HostTensor *a = read->find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->describe(), "f32[2, 3]");
  EXPECT_EQ(a->data<float>()[5], 1.25f);
  EXPECT_EQ(read->find("b")->data<int64_t>()[1], int64_t(1) << 40);
  EXPECT_EQ(read->metadata.at(0).second, "pt");

  // Python reads back what Kiln writes.
  ASSERT_TRUE(writeSafeTensors(dir.file("kiln.safetensors"), *read).ok());
  EXPECT_EQ(runPython(dir, R"PY(
import json, struct, sys, numpy as np
data = open(sys.argv[1] + '/kiln.safetensors', 'rb').read()
n = struct.unpack('<Q', data[:8])[0]
header = json.loads(data[8:8 + n])
assert header['__metadata__'] == {'format': 'pt'}, header
begin, end = header['a']['data_offsets']
a = np.frombuffer(data[8 + n + begin:8 + n + end], dtype='<f4')
assert (a.reshape(header['a']['shape']) ==
        np.arange(6, dtype='<f4').reshape(2, 3) / 4).all()
)PY"),
            0);
}

} // namespace
