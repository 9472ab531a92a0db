//===- Npy.cpp - Read and write NumPy .npy files --------------------------===//

#include "kiln/runtime/Npy.h"

#include "AtomicFile.h"
#include "InputFile.h"

#include <cstring>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              ".npy data is read and written in host (little-endian) order");

namespace kiln::rt {

namespace {

constexpr char magic[] = "\x93NUMPY";
constexpr size_t magicSize = 6;

struct Descr {
  DType dtype;
  const char *text;
};

/// The descrs numpy.save writes for each supported dtype, then accepted
/// alternative spellings of one-byte types.
constexpr Descr descrs[] = {
    {DType::F32, "<f4"}, {DType::F64, "<f8"},  {DType::F16, "<f2"},
    {DType::I32, "<i4"}, {DType::I64, "<i8"},  {DType::I8, "|i1"},
    {DType::U8, "|u1"},  {DType::Bool, "|b1"}, {DType::I8, "<i1"},
    {DType::U8, "<u1"},  {DType::Bool, "<b1"},
};

/// A value of the header dict: a Python literal of the few kinds .npy uses.
struct PyValue {
  enum class Kind { String, Bool, Tuple } kind = Kind::String;
  std::string string;
  bool boolean = false;
  std::vector<int64_t> tuple;
};

/// Parses the header dict, e.g.
/// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class DictParser {
public:
  explicit DictParser(const std::string &text) : text(text) {}

  Status parse(std::vector<std::pair<std::string, PyValue>> &entries) {
    skipSpaces();
    if (!consume('{'))
      return error("expected '{'");
    while (true) {
      skipSpaces();
      if (consume('}'))
        break;
      PyValue key, value;
      if (Status status = parseString(key); !status.ok())
        return status;
      skipSpaces();
      if (!consume(':'))
        return error("expected ':'");
      skipSpaces();
      if (Status status = parseValue(value); !status.ok())
        return status;
      entries.emplace_back(key.string, std::move(value));
      skipSpaces();
      if (!consume(',')) {
        skipSpaces();
        if (!consume('}'))
          return error("expected ',' or '}'");
        break;
      }
    }
    skipSpaces();
    if (pos != text.size())
      return error("unexpected text after the dict");
    return Status::success();
  }

private:
  Status error(const std::string &what) const {
    return Status::error("cannot parse the header dict at byte " +
                         std::to_string(pos) + ": " + what);
  }
  bool atEnd() const { return pos >= text.size(); }
  bool consume(char c) {
    if (atEnd() || text[pos] != c)
      return false;
    ++pos;
    return true;
  }
  void skipSpaces() {
    while (!atEnd() && (text[pos] == ' ' || text[pos] == '\n'))
      ++pos;
  }
  bool consumeWord(const char *word) {
    if (text.compare(pos, std::strlen(word), word) != 0)
      return false;
    pos += std::strlen(word);
    return true;
  }

  Status parseString(PyValue &value) {
    if (atEnd() || (text[pos] != '\'' && text[pos] != '"'))
      return error("expected a quoted string");
    char quote = text[pos++];
    size_t end = text.find(quote, pos);
    if (end == std::string::npos)
      return error("unterminated string");
    value.kind = PyValue::Kind::String;
    value.string = text.substr(pos, end - pos);
    if (value.string.find('\\') != std::string::npos)
      return error("escapes in strings are not supported");
    pos = end + 1;
    return Status::success();
  }

  Status parseInteger(int64_t &result) {
    bool negative = consume('-');
    if (atEnd() || text[pos] < '0' || text[pos] > '9')
      return error("expected an integer");
    uint64_t magnitude = 0;
    while (!atEnd() && text[pos] >= '0' && text[pos] <= '9') {
      if (magnitude > (uint64_t(1) << 62) / 10)
        return error("integer too large");
      magnitude = magnitude * 10 + static_cast<uint64_t>(text[pos++] - '0');
    }
    result = negative ? -static_cast<int64_t>(magnitude)
                      : static_cast<int64_t>(magnitude);
    return Status::success();
  }

