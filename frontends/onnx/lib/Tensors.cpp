//===- Tensors.cpp - ONNX constants and tensor data -----------------------===//
//
// Constants known at import time (Constant's methods, their dtypes and
// element counts) and the data of TensorProtos: raw, typed or external
// (a file beside the model, which it may not leave), read as bytes and
// decoded as constants.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/lib/Importer.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sys/stat.h>

namespace kiln::onnx {

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

int64_t Constant::count() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

double Constant::scalar(const char *what) const {
  if (count() != 1)
    fail(fmt::format("{} must hold one value, it holds {}", what, count()));
  return at(0);
}

std::vector<double> Constant::doubles() const {
  if (isFloat(dtype))
    return f;
  return std::vector<double>(i.begin(), i.end());
}

std::vector<int64_t> Constant::ints() const {
  if (!isFloat(dtype))
    return i;
  std::vector<int64_t> out;
  out.reserve(f.size());
  for (double v : f)
    out.push_back(static_cast<int64_t>(v));
  return out;
}

Constant Constant::ofInts(Shape shape, std::vector<int64_t> values,
                          DType dtype) {
  Constant c;
  c.shape = std::move(shape);
  c.dtype = dtype;
  if (isFloat(dtype))
    c.f.assign(values.begin(), values.end());
  else
    c.i = std::move(values);
  return c;
}

Constant Constant::ofDoubles(Shape shape, std::vector<double> values,
                             DType dtype) {
  Constant c;
  c.shape = std::move(shape);
  c.dtype = dtype;
  if (isFloat(dtype)) {
    c.f = std::move(values);
  } else {
    c.i.reserve(values.size());
    for (double v : values)
      c.i.push_back(dtype == DType::I1 ? v != 0 : static_cast<int64_t>(v));
  }
  return c;
}

int64_t checkedCount(const Shape &shape, const std::string &what) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      fail(fmt::format("{} has a negative size {}", what, d));
    if (d != 0 && n > kMaxElements / d)
      fail(fmt::format("{} has more than 2^32 elements (shape {})", what,
                       fmt::join(shape, "x")));
    n *= d;
  }
  return n;
}

DType dtypeOf(int32_t elemType, const std::string &what) {
  using TP = ::onnx::TensorProto;
  switch (elemType) {
  case TP::FLOAT:
    return DType::F32;
  case TP::DOUBLE:
    return DType::F64;
  case TP::INT64:
    return DType::I64;
  case TP::INT32:
    return DType::I32;
  case TP::BOOL:
    return DType::I1;
  default:
    break;
  }
  std::string name = TP::DataType_IsValid(elemType)
                         ? TP::DataType_Name(
                               static_cast<TP::DataType>(elemType))
                         : fmt::format("#{}", elemType);
  fail(fmt::format("{} has element type {}; Kiln supports FLOAT, DOUBLE, "
                   "INT64, INT32 and BOOL",
                   what, name));
}

Tensor toTensor(Graph &graph, const Constant &c) {
  return constant(graph, c.shape, c.doubles(), c.dtype);
}

//===----------------------------------------------------------------------===//
// Tensor data
//===----------------------------------------------------------------------===//

namespace {

size_t elementSize(DType dtype) {
  switch (dtype) {
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::F64:
  case DType::I64:
    return 8;
  case DType::I1:
    return 1;
  }
  return 1;
}

} // namespace

/// Decodes `count` little-endian elements of `dtype` from `bytes`.
void decode(const unsigned char *bytes, int64_t count, Constant &c) {
  switch (c.dtype) {
  case DType::F32:
    c.f.resize(count);
    for (int64_t k = 0; k < count; ++k) {
      float v;
      std::memcpy(&v, bytes + 4 * k, 4);
      c.f[k] = v;
    }
    break;
  case DType::F64:
    c.f.resize(count);
    if (count > 0) // an empty vector's data() may be null
      std::memcpy(c.f.data(), bytes, 8 * count);
    break;
  case DType::I64:
    c.i.resize(count);
    if (count > 0)
      std::memcpy(c.i.data(), bytes, 8 * count);
    break;
  case DType::I32:
    c.i.resize(count);
    for (int64_t k = 0; k < count; ++k) {
      int32_t v;
      std::memcpy(&v, bytes + 4 * k, 4);
      c.i[k] = v;
    }
    break;
  case DType::I1:
    c.i.resize(count);
    for (int64_t k = 0; k < count; ++k)
      c.i[k] = bytes[k] != 0;
    break;
  }
}

