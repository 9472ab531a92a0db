//===- Module.h - Modules with named parameters, as in PyTorch ------------===//
//
// A model is a tree of modules. Each module owns parameters and buffers and
// has children; the dotted path from the root ("layer1.0.conv1.weight") is
// the PyTorch state_dict key. Modules are declared as members and register
// with their parent in their constructor:
//
//   struct Mlp : kiln::Module {
//     kiln::Linear fc1{this, "fc1", 784, 256};
//     Mlp() : Module("Mlp") {}
//   };
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DSL_MODULE_H
#define KILN_DSL_MODULE_H

#include "kiln/Tensor.h"

#include <functional>
#include <string>
#include <vector>

namespace kiln {

/// How a parameter starts, following PyTorch's defaults.
struct Init {
  /// Imported: values that come with the model (an ONNX file's
  /// initializers), given to the trainer with --init-params.
  enum class Kind { Zeros, Ones, Uniform, Normal, Imported };
  Kind kind = Kind::Zeros;
  double a = 0; // Uniform: bound (values in [-a, a]); Normal: stddev.

  static Init zeros() { return {Kind::Zeros, 0}; }
  static Init ones() { return {Kind::Ones, 0}; }
  static Init uniform(double bound) { return {Kind::Uniform, bound}; }
  static Init normal(double stddev) { return {Kind::Normal, stddev}; }
  static Init imported() { return {Kind::Imported, 0}; }
};

/// A parameter or buffer of a module.
struct ParameterSpec {
  std::string name; // Local name: "weight".
  Shape shape;
  DType dtype;
  Init init;
  ArgKind kind; // Parameter (trained) or Buffer (running statistics).
};

/// A handle to one of a module's parameters.
struct Param {
  const Module *owner = nullptr;
  int index = -1;
};

class Module {
public:
  /// A root module (a model).
  explicit Module(std::string typeName, DType dtype = DType::F32);
  /// A child named `name` of `parent`, declared at `loc` (where a
  /// duplicate name is reported).
  Module(Module *parent, std::string name, std::string typeName,
         SourceLoc loc = SourceLoc::current());
  virtual ~Module() = default;
  Module(const Module &) = delete;
  Module &operator=(const Module &) = delete;

  /// Dotted path from the root: "" for the root, "layer1.0" for a child.
  std::string path() const;
  const std::string &typeName() const { return typeName_; }
  const std::string &name() const { return name_; }
  /// The dtype of floating-point parameters, inherited from the root.
  DType dtype() const;

  /// Every parameter and buffer of this module and its descendants, in
  /// registration order, with full state_dict keys.
  struct NamedParameter {
    std::string path;
    const ParameterSpec *spec;
  };
  std::vector<NamedParameter> namedParameters() const;
  const std::vector<Module *> &children() const { return children_; }

protected:
  /// Declares a trained parameter.
  Param addParameter(std::string name, Shape shape, Init init,
                     SourceLoc loc = SourceLoc::current());
  /// Declares a buffer (state that is not trained, e.g. running statistics).
  Param addBuffer(std::string name, Shape shape, Init init,
                  DType dtype = DType::F32,
                  SourceLoc loc = SourceLoc::current());

  /// "module 'layer1.0' (BasicBlock)", or for the root "the model (ResNet)":
  /// how errors name this module.
  std::string describe() const;

  /// The graph argument holding `param` in the graph `graph`.
  Tensor use(const Param &param, Graph &graph, SourceLoc loc) const;
  /// Records `value` as the buffer's new value after `graph` has run
  /// (Graph::updateBuffer).
  void update(const Param &buffer, Graph &graph, const Tensor &value,
              SourceLoc loc) const;

  /// Enters this module for the duration of a call: ops created meanwhile
  /// are attributed to its path.
  class Scope {
  public:
    Scope(const Module &module, Graph &graph, SourceLoc loc);
    ~Scope();
    Scope(const Scope &) = delete;
    Scope &operator=(const Scope &) = delete;

  private:
    Graph &graph_;
  };

private:
  Module *parent_ = nullptr;
  std::string name_;
  std::string typeName_;
  DType dtype_ = DType::F32;
  std::vector<ParameterSpec> parameters_;
  std::vector<Module *> children_;
};

} // namespace kiln

#endif // KILN_DSL_MODULE_H
