//===- Idx.cpp - Read IDX files, the format of MNIST and Fashion-MNIST ----===//

#include "kiln/runtime/Idx.h"

#include "InputFile.h"

#include <cstdio>
#include <cstring>
#include <memory>
#include <zlib.h>

namespace kiln::rt {

namespace {

/// A sequential stream of the file's (decompressed) bytes.
class ByteStream {
public:
  virtual ~ByteStream() = default;
  /// Reads up to `count` bytes into `destination`; returns how many were
  /// read, fewer than `count` only at the end of the stream.
  virtual StatusOr<size_t> read(void *destination, size_t count) = 0;
  /// An upper bound of the bytes the stream can still deliver.
  virtual uint64_t maxRemaining() const = 0;
  /// Checks the integrity of the rest of the stream (a gzip checksum).
  virtual Status finish() = 0;
};

class PlainStream : public ByteStream {
public:
  explicit PlainStream(const io::InputFile &file) : file(file) {}

  StatusOr<size_t> read(void *destination, size_t count) override {
    size_t available = static_cast<size_t>(maxRemaining());
    size_t wanted = count < available ? count : available;
    if (Status status = file.readAt(offset, destination, wanted); !status.ok())
      return status;
    offset += wanted;
    return wanted;
  }
  uint64_t maxRemaining() const override { return file.size() - offset; }
  Status finish() override { return Status::success(); }

private:
  const io::InputFile &file;
  uint64_t offset = 0;
};

class GzipStream : public ByteStream {
public:
  explicit GzipStream(const io::InputFile &file) : file(file) {
    std::memset(&stream, 0, sizeof(stream));
    initialized = inflateInit2(&stream, 16 + MAX_WBITS) == Z_OK;
  }
  ~GzipStream() override {
    if (initialized)
      inflateEnd(&stream);
  }

  StatusOr<size_t> read(void *destination, size_t count) override {
    if (!initialized)
      return Status::error("cannot initialize zlib");
    auto *out = static_cast<Bytef *>(destination);
    size_t produced = 0;
    while (produced < count && !ended) {
      if (stream.avail_in == 0 && inputOffset < file.size()) {
        uint64_t left = file.size() - inputOffset;
        size_t chunk = left < input.size() ? size_t(left) : input.size();
        if (Status status = file.readAt(inputOffset, input.data(), chunk);
            !status.ok())
          return status;
        inputOffset += chunk;
        stream.next_in = input.data();
        stream.avail_in = static_cast<uInt>(chunk);
      }
      size_t wanted = count - produced;
      stream.next_out = out + produced;
      stream.avail_out =
          static_cast<uInt>(wanted < (1u << 30) ? wanted : 1u << 30);
      uInt before = stream.avail_out;
      int result = inflate(&stream, Z_NO_FLUSH);
      produced += before - stream.avail_out;
      if (result == Z_STREAM_END) {
        // Another gzip member may follow, as gunzip allows.
        if (stream.avail_in == 0 && inputOffset == file.size())
          ended = true;
        else if (inflateReset(&stream) != Z_OK)
          return Status::error("corrupt gzip data: cannot reset zlib");
      } else if (result == Z_BUF_ERROR && stream.avail_in == 0 &&
                 inputOffset == file.size()) {
        return Status::error("corrupt gzip data: the compressed stream ends "
                             "early (truncated file?)");
      } else if (result != Z_OK && result != Z_BUF_ERROR) {
        return Status::error(
            std::string("corrupt gzip data: ") +
            (stream.msg ? stream.msg : "zlib error " + std::to_string(result)));
      }
    }
    return produced;
  }

  uint64_t maxRemaining() const override {
    // Deflate expands at most about 1032:1, so a stream cannot hold more.
    return (file.size() - inputOffset + stream.avail_in) * 1040 + (1 << 20);
  }

