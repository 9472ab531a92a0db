//===- Graph.cpp - Tensors and graphs of the Kiln C++ DSL -----------------===//

#include "kiln/Module.h"
#include "kiln/Ops.h"
#include "kiln/Tensor.h"

#include "dialects/Graph/IR/GraphShapes.h"

#include <fmt/format.h>

namespace kiln {

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "f32";
  case DType::F64:
    return "f64";
  case DType::I1:
    return "i1";
  case DType::I32:
    return "i32";
  case DType::I64:
    return "i64";
  }
  return "?";
}

bool isFloat(DType dtype) { return dtype == DType::F32 || dtype == DType::F64; }
bool isInteger(DType dtype) {
  return dtype == DType::I32 || dtype == DType::I64;
}

const Shape &Tensor::shape() const { return graph().value(id_).shape; }
DType Tensor::dtype() const { return graph().value(id_).dtype; }
int64_t Tensor::numElements() const { return shapes::numElements(shape()); }

int64_t Tensor::size(int64_t dim) const {
  int64_t d = dim;
  if (!shapes::normalizeAxis(d, rank()))
    throw GraphError(fmt::format("dimension {} is out of range for {}", dim,
                                 shapes::str(shape())));
  return shape()[d];
}

Graph &Tensor::graph() const {
  if (!graph_)
    throw GraphError("use of an empty kiln::Tensor (never assigned)");
  return *graph_;
}

Graph::Graph(std::string name) : name_(std::move(name)) {}

Graph::Graph(std::string name, const Module &model) : name_(std::move(name)) {
  for (const Module::NamedParameter &p : model.namedParameters()) {
    addArgument(p.path, p.spec->kind, p.spec->shape, p.spec->dtype, {});
    const Init &init = p.spec->init;
    switch (init.kind) {
    case Init::Kind::Zeros:
      arguments_.back().init = "zeros";
      break;
    case Init::Kind::Ones:
      arguments_.back().init = "ones";
      break;
    case Init::Kind::Constant:
      arguments_.back().init =
          init.a == 0   ? "zeros"
          : init.a == 1 ? "ones"
                        : fmt::format("constant:{:.17g}", init.a);
      break;
    case Init::Kind::Uniform:
      // Symmetric ranges keep the short form "uniform:BOUND".
      arguments_.back().init =
          init.a == -init.b
              ? fmt::format("uniform:{:.17g}", init.b)
              : fmt::format("uniform:{:.17g}:{:.17g}", init.a, init.b);
      break;
    case Init::Kind::Normal:
      arguments_.back().init =
          init.a == 0 ? fmt::format("normal:{:.17g}", init.b)
                      : fmt::format("normal:{:.17g}:{:.17g}", init.a, init.b);
      break;
    case Init::Kind::Imported:
      arguments_.back().init = "imported";
      break;
    }
  }
}

void Graph::trains(const Module &part, SourceLoc loc) {
  std::string path = part.path();
  if (path.empty())
    fail("trains", "the model itself is every parameter: name a submodule",
         loc);
  bool owns = false;
  for (const Argument &a : arguments_)
    owns |= a.kind == ArgKind::Parameter &&
            (a.name == path || a.name.rfind(path + ".", 0) == 0);
  if (!owns)
    fail("trains",
         fmt::format("module '{}' has no parameter in this graph", path), loc);
  for (const std::string &p : trained_)
    if (p == path)
      fail("trains", fmt::format("'{}' is already trained here", path), loc);
  trained_.push_back(path);
}

void Graph::differentiateInputs(const std::vector<std::string> &names,
                                SourceLoc loc) {
  if (names.empty())
    fail("differentiateInputs", "needs at least one input", loc);
  for (const std::string &name : names) {
    const Argument *input = nullptr;
    for (const Argument &a : arguments_)
      if (a.kind == ArgKind::Input && a.name == name)
        input = &a;
    if (!input)
      fail("differentiateInputs",
           fmt::format("'{}' is not an input of this graph", name), loc);
    if (!isFloat(values_.at(input->value).dtype))
      fail("differentiateInputs",
           fmt::format("'{}' is an integer input; only float inputs have "
                       "gradients",
                       name),
           loc);
  }
  wrt_ = names;
}

int Graph::addArgument(const std::string &name, ArgKind kind, Shape shape,
                       DType dtype, SourceLoc loc) {
  for (const Argument &a : arguments_)
    if (a.name == name)
      fail("input", fmt::format("an argument named '{}' already exists", name),
           loc);
  for (int64_t d : shape)
    if (d < 0)
      fail("input",
           fmt::format("'{}' has a negative dimension in {}", name,
                       shapes::str(shape)),
           loc);
  // No machine holds 2^47 bytes: refusing them here keeps every product of
  // dimensions the ops compute from arguments' shapes within int64.
  int64_t elements = 1;
  bool overflows = false;
  for (int64_t d : shape)
    overflows |= __builtin_mul_overflow(elements, d, &elements);
  int64_t elementBytes = dtype == DType::F64 || dtype == DType::I64 ? 8
                         : dtype == DType::I1                       ? 1
                                                                    : 4;
  if (overflows || elements > (int64_t(1) << 47) / elementBytes)
    fail("input",
         fmt::format("'{}' of shape {} needs more than 2^47 bytes (128 TiB): "
                     "it cannot be allocated (check the batch size)",
                     name, shapes::str(shape)),
         loc);
  int id = static_cast<int>(values_.size());
  values_.push_back({std::move(shape), dtype, -1,
                     static_cast<int>(arguments_.size())});
  arguments_.push_back({name, kind, id, {}});
  return id;
}

