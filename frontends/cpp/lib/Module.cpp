//===- Module.cpp - Modules with named parameters -------------------------===//

#include "kiln/Module.h"

#include <fmt/format.h>

namespace kiln {

Module::Module(std::string typeName, DType dtype)
    : typeName_(std::move(typeName)), dtype_(dtype) {}

Module::Module(Module *parent, std::string name, std::string typeName,
               SourceLoc loc)
    : parent_(parent), name_(std::move(name)), typeName_(std::move(typeName)) {
  if (!parent_)
    throw GraphError(fmt::format("{}:{}: error: module '{}' ({}) needs a "
                                 "parent",
                                 loc.file, loc.line, name_, typeName_));
  for (const Module *sibling : parent_->children_)
    if (sibling->name_ == name_)
      throw GraphError(fmt::format("{}:{}: error: {} already has a child "
                                   "named '{}' (a {})",
                                   loc.file, loc.line, parent_->describe(),
                                   name_, sibling->typeName_));
  parent_->children_.push_back(this);
}

std::string Module::describe() const {
  return parent_ ? fmt::format("module '{}' ({})", path(), typeName_)
                 : fmt::format("the model ({})", typeName_);
}

std::string Module::path() const {
  if (!parent_)
    return "";
  std::string prefix = parent_->path();
  return prefix.empty() ? name_ : prefix + "." + name_;
}

DType Module::dtype() const { return parent_ ? parent_->dtype() : dtype_; }

std::vector<Module::NamedParameter> Module::namedParameters() const {
  // PyTorch's order: a module's own parameters, then its children's.
  std::vector<NamedParameter> out;
  std::string prefix = path();
  for (const ParameterSpec &p : parameters_)
    out.push_back({prefix.empty() ? p.name : prefix + "." + p.name, &p});
  for (const Module *child : children_)
    for (NamedParameter &p : child->namedParameters())
      out.push_back(std::move(p));
  return out;
}

Param Module::register_parameter(std::string name, Shape shape, Init init,
                                 SourceLoc loc) {
  Param param =
      register_buffer(std::move(name), std::move(shape), init, dtype(), loc);
  parameters_.back().kind = ArgKind::Parameter;
  return param;
}

Param Module::register_buffer(std::string name, Shape shape, Init init,
                              std::optional<DType> dtype, SourceLoc loc) {
  for (const ParameterSpec &p : parameters_)
    if (p.name == name)
      throw GraphError(fmt::format("{}:{}: error: {} already has a parameter "
                                   "named '{}'",
                                   loc.file, loc.line, describe(), name));
  parameters_.push_back({std::move(name), std::move(shape),
                         dtype ? *dtype : this->dtype(), init,
                         ArgKind::Buffer});
  return Param{this, static_cast<int>(parameters_.size()) - 1};
}

const ParameterSpec &Param::spec() const {
  if (!owner)
    throw GraphError("error: a parameter handle that names no parameter "
                     "(declared but not registered)");
  return owner->parameters_.at(index);
}

void Param::setInit(const Init &init) const {
  spec();
  owner->parameters_.at(index).init = init;
}

Tensor Module::use(const Param &param, Graph &graph, SourceLoc loc) const {
  const ParameterSpec &spec = param.owner->parameters_.at(param.index);
  std::string prefix = param.owner->path();
  return graph.parameter(prefix.empty() ? spec.name : prefix + "." + spec.name,
                         loc);
}

void Module::update(const Param &buffer, Graph &graph, const Tensor &value,
                    SourceLoc loc) const {
  if (graph.keepsBuffers())
    return;
  const ParameterSpec &spec = buffer.owner->parameters_.at(buffer.index);
  std::string prefix = buffer.owner->path();
  graph.updateBuffer(prefix.empty() ? spec.name : prefix + "." + spec.name,
                     value, loc);
}

Module::Scope::Scope(const Module &module, Graph &graph, SourceLoc loc)
    : graph_(graph) {
  graph_.pushScope(&module, loc);
}

Module::Scope::~Scope() { graph_.popScope(); }

} // namespace kiln
