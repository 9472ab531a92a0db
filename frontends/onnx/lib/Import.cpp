//===- Import.cpp - Reading an .onnx file into a DSL program --------------===//
//
// The importer's driver: it loads and checks the model, orders its
// nodes, declares its initializers as parameters, buffers or constants
// and converts node after node into the `forward` (and `loss`) entries.
// Constants and tensor data are read in Tensors.cpp, a node's view in
// NodeContext.cpp, attention is fused in Attention.cpp and the operators
// are converted in the <Family>Operators.cpp files.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/lib/Importer.h"
#include "kiln/Onnx.h"

#include <onnx/checker.h>

#include <fmt/format.h>

#include <google/protobuf/io/coded_stream.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sys/stat.h>

namespace kiln::onnx {

[[noreturn]] void fail(const std::string &message) {
  throw GraphError(message);
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
  void convertNode(Graph &graph, int n,
                   std::unordered_map<std::string, Value> &values);
  /// The attention matches (Attention.cpp), by their last MatMul.
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
        !emitAttention(graph, g, opset_, n, match->second, values)) {
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
  findAttention(model_.graph(), attention_, fusedNodes_);
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
