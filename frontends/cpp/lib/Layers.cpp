//===- Layers.cpp - PyTorch-compatible layers -----------------------------===//

#include "kiln/Layers.h"

#include "dialects/Graph/IR/GraphShapes.h"

#include <fmt/format.h>

#include <cmath>

namespace kiln {

namespace {

/// "file:line: error: module 'path' (Type): what", for a layer's options.
[[noreturn]] void refuse(const Module &m, SourceLoc loc,
                         const std::string &what) {
  throw GraphError(fmt::format("{}:{}: error: module '{}' ({}): {}", loc.file,
                               loc.line, m.path(), m.typeName(), what));
}

void requirePositive(const Module &m, SourceLoc loc,
                     std::initializer_list<std::pair<const char *, int64_t>>
                         values) {
  for (auto [name, value] : values)
    if (value < 1)
      refuse(m, loc, fmt::format("{}={} must be positive", name, value));
}

/// The checks both convolution layers make of their options.
template <typename Options>
void checkConvolution(const Module &m, SourceLoc loc, const Options &o,
                      int64_t outputPadding = 0) {
  requirePositive(m, loc,
                  {{"in_channels", o.in_channels()},
                   {"out_channels", o.out_channels()},
                   {"kernel_size", o.kernel_size()},
                   {"stride", o.stride()},
                   {"dilation", o.dilation()},
                   {"groups", o.groups()}});
  if (o.padding() < 0 || outputPadding < 0)
    refuse(m, loc,
           fmt::format("padding={} and output_padding={} must not be "
                       "negative",
                       o.padding(), outputPadding));
  if (o.in_channels() % o.groups() || o.out_channels() % o.groups())
    refuse(m, loc,
           fmt::format("in_channels={} and out_channels={} must be divisible "
                       "by groups={}",
                       o.in_channels(), o.out_channels(), o.groups()));
}

/// A layer's square options as the functional op's.
template <typename Options> ConvOptions functionalOptions(const Options &o) {
  ConvOptions conv;
  conv.stride = {o.stride(), o.stride()};
  conv.padding = {o.padding(), o.padding()};
  conv.dilation = {o.dilation(), o.dilation()};
  conv.groups = o.groups();
  return conv;
}

} // namespace

Linear::Linear(Module *parent, std::string name, const LinearOptions &options,
               SourceLoc loc)
    : Module(parent, std::move(name), "Linear", loc), options(options) {
  int64_t in = options.in_features(), out = options.out_features();
  requirePositive(*this, loc, {{"in_features", in}, {"out_features", out}});
  // PyTorch: kaiming_uniform(a=sqrt(5)) gives U(-1/sqrt(in), 1/sqrt(in)),
  // and the bias uses the same bound.
  double bound = 1.0 / std::sqrt(static_cast<double>(in));
  weight = register_parameter("weight", {out, in}, Init::uniform(bound), loc);
  if (options.bias())
    bias = register_parameter("bias", {out}, Init::uniform(bound), loc);
}

Tensor Linear::operator()(const Tensor &x, SourceLoc loc) const {
  Graph &graph = x.graph();
  Scope scope(*this, graph, loc);
  int64_t in = options.in_features(), out = options.out_features();
  if (x.rank() < 1 || x.shape().back() != in)
    graph.fail("Linear",
               fmt::format("input {} must end in in_features={} (weight {})",
                           shapes::str(x.shape()), in,
                           shapes::str({out, in})),
               loc);
  // Leading dimensions fold into the rows of one matmul.
  Tensor rows = x.rank() == 2 ? x : reshape(x, {-1, in}, loc);
  Tensor y = matmul(rows, use(weight, graph, loc), false, true, loc);
  if (options.bias())
    y = add(y, use(bias, graph, loc), loc);
  if (x.rank() == 2)
    return y;
  Shape shape = x.shape();
  shape.back() = out;
  return reshape(y, shape, loc);
}

Conv2d::Conv2d(Module *parent, std::string name, const Conv2dOptions &options,
               SourceLoc loc)
    : Module(parent, std::move(name), "Conv2d", loc), options(options) {
  const Conv2dOptions &o = options;
  checkConvolution(*this, loc, o);
  int64_t in = o.in_channels(), out = o.out_channels(), k = o.kernel_size();
  double fanIn = static_cast<double>(in / o.groups() * k * k);
  double bound = 1.0 / std::sqrt(fanIn);
  weight = register_parameter("weight", {out, in / o.groups(), k, k},
                              Init::uniform(bound), loc);
  if (o.bias())
    bias = register_parameter("bias", {out}, Init::uniform(bound), loc);
}

Tensor Conv2d::operator()(const Tensor &x, SourceLoc loc) const {
  Graph &graph = x.graph();
  Scope scope(*this, graph, loc);
  Tensor b = options.bias() ? use(bias, graph, loc) : Tensor();
  return conv2d(x, use(weight, graph, loc), b, functionalOptions(options),
                loc);
}

ConvTranspose2d::ConvTranspose2d(Module *parent, std::string name,
                                 const ConvTranspose2dOptions &options,
                                 SourceLoc loc)
    : Module(parent, std::move(name), "ConvTranspose2d", loc),
      options(options) {
  const ConvTranspose2dOptions &o = options;
  checkConvolution(*this, loc, o, o.output_padding());
  int64_t in = o.in_channels(), out = o.out_channels(), k = o.kernel_size();
  // PyTorch computes the fan from the weight's second dimension.
  double fan = static_cast<double>(out / o.groups() * k * k);
  double bound = 1.0 / std::sqrt(fan);
  weight = register_parameter("weight", {in, out / o.groups(), k, k},
                              Init::uniform(bound), loc);
  if (o.bias())
    bias = register_parameter("bias", {out}, Init::uniform(bound), loc);
}

Tensor ConvTranspose2d::operator()(const Tensor &x, SourceLoc loc) const {
  Graph &graph = x.graph();
  Scope scope(*this, graph, loc);
  ConvOptions conv = functionalOptions(options);
  conv.outputPadding = {options.output_padding(), options.output_padding()};
  Tensor b = options.bias() ? use(bias, graph, loc) : Tensor();
  return conv_transpose2d(x, use(weight, graph, loc), b, conv, loc);
}

BatchNorm2d::BatchNorm2d(Module *parent, std::string name,
                         const BatchNorm2dOptions &options, SourceLoc loc)
    : Module(parent, std::move(name), "BatchNorm2d", loc), options(options) {
  int64_t channels = options.num_features();
  requirePositive(*this, loc, {{"num_features", channels}});
  if (!(options.eps() > 0) || !(options.momentum() >= 0 && options.momentum() <= 1))
    refuse(*this, loc,
           fmt::format("eps={} must be positive and momentum={} in [0, 1]",
                       options.eps(), options.momentum()));
  weight = register_parameter("weight", {channels}, Init::ones(), loc);
  bias = register_parameter("bias", {channels}, Init::zeros(), loc);
  running_mean =
      register_buffer("running_mean", {channels}, Init::zeros(), {}, loc);
  running_var =
      register_buffer("running_var", {channels}, Init::ones(), {}, loc);
  num_batches_tracked = register_buffer("num_batches_tracked", {},
                                        Init::zeros(), DType::I64, loc);
}

Tensor BatchNorm2d::operator()(const Tensor &x, SourceLoc loc) const {
  Graph &graph = x.graph();
  Scope scope(*this, graph, loc);
  int64_t channels = options.num_features();
  if (x.rank() != 4 || x.shape()[1] != channels)
    graph.fail("BatchNorm2d",
               fmt::format("input {} must be [N, {}, H, W]",
                           shapes::str(x.shape()), channels),
               loc);
  Tensor w = use(weight, graph, loc), b = use(bias, graph, loc);
  Tensor mean = use(running_mean, graph, loc);
  Tensor var = use(running_var, graph, loc);
  if (!graph.training())
    return batch_norm(x, mean, var, w, b, options.eps(), loc);
  BatchNormResult r = batch_norm_training(x, mean, var, w, b,
                                          options.momentum(), options.eps(),
                                          loc);
  update(running_mean, graph, r.running_mean, loc);
  update(running_var, graph, r.running_var, loc);
  Tensor tracked = use(num_batches_tracked, graph, loc);
  update(num_batches_tracked, graph,
         add(tracked, constant(graph, {}, {1}, DType::I64, loc), loc), loc);
  return r.output;
}

GroupNorm::GroupNorm(Module *parent, std::string name,
                     const GroupNormOptions &options, SourceLoc loc)
    : Module(parent, std::move(name), "GroupNorm", loc), options(options) {
  int64_t groups = options.num_groups(), channels = options.num_channels();
  requirePositive(*this, loc,
                  {{"num_groups", groups}, {"num_channels", channels}});
  if (channels % groups)
    refuse(*this, loc,
           fmt::format("num_channels={} must be divisible by num_groups={}",
                       channels, groups));
  if (!(options.eps() > 0))
    refuse(*this, loc, fmt::format("eps={} must be positive", options.eps()));
  weight = register_parameter("weight", {channels}, Init::ones(), loc);
  bias = register_parameter("bias", {channels}, Init::zeros(), loc);
}

Tensor GroupNorm::operator()(const Tensor &x, SourceLoc loc) const {
  Graph &graph = x.graph();
  Scope scope(*this, graph, loc);
  int64_t channels = options.num_channels();
  if (x.rank() < 2 || x.shape()[1] != channels)
    graph.fail("GroupNorm",
               fmt::format("input {} must be [N, {}, ...]",
                           shapes::str(x.shape()), channels),
               loc);
  return group_norm(x, options.num_groups(), use(weight, graph, loc),
                    use(bias, graph, loc), options.eps(), loc);
}

LayerNorm::LayerNorm(Module *parent, std::string name,
                     const LayerNormOptions &options, SourceLoc loc)
    : Module(parent, std::move(name), "LayerNorm", loc), options(options) {
  int64_t dim = options.normalized_shape();
  requirePositive(*this, loc, {{"normalized_shape", dim}});
  if (!(options.eps() > 0))
    refuse(*this, loc, fmt::format("eps={} must be positive", options.eps()));
  weight = register_parameter("weight", {dim}, Init::ones(), loc);
  bias = register_parameter("bias", {dim}, Init::zeros(), loc);
}

Tensor LayerNorm::operator()(const Tensor &x, SourceLoc loc) const {
  Graph &graph = x.graph();
  Scope scope(*this, graph, loc);
  int64_t dim = options.normalized_shape();
  if (x.rank() < 1 || x.shape().back() != dim)
    graph.fail("LayerNorm",
               fmt::format("input {} must end in normalized_shape={}",
                           shapes::str(x.shape()), dim),
               loc);
  return layer_norm(x, use(weight, graph, loc), use(bias, graph, loc),
                    options.eps(), loc);
}

Embedding::Embedding(Module *parent, std::string name,
                     const EmbeddingOptions &options, SourceLoc loc)
    : Module(parent, std::move(name), "Embedding", loc), options(options) {
  int64_t num = options.num_embeddings(), dim = options.embedding_dim();
  requirePositive(*this, loc,
                  {{"num_embeddings", num}, {"embedding_dim", dim}});
  weight = register_parameter("weight", {num, dim}, Init::normal(1.0), loc);
}

Tensor Embedding::operator()(const Tensor &indices, SourceLoc loc) const {
  Graph &graph = indices.graph();
  Scope scope(*this, graph, loc);
  return embedding(use(weight, graph, loc), indices, loc);
}

Dropout::Dropout(Module *parent, std::string name,
                 const DropoutOptions &options, SourceLoc loc)
    : Module(parent, std::move(name), "Dropout", loc), options(options) {
  if (!(options.p() >= 0.0 && options.p() <= 1.0))
    refuse(*this, loc,
           fmt::format("p={} must be between 0 and 1", options.p()));
}

Tensor Dropout::operator()(const Tensor &x, SourceLoc loc) const {
  Graph &graph = x.graph();
  double p = options.p();
  if (!graph.training() || p == 0.0)
    return x;
  Scope scope(*this, graph, loc);
  if (p == 1.0)
    return x * scalar_like(x, 0.0, loc);
  int64_t count = 1;
  for (int64_t d : x.shape())
    count *= d;
  Graph::RandomStream stream = graph.randomStream(count, loc);
  Tensor u = rand(stream.seed, stream.offset, x.shape(), 0.0, 1.0,
                           x.dtype(), loc);
  Tensor keep = cast(ge(u, scalar_like(u, p, loc), loc), x.dtype(), loc);
  return x * keep * scalar_like(x, 1.0 / (1.0 - p), loc);
}

//===----------------------------------------------------------------------===//
// Recurrent layers
//===----------------------------------------------------------------------===//

namespace {

int64_t gateCount(Cell cell) {
  return shapes::cellGates(static_cast<shapes::Cell>(cell));
}

} // namespace

Recurrent::Recurrent(Module *parent, std::string name, std::string typeName,
                     Cell cell, const RNNOptions &options, SourceLoc loc)
    : Module(parent, std::move(name), std::move(typeName), loc), cell(cell),
      options(options) {
  int64_t inputSize = options.input_size(), hiddenSize = options.hidden_size();
  requirePositive(*this, loc,
                  {{"input_size", inputSize},
                   {"hidden_size", hiddenSize},
                   {"num_layers", options.num_layers()}});
  int64_t g = gateCount(cell) * hiddenSize;
  int64_t directions = options.bidirectional() ? 2 : 1;
  double bound = 1.0 / std::sqrt(static_cast<double>(hiddenSize));
  for (int64_t layer = 0; layer < options.num_layers(); ++layer)
    for (int64_t d = 0; d < directions; ++d) {
      std::string suffix =
          fmt::format("_l{}{}", layer, d == 1 ? "_reverse" : "");
      int64_t in = layer == 0 ? inputSize : directions * hiddenSize;
      Weights w;
      w.weightIh = register_parameter("weight_ih" + suffix, {g, in},
                                      Init::uniform(bound), loc);
      w.weightHh = register_parameter("weight_hh" + suffix, {g, hiddenSize},
                                      Init::uniform(bound), loc);
      if (options.bias()) {
        w.biasIh = register_parameter("bias_ih" + suffix, {g},
                                      Init::uniform(bound), loc);
        w.biasHh = register_parameter("bias_hh" + suffix, {g},
                                      Init::uniform(bound), loc);
      }
      weights.push_back(w);
    }
}

Recurrent::Output Recurrent::operator()(const Tensor &x, const Tensor &h0,
                                        const Tensor &c0,
                                        SourceLoc loc) const {
  Graph &graph = x.graph();
  Scope scope(*this, graph, loc);
  int64_t inputSize = options.input_size();
  if (x.rank() != 3 || x.shape()[2] != inputSize)
    graph.fail(typeName(),
               fmt::format("input {} must be {} with input_size={}",
                           shapes::str(x.shape()),
                           options.batch_first() ? "[B, T, input_size]"
                                                 : "[T, B, input_size] (or "
                                                   "[B, T, input_size] with "
                                                   "batch_first)",
                           inputSize),
               loc);
  // The loop runs batch first; time-major input is transposed around it.
  Tensor batchFirst =
      options.batch_first() ? x : permute(x, {1, 0, 2}, loc);
  int64_t b = batchFirst.shape()[0], t = batchFirst.shape()[1];
  int64_t h = options.hidden_size();
  int64_t directions = options.bidirectional() ? 2 : 1;
  int64_t states = options.num_layers() * directions;
  bool lstm = cell == Cell::Lstm;
  Shape stateShape{states, b, h};
  if (h0.valid() && h0.shape() != stateShape)
    graph.fail(typeName(),
               fmt::format("h0 {} must be {}", shapes::str(h0.shape()),
                           shapes::str(stateShape)),
               loc);
  if (c0.valid() && (!lstm || c0.shape() != stateShape))
    graph.fail(typeName(),
               lstm ? fmt::format("c0 {} must be {}", shapes::str(c0.shape()),
                                  shapes::str(stateShape))
                    : std::string("only an LSTM takes c0"),
               loc);
  // The initial state of layer-direction i: [B, S*H], or invalid (zeros).
  auto initial = [&](int64_t i) -> Tensor {
    if (!h0.valid() && !c0.valid())
      return Tensor();
    auto part = [&](const Tensor &s) {
      if (!s.valid())
        return constant(graph, {b, h}, {0.0}, x.dtype(), loc);
      return reshape(strided_slice(s, {i, 0, 0}, {i + 1, b, h}, {}, loc), {b, h},
                     loc);
    };
    return lstm ? cat({part(h0), part(c0)}, 1, loc) : part(h0);
  };
  int64_t g = gateCount(cell) * h;
  Tensor input = batchFirst;
  std::vector<Tensor> finalH, finalC;
  for (int64_t layer = 0; layer < options.num_layers(); ++layer) {
    std::vector<Tensor> outputs;
    for (int64_t d = 0; d < directions; ++d) {
      int64_t i = layer * directions + d;
      const Weights &w = weights[i];
      int64_t in = input.shape()[2];
      Tensor rows = reshape(input, {b * t, in}, loc);
      Tensor gates = matmul(rows, use(w.weightIh, graph, loc), false, true, loc);
      if (options.bias())
        gates = add(gates, use(w.biasIh, graph, loc), loc);
      gates = reshape(gates, {b, t, g}, loc);
      // b_hh is an operand of every recurrence: zeros without biases.
      Tensor biasHh = options.bias()
                          ? use(w.biasHh, graph, loc)
                          : constant(graph, {g}, {0.0}, x.dtype(), loc);
      RecurrenceResult r = recurrence(cell, gates, use(w.weightHh, graph, loc),
                                      biasHh, initial(i), d == 1, loc);
      outputs.push_back(r.hidden);
      // The final state: after the last step, at position T-1 forwards and
      // 0 in reverse.
      int64_t last = d == 1 ? 0 : t - 1;
      finalH.push_back(
          reshape(strided_slice(r.hidden, {0, last, 0}, {b, last + 1, h}, {}, loc),
                  {1, b, h}, loc));
      if (lstm)
        finalC.push_back(reshape(strided_slice(r.saved, {0, last, 4 * h},
                                       {b, last + 1, 5 * h}, {}, loc),
                                 {1, b, h}, loc));
    }
    input = directions == 1 ? outputs[0] : cat(outputs, 2, loc);
  }
  Output out;
  out.output = options.batch_first() ? input : permute(input, {1, 0, 2}, loc);
  out.hidden = finalH.size() == 1 ? finalH[0] : cat(finalH, 0, loc);
  if (lstm)
    out.cell = finalC.size() == 1 ? finalC[0] : cat(finalC, 0, loc);
  return out;
}

GRUCell::GRUCell(Module *parent, std::string name,
                 const GRUCellOptions &options, SourceLoc loc)
    : Module(parent, std::move(name), "GRUCell", loc), options(options) {
  int64_t inputSize = options.input_size(), hiddenSize = options.hidden_size();
  requirePositive(*this, loc,
                  {{"input_size", inputSize}, {"hidden_size", hiddenSize}});
  double bound = 1.0 / std::sqrt(static_cast<double>(hiddenSize));
  int64_t g = 3 * hiddenSize;
  weightIh = register_parameter("weight_ih", {g, inputSize},
                                Init::uniform(bound), loc);
  weightHh = register_parameter("weight_hh", {g, hiddenSize},
                                Init::uniform(bound), loc);
  if (options.bias()) {
    biasIh = register_parameter("bias_ih", {g}, Init::uniform(bound), loc);
    biasHh = register_parameter("bias_hh", {g}, Init::uniform(bound), loc);
  }
}

Tensor GRUCell::operator()(const Tensor &x, const Tensor &h,
                           SourceLoc loc) const {
  Graph &graph = x.graph();
  Scope scope(*this, graph, loc);
  int64_t inputSize = options.input_size(), hiddenSize = options.hidden_size();
  bool hasBias = options.bias();
  if (x.rank() != 2 || x.shape()[1] != inputSize)
    graph.fail("GRUCell",
               fmt::format("input {} must be [B, input_size={}]",
                           shapes::str(x.shape()), inputSize),
               loc);
  int64_t b = x.shape()[0], g = 3 * hiddenSize;
  if (h.shape() != Shape{b, hiddenSize})
    graph.fail("GRUCell",
               fmt::format("hidden {} must be [{}, hidden_size={}]",
                           shapes::str(h.shape()), b, hiddenSize),
               loc);
  Tensor gates = matmul(x, use(weightIh, graph, loc), false, true, loc);
  if (hasBias)
    gates = add(gates, use(biasIh, graph, loc), loc);
  Tensor biasHhT = hasBias ? use(biasHh, graph, loc)
                           : constant(graph, {g}, {0.0}, x.dtype(), loc);
  RecurrenceResult r =
      recurrence(Cell::Gru, reshape(gates, {b, 1, g}, loc),
                 use(weightHh, graph, loc), biasHhT, h, false, loc);
  return reshape(r.hidden, {b, hiddenSize}, loc);
}

Tensor splitHeads(const Tensor &x, int64_t heads, SourceLoc loc) {
  if (x.rank() != 3 || heads < 1 || x.shape()[2] % heads)
    x.graph().fail("splitHeads",
                   fmt::format("input {} must be [B, T, heads*d] with "
                               "heads={}",
                               shapes::str(x.shape()), heads),
                   loc);
  const Shape &s = x.shape();
  return permute(reshape(x, {s[0], s[1], heads, s[2] / heads}, loc),
                   {0, 2, 1, 3}, loc);
}

Tensor mergeHeads(const Tensor &x, SourceLoc loc) {
  if (x.rank() != 4)
    x.graph().fail("mergeHeads",
                   fmt::format("input {} must be [B, heads, T, d]",
                               shapes::str(x.shape())),
                   loc);
  const Shape &s = x.shape();
  return reshape(permute(x, {0, 2, 1, 3}, loc), {s[0], s[2], s[1] * s[3]},
                 loc);
}

SelfAttention::SelfAttention(Module *parent, std::string name, int64_t dim,
                             int64_t heads, bool causal, SourceLoc loc)
    : Module(parent, std::move(name), "SelfAttention", loc), dim(dim),
      heads(heads), causal(causal), qkv(this, "qkv", dim, 3 * dim),
      proj(this, "proj", dim, dim) {
  if (heads < 1 || dim % heads)
    throw GraphError(fmt::format("{}:{}: error: module '{}' (SelfAttention): dim={} must "
                                 "be divisible by heads={}",
                                 loc.file, loc.line, path(), dim, heads));
}

SelfAttention::Heads SelfAttention::project(const Tensor &x,
                                            SourceLoc loc) const {
  Graph &graph = x.graph();
  Scope scope(*this, graph, loc);
  if (x.rank() != 3 || x.shape()[2] != dim)
    graph.fail("SelfAttention",
               fmt::format("input {} must be [B, T, {}]",
                           shapes::str(x.shape()), dim),
               loc);
  int64_t b = x.shape()[0], t = x.shape()[1];
  Tensor packed = qkv(x, loc);
  auto part = [&](int64_t i) {
    return splitHeads(strided_slice(packed, {0, 0, i * dim}, {b, t, (i + 1) * dim},
                            {}, loc),
                      heads, loc);
  };
  return {part(0), part(1), part(2)};
}

Tensor SelfAttention::output(const Tensor &h, SourceLoc loc) const {
  Scope scope(*this, h.graph(), loc);
  return proj(mergeHeads(h, loc), loc);
}

Tensor SelfAttention::operator()(const Tensor &x, SourceLoc loc) const {
  Scope scope(*this, x.graph(), loc);
  Heads h = project(x, loc);
  AttentionOptions options;
  options.causal = causal;
  return output(scaled_dot_product_attention(h.q, h.k, h.v, Tensor(), options, loc), loc);
}

} // namespace kiln
