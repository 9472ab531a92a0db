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
#include <optional>
#include <string>
#include <vector>

namespace kiln {

/// How a parameter starts: the training executable draws the values
/// (kiln/Init.h has PyTorch's nn::init functions, which set these).
struct Init {
  /// Imported: values that come with the model (an ONNX file's
  /// initializers), given to the trainer with --init-params.
  enum class Kind { Zeros, Ones, Constant, Uniform, Normal, Imported };
  Kind kind = Kind::Zeros;
  /// Constant: the value a. Uniform: in [a, b). Normal: mean a, stddev b.
  double a = 0, b = 0;

  static Init zeros() { return {Kind::Zeros}; }
  static Init ones() { return {Kind::Ones}; }
  static Init constant(double value) { return {Kind::Constant, value}; }
  /// U(-bound, bound).
  static Init uniform(double bound) { return {Kind::Uniform, -bound, bound}; }
  static Init uniform(double low, double high) {
    return {Kind::Uniform, low, high};
  }
  /// N(0, stddev^2).
  static Init normal(double stddev) { return {Kind::Normal, 0, stddev}; }
  static Init normal(double mean, double stddev) {
    return {Kind::Normal, mean, stddev};
  }
  static Init imported() { return {Kind::Imported}; }
};

/// A parameter or buffer of a module.
struct ParameterSpec {
  std::string name; // Local name: "weight".
  Shape shape;
  DType dtype;
  Init init;
  ArgKind kind; // Parameter (trained) or Buffer (running statistics).
};

/// A handle to one of a module's parameters (or buffers).
struct Param {
  Module *owner = nullptr;
  int index = -1;

  bool valid() const { return owner != nullptr; }
  /// Its shape and dtype as declared.
  const ParameterSpec &spec() const;
  /// Changes how it starts (what kiln/Init.h's functions do).
  void setInit(const Init &init) const;
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

  /// Declares a trained parameter named `name` (the last part of its
  /// state_dict key), of the model's float dtype, as PyTorch's
  /// register_parameter: `Param cls = register_parameter("cls_token",
  /// {1, 1, 64}, Init::normal(0.02));`.
  Param register_parameter(std::string name, Shape shape, Init init,
                           SourceLoc loc = SourceLoc::current());
  /// Declares a buffer: state that is saved but not trained (running
  /// statistics), of `dtype` (the model's float dtype when not given).
  Param register_buffer(std::string name, Shape shape, Init init,
                        std::optional<DType> dtype = std::nullopt,
                        SourceLoc loc = SourceLoc::current());

protected:

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
  friend struct Param;
  Module *parent_ = nullptr;
  std::string name_;
  std::string typeName_;
  DType dtype_ = DType::F32;
  std::vector<ParameterSpec> parameters_;
  std::vector<Module *> children_;
};

} // namespace kiln

#endif // KILN_DSL_MODULE_H
