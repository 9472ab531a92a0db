//===- Program.cpp - Entry points of a model and their summary ------------===//

#include "kiln/Program.h"

#include "dialects/Graph/IR/GraphShapes.h"

#include <fmt/format.h>

#include <map>

namespace kiln {

Program::Program(std::string name, const Module &model)
    : name_(std::move(name)), model_(model) {}

Graph &Program::addEntry(const std::string &name) {
  for (const auto &e : entries_)
    if (e->name() == name)
      throw GraphError(fmt::format("program '{}' already has an entry point "
                                   "named '{}'",
                                   name_, name));
  entries_.push_back(std::make_unique<Graph>(name, model_));
  return *entries_.back();
}

static std::string typeStr(const Graph::Value &v) {
  return fmt::format("{} {}", dtypeName(v.dtype), shapes::str(v.shape));
}

std::string Program::summary() const {
  std::string out = fmt::format("model {} ({})\n", name_, model_.typeName());
  int64_t trained = 0, buffers = 0, tensors = 0;
  std::string rows;
  for (const Module::NamedParameter &p : model_.namedParameters()) {
    int64_t n = shapes::numElements(p.spec->shape);
    (p.spec->kind == ArgKind::Parameter ? trained : buffers) += n;
    ++tensors;
    rows += fmt::format("  {:<40} {:<22} {:>10}{}\n", p.path,
                        fmt::format("{} {}", dtypeName(p.spec->dtype),
                                    shapes::str(p.spec->shape)),
                        n, p.spec->kind == ArgKind::Buffer ? "  (buffer)" : "");
  }
  out += fmt::format("parameters: {} tensors, {} trainable values, {} buffer "
                     "values\n",
                     tensors, trained, buffers);
  out += rows;
  for (const auto &entry : entries_) {
    out += fmt::format("entry {}:\n", entry->name());
    for (const Graph::Argument &a : entry->arguments())
      if (a.kind == ArgKind::Input)
        out += fmt::format("  input  {:<12} {}\n", a.name,
                           typeStr(entry->value(a.value)));
    for (const Graph::Output &o : entry->outputs())
      out += fmt::format("  output {:<12} {}\n", o.name,
                         typeStr(entry->value(o.value)));
    std::map<std::string, int> histogram;
    for (const Node &n : entry->nodes())
      ++histogram[n.op];
    std::string ops;
    for (const auto &[op, count] : histogram)
      ops += fmt::format("{}{} x{}", ops.empty() ? "" : ", ", op, count);
    out += fmt::format("  {} ops: {}\n", entry->nodes().size(), ops);
  }
  return out;
}

} // namespace kiln
