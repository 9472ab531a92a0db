//===- Attention.cpp - Fusing ONNX's attention pattern --------------------===//
//
// Exporters write scaled dot-product attention as MatMul, Transpose,
// scaling, masking and Softmax nodes; the importer finds that pattern
// in the graph's structure and, where its constants fit, emits one
// scaled_dot_product_attention for it.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/lib/Importer.h"

#include <cmath>
#include <map>
#include <set>

namespace kiln::onnx {

void findAttention(const ::onnx::GraphProto &g,
                   std::map<int, AttentionMatch> &matches,
                   std::set<int> &fused) {
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
    bool overlaps = fused.count(n) > 0;
    for (int k : {m.transposeK, m.scores, m.scale, m.mask, m.softmax})
      overlaps |= k >= 0 && (fused.count(k) || matches.count(k));
    if (overlaps)
      continue;
    matches[n] = m;
    for (int k : {m.transposeK, m.scores, m.scale, m.mask, m.softmax})
      if (k >= 0)
        fused.insert(k);
  }
}

bool emitAttention(Graph &graph, const ::onnx::GraphProto &g, int64_t opset,
                   int n, const AttentionMatch &m,
                   std::unordered_map<std::string, Value> &values) {
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
  std::optional<Tensor> q = tensorOf(scores.input(0)),
                        v = tensorOf(g.node(n).input(1));
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
  int64_t axis = opset >= 13 ? -1 : 1;
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
      const Constant *fill =
          constantOf(node.input(m.maskScoresInput == 1 ? 2 : 1));
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

} // namespace kiln::onnx
