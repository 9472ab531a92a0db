//===- Tensor.h - Tensors, graphs and errors of the Kiln C++ DSL ----------===//
//
// A model is written against these types: a `Graph` is one entry point being
// built (forward, loss, ...), a `Tensor` is a value in it with a static shape
// and a dtype. Every op checks its operands when it is called, so a mistake
// fails at graph-building time with the module path, the op, the shapes and
// the line of the user's code. No MLIR here: emission lives in Program.h.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DSL_TENSOR_H
#define KILN_DSL_TENSOR_H

#include <cstdint>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace kiln {

using Shape = std::vector<int64_t>;

enum class DType { F32, F64, I1, I32, I64 };

/// "f32", "i64", ...
const char *dtypeName(DType dtype);
bool isFloat(DType dtype);
bool isInteger(DType dtype);

/// Where in the user's code an op was created. Captured through default
/// arguments, so every DSL call records its caller's file and line.
struct SourceLoc {
  const char *file = "";
  int line = 0;
  static constexpr SourceLoc current(const char *file = __builtin_FILE(),
                                     int line = __builtin_LINE()) {
    return SourceLoc{file, line};
  }
};

/// A mistake in a model, found while building its graph.
class GraphError : public std::runtime_error {
public:
  explicit GraphError(const std::string &message)
      : std::runtime_error(message) {}
};

class Graph;
class Module;

/// A value in a graph: a static shape and a dtype. Cheap to copy.
class Tensor {
public:
  Tensor() = default;
  Tensor(Graph *graph, int id) : graph_(graph), id_(id) {}

  /// Valid as long as the graph: adding ops does not move it.
  const Shape &shape() const;
  DType dtype() const;
  int64_t rank() const { return static_cast<int64_t>(shape().size()); }
  /// Size of dimension `dim`; negative counts from the end.
  int64_t size(int64_t dim) const;
  int64_t numElements() const;

  Graph &graph() const;
  int id() const { return id_; }
  bool valid() const { return graph_ != nullptr; }

  /// PyTorch's tensor methods: the functions of kiln/Ops.h (which state
  /// their shape rules) applied to this tensor, e.g.
  /// `x.flatten(1).matmul(w.t())` or `logits.log_softmax(1)`.
  Tensor reshape(Shape shape, SourceLoc loc = SourceLoc::current()) const;
  /// As reshape (Kiln's tensors are always contiguous).
  Tensor view(Shape shape, SourceLoc loc = SourceLoc::current()) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1,
                 SourceLoc loc = SourceLoc::current()) const;
  Tensor unsqueeze(int64_t dim, SourceLoc loc = SourceLoc::current()) const;
  Tensor squeeze(int64_t dim, SourceLoc loc = SourceLoc::current()) const;
  Tensor permute(Shape dims, SourceLoc loc = SourceLoc::current()) const;
  Tensor transpose(int64_t dim0, int64_t dim1,
                   SourceLoc loc = SourceLoc::current()) const;
  /// The last two dimensions swapped (a matrix's transpose).
  Tensor t(SourceLoc loc = SourceLoc::current()) const;
  /// broadcast_to.
  Tensor expand(Shape shape, SourceLoc loc = SourceLoc::current()) const;
  /// cast.
  Tensor to(DType dtype, SourceLoc loc = SourceLoc::current()) const;
  Tensor matmul(const Tensor &other,
                SourceLoc loc = SourceLoc::current()) const;
  Tensor sum(Shape dims, bool keepdim = false,
             SourceLoc loc = SourceLoc::current()) const;
  Tensor mean(Shape dims, bool keepdim = false,
              SourceLoc loc = SourceLoc::current()) const;
  Tensor amax(Shape dims, bool keepdim = false,
              SourceLoc loc = SourceLoc::current()) const;
  Tensor amin(Shape dims, bool keepdim = false,
              SourceLoc loc = SourceLoc::current()) const;
  Tensor argmax(int64_t dim, bool keepdim = false,
                SourceLoc loc = SourceLoc::current()) const;
  Tensor softmax(int64_t dim, SourceLoc loc = SourceLoc::current()) const;
  Tensor log_softmax(int64_t dim, SourceLoc loc = SourceLoc::current()) const;
  Tensor relu(SourceLoc loc = SourceLoc::current()) const;
  Tensor sigmoid(SourceLoc loc = SourceLoc::current()) const;
  Tensor tanh(SourceLoc loc = SourceLoc::current()) const;
  Tensor exp(SourceLoc loc = SourceLoc::current()) const;
  Tensor log(SourceLoc loc = SourceLoc::current()) const;
  Tensor sqrt(SourceLoc loc = SourceLoc::current()) const;
  Tensor abs(SourceLoc loc = SourceLoc::current()) const;
  Tensor neg(SourceLoc loc = SourceLoc::current()) const;

private:
  Graph *graph_ = nullptr;
  int id_ = -1;
};

/// An attribute of an op, as the DSL records it.
struct UnitAttr {};
struct EnumAttr {
  int64_t value;
};
struct DenseAttr {
  std::vector<double> values; // One value is a splat.
};
using AttrValue = std::variant<UnitAttr, bool, int64_t, double, Shape, DType,
                               EnumAttr, DenseAttr>;

/// One op of a graph, as recorded by the DSL before emission.
struct Node {
  std::string op; // "graph.add"
  std::vector<int> operands;
  std::vector<std::pair<std::string, AttrValue>> attrs;
  std::vector<int> results;
  SourceLoc loc;
  std::string scope; // Module path, "" at the top level.
};

/// What kind of value a graph argument is.
enum class ArgKind { Parameter, Buffer, Input };

