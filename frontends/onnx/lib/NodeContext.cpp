//===- NodeContext.cpp - One ONNX node's inputs, attributes, outputs ------===//
//
// NodeContext's methods: a converter's view of its node (inputs as
// tensors or constants, typed attributes, which of them it read) and
// where its outputs go.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/lib/Importer.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

namespace kiln::onnx {

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

} // namespace kiln::onnx