  Status parseValue(PyValue &value) {
    for (bool candidate : {true, false}) {
      if (consumeWord(candidate ? "True" : "False")) {
        value.kind = PyValue::Kind::Bool;
        value.boolean = candidate;
        return Status::success();
      }
    }
    if (!consume('('))
      return parseString(value);
    value.kind = PyValue::Kind::Tuple;
    while (true) {
      skipSpaces();
      if (consume(')'))
        return Status::success();
      int64_t element;
      if (Status status = parseInteger(element); !status.ok())
        return status;
      value.tuple.push_back(element);
      skipSpaces();
      if (!consume(',')) {
        skipSpaces();
        if (!consume(')'))
          return error("expected ',' or ')' in a tuple");
        return Status::success();
      }
    }
  }

  const std::string &text;
  size_t pos = 0;
};

/// Reads the dtype and shape out of the header dict's entries.
Status
interpretHeader(const std::vector<std::pair<std::string, PyValue>> &entries,
                DType &dtype, std::vector<int64_t> &shape) {
  const PyValue *descr = nullptr, *fortran = nullptr, *shapeValue = nullptr;
  for (const auto &[key, value] : entries) {
    const PyValue **slot = key == "descr"           ? &descr
                           : key == "fortran_order" ? &fortran
                           : key == "shape"         ? &shapeValue
                                                    : nullptr;
    if (!slot)
      return Status::error("unexpected key '" + key + "' in the header dict");
    *slot = &value;
  }
  if (!descr || !fortran || !shapeValue)
    return Status::error(std::string("the header dict lacks '") +
                         (!descr     ? "descr"
                          : !fortran ? "fortran_order"
                                     : "shape") +
                         "'");
  if (descr->kind != PyValue::Kind::String)
    return Status::error("'descr' is not a string");
  if (!descr->string.empty() && descr->string[0] == '>')
    return Status::error("big-endian dtype '" + descr->string +
                         "' is not supported; save a little-endian array, "
                         "e.g. with a.astype(a.dtype.newbyteorder('<'))");
  const Descr *found = nullptr;
  for (const Descr &entry : descrs)
    if (descr->string == entry.text)
      found = &entry;
  if (!found)
    return Status::error("unsupported dtype '" + descr->string +
                         "' (supported: <f4, <f8, <f2, <i4, <i8, |i1, |u1, "
                         "|b1)");
  dtype = found->dtype;
  if (fortran->kind != PyValue::Kind::Bool)
    return Status::error("'fortran_order' is not True or False");
  if (fortran->boolean)
    return Status::error("Fortran-order arrays are not supported; save "
                         "np.ascontiguousarray(a) instead");
  if (shapeValue->kind != PyValue::Kind::Tuple)
    return Status::error("'shape' is not a tuple of integers");
  shape = shapeValue->tuple;
  return Status::success();
}

StatusOr<HostTensor> readFile(const io::InputFile &input) {
  uint64_t fileSize = input.size();
  unsigned char prefix[12] = {};
  size_t prefixSize = fileSize < 12 ? static_cast<size_t>(fileSize) : 12;
  if (Status status = input.readAt(0, prefix, prefixSize); !status.ok())
    return status;
  if (std::memcmp(prefix, magic,
                  prefixSize < magicSize ? prefixSize : magicSize) != 0)
    return Status::error("not a .npy file (bad magic)");
  int major = prefix[6], minor = prefix[7];
  // 3.0 is 2.0 with a UTF-8 header (numpy writes it for non-ASCII field
  // names); the headers Kiln reads are ASCII either way.
  if (prefixSize >= 8 && !(minor == 0 && major >= 1 && major <= 3))
    return Status::error("unsupported .npy version " + std::to_string(major) +
                         "." + std::to_string(minor) +
                         " (1.0, 2.0 and 3.0 are supported)");
  size_t lengthSize = major >= 2 ? 4 : 2;
  if (prefixSize < 8 + lengthSize)
    return Status::error("truncated .npy header: the file has only " +
                         std::to_string(fileSize) + " bytes");
  uint64_t headerSize = 0;
  for (size_t i = lengthSize; i-- > 0;)
    headerSize = (headerSize << 8) | prefix[8 + i];
  uint64_t headerStart = 8 + lengthSize;
  if (headerSize > fileSize - headerStart)
    return Status::error("header length " + std::to_string(headerSize) +
                         " runs past the end of the file (" +
                         std::to_string(fileSize) + " bytes)");
  std::string header(headerSize, '\0');
  if (Status status = input.readAt(headerStart, header.data(), headerSize);
      !status.ok())
    return status;

  std::vector<std::pair<std::string, PyValue>> entries;
  if (Status status = DictParser(header).parse(entries); !status.ok())
    return status;
  DType dtype;
  std::vector<int64_t> shape;
  if (Status status = interpretHeader(entries, dtype, shape); !status.ok())
    return status;
  StatusOr<uint64_t> bytes = HostTensor::checkedSizeInBytes(dtype, shape);
  if (!bytes.ok())
    return bytes.status();
  uint64_t dataStart = headerStart + headerSize;
  if (*bytes > fileSize - dataStart)
    return Status::error("data is truncated: " + std::string(dtypeName(dtype)) +
                         " shape " + formatShape(shape) + " needs " +
                         std::to_string(*bytes) + " bytes, but the file has " +
                         std::to_string(fileSize - dataStart) +
                         " after the header");
  StatusOr<HostTensor> tensor = HostTensor::zeros(dtype, shape);
  if (!tensor.ok())
    return tensor.status();
  if (Status status =
          input.readAt(dataStart, tensor->data(), tensor->sizeInBytes());
      !status.ok())
    return status;
  if (dtype == DType::Bool) {
    const auto *values = static_cast<const uint8_t *>(tensor->data());
    for (int64_t i = 0; i < tensor->numElements(); ++i)
      if (values[i] > 1)
        return Status::error("bool element " + std::to_string(i) + " is " +
                             std::to_string(values[i]) + ", not 0 or 1");
  }
  return tensor;
}

} // namespace

