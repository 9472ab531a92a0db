//===- SafeTensors.cpp - Read and write .safetensors files ----------------===//

#include "kiln/runtime/SafeTensors.h"

#include "AtomicFile.h"
#include "InputFile.h"
#include "Json.h"

#include <algorithm>
#include <cstring>
#include <set>

namespace kiln::rt {

namespace {

/// Headers larger than this are rejected as corrupt rather than allocated.
constexpr uint64_t maxHeaderSize = 100'000'000;

struct FormatDType {
  DType dtype;
  const char *name;
};

constexpr FormatDType formatDTypes[] = {
    {DType::F32, "F32"},   {DType::F64, "F64"}, {DType::F16, "F16"},
    {DType::BF16, "BF16"}, {DType::I64, "I64"}, {DType::I32, "I32"},
    {DType::I8, "I8"},     {DType::U8, "U8"},   {DType::Bool, "BOOL"},
};

const char *formatName(DType dtype) {
  for (const FormatDType &entry : formatDTypes)
    if (entry.dtype == dtype)
      return entry.name;
  return "?";
}

/// What the header says about one tensor.
struct TensorEntry {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

/// Checks one tensor's header entry against the data region's size.
Status parseEntry(const std::string &name, const json::Value &value,
                  uint64_t dataSize, TensorEntry &entry) {
  std::string where = "tensor '" + name + "': ";
  if (value.kind != json::Value::Kind::Object)
    return Status::error(where + "expected an object, found a " +
                         std::string(value.kindName()));
  const json::Value *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
  for (const auto &[key, member] : value.members) {
    const json::Value **slot = key == "dtype"          ? &dtype
                               : key == "shape"        ? &shape
                               : key == "data_offsets" ? &offsets
                                                       : nullptr;
    if (!slot)
      return Status::error(where + "unknown key '" + key + "'");
    if (*slot)
      return Status::error(where + "duplicate key '" + key + "'");
    *slot = &member;
  }
  if (!dtype || !shape || !offsets)
    return Status::error(where + "missing key '" +
                         (!dtype   ? "dtype"
                          : !shape ? "shape"
                                   : "data_offsets") +
                         "'");

  entry.name = name;
  if (dtype->kind != json::Value::Kind::String)
    return Status::error(where + "dtype is not a string");
  auto known = std::find_if(
      std::begin(formatDTypes), std::end(formatDTypes),
      [&](const FormatDType &entry) { return dtype->string == entry.name; });
  if (known == std::end(formatDTypes))
    return Status::error(where + "unknown dtype '" + dtype->string +
                         "' (supported: F32, F64, F16, BF16, I64, I32, I8, "
                         "U8, BOOL)");
  entry.dtype = known->dtype;

  if (shape->kind != json::Value::Kind::Array)
    return Status::error(where + "shape is not an array of integers");
  for (const json::Value &dim : shape->elements) {
    if (dim.kind != json::Value::Kind::Integer)
      return Status::error(where + "shape is not an array of integers");
    entry.shape.push_back(dim.integer);
  }
  StatusOr<uint64_t> bytes =
      HostTensor::checkedSizeInBytes(entry.dtype, entry.shape);
  if (!bytes.ok())
    return bytes.status().withPrefix(where);

  if (offsets->kind != json::Value::Kind::Array ||
      offsets->elements.size() != 2 ||
      offsets->elements[0].kind != json::Value::Kind::Integer ||
      offsets->elements[1].kind != json::Value::Kind::Integer ||
      offsets->elements[0].integer < 0 || offsets->elements[1].integer < 0)
    return Status::error(where +
                         "data_offsets must be two non-negative integers");
  entry.begin = static_cast<uint64_t>(offsets->elements[0].integer);
  entry.end = static_cast<uint64_t>(offsets->elements[1].integer);
  std::string range = "[" + std::to_string(entry.begin) + ", " +
                      std::to_string(entry.end) + "]";
  if (entry.begin > entry.end)
    return Status::error(where + "data_offsets " + range + " have begin > end");
  if (entry.end > dataSize)
    return Status::error(where + "data_offsets " + range +
                         " end past the data region (" +
                         std::to_string(dataSize) + " bytes)");
  if (entry.end - entry.begin != *bytes)
    return Status::error(where + "data_offsets " + range + " hold " +
                         std::to_string(entry.end - entry.begin) +
                         " bytes, but " + dtype->string + " shape " +
                         formatShape(entry.shape) + " needs " +
                         std::to_string(*bytes));
  return Status::success();
}

Status parseMetadata(const json::Value &value, SafeTensorsFile &file) {
  if (value.kind != json::Value::Kind::Object)
    return Status::error("__metadata__ is not an object");
  std::set<std::string> seen;
  for (const auto &[key, member] : value.members) {
    if (member.kind != json::Value::Kind::String)
      return Status::error("__metadata__ value of '" + key +
                           "' is not a string");
    if (!seen.insert(key).second)
      return Status::error("duplicate __metadata__ key '" + key + "'");
    file.metadata.emplace_back(key, member.string);
  }
  return Status::success();
}

/// Parses the header and checks every entry; fills `entries` sorted by
/// data offset, and `file.metadata`.
Status parseHeader(const std::string &header, uint64_t dataSize,
                   std::vector<TensorEntry> &entries, SafeTensorsFile &file) {
  StatusOr<json::Value> root = json::parse(header);
  if (!root.ok())
    return root.status().withPrefix("invalid JSON header: ");
  if (root->kind != json::Value::Kind::Object)
    return Status::error("the JSON header is not an object");
  std::set<std::string> names;
  for (const auto &[name, value] : root->members) {
    if (!names.insert(name).second)
      return Status::error("duplicate tensor name '" + name + "'");
    if (name == "__metadata__") {
      if (Status status = parseMetadata(value, file); !status.ok())
        return status;
      continue;
    }
    TensorEntry entry;
    if (Status status = parseEntry(name, value, dataSize, entry); !status.ok())
      return status;
    entries.push_back(std::move(entry));
  }

  std::stable_sort(entries.begin(), entries.end(),
                   [](const TensorEntry &a, const TensorEntry &b) {
                     return a.begin < b.begin;
                   });
  // Empty tensors occupy no bytes and cannot overlap anything.
  const TensorEntry *previous = nullptr;
  for (const TensorEntry &entry : entries) {
    if (entry.begin == entry.end)
      continue;
    if (previous && previous->end > entry.begin)
      return Status::error("tensors '" + previous->name + "' and '" +
                           entry.name + "' overlap in the data region");
    previous = &entry;
  }
  // The format requires the tensors to cover the data region exactly: a
  // header length off by a few bytes of padding shifts every tensor and
  // leaves a gap or extra bytes, which are refused rather than read.
  uint64_t covered = 0;
  for (const TensorEntry &entry : entries) {
    if (entry.begin == entry.end)
      continue;
    if (entry.begin != covered)
      return Status::error("bytes [" + std::to_string(covered) + ", " +
                           std::to_string(entry.begin) +
                           ") of the data region belong to no tensor (before "
                           "'" + entry.name + "'): the header length or the "
                           "data offsets are wrong");
    covered = entry.end;
  }
  if (covered != dataSize)
    return Status::error("the tensors cover " + std::to_string(covered) +
                         " bytes of the " + std::to_string(dataSize) +
                         "-byte data region: the header length is wrong or "
                         "bytes follow the last tensor");
  return Status::success();
}

/// Fails if a BOOL tensor holds a byte other than 0 or 1.
Status checkBools(const std::string &name, const HostTensor &tensor) {
  const auto *bytes = static_cast<const uint8_t *>(tensor.data());
  for (int64_t i = 0; i < tensor.numElements(); ++i)
    if (bytes[i] > 1)
      return Status::error("tensor '" + name + "': BOOL element " +
                           std::to_string(i) + " is " +
                           std::to_string(bytes[i]) + ", not 0 or 1");
  return Status::success();
}

StatusOr<SafeTensorsFile> readFile(const io::InputFile &input) {
  uint64_t fileSize = input.size();
  if (fileSize < 8)
    return Status::error("not a safetensors file: it has " +
                         std::to_string(fileSize) +
                         " bytes, fewer than the 8-byte header length");
  unsigned char lengthBytes[8];
  if (Status status = input.readAt(0, lengthBytes, 8); !status.ok())
    return status;
  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = (headerSize << 8) | lengthBytes[i];
  if (headerSize > maxHeaderSize)
    return Status::error("header length " + std::to_string(headerSize) +
                         " is absurd (more than " +
                         std::to_string(maxHeaderSize) + " bytes)");
  if (headerSize > fileSize - 8)
    return Status::error("header length " + std::to_string(headerSize) +
                         " runs past the end of the file (" +
                         std::to_string(fileSize) + " bytes)");
  std::string header(headerSize, '\0');
  if (Status status = input.readAt(8, header.data(), headerSize); !status.ok())
    return status;

  uint64_t dataStart = 8 + headerSize;
  SafeTensorsFile file;
  std::vector<TensorEntry> entries;
  if (Status status = parseHeader(header, fileSize - dataStart, entries, file);
      !status.ok())
    return status;
  for (TensorEntry &entry : entries) {
    StatusOr<HostTensor> tensor = HostTensor::zeros(entry.dtype, entry.shape);
    if (!tensor.ok())
      return tensor.status().withPrefix("tensor '" + entry.name + "': ");
    if (Status status = input.readAt(dataStart + entry.begin, tensor->data(),
                                     tensor->sizeInBytes());
        !status.ok())
      return status;
    if (entry.dtype == DType::Bool)
      if (Status status = checkBools(entry.name, *tensor); !status.ok())
        return status;
    file.tensors.push_back({std::move(entry.name), std::move(*tensor)});
  }
  return file;
}

} // namespace

const HostTensor *SafeTensorsFile::find(const std::string &name) const {
  for (const NamedTensor &named : tensors)
    if (named.name == name)
      return &named.tensor;
  return nullptr;
}

StatusOr<SafeTensorsFile> readSafeTensors(const std::string &path) {
  StatusOr<io::InputFile> input = io::InputFile::open(path);
  if (!input.ok())
    return input.status();
  StatusOr<SafeTensorsFile> file = readFile(*input);
  if (!file.ok())
    return file.status().withPrefix("'" + path + "': ");
  return file;
}

Status writeSafeTensors(const std::string &path, const SafeTensorsFile &file) {
  std::string where = "cannot write '" + path + "': ";
  auto isUtf8 = [](const std::string &text) {
    return json::parse(json::quote(text)).ok();
  };
  std::string header = "{";
  if (!file.metadata.empty()) {
    std::set<std::string> keys;
    header += "\"__metadata__\":{";
    for (size_t i = 0; i < file.metadata.size(); ++i) {
      const auto &[key, value] = file.metadata[i];
      if (!keys.insert(key).second)
        return Status::error(where + "duplicate metadata key '" + key + "'");
      if (!isUtf8(key) || !isUtf8(value))
        return Status::error(where + "metadata '" + key +
                             "' is not valid UTF-8");
      header += (i ? "," : "") + json::quote(key) + ":" + json::quote(value);
    }
    header += "}";
  }

  std::set<std::string> names;
  std::vector<io::ByteRange> pieces = {{nullptr, 0}, {nullptr, 0}};
  uint64_t offset = 0;
  for (const NamedTensor &named : file.tensors) {
    const std::string &name = named.name;
    if (name == "__metadata__")
      return Status::error(where + "'__metadata__' is reserved and cannot "
                                   "name a tensor");
    if (!names.insert(name).second)
      return Status::error(where + "duplicate tensor name '" + name + "'");
    if (!isUtf8(name))
      return Status::error(where + "tensor name '" + name +
                           "' is not valid UTF-8");
    const HostTensor &tensor = named.tensor;
    std::string shape;
    for (size_t i = 0; i < tensor.shape().size(); ++i)
      shape += (i ? "," : "") + std::to_string(tensor.shape()[i]);
    uint64_t size = tensor.sizeInBytes();
    header += (header.size() > 1 ? "," : "") + json::quote(name) +
              ":{\"dtype\":\"" + formatName(tensor.dtype()) + "\",\"shape\":[" +
              shape + "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + size) + "]}";
    pieces.push_back({tensor.data(), size});
    offset += size;
  }
  header += "}";
  // Pad with spaces, as the reference implementation does, so that the data
  // region starts 8-byte aligned.
  header.append((8 - header.size() % 8) % 8, ' ');

  unsigned char lengthBytes[8];
  for (int i = 0; i < 8; ++i)
    lengthBytes[i] = static_cast<unsigned char>(header.size() >> (8 * i));
  pieces[0] = {lengthBytes, 8};
  pieces[1] = {header.data(), header.size()};
  return io::writeFileAtomically(path, pieces);
}

} // namespace kiln::rt