/// One entry point under construction: arguments, ops and named outputs.
class Graph {
public:
  struct Value {
    Shape shape;
    DType dtype;
    int node = -1;   // Defining node, or -1 for an argument.
    int argument = -1;
  };
  struct Argument {
    std::string name;
    ArgKind kind;
    int value;
    /// How a parameter or buffer starts: "uniform:BOUND", "normal:STDDEV",
    /// "zeros", "ones"; empty for inputs.
    std::string init;
  };
  struct Output {
    std::string name;
    int value;
    /// The new value of the buffer `name` (updateBuffer), not a result the
    /// entry point computes for its caller.
    bool update = false;
  };

  /// A graph whose first arguments are every parameter and buffer of
  /// `model`, in registration order, named by their state_dict keys.
  Graph(std::string name, const Module &model);
  /// A graph without a model (tests, hand-written functions).
  explicit Graph(std::string name);
  Graph(const Graph &) = delete;
  Graph &operator=(const Graph &) = delete;

  /// Declares a named input of the entry point.
  Tensor input(const std::string &name, Shape shape, DType dtype = DType::F32,
               SourceLoc loc = SourceLoc::current());
  /// Declares a named output.
  void output(const std::string &name, const Tensor &value,
              SourceLoc loc = SourceLoc::current());

  /// The argument holding the parameter or buffer with this state_dict key.
  Tensor parameter(const std::string &path, SourceLoc loc) const;

  /// Records `value` as the new value of the buffer `path` (a state_dict
  /// key) once the entry point has run, e.g. batch norm's running
  /// statistics. It becomes a result named `path`, marked `graph.update`;
  /// `train_step` writes it back into the buffer. Fails if `path` is not a
  /// buffer, was already updated, or `value` has another shape or dtype.
  void updateBuffer(const std::string &path, const Tensor &value,
                    SourceLoc loc = SourceLoc::current());

  /// Whether the entry point runs the model in training mode: batch norm
  /// normalizes with batch statistics and updates its running statistics.
  /// Off by default; models turn it on for `loss`, from which `grad` and
  /// `train_step` derive.
  bool training() const { return training_; }
  void setTraining(bool on) { training_ = on; }

  /// A training graph that leaves the buffers as they are: batch norm
  /// still normalizes with batch statistics but records no update (gan's
  /// generator step, whose batch the discriminator step already counted).
  bool keepsBuffers() const { return keepBuffers_; }
  void setKeepBuffers(bool on) { keepBuffers_ = on; }

  /// Restricts what the train step derived from this loss entry trains to
  /// the parameters of `part` (a submodule; call again for more parts):
  /// only they are differentiated and updated, the others enter the step
  /// as constants. A model trained in alternating steps (gan) has one
  /// such loss entry per step, named loss_<step>.
  void trains(const Module &part, SourceLoc loc = SourceLoc::current());
  /// The module paths given to trains(); empty: every parameter.
  const std::vector<std::string> &trainedParts() const { return trained_; }

  /// Asks for this entry's gradient by its float inputs `names` (declared
  /// before): the compiler adds the entry `<name>_grad`, returning the
  /// entry's first output (a scalar) and grad.<input> for each. An
  /// energy-based model's Langevin chain steps along it.
  void differentiateInputs(const std::vector<std::string> &names,
                           SourceLoc loc = SourceLoc::current());
  const std::vector<std::string> &differentiatedInputs() const {
    return wrt_;
  }

  /// Where `count` counter-based random numbers of this entry point come
  /// from: its 0-d int64 inputs `rng_seed` and `rng_offset` (declared on
  /// the first request) and an offset past every earlier request's
  /// numbers, so no two requests share a number. The caller gives a seed
  /// and, per call, a fresh offset: the trainer passes its seed and the
  /// step number times 2^32, so a resumed run draws the same numbers.
  struct RandomStream {
    Tensor seed, offset;
  };
  RandomStream randomStream(int64_t count,
                            SourceLoc loc = SourceLoc::current());

  const std::string &name() const { return name_; }
  const std::deque<Value> &values() const { return values_; }
  const std::vector<Node> &nodes() const { return nodes_; }
  const std::vector<Argument> &arguments() const { return arguments_; }
  const std::vector<Output> &outputs() const { return outputs_; }
  const Value &value(int id) const { return values_.at(id); }

  /// Records an op whose result shapes and dtypes the caller has checked.
  std::vector<Tensor> addNode(std::string op, std::vector<Tensor> operands,
                              std::vector<std::pair<std::string, AttrValue>> attrs,
                              std::vector<std::pair<Shape, DType>> results,
                              SourceLoc loc);

  /// Fails with `message`, prefixed by the location, module path and op.
  [[noreturn]] void fail(const std::string &op, const std::string &message,
                         SourceLoc loc) const;

  /// The module path ops are attributed to (innermost module being called).
  std::string currentScope() const;
  void pushScope(const Module *module, SourceLoc loc);
  void popScope();

private:
  int addArgument(const std::string &name, ArgKind kind, Shape shape,
                  DType dtype, SourceLoc loc);

  std::string name_;
  std::deque<Value> values_; // a deque: shape() references stay valid
  std::vector<Node> nodes_;
  std::vector<Argument> arguments_;
  std::vector<Output> outputs_;
  std::vector<std::pair<const Module *, SourceLoc>> scopes_;
  bool training_ = false;
  bool keepBuffers_ = false;
  std::vector<std::string> trained_;
  std::vector<std::string> wrt_;
  int rngSeed_ = -1, rngOffset_ = -1; // argument values, once declared
  int64_t randomCounters_ = 0;        // numbers handed out so far
};

} // namespace kiln

#endif // KILN_DSL_TENSOR_H
