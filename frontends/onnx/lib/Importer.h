//===- Importer.h - The ONNX importer's values and node context -----------===//
//
// While a graph is imported, each ONNX value is either a DSL tensor or a
// constant known at import time. Operators on constants are folded where
// the importer knows how (shape arithmetic); a constant meets a tensor
// operand as a dense constant in the graph. The header also declares
// what the importer's files share: tensor data (Tensors.cpp), the node
// context (NodeContext.cpp) and attention fusion (Attention.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_FRONTENDS_ONNX_IMPORTER_H
#define KILN_FRONTENDS_ONNX_IMPORTER_H

#include "kiln/DSL.h"

#include <onnx/onnx_pb.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace kiln::onnx {

/// A tensor known at import time: floats in `f`, integers and booleans in
/// `i` (exactly one is filled, by dtype).
struct Constant {
  Shape shape;
  DType dtype = DType::F32;
  std::vector<double> f;
  std::vector<int64_t> i;

  int64_t count() const;
  double at(int64_t k) const { return isFloat(dtype) ? f[k] : double(i[k]); }
  int64_t intAt(int64_t k) const {
    return isFloat(dtype) ? static_cast<int64_t>(f[k]) : i[k];
  }
  /// The single element of a scalar-like constant (one element, any
  /// rank); throws GraphError naming `what` otherwise.
  double scalar(const char *what) const;
  /// Every element as a double (the form DSL constants take).
  std::vector<double> doubles() const;
  /// Every element as an integer.
  std::vector<int64_t> ints() const;

  static Constant ofInts(Shape shape, std::vector<int64_t> values,
                         DType dtype = DType::I64);
  static Constant ofDoubles(Shape shape, std::vector<double> values,
                            DType dtype);
};

/// An ONNX value: a graph tensor, or a constant.
struct Value {
  Tensor tensor;
  std::optional<Constant> constant;
  /// Why the value does not exist (an output its node cannot compute); an
  /// error only once something reads it.
  std::string missing;
};

/// Throws GraphError with `message`: how the importer and the tensor
/// readers fail outside a node's converter (defined in Import.cpp).
[[noreturn]] void fail(const std::string &message);

/// The largest tensor the importer accepts.
constexpr int64_t kMaxElements = int64_t(1) << 32;
/// The product of `shape`'s sizes; fails (naming `what`) on a negative
/// size or more than kMaxElements elements.
int64_t checkedCount(const Shape &shape, const std::string &what);

/// Converts ONNX's element type; fails naming `what` for one Kiln lacks.
DType dtypeOf(int32_t elemType, const std::string &what);

/// A tensor's data as little-endian bytes (booleans one byte each).
struct TensorBytes {
  Shape shape;
  DType dtype = DType::F32;
  std::vector<unsigned char> bytes;
};

/// Reads a TensorProto's data (raw, typed fields or an external file under
/// `folder`) as bytes; fails naming the tensor for data shorter or longer
/// than its shape, or an external path outside `folder`.
TensorBytes readTensorBytes(const ::onnx::TensorProto &tensor,
                            const std::string &folder);

/// The same, decoded as a constant.
Constant readTensor(const ::onnx::TensorProto &tensor,
                    const std::string &folder);

/// Decodes `count` little-endian elements of `c.dtype` from `bytes` into
/// `c` (TensorBytes' data as a constant).
void decode(const unsigned char *bytes, int64_t count, Constant &c);

/// One node being converted: its inputs, attributes and where its outputs
/// go.
class NodeContext {
public:
  NodeContext(const ::onnx::NodeProto &node, std::vector<Value *> inputs,
              Graph &graph, int64_t opset, const std::string &folder,
              bool trainable)
      : node(node), graph(graph), opset(opset), trainable(trainable),
        inputs_(std::move(inputs)), folder_(folder) {
    outputs_.resize(node.output_size());
  }

  const ::onnx::NodeProto &node;
  Graph &graph;
  const int64_t opset;
  /// The model has a loss entry (--loss): `forward` is inference whatever
  /// an export's training_mode says, and the loss entry trains.
  const bool trainable;

