//===- Import.cpp - Reading an .onnx file into a DSL program --------------===//

#include "frontends/onnx/lib/Importer.h"
#include "kiln/Onnx.h"

#include <onnx/checker.h>

#include <fmt/format.h>

#include <google/protobuf/io/coded_stream.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sys/stat.h>

namespace kiln::onnx {

[[noreturn]] static void fail(const std::string &message) {
  throw GraphError(message);
}

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

//===----------------------------------------------------------------------===//
// NodeContext
//===----------------------------------------------------------------------===//

/// A float attribute as the decimal its writer meant: 1e-5 stored as a
/// float is 9.99999975e-6, which becomes 1e-5 again (the shortest decimal
/// that rounds to the same float), as PyTorch's own double would be.
static double shortestDouble(float v) {
  char text[64];
  auto result = std::to_chars(text, text + sizeof text, v);
  *result.ptr = '\0';
  return std::strtod(text, nullptr);
}

Tensor NodeContext::tensor(size_t i) {
  if (!has(i))
    fail(fmt::format("input {} is required", i));
  Value &v = *inputs_[i];
  if (!v.tensor.valid())
    v.tensor = toTensor(graph, *v.constant);
  return v.tensor;
}

const Constant *NodeContext::constant(size_t i) const {
  if (!has(i) || !inputs_[i]->constant)
    return nullptr;
  return &*inputs_[i]->constant;
}

const Constant &NodeContext::requireConstant(size_t i, const char *what) const {
  if (!has(i))
    fail(fmt::format("input {} ({}) is required", i, what));
  if (!inputs_[i]->constant)
    fail(fmt::format("input {} ({}, '{}') must be known when the model is "
                     "compiled; it is computed from the graph's inputs",
                     i, what, node.input(i)));
  return *inputs_[i]->constant;
}

Shape NodeContext::shape(size_t i) const {
  if (!has(i))
    fail(fmt::format("input {} is required", i));
  const Value &v = *inputs_[i];
  return v.constant ? v.constant->shape : v.tensor.shape();
}

DType NodeContext::dtype(size_t i) const {
  if (!has(i))
    fail(fmt::format("input {} is required", i));
  const Value &v = *inputs_[i];
  return v.constant ? v.constant->dtype : v.tensor.dtype();
}

bool NodeContext::allConstant() const {
  for (Value *v : inputs_)
    if (v && !v->constant)
      return false;
  return true;
}

const ::onnx::AttributeProto *NodeContext::attr(const std::string &name) const {
  read_.push_back(name);
  for (const auto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

bool NodeContext::hasAttr(const std::string &name) const {
  return attr(name) != nullptr;
}

int64_t NodeContext::attrInt(const std::string &name, int64_t fallback) const {
  const auto *a = attr(name);
  if (!a)
    return fallback;
  if (a->type() != ::onnx::AttributeProto::INT)
    fail(fmt::format("attribute '{}' must be an integer", name));
  return a->i();
}

double NodeContext::attrFloat(const std::string &name, double fallback) const {
  const auto *a = attr(name);
  if (!a)
    return fallback;
  if (a->type() != ::onnx::AttributeProto::FLOAT)
    fail(fmt::format("attribute '{}' must be a float", name));
  return shortestDouble(a->f());
}

std::string NodeContext::attrString(const std::string &name,
                                    const std::string &fallback) const {
  const auto *a = attr(name);
  if (!a)
    return fallback;
  if (a->type() != ::onnx::AttributeProto::STRING)
    fail(fmt::format("attribute '{}' must be a string", name));
  return a->s();
}

std::vector<int64_t> NodeContext::attrInts(const std::string &name) const {
  const auto *a = attr(name);
  if (!a)
    return {};
  if (a->type() != ::onnx::AttributeProto::INTS)
    fail(fmt::format("attribute '{}' must be a list of integers", name));
  return {a->ints().begin(), a->ints().end()};
}

std::vector<double> NodeContext::attrFloats(const std::string &name) const {
  const auto *a = attr(name);
  if (!a)
    return {};
  if (a->type() != ::onnx::AttributeProto::FLOATS)
    fail(fmt::format("attribute '{}' must be a list of floats", name));
  std::vector<double> out;
  for (float v : a->floats())
    out.push_back(shortestDouble(v));
  return out;
}

Constant NodeContext::attrTensor(const std::string &name) const {
  const auto *a = attr(name);
  if (!a || a->type() != ::onnx::AttributeProto::TENSOR)
    fail(fmt::format("attribute '{}' must be a tensor", name));
  return readTensor(a->t(), folder_);
}

bool NodeContext::wantsOutput(size_t i) const {
  return static_cast<int>(i) < node.output_size() && !node.output(i).empty();
}

void NodeContext::setOutput(size_t i, Tensor value) {
  if (i < outputs_.size())
    outputs_[i].tensor = value;
}

void NodeContext::setOutput(size_t i, Constant value) {
  if (i < outputs_.size())
    outputs_[i].constant = std::move(value);
}

const ::onnx::AttributeProto *NodeContext::unreadAttribute() const {
  for (const auto &a : node.attribute()) {
    // Legacy bookkeeping of opsets before 6, without effect on the result.
    if (a.name() == "consumed_inputs")
      continue;
    if (std::find(read_.begin(), read_.end(), a.name()) == read_.end())
      return &a;
  }
  return nullptr;
}

void NodeContext::fail(const std::string &message) const {
  throw GraphError(message);
}

void NodeContext::unsupported(const std::string &what) const {
  throw GraphError("unsupported: " + what);
}

//===----------------------------------------------------------------------===//
// The importer
//===----------------------------------------------------------------------===//

namespace {

/// The imported model: parameters and buffers named by their initializers.
class OnnxModel : public Module {
public:
  explicit OnnxModel(DType dtype) : Module("OnnxModel", dtype) {}
  void declare(const std::string &name, Shape shape, DType dtype,
               bool buffer) {
    if (buffer || dtype != this->dtype())
      register_buffer(name, std::move(shape), Init::imported(), dtype);
    else
      register_parameter(name, std::move(shape), Init::imported());
  }
};

std::string describeNode(const ::onnx::NodeProto &node, int index,
                         int64_t opset) {
  std::string domain = node.domain().empty() ? "ai.onnx" : node.domain();
  std::string name =
      node.name().empty() ? fmt::format("#{}", index) : "'" + node.name() + "'";
  return fmt::format("node {} ({}, domain {}, opset {})", name,
                     node.op_type(), domain, opset);
}

class Importer {
public:
  Importer(const std::string &path, const ImportOptions &options)
      : path_(path), options_(options) {
    size_t slash = path.find_last_of('/');
    folder_ = slash == std::string::npos ? "." : path.substr(0, slash);
    if (folder_.empty())
      folder_ = "/";
  }

  ImportedModel run(const std::string &name);

private:
  void load();
  void readOpset();
  void checkModel();
  void readInputs();
  void sortNodes();
  void declareParameters();
  /// Builds one entry point over the whole graph; returns its outputs.
  std::vector<std::pair<std::string, Tensor>> buildGraph(Graph &graph);

  /// Scaled dot-product attention as exporters write it: MatMul(q,
  /// Transpose(k)) -> Div or Mul by a constant -> optionally a constant
  /// mask (Where with -inf, or Add of 0/-inf) -> Softmax over the last
  /// axis -> MatMul(., v). Each intermediate value has no other reader.
  struct AttentionMatch {
    int scores = -1, transposeK = -1, scale = -1, mask = -1, softmax = -1;
    /// Which input of `mask` carries the scores.
    int maskScoresInput = -1;
  };
  /// The matches, by the index of their last MatMul, found in the graph's
  /// structure (the constants are checked when the MatMul is reached).
  void findAttention();
  /// Emits the attention of `match` ending at node `n`; false (nothing
  /// emitted) when its constants do not fit the pattern.
  bool emitAttention(Graph &graph, int n, const AttentionMatch &match,
                     std::unordered_map<std::string, Value> &values);
  void convertNode(Graph &graph, int n,
                   std::unordered_map<std::string, Value> &values);
  std::map<int, AttentionMatch> attention_;
  std::set<int> fusedNodes_; // nodes inside a match, converted with it

  [[noreturn]] void failFile(const std::string &message) const {
    fail(fmt::format("{}: {}", path_, message));
  }

  std::string path_, folder_;

  /// The model's path for SourceLoc, which keeps a `const char *` as long
  /// as the graph lives (past this importer): interned for the process, as
  /// __builtin_FILE's names are.
  const char *stablePath() const {
    static std::mutex mutex;
    static std::set<std::string> interned;
    std::lock_guard<std::mutex> lock(mutex);
    return interned.insert(path_).first->c_str();
  }
  const ImportOptions &options_;
  ::onnx::ModelProto model_;
  int64_t opset_ = 0;
  struct Input {
    std::string name;
    Shape shape;
    DType dtype;
  };
  std::vector<Input> inputs_;
  std::vector<int> order_; // nodes in a topological order
  std::map<std::string, Constant> initializers_;
  std::set<std::string> parameters_; // initializers that are parameters
  std::unique_ptr<OnnxModel> module_;
  std::vector<InitialValue> initialValues_;
};

void Importer::load() {
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0)
    failFile(std::string("cannot open the file: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    failFile("not a regular file");
  std::ifstream in(path_, std::ios::binary);
  if (!in)
    failFile("cannot open the file");
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  if (in.bad())
    failFile("cannot read the file");
  if (bytes.empty())
    failFile("the file is empty");
  google::protobuf::io::CodedInputStream stream(
      reinterpret_cast<const uint8_t *>(bytes.data()),
      static_cast<int>(std::min<size_t>(bytes.size(), INT32_MAX)));
  stream.SetRecursionLimit(64);
  if (bytes.size() > size_t(INT32_MAX))
    failFile("the file is larger than 2 GiB; store large initializers as "
             "external data");
  if (!model_.ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage())
    failFile("not a valid ONNX model (the protobuf does not parse: a "
             "truncated or corrupt file?)");
  if (!model_.has_graph())
    failFile("the model has no graph");
}

void Importer::readOpset() {
  for (const auto &o : model_.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx")
      opset_ = o.version();
  }
  bool usesDefault = false;
  for (const auto &node : model_.graph().node())
    usesDefault |= node.domain().empty() || node.domain() == "ai.onnx";
  if (opset_ == 0 && usesDefault)
    failFile("the model imports no version of the default operator set");
  if (usesDefault && (opset_ < 1 || opset_ > 21))
    failFile(fmt::format("operator set {} is outside the versions Kiln "
                         "imports (1 to 21)",
                         opset_));
}

void Importer::checkModel() {
  // ONNX's own checker knows the schemas up to opset 17; newer models are
  // checked by the importer alone.
  if (opset_ > 17 || opset_ == 0)
    return;
  try {
    ::onnx::checker::CheckerContext ctx;
    ctx.set_ir_version(static_cast<int>(model_.ir_version()));
    std::unordered_map<std::string, int> versions;
    for (const auto &o : model_.opset_import())
      versions[o.domain()] = static_cast<int>(o.version());
    ctx.set_opset_imports(versions);
    ctx.set_model_dir(folder_);
    ::onnx::checker::LexicalScopeContext scope;
    ::onnx::checker::check_graph(model_.graph(), ctx, scope);
  } catch (const std::exception &e) {
    std::string message = e.what();
    // The checker's messages end with a context dump after "==>".
    size_t cut = message.find("==>");
    if (cut != std::string::npos)
      message = message.substr(0, cut);
    while (!message.empty() && std::isspace((unsigned char)message.back()))
      message.pop_back();
    failFile("ONNX's checker rejects the graph: " + message);
  }
}

void Importer::readInputs() {
  const auto &graph = model_.graph();
  std::set<std::string> initializerNames;
  for (const auto &t : graph.initializer())
    initializerNames.insert(t.name());
  std::map<std::string, Shape> given(options_.inputShapes.begin(),
                                     options_.inputShapes.end());
  std::vector<std::string> symbolic;
  std::set<std::string> known;
  for (const auto &in : graph.input()) {
    // Old exporters also list initializers as inputs (with defaults).
    if (initializerNames.count(in.name()))
      continue;
    known.insert(in.name());
    std::string what = fmt::format("input '{}'", in.name());
    if (!in.type().has_tensor_type())
      failFile(what + " is not a tensor (sequences, maps and optionals are "
                      "not supported)");
    const auto &tt = in.type().tensor_type();
    Input input{in.name(), {}, DType::F32};
    try {
      input.dtype = dtypeOf(tt.elem_type(), what);
    } catch (const GraphError &e) {
      failFile(e.what());
    }
    auto it = given.find(in.name());
    if (!tt.has_shape())
      failFile(what + " has no shape");
    bool isSymbolic = false;
    for (const auto &d : tt.shape().dim()) {
      if (d.has_dim_value())
        input.shape.push_back(d.dim_value());
      else {
        input.shape.push_back(-1);
        isSymbolic = true;
      }
    }
    if (it != given.end()) {
      const Shape &s = it->second;
      if (s.size() != input.shape.size())
        failFile(fmt::format("--input-shape {}={} has rank {}, the input has "
                             "rank {}",
                             in.name(), fmt::join(s, "x"), s.size(),
                             input.shape.size()));
      for (size_t k = 0; k < s.size(); ++k)
        if (input.shape[k] >= 0 && input.shape[k] != s[k])
          failFile(fmt::format("--input-shape {}={}: dimension {} of the "
                               "input is fixed at {}",
                               in.name(), fmt::join(s, "x"), k,
                               input.shape[k]));
      input.shape = s;
      given.erase(it);
    } else if (isSymbolic) {
      std::vector<std::string> dims;
      for (const auto &d : tt.shape().dim())
        dims.push_back(d.has_dim_value() ? std::to_string(d.dim_value())
                       : d.dim_param().empty() ? "?"
                                               : d.dim_param());
      symbolic.push_back(fmt::format("{} [{}]", in.name(),
                                     fmt::join(dims, ", ")));
    }
    if (!isSymbolic || it != given.end()) {
      try {
        checkedCount(input.shape, what);
      } catch (const GraphError &e) {
        failFile(e.what());
      }
    }
    inputs_.push_back(std::move(input));
  }
  if (!given.empty())
    failFile(fmt::format("--input-shape names '{}', which is not an input "
                         "of the model (inputs: {})",
                         given.begin()->first, fmt::join(known, ", ")));
  if (!symbolic.empty())
    failFile(fmt::format("inputs with symbolic dimensions need "
                         "--input-shape=NAME=AxBx...: {}",
                         fmt::join(symbolic, "; ")));
}

void Importer::sortNodes() {
  const auto &graph = model_.graph();
  std::set<std::string> defined;
  for (const Input &in : inputs_)
    defined.insert(in.name);
  for (const auto &t : graph.initializer())
    defined.insert(t.name());
  std::map<std::string, int> producer;
  for (int n = 0; n < graph.node_size(); ++n)
    for (const std::string &out : graph.node(n).output())
      if (!out.empty()) {
        if (defined.count(out) || producer.count(out))
          failFile(fmt::format("{} defines '{}', which is already defined",
                               describeNode(graph.node(n), n, opset_), out));
        producer[out] = n;
      }
  // Kahn's algorithm, in file order where the file is already sorted.
  std::vector<int> pending(graph.node_size(), 0);
  std::map<std::string, std::vector<int>> users;
  for (int n = 0; n < graph.node_size(); ++n) {
    for (const std::string &in : graph.node(n).input()) {
      if (in.empty() || defined.count(in))
        continue;
      if (!producer.count(in))
        failFile(fmt::format("{} reads '{}', which no node, input or "
                             "initializer defines",
                             describeNode(graph.node(n), n, opset_), in));
      ++pending[n];
      users[in].push_back(n);
    }
  }
  std::vector<int> ready;
  for (int n = graph.node_size() - 1; n >= 0; --n)
    if (pending[n] == 0)
      ready.push_back(n);
  while (!ready.empty()) {
    int n = ready.back();
    ready.pop_back();
    order_.push_back(n);
    for (const std::string &out : graph.node(n).output())
      for (int user : users[out])
        if (--pending[user] == 0)
          ready.push_back(user);
  }
  if (static_cast<int>(order_.size()) != graph.node_size()) {
    for (int n = 0; n < graph.node_size(); ++n)
      if (pending[n] > 0)
        failFile(fmt::format("the graph has a cycle through {}",
                             describeNode(graph.node(n), n, opset_)));
  }
  for (const auto &out : graph.output())
    if (!defined.count(out.name()) && !producer.count(out.name()))
      failFile(fmt::format("output '{}' is not defined by any node",
                           out.name()));
}

void Importer::declareParameters() {
  const auto &graph = model_.graph();
  std::set<std::string> statistics, settings;
  for (const auto &node : graph.node())
    for (int k = 0; k < node.input_size(); ++k) {
      if (isBatchNormStatistic(node, k))
        statistics.insert(node.input(k));
      // Float inputs that act as attributes (Resize's scales, Clip's
      // bounds, ...) are constants, whatever their rank.
      if (isSettingInput(node, k))
        settings.insert(node.input(k));
    }
  // The model's float dtype: its first float initializer's.
  DType modelDtype = DType::F32;
  for (const auto &t : graph.initializer())
    if (t.data_type() == ::onnx::TensorProto::DOUBLE) {
      modelDtype = DType::F64;
      break;
    } else if (t.data_type() == ::onnx::TensorProto::FLOAT) {
      break;
    }
  module_ = std::make_unique<OnnxModel>(modelDtype);
  for (const auto &t : graph.initializer()) {
    if (initializers_.count(t.name()))
      failFile(fmt::format("two initializers are named '{}'", t.name()));
    TensorBytes data;
    try {
      data = readTensorBytes(t, folder_);
    } catch (const GraphError &e) {
      failFile(fmt::format("initializer {}", e.what()));
    }
    // Float tensors of rank 1 and more are what a model learns (and batch
    // norm's statistics its buffers); integer tensors and 0-d scalars are
    // constants the importer folds.
    bool buffer = statistics.count(t.name()) > 0;
    if (isFloat(data.dtype) && (!data.shape.empty() || buffer) &&
        !settings.count(t.name())) {
      module_->declare(t.name(), data.shape, data.dtype, buffer);
      parameters_.insert(t.name());
      initialValues_.push_back(
          {t.name(), data.shape, data.dtype, std::move(data.bytes)});
      continue;
    }
    Constant c;
    c.dtype = data.dtype;
    c.shape = std::move(data.shape);
    decode(data.bytes.data(), c.count(), c);
    initializers_.emplace(t.name(), std::move(c));
  }
  // The model's order is its parameters' registration order, which is
  // initialValues_'s.
}

void Importer::convertNode(Graph &graph, int n,
                           std::unordered_map<std::string, Value> &values) {
  const auto &g = model_.graph();
  const auto &node = g.node(n);
  std::string where = describeNode(node, n, opset_);
  if (!node.domain().empty() && node.domain() != "ai.onnx")
    failFile(where + ": operators of domain " + node.domain() +
             " are not supported");
  const Converter *convert = findConverter(node.op_type());
  if (!convert)
    failFile(where + ": unsupported operator " + node.op_type());
  std::vector<Value *> inputs;
  for (const std::string &in : node.input()) {
    auto found = in.empty() ? values.end() : values.find(in);
    if (!in.empty() && found == values.end())
      failFile(fmt::format("{} reads '{}', which was not computed", where,
                           in));
    Value *v = in.empty() ? nullptr : &found->second;
    if (v && !v->missing.empty())
      failFile(fmt::format("{} reads '{}': {}", where, in, v->missing));
    inputs.push_back(v);
  }
  NodeContext context(node, std::move(inputs), graph, opset_, folder_,
                      !options_.loss.empty());
  try {
    (*convert)(context);
    if (const auto *a = context.unreadAttribute())
      context.unsupported(fmt::format("attribute '{}'", a->name()));
  } catch (const GraphError &e) {
    // The DSL's message starts with its own location ("file:line: error:
    // in graph 'forward': "), which means nothing to the model's author.
    std::string message = e.what();
    size_t at = message.find(": error: ");
    if (at != std::string::npos) {
      message = message.substr(at + 9);
      if (message.rfind("in graph '", 0) == 0) {
        size_t end = message.find("': ");
        if (end != std::string::npos)
          message = message.substr(end + 3);
      }
    }
    failFile(where + ": " + message);
  }
  for (int k = 0; k < node.output_size(); ++k) {
    if (node.output(k).empty())
      continue;
    Value &out = context.outputs()[k];
    if (!out.tensor.valid() && !out.constant)
      out.missing = fmt::format("output {} of {} is not supported", k,
                                where);
    values[node.output(k)] = std::move(out);
  }
}

void Importer::findAttention() {
  const auto &g = model_.graph();
  std::map<std::string, int> producer;
  std::map<std::string, int> readers;
  for (int n = 0; n < g.node_size(); ++n) {
    for (const std::string &out : g.node(n).output())
      producer[out] = n;
    for (const std::string &in : g.node(n).input())
      ++readers[in];
  }
  for (const auto &out : g.output())
    readers[out.name()] += 2; // a graph output is never fused away
  auto isDefault = [&](int n) {
    const std::string &d = g.node(n).domain();
    return d.empty() || d == "ai.onnx";
  };
  // The node producing `value` if it is `op` and `value` has one reader.
  auto soleProducer = [&](const std::string &value, const char *op) -> int {
    auto it = producer.find(value);
    if (it == producer.end() || readers[value] != 1 ||
        g.node(it->second).op_type() != op || !isDefault(it->second))
      return -1;
    return it->second;
  };
  auto producedBy = [&](const std::string &value,
                        std::initializer_list<const char *> ops) {
    for (const char *op : ops)
      if (soleProducer(value, op) >= 0)
        return true;
    return false;
  };
  for (int n = 0; n < g.node_size(); ++n) {
    const auto &last = g.node(n);
    if (last.op_type() != "MatMul" || !isDefault(n) || last.input_size() != 2 ||
        last.output_size() != 1)
      continue;
    AttentionMatch m;
    m.softmax = soleProducer(last.input(0), "Softmax");
    if (m.softmax < 0 || g.node(m.softmax).input_size() != 1)
      continue;
    std::string x = g.node(m.softmax).input(0);
    for (const char *op : {"Where", "Add"}) {
      int k = soleProducer(x, op);
      if (k < 0 || g.node(k).input_size() < 2)
        continue;
      // The scores come through the input a Div, Mul or MatMul writes.
      for (int i = g.node(k).input_size() - 1; i >= 0; --i)
        if (producedBy(g.node(k).input(i), {"Div", "Mul", "MatMul"})) {
          m.mask = k;
          m.maskScoresInput = i;
          x = g.node(k).input(i);
          break;
        }
      break;
    }
    for (const char *op : {"Div", "Mul"}) {
      int k = soleProducer(x, op);
      if (k < 0 || g.node(k).input_size() != 2)
        continue;
      int scoresInput = producedBy(g.node(k).input(0), {"MatMul"}) ? 0
                        : std::string(op) == "Mul" &&
                                producedBy(g.node(k).input(1), {"MatMul"})
                            ? 1
                            : -1;
      if (scoresInput < 0)
        continue;
      m.scale = k;
      x = g.node(k).input(scoresInput);
      break;
    }
    m.scores = soleProducer(x, "MatMul");
    if (m.scores < 0 || g.node(m.scores).input_size() != 2)
      continue;
    m.transposeK = soleProducer(g.node(m.scores).input(1), "Transpose");
    if (m.transposeK >= 0 && g.node(m.transposeK).input_size() != 1)
      continue;
    // A node belongs to one match at most (one match's last MatMul may be
    // another's scores).
    bool overlaps = fusedNodes_.count(n) > 0;
    for (int k : {m.transposeK, m.scores, m.scale, m.mask, m.softmax})
      overlaps |= k >= 0 && (fusedNodes_.count(k) || attention_.count(k));
    if (overlaps)
      continue;
    attention_[n] = m;
    for (int k : {m.transposeK, m.scores, m.scale, m.mask, m.softmax})
      if (k >= 0)
        fusedNodes_.insert(k);
  }
}

bool Importer::emitAttention(Graph &graph, int n, const AttentionMatch &m,
                             std::unordered_map<std::string, Value> &values) {
  const auto &g = model_.graph();
  auto tensorOf = [&](const std::string &name) -> std::optional<Tensor> {
    auto it = values.find(name);
    if (it == values.end() || !it->second.missing.empty())
      return std::nullopt;
    Value &v = it->second;
    if (!v.tensor.valid())
      v.tensor = toTensor(graph, *v.constant);
    return v.tensor;
  };
  auto constantOf = [&](const std::string &name) -> const Constant * {
    auto it = values.find(name);
    return it == values.end() || !it->second.constant ? nullptr
                                                       : &*it->second.constant;
  };
  const auto &scores = g.node(m.scores);
  std::optional<Tensor> q = tensorOf(scores.input(0)), v = tensorOf(g.node(n).input(1));
  std::optional<Tensor> k;
  if (m.transposeK >= 0) {
    const auto &t = g.node(m.transposeK);
    std::optional<Tensor> kt = tensorOf(t.input(0));
    if (!kt || kt->rank() < 2)
      return false;
    int64_t r = kt->rank();
    std::vector<int64_t> perm;
    for (const auto &a : t.attribute())
      if (a.name() == "perm")
        perm.assign(a.ints().begin(), a.ints().end());
      else
        return false;
    // k^T = permute(x, perm): k = permute(x, perm with its last two
    // entries swapped).
    if (static_cast<int64_t>(perm.size()) != r)
      return false;
    std::swap(perm[r - 1], perm[r - 2]);
    bool identity = true;
    for (int64_t d = 0; d < r; ++d)
      identity &= perm[d] == d;
    if (!identity) {
      try {
        kt = permute(*kt, perm);
      } catch (const GraphError &) {
        return false;
      }
    }
    k = kt;
  } else {
    std::optional<Tensor> kt = tensorOf(scores.input(1));
    if (!kt || kt->rank() < 2)
      return false;
    Shape perm;
    for (int64_t d = 0; d < kt->rank(); ++d)
      perm.push_back(d);
    std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
    k = permute(*kt, perm);
  }
  if (!q || !v || q->rank() < 2 || q->rank() != k->rank() ||
      q->rank() != v->rank() || !isFloat(q->dtype()))
    return false;
  int64_t rank = q->rank();
  // Equal batch dimensions, no broadcasting: what graph.attention takes.
  Shape qb(q->shape().begin(), q->shape().end() - 2);
  if (Shape(k->shape().begin(), k->shape().end() - 2) != qb ||
      Shape(v->shape().begin(), v->shape().end() - 2) != qb ||
      q->size(-1) != k->size(-1) || k->size(-2) != v->size(-2))
    return false;
  // The softmax over the last axis.
  const auto &softmax = g.node(m.softmax);
  int64_t axis = opset_ >= 13 ? -1 : 1;
  for (const auto &a : softmax.attribute())
    if (a.name() == "axis")
      axis = a.i();
    else
      return false;
  if (axis != -1 && axis != rank - 1)
    return false;
  AttentionOptions options;
  options.scale = 1.0;
  if (m.scale >= 0) {
    const auto &node = g.node(m.scale);
    if (node.attribute_size() != 0)
      return false;
    int other = node.input(0) == g.node(m.scores).output(0) ? 1 : 0;
    const Constant *c = constantOf(node.input(other));
    if (!c || c->count() != 1 || !std::isfinite(c->at(0)) || c->at(0) == 0)
      return false;
    options.scale = node.op_type() == "Div" ? 1 / c->at(0) : c->at(0);
  }
  if (!(*options.scale > 0))
    return false;
  Tensor mask;
  int64_t tq = q->size(-2), tk = k->size(-2);
  if (m.mask >= 0) {
    const auto &node = g.node(m.mask);
    if (node.attribute_size() != 0)
      return false;
    // attend[i] for the mask's elements, and its shape.
    std::vector<bool> attend;
    Shape shape;
    auto masked = [](double x) { return x == -INFINITY || x <= -1e30; };
    if (node.op_type() == "Where" && node.input_size() == 3) {
      const Constant *cond = constantOf(node.input(0));
      const Constant *fill = constantOf(node.input(m.maskScoresInput == 1 ? 2 : 1));
      if (!cond || !fill || m.maskScoresInput == 0 || fill->count() != 1 ||
          !masked(fill->at(0)))
        return false;
      shape = cond->shape;
      for (int64_t e = 0; e < cond->count(); ++e)
        attend.push_back((cond->at(e) != 0) == (m.maskScoresInput == 1));
    } else if (node.op_type() == "Add" && node.input_size() == 2) {
      const Constant *add = constantOf(node.input(1 - m.maskScoresInput));
      if (!add)
        return false;
      shape = add->shape;
      for (int64_t e = 0; e < add->count(); ++e) {
        double x = add->at(e);
        if (x != 0 && !masked(x))
          return false;
        attend.push_back(x == 0);
      }
    } else {
      return false;
    }
    if (shape.size() > static_cast<size_t>(rank) || shape.size() < 2 ||
        shape[shape.size() - 1] != tk || shape[shape.size() - 2] != tq)
      return false;
    bool causal = tq == tk && static_cast<int64_t>(attend.size()) == tq * tk;
    for (int64_t i = 0; causal && i < tq; ++i)
      for (int64_t j = 0; j < tk; ++j)
        causal &= attend[i * tk + j] == (j <= i);
    if (causal) {
      options.causal = true;
    } else {
      std::vector<double> bits(attend.begin(), attend.end());
      mask = constant(graph, shape, bits, DType::I1);
    }
  }
  Tensor result;
  try {
    result = scaled_dot_product_attention(*q, *k, *v, mask, options);
  } catch (const GraphError &) {
    return false;
  }
  values[g.node(n).output(0)].tensor = result;
  return true;
}

std::vector<std::pair<std::string, Tensor>>
Importer::buildGraph(Graph &graph) {
  const auto &g = model_.graph();
  std::unordered_map<std::string, Value> values;
  for (const std::string &p : parameters_)
    values[p].tensor = graph.parameter(p, SourceLoc{stablePath(), 0});
  for (const auto &[name, c] : initializers_)
    values[name].constant = c;
  bool renameForLoss = !options_.loss.empty();
  for (const Input &in : inputs_)
    values[in.name].tensor =
        graph.input(renameForLoss ? "x" : in.name, in.shape, in.dtype,
                    SourceLoc{stablePath(), 0});
  for (int n : order_) {
    if (fusedNodes_.count(n))
      continue; // converted with its attention's last MatMul
    auto match = attention_.find(n);
    if (match != attention_.end() &&
        !emitAttention(graph, n, match->second, values)) {
      // The constants did not fit: the nodes one by one after all.
      const AttentionMatch &m = match->second;
      for (int k : {m.transposeK, m.scores, m.scale, m.mask, m.softmax})
        if (k >= 0)
          convertNode(graph, k, values);
      convertNode(graph, n, values);
    } else if (match == attention_.end()) {
      convertNode(graph, n, values);
    }
  }
  std::vector<std::pair<std::string, Tensor>> outputs;
  for (const auto &out : g.output()) {
    Value &v = values.at(out.name());
    if (!v.missing.empty())
      failFile(fmt::format("the graph's output '{}': {}", out.name(),
                           v.missing));
    if (!v.tensor.valid())
      v.tensor = toTensor(graph, *v.constant);
    outputs.push_back({out.name(), v.tensor});
  }
  return outputs;
}

ImportedModel Importer::run(const std::string &name) {
  load();
  readOpset();
  // Kiln's own checks first (their messages are the more precise), then
  // ONNX's checker.
  readInputs();
  sortNodes();
  findAttention();
  declareParameters();
  checkModel();
  const std::string &loss = options_.loss;
  if (!loss.empty()) {
    if (loss != "cross_entropy" && loss != "mse")
      fail(fmt::format("--loss={} is not a loss; losses: cross_entropy, mse",
                       loss));
    if (inputs_.size() != 1 || model_.graph().output_size() != 1)
      failFile(fmt::format("--loss needs a model with one input and one "
                           "output; this one has {} and {}",
                           inputs_.size(), model_.graph().output_size()));
    if (!isFloat(inputs_[0].dtype))
      failFile(fmt::format("--loss needs a float input; '{}' is {}",
                           inputs_[0].name, dtypeName(inputs_[0].dtype)));
  }
  ImportedModel result;
  result.opset = opset_;
  result.built.model = std::move(module_);
  result.built.program =
      std::make_unique<Program>(name, *result.built.model);
  Program &program = *result.built.program;
  SourceLoc loc{stablePath(), 0};
  {
    Graph &forward = program.addEntry("forward");
    for (auto &[outName, t] : buildGraph(forward))
      forward.output(loss.empty() ? outName : "logits", t, loc);
  }
  if (!loss.empty()) {
    Graph &graph = program.addEntry("loss");
    graph.setTraining(true);
    auto outputs = buildGraph(graph);
    Tensor logits = outputs[0].second;
    Tensor value;
    if (loss == "cross_entropy") {
      if (logits.rank() != 2 || !isFloat(logits.dtype()))
        failFile(fmt::format("--loss=cross_entropy needs float logits "
                             "[batch, classes]; the output is {}[{}]",
                             dtypeName(logits.dtype()),
                             fmt::join(logits.shape(), "x")));
      Tensor y = graph.input("y", {logits.size(0)}, DType::I64, loc);
      value = cross_entropy(logits, y, Reduction::Mean, loc);
    } else {
      Tensor y = graph.input("y", logits.shape(), logits.dtype(), loc);
      value = mse_loss(logits, y, Reduction::Mean, loc);
    }
    graph.output("loss", value, loc);
  }
  result.initialValues = std::move(initialValues_);
  return result;
}

} // namespace

Shape parseShape(const std::string &text) {
  Shape shape;
  if (text.empty())
    return shape;
  size_t start = 0;
  while (true) {
    size_t end = text.find('x', start);
    std::string part = text.substr(start, end == std::string::npos
                                              ? std::string::npos
                                              : end - start);
    char *stop = nullptr;
    errno = 0;
    long long v = std::strtoll(part.c_str(), &stop, 10);
    if (part.empty() || *stop || errno || v < 1)
      fail(fmt::format("unsupported shape '{}': sizes are positive integers "
                       "joined by 'x', e.g. 1x3x224x224 (Kiln's tensors are "
                       "not empty)",
                       text));
    shape.push_back(v);
    if (end == std::string::npos)
      break;
    start = end + 1;
  }
  return shape;
}

ImportedModel importModel(const std::string &path, const std::string &name,
                          const ImportOptions &options) {
  return Importer(path, options).run(name);
}

} // namespace kiln::onnx