  Status finish() override {
    std::vector<unsigned char> scratch(1 << 16);
    while (!ended) {
      StatusOr<size_t> got = read(scratch.data(), scratch.size());
      if (!got.ok())
        return got.status();
    }
    return Status::success();
  }

private:
  const io::InputFile &file;
  z_stream stream;
  bool initialized = false;
  bool ended = false;
  std::vector<Bytef> input = std::vector<Bytef>(1 << 18);
  uint64_t inputOffset = 0;
};

struct IdxType {
  unsigned char code;
  const char *name;
  size_t size;
  DType dtype;
};

constexpr IdxType idxTypes[] = {
    {0x08, "u8", 1, DType::U8},   {0x09, "i8", 1, DType::I8},
    {0x0B, "i16", 2, DType::I32}, {0x0C, "i32", 4, DType::I32},
    {0x0D, "f32", 4, DType::F32}, {0x0E, "f64", 8, DType::F64},
};

/// Turns the big-endian elements read into `tensor` into host order in
/// place; for int16, widens the elements in `raw` into the int32 tensor.
void fromBigEndian(const IdxType &type, HostTensor &tensor,
                   const std::vector<unsigned char> &raw) {
  int64_t count = tensor.numElements();
  if (type.code == 0x0B) {
    int32_t *out = tensor.data<int32_t>();
    for (int64_t i = 0; i < count; ++i)
      out[i] = static_cast<int16_t>((raw[2 * i] << 8) | raw[2 * i + 1]);
  } else if (type.size == 4) {
    auto *words = static_cast<uint32_t *>(tensor.data());
    for (int64_t i = 0; i < count; ++i)
      words[i] = __builtin_bswap32(words[i]);
  } else if (type.size == 8) {
    auto *words = static_cast<uint64_t *>(tensor.data());
    for (int64_t i = 0; i < count; ++i)
      words[i] = __builtin_bswap64(words[i]);
  }
}

/// Reads exactly `count` bytes, or fails saying which part was truncated.
Status readExactly(ByteStream &stream, void *destination, size_t count,
                   const std::string &what) {
  StatusOr<size_t> got = stream.read(destination, count);
  if (!got.ok())
    return got.status();
  if (*got < count)
    return Status::error("truncated " + what + ": needs " +
                         std::to_string(count) + " bytes, only " +
                         std::to_string(*got) + " present");
  return Status::success();
}

StatusOr<HostTensor> readStream(ByteStream &stream) {
  unsigned char magic[4];
  if (Status status = readExactly(stream, magic, 4, "IDX header"); !status.ok())
    return status;
  if (magic[0] != 0 || magic[1] != 0)
    return Status::error("not an IDX file (bad magic: the first two bytes "
                         "must be zero)");
  const IdxType *type = nullptr;
  for (const IdxType &entry : idxTypes)
    if (entry.code == magic[2])
      type = &entry;
  if (!type) {
    char code[8];
    std::snprintf(code, sizeof(code), "0x%02x", magic[2]);
    return Status::error(std::string("unsupported IDX element type ") + code +
                         " (supported: 0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e)");
  }
  std::vector<unsigned char> dimBytes(4 * size_t(magic[3]));
  if (Status status =
          readExactly(stream, dimBytes.data(), dimBytes.size(), "IDX header");
      !status.ok())
    return status;
  std::vector<int64_t> shape;
  for (size_t i = 0; i < magic[3]; ++i)
    shape.push_back((int64_t(dimBytes[4 * i]) << 24) |
                    (dimBytes[4 * i + 1] << 16) | (dimBytes[4 * i + 2] << 8) |
                    dimBytes[4 * i + 3]);

  // The tensor's elements are at least as wide as the file's, so checking
  // its size also rules out an overflow of the file's byte count.
  StatusOr<uint64_t> tensorBytes =
      HostTensor::checkedSizeInBytes(type->dtype, shape);
  if (!tensorBytes.ok())
    return tensorBytes.status();
  uint64_t bytes = *tensorBytes / dtypeSize(type->dtype) * type->size;
  std::string what =
      std::string("data: ") + type->name + " dims " + formatShape(shape);
  if (bytes > stream.maxRemaining())
    return Status::error("truncated " + what + " need " +
                         std::to_string(bytes) + " bytes, at most " +
                         std::to_string(stream.maxRemaining()) + " present");
  StatusOr<HostTensor> tensor = HostTensor::zeros(type->dtype, shape);
  if (!tensor.ok())
    return tensor.status();
  std::vector<unsigned char> raw(type->code == 0x0B ? bytes : 0);
  void *destination = type->code == 0x0B ? raw.data() : tensor->data();
  if (Status status = readExactly(stream, destination, bytes, what);
      !status.ok())
    return status;
  fromBigEndian(*type, *tensor, raw);
  if (Status status = stream.finish(); !status.ok())
    return status;
  return tensor;
}

bool endsWith(const std::string &text, const std::string &suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

StatusOr<HostTensor> readIdx(const std::string &path) {
  StatusOr<io::InputFile> input = io::InputFile::open(path);
  if (!input.ok()) {
    if (path.rfind("/usr/share/datasets/", 0) == 0)
      return Status::error(input.status().message() +
                           " (Debian's datasets live there: scripts/setup.sh "
                           "installs dataset-fashion-mnist)");
    return input.status();
  }
  std::unique_ptr<ByteStream> stream;
  if (endsWith(path, ".gz"))
    stream = std::make_unique<GzipStream>(*input);
  else
    stream = std::make_unique<PlainStream>(*input);
  StatusOr<HostTensor> tensor = readStream(*stream);
  if (!tensor.ok())
    return tensor.status().withPrefix("'" + path + "': ");
  return tensor;
}

} // namespace kiln::rt