StatusOr<HostTensor> readNpy(const std::string &path) {
  StatusOr<io::InputFile> input = io::InputFile::open(path);
  if (!input.ok())
    return input.status();
  StatusOr<HostTensor> tensor = readFile(*input);
  if (!tensor.ok())
    return tensor.status().withPrefix("'" + path + "': ");
  return tensor;
}

Status writeNpy(const std::string &path, const HostTensor &tensor) {
  const char *descr = nullptr;
  for (const Descr &entry : descrs)
    if (entry.dtype == tensor.dtype() && !descr)
      descr = entry.text;
  if (!descr)
    return Status::error("cannot write '" + path + "': " +
                         dtypeName(tensor.dtype()) + " has no .npy dtype");
  std::string shape = "(";
  for (int64_t dim : tensor.shape())
    shape += std::to_string(dim) + (tensor.rank() == 1 ? "," : ", ");
  if (tensor.rank() > 1)
    shape.resize(shape.size() - 2);
  shape += ")";
  std::string header = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";

  // Pad with spaces and end with '\n' so that the data is 64-byte aligned.
  // Version 1.0 stores the header length in 16 bits, 2.0 in 32.
  auto paddedSize = [&](size_t prefixSize) {
    size_t unpadded = prefixSize + header.size() + 1;
    return header.size() + 1 + (64 - unpadded % 64) % 64;
  };
  size_t lengthSize = paddedSize(magicSize + 4) > 65535 ? 4 : 2;
  size_t prefixSize = magicSize + 2 + lengthSize;
  header.resize(paddedSize(prefixSize) - 1, ' ');
  header += '\n';
  unsigned char prefix[12];
  std::memcpy(prefix, magic, magicSize);
  prefix[6] = lengthSize == 2 ? 1 : 2;
  prefix[7] = 0;
  for (size_t i = 0; i < lengthSize; ++i)
    prefix[8 + i] = static_cast<unsigned char>(header.size() >> (8 * i));
  return io::writeFileAtomically(path, {{prefix, prefixSize},
                                        {header.data(), header.size()},
                                        {tensor.data(), tensor.sizeInBytes()}});
}

} // namespace kiln::rt