namespace {

/// The bytes of an external-data tensor: `location` relative to `folder`,
/// which it may not leave.
std::vector<unsigned char> readExternal(const ::onnx::TensorProto &t,
                                        const std::string &folder,
                                        const std::string &what,
                                        uint64_t expected) {
  std::string location;
  uint64_t offset = 0;
  std::optional<uint64_t> length;
  for (const auto &entry : t.external_data()) {
    auto number = [&](const std::string &text) {
      char *end = nullptr;
      errno = 0;
      unsigned long long v = std::strtoull(text.c_str(), &end, 10);
      if (text.empty() || *end || errno || text[0] == '-')
        fail(fmt::format("{}: external data {} '{}' is not a byte count",
                         what, entry.key(), text));
      return static_cast<uint64_t>(v);
    };
    if (entry.key() == "location")
      location = entry.value();
    else if (entry.key() == "offset")
      offset = number(entry.value());
    else if (entry.key() == "length")
      length = number(entry.value());
  }
  if (location.empty())
    fail(fmt::format("{}: external data without a location", what));
  // The file must lie inside the model's folder: no absolute path, no "..".
  if (location[0] == '/' || location.find('\\') != std::string::npos)
    fail(fmt::format("{}: external data path '{}' is not relative to the "
                     "model's folder",
                     what, location));
  for (size_t start = 0; start <= location.size();) {
    size_t end = location.find('/', start);
    if (end == std::string::npos)
      end = location.size();
    if (location.compare(start, end - start, "..") == 0)
      fail(fmt::format("{}: external data path '{}' leaves the model's "
                       "folder",
                       what, location));
    start = end + 1;
  }
  std::string path = folder + "/" + location;
  // A symbolic link may still point elsewhere: compare real paths.
  char *realFolder = ::realpath(folder.c_str(), nullptr);
  char *realFile = ::realpath(path.c_str(), nullptr);
  std::string rf = realFolder ? realFolder : "", rp = realFile ? realFile : "";
  std::free(realFolder);
  std::free(realFile);
  if (rp.empty())
    fail(fmt::format("{}: cannot open external data file '{}'", what, path));
  if (rp.compare(0, rf.size() + 1, rf + "/") != 0)
    fail(fmt::format("{}: external data file '{}' lies outside the model's "
                     "folder",
                     what, location));
  struct stat st;
  if (::stat(rp.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    fail(fmt::format("{}: external data '{}' is not a regular file", what,
                     location));
  uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t want = length.value_or(expected);
  if (want != expected)
    fail(fmt::format("{}: external data length {} differs from the {} bytes "
                     "its shape needs",
                     what, want, expected));
  if (offset > size || size - offset < want)
    fail(fmt::format("{}: external data '{}' holds {} bytes, the tensor "
                     "needs {} from offset {}",
                     what, location, size, want, offset));
  std::ifstream in(rp, std::ios::binary);
  std::vector<unsigned char> bytes(want);
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(reinterpret_cast<char *>(bytes.data()),
          static_cast<std::streamsize>(want));
  if (!in)
    fail(fmt::format("{}: cannot read external data '{}'", what, location));
  return bytes;
}

} // namespace

TensorBytes readTensorBytes(const ::onnx::TensorProto &t,
                            const std::string &folder) {
  std::string what = fmt::format("tensor '{}'", t.name());
  TensorBytes out;
  out.dtype = dtypeOf(t.data_type(), what);
  out.shape.assign(t.dims().begin(), t.dims().end());
  int64_t count = checkedCount(out.shape, what);
  uint64_t bytes = static_cast<uint64_t>(count) * elementSize(out.dtype);
  if (t.data_location() == ::onnx::TensorProto::EXTERNAL) {
    out.bytes = readExternal(t, folder, what, bytes);
    return out;
  }
  if (t.has_raw_data()) {
    const std::string &raw = t.raw_data();
    if (raw.size() != bytes)
      fail(fmt::format("{} holds {} bytes, its shape [{}] needs {}", what,
                       raw.size(), fmt::join(out.shape, "x"), bytes));
    out.bytes.assign(raw.begin(), raw.end());
    return out;
  }
  // The typed fields, as the little-endian bytes raw_data would hold.
  auto take = [&](const auto &values) {
    using T = std::decay_t<decltype(*values.begin())>;
    if (values.size() != count)
      fail(fmt::format("{} holds {} values, its shape [{}] needs {}", what,
                       values.size(), fmt::join(out.shape, "x"), count));
    out.bytes.resize(bytes);
    size_t size = elementSize(out.dtype);
    for (int64_t k = 0; k < count; ++k) {
      if (out.dtype == DType::I1) {
        out.bytes[k] = values.Get(k) != 0;
      } else {
        T v = values.Get(k);
        std::memcpy(out.bytes.data() + k * size, &v, size);
      }
    }
  };
  switch (out.dtype) {
  case DType::F32:
    take(t.float_data());
    break;
  case DType::F64:
    take(t.double_data());
    break;
  case DType::I64:
    take(t.int64_data());
    break;
  case DType::I32:
  case DType::I1:
    take(t.int32_data());
    break;
  }
  return out;
}

Constant readTensor(const ::onnx::TensorProto &t, const std::string &folder) {
  TensorBytes data = readTensorBytes(t, folder);
  Constant c;
  c.dtype = data.dtype;
  c.shape = std::move(data.shape);
  decode(data.bytes.data(), c.count(), c);
  return c;
}

} // namespace kiln::onnx