  /// Inputs as given; an empty name (an omitted optional input) is absent.
  size_t inputCount() const { return inputs_.size(); }
  bool has(size_t i) const { return i < inputs_.size() && inputs_[i]; }
  /// Input `i` as a graph tensor (a constant is materialized).
  Tensor tensor(size_t i);
  /// Input `i`'s constant, or null when it is computed by the graph.
  const Constant *constant(size_t i) const;
  /// Input `i`'s constant; fails, naming `what`, when it is computed.
  const Constant &requireConstant(size_t i, const char *what) const;
  /// Input `i`'s shape (a copy: adding ops may move the graph's storage).
  Shape shape(size_t i) const;
  DType dtype(size_t i) const;
  /// Whether every present input is a constant.
  bool allConstant() const;

  bool hasAttr(const std::string &name) const;
  int64_t attrInt(const std::string &name, int64_t fallback) const;
  double attrFloat(const std::string &name, double fallback) const;
  std::string attrString(const std::string &name,
                         const std::string &fallback) const;
  std::vector<int64_t> attrInts(const std::string &name) const;
  std::vector<double> attrFloats(const std::string &name) const;
  /// A tensor attribute (Constant's value).
  Constant attrTensor(const std::string &name) const;

  /// Whether output `i` is asked for (present with a non-empty name).
  bool wantsOutput(size_t i) const;
  void setOutput(size_t i, Tensor value);
  void setOutput(size_t i, Constant value);
  std::vector<Value> &outputs() { return outputs_; }

  /// Fails with `message`; the importer adds the node's identity.
  [[noreturn]] void fail(const std::string &message) const;
  /// Fails for an attribute value Kiln does not support.
  [[noreturn]] void unsupported(const std::string &what) const;

  /// The node's first attribute its converter never read (whose value it
  /// would silently ignore), or null.
  const ::onnx::AttributeProto *unreadAttribute() const;

  /// The graph's ops are built in training mode (the `loss` entry).
  bool training() const { return graph.training(); }

private:
  const ::onnx::AttributeProto *attr(const std::string &name) const;

  std::vector<Value *> inputs_;
  std::vector<Value> outputs_;
  mutable std::vector<std::string> read_; // attributes looked up
  const std::string &folder_;
};

/// A materialized constant in `graph`.
Tensor toTensor(Graph &graph, const Constant &c);

using Converter = std::function<void(NodeContext &)>;
/// The converter of `opType` in the default domain, or null.
const Converter *findConverter(const std::string &opType);

/// Whether input `input` of `node` is a setting the converter reads as a
/// constant (Resize's scales, Clip's bounds, Pad's value, ...): a float
/// initializer there is a constant, not a parameter.
bool isSettingInput(const ::onnx::NodeProto &node, int input);

/// Buffers the converters update in training mode: batch norm's running
/// statistics, by initializer name (the importer names them buffers).
bool isBatchNormStatistic(const ::onnx::NodeProto &node, int input);

//===----------------------------------------------------------------------===//
// Attention (Attention.cpp)
//===----------------------------------------------------------------------===//

/// Scaled dot-product attention as exporters write it: MatMul(q,
/// Transpose(k)) -> Div or Mul by a constant -> optionally a constant
/// mask (Where with -inf, or Add of 0/-inf) -> Softmax over the last
/// axis -> MatMul(., v). Each intermediate value has no other reader.
struct AttentionMatch {
  int scores = -1, transposeK = -1, scale = -1, mask = -1, softmax = -1;
  /// Which input of `mask` carries the scores.
  int maskScoresInput = -1;
};

/// The matches in the model's graph `g`, by the index of their last MatMul,
/// found in the graph's structure (the constants are checked when the
/// MatMul is reached) into `matches`; the nodes inside a match, converted
/// with it, into `fused`.
void findAttention(const ::onnx::GraphProto &g,
                   std::map<int, AttentionMatch> &matches,
                   std::set<int> &fused);

/// Emits the attention of `match` ending at node `n` of `g` (whose default
/// operator set is `opset`) into `graph`; false (nothing emitted) when its
/// constants do not fit the pattern.
bool emitAttention(Graph &graph, const ::onnx::GraphProto &g, int64_t opset,
                   int n, const AttentionMatch &match,
                   std::unordered_map<std::string, Value> &values);

} // namespace kiln::onnx

#endif // KILN_FRONTENDS_ONNX_IMPORTER_H