Tensor Graph::input(const std::string &name, Shape shape, DType dtype,
                    SourceLoc loc) {
  return Tensor(this, addArgument(name, ArgKind::Input, std::move(shape),
                                  dtype, loc));
}

Graph::RandomStream Graph::randomStream(int64_t count, SourceLoc loc) {
  if (count < 1)
    fail("randomStream",
         fmt::format("needs a positive count of numbers, got {}", count),
         loc);
  if (rngSeed_ < 0) {
    rngSeed_ = input("rng_seed", {}, DType::I64, loc).id();
    rngOffset_ = input("rng_offset", {}, DType::I64, loc).id();
  }
  Tensor seed(this, rngSeed_), offset(this, rngOffset_);
  if (randomCounters_ > 0)
    offset = add(offset,
                 constant(*this, {}, {static_cast<double>(randomCounters_)},
                          DType::I64, loc),
                 loc);
  randomCounters_ += count;
  return {seed, offset};
}

void Graph::output(const std::string &name, const Tensor &value,
                   SourceLoc loc) {
  if (&value.graph() != this)
    fail("output", fmt::format("'{}' is a tensor of graph '{}'", name,
                               value.graph().name()),
         loc);
  for (const Output &o : outputs_)
    if (o.name == name)
      fail("output", fmt::format("an output named '{}' already exists", name),
           loc);
  // A loss entry's first output is what autodiff differentiates: one
  // floating-point number.
  bool lossEntry = name_ == "loss" || name_.rfind("loss_", 0) == 0;
  if (lossEntry && outputs_.empty() &&
      (!value.shape().empty() ||
       (value.dtype() != DType::F32 && value.dtype() != DType::F64)))
    fail("output",
         fmt::format("the loss '{}' must be a float scalar (what training "
                     "minimizes), got {} {}; reduce it, e.g. with mean()",
                     name, dtypeName(value.dtype()),
                     shapes::str(value.shape())),
         loc);
  outputs_.push_back({name, value.id()});
}

void Graph::updateBuffer(const std::string &path, const Tensor &value,
                         SourceLoc loc) {
  const Argument *buffer = nullptr;
  for (const Argument &a : arguments_)
    if (a.name == path)
      buffer = &a;
  if (!buffer || buffer->kind != ArgKind::Buffer)
    fail("updateBuffer",
         fmt::format("'{}' is not a buffer of the model this graph was "
                     "built for",
                     path),
         loc);
  if (&value.graph() != this)
    fail("updateBuffer",
         fmt::format("the new value of '{}' is a tensor of graph '{}'", path,
                     value.graph().name()),
         loc);
  const Value &old = values_.at(buffer->value);
  if (value.shape() != old.shape || value.dtype() != old.dtype)
    fail("updateBuffer",
         fmt::format("the new value of '{}' is {}{}, the buffer is {}{}", path,
                     dtypeName(value.dtype()), shapes::str(value.shape()),
                     dtypeName(old.dtype), shapes::str(old.shape)),
         loc);
  for (const Output &o : outputs_)
    if (o.name == path)
      fail("updateBuffer",
           fmt::format("'{}' is already a result of this graph", path), loc);
  outputs_.push_back({path, value.id(), /*update=*/true});
}

Tensor Graph::parameter(const std::string &path, SourceLoc loc) const {
  for (const Argument &a : arguments_)
    if (a.name == path && a.kind != ArgKind::Input)
      return Tensor(const_cast<Graph *>(this), a.value);
  fail("parameter",
       fmt::format("'{}' is not a parameter of the model this graph was "
                   "built for",
                   path),
       loc);
}

std::vector<Tensor>
Graph::addNode(std::string op, std::vector<Tensor> operands,
               std::vector<std::pair<std::string, AttrValue>> attrs,
               std::vector<std::pair<Shape, DType>> results, SourceLoc loc) {
  Node node;
  node.op = std::move(op);
  for (const Tensor &t : operands) {
    if (&t.graph() != this)
      fail(node.op,
           fmt::format("an operand belongs to graph '{}', not '{}'",
                       t.graph().name(), name_),
           loc);
    node.operands.push_back(t.id());
  }
  node.attrs = std::move(attrs);
  node.loc = loc;
  node.scope = currentScope();
  int nodeId = static_cast<int>(nodes_.size());
  std::vector<Tensor> out;
  for (auto &[shape, dtype] : results) {
    int id = static_cast<int>(values_.size());
    values_.push_back({std::move(shape), dtype, nodeId, -1});
    node.results.push_back(id);
    out.emplace_back(this, id);
  }
  nodes_.push_back(std::move(node));
  return out;
}

void Graph::fail(const std::string &op, const std::string &message,
                 SourceLoc loc) const {
  std::string where =
      scopes_.empty()
          ? fmt::format("in graph '{}'", name_)
          : fmt::format("in module '{}' ({})", currentScope(),
                        scopes_.back().first->typeName());
  throw GraphError(fmt::format("{}:{}: error: {}: {}: {}", loc.file, loc.line,
                               where, op, message));
}

std::string Graph::currentScope() const {
  return scopes_.empty() ? std::string() : scopes_.back().first->path();
}

void Graph::pushScope(const Module *module, SourceLoc loc) {
  scopes_.emplace_back(module, loc);
}

void Graph::popScope() { scopes_.pop_back(); }

} // namespace kiln
