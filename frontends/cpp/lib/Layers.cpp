//===- Layers.cpp - PyTorch-compatible layers -----------------------------===//

#include "kiln/Layers.h"

#include "dialects/Graph/IR/GraphShapes.h"

#include <fmt/format.h>

#include <cmath>

namespace kiln {

Linear::Linear(Module *parent, std::string name, int64_t in, int64_t out,
               bool bias, SourceLoc loc)
    : Module(parent, std::move(name), "Linear", loc), in(in), out(out),
      hasBias(bias) {
  // PyTorch: kaiming_uniform(a=sqrt(5)) gives U(-1/sqrt(in), 1/sqrt(in)),
  // and the bias uses the same bound.
  double bound = 1.0 / std::sqrt(static_cast<double>(in));
  weight = addParameter("weight", {out, in}, Init::uniform(bound));
  if (hasBias)
    this->bias = addParameter("bias", {out}, Init::uniform(bound));
}

Tensor Linear::operator()(const Tensor &x, SourceLoc loc) const {
  Graph &graph = x.graph();
  Scope scope(*this, graph, loc);
  if (x.rank() < 1 || x.shape().back() != in)
    graph.fail("Linear",
               fmt::format("input {} must end in in_features={} (weight {})",
                           shapes::str(x.shape()), in,
                           shapes::str({out, in})),
               loc);
  // Leading dimensions fold into the rows of one matmul.
  Tensor rows = x.rank() == 2 ? x : reshape(x, {-1, in}, loc);
  Tensor y = matmul(rows, use(weight, graph, loc), false, true, loc);
  if (hasBias)
    y = add(y, use(bias, graph, loc), loc);
  if (x.rank() == 2)
    return y;
  Shape shape = x.shape();
  shape.back() = out;
  return reshape(y, shape, loc);
}

Conv2d::Conv2d(Module *parent, std::string name, int64_t in, int64_t out,
               int64_t kernel, Options options, SourceLoc loc)
    : Module(parent, std::move(name), "Conv2d", loc), in(in), out(out),
      kernel(kernel), options(options) {
  if (options.groups < 1 || in % options.groups || out % options.groups)
    throw GraphError(fmt::format(
        "{}:{}: error: module '{}' (Conv2d): in_channels={} and out_channels={} must be "
        "divisible by groups={}",
        loc.file, loc.line, path(), in, out, options.groups));
  double fanIn = static_cast<double>(in / options.groups * kernel * kernel);
  double bound = 1.0 / std::sqrt(fanIn);
  weight = addParameter("weight", {out, in / options.groups, kernel, kernel},
                        Init::uniform(bound));
  if (options.bias)
    bias = addParameter("bias", {out}, Init::uniform(bound));
}

Tensor Conv2d::operator()(const Tensor &x, SourceLoc loc) const {
  Graph &graph = x.graph();
  Scope scope(*this, graph, loc);
  ConvOptions conv;
  conv.stride = {options.stride, options.stride};
  conv.padding = {options.padding, options.padding};
  conv.dilation = {options.dilation, options.dilation};
  conv.groups = options.groups;
  Tensor b = options.bias ? use(bias, graph, loc) : Tensor();
  return conv2d(x, use(weight, graph, loc), b, conv, loc);
}

ConvTranspose2d::ConvTranspose2d(Module *parent, std::string name, int64_t in,
                                 int64_t out, int64_t kernel, Options options, SourceLoc loc)
    : Module(parent, std::move(name), "ConvTranspose2d", loc), in(in), out(out),
      kernel(kernel), options(options) {
  if (options.groups < 1 || in % options.groups || out % options.groups)
    throw GraphError(fmt::format(
        "{}:{}: error: module '{}' (ConvTranspose2d): in_channels={} and out_channels={} "
        "must be divisible by groups={}",
        loc.file, loc.line, path(), in, out, options.groups));
  // PyTorch computes the fan from the weight's second dimension.
  double fan = static_cast<double>(out / options.groups * kernel * kernel);
  double bound = 1.0 / std::sqrt(fan);
  weight = addParameter("weight", {in, out / options.groups, kernel, kernel},
                        Init::uniform(bound));
  if (options.bias)
    bias = addParameter("bias", {out}, Init::uniform(bound));
}

Tensor ConvTranspose2d::operator()(const Tensor &x, SourceLoc loc) const {
  Graph &graph = x.graph();
  Scope scope(*this, graph, loc);
  ConvOptions conv;
  conv.stride = {options.stride, options.stride};
  conv.padding = {options.padding, options.padding};
  conv.dilation = {options.dilation, options.dilation};
  conv.groups = options.groups;
  conv.outputPadding = {options.outputPadding, options.outputPadding};
  Tensor b = options.bias ? use(bias, graph, loc) : Tensor();
  return conv_transpose2d(x, use(weight, graph, loc), b, conv, loc);
}

BatchNorm2d::BatchNorm2d(Module *parent, std::string name, int64_t channels,
                         double epsilon, double momentum, SourceLoc loc)
    : Module(parent, std::move(name), "BatchNorm2d", loc), channels(channels),
      epsilon(epsilon), momentum(momentum) {
  weight = addParameter("weight", {channels}, Init::ones());
  bias = addParameter("bias", {channels}, Init::zeros());
  runningMean = addBuffer("running_mean", {channels}, Init::zeros(), dtype());
  runningVar = addBuffer("running_var", {channels}, Init::ones(), dtype());
  numBatchesTracked =
      addBuffer("num_batches_tracked", {}, Init::zeros(), DType::I64);
}

Tensor BatchNorm2d::operator()(const Tensor &x, SourceLoc loc) const {
  Graph &graph = x.graph();
  Scope scope(*this, graph, loc);
  if (x.rank() != 4 || x.shape()[1] != channels)
    graph.fail("BatchNorm2d",
               fmt::format("input {} must be [N, {}, H, W]",
                           shapes::str(x.shape()), channels),
               loc);
  Tensor w = use(weight, graph, loc), b = use(bias, graph, loc);
  Tensor mean = use(runningMean, graph, loc), var = use(runningVar, graph, loc);
  if (!graph.training())
    return batch_norm(x, mean, var, w, b, epsilon, loc);
  BatchNormResult r =
      batch_norm_training(x, mean, var, w, b, momentum, epsilon, loc);
  update(runningMean, graph, r.running_mean, loc);
  update(runningVar, graph, r.running_var, loc);
  Tensor tracked = use(numBatchesTracked, graph, loc);
  update(numBatchesTracked, graph,
         add(tracked, constant(graph, {}, {1}, DType::I64, loc), loc), loc);
  return r.output;
}

GroupNorm::GroupNorm(Module *parent, std::string name, int64_t groups,
                     int64_t channels, double epsilon, SourceLoc loc)
    : Module(parent, std::move(name), "GroupNorm", loc), groups(groups),
      channels(channels), epsilon(epsilon) {
  if (groups < 1 || channels % groups)
    throw GraphError(fmt::format("{}:{}: error: module '{}' (GroupNorm): num_channels={} "
                                 "must be divisible by num_groups={}",
                                 loc.file, loc.line, path(), channels, groups));
  weight = addParameter("weight", {channels}, Init::ones());
  bias = addParameter("bias", {channels}, Init::zeros());
}

Tensor GroupNorm::operator()(const Tensor &x, SourceLoc loc) const {
  Graph &graph = x.graph();
  Scope scope(*this, graph, loc);
  if (x.rank() < 2 || x.shape()[1] != channels)
    graph.fail("GroupNorm",
               fmt::format("input {} must be [N, {}, ...]",
                           shapes::str(x.shape()), channels),
               loc);
  return group_norm(x, groups, use(weight, graph, loc), use(bias, graph, loc),
                    epsilon, loc);
}

LayerNorm::LayerNorm(Module *parent, std::string name, int64_t dim,
                     double epsilon, SourceLoc loc)
    : Module(parent, std::move(name), "LayerNorm", loc), dim(dim),
      epsilon(epsilon) {
  weight = addParameter("weight", {dim}, Init::ones());
  bias = addParameter("bias", {dim}, Init::zeros());
}

Tensor LayerNorm::operator()(const Tensor &x, SourceLoc loc) const {
  Graph &graph = x.graph();
  Scope scope(*this, graph, loc);
  if (x.rank() < 1 || x.shape().back() != dim)
    graph.fail("LayerNorm",
               fmt::format("input {} must end in normalized_shape={}",
                           shapes::str(x.shape()), dim),
               loc);
  return layer_norm(x, use(weight, graph, loc), use(bias, graph, loc), epsilon,
                   loc);
}

Embedding::Embedding(Module *parent, std::string name, int64_t num,
                     int64_t dim, SourceLoc loc)
    : Module(parent, std::move(name), "Embedding", loc), num(num), dim(dim) {
  weight = addParameter("weight", {num, dim}, Init::normal(1.0));
}

Tensor Embedding::operator()(const Tensor &indices, SourceLoc loc) const {
  Graph &graph = indices.graph();
  Scope scope(*this, graph, loc);
  return embedding(use(weight, graph, loc), indices, loc);
}

Dropout::Dropout(Module *parent, std::string name, double p, SourceLoc loc)
    : Module(parent, std::move(name), "Dropout", loc), p(p) {
  if (!(p >= 0.0 && p <= 1.0))
    throw GraphError(fmt::format("{}:{}: error: module '{}' (Dropout): p={} must be "
                                 "between 0 and 1",
                                 loc.file, loc.line, path(), p));
}

Tensor Dropout::operator()(const Tensor &x, SourceLoc loc) const {
  Graph &graph = x.graph();
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
  Tensor keep = cast(compare(Compare::Ge, u, scalar_like(u, p, loc), loc),
                     x.dtype(), loc);
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
                     Cell cell, int64_t inputSize, int64_t hiddenSize,
                     Options options, SourceLoc loc)
    : Module(parent, std::move(name), std::move(typeName), loc), cell(cell),
      inputSize(inputSize), hiddenSize(hiddenSize), options(options) {
  if (inputSize < 1 || hiddenSize < 1 || options.numLayers < 1)
    throw GraphError(fmt::format(
        "{}:{}: error: module '{}' ({}): input_size={}, hidden_size={} and num_layers={} "
        "must be positive",
        loc.file, loc.line, path(), this->typeName(), inputSize, hiddenSize, options.numLayers));
  int64_t g = gateCount(cell) * hiddenSize;
  int64_t directions = options.bidirectional ? 2 : 1;
  double bound = 1.0 / std::sqrt(static_cast<double>(hiddenSize));
  for (int64_t layer = 0; layer < options.numLayers; ++layer)
    for (int64_t d = 0; d < directions; ++d) {
      std::string suffix =
          fmt::format("_l{}{}", layer, d == 1 ? "_reverse" : "");
      int64_t in = layer == 0 ? inputSize : directions * hiddenSize;
      Weights w;
      w.weightIh =
          addParameter("weight_ih" + suffix, {g, in}, Init::uniform(bound));
      w.weightHh = addParameter("weight_hh" + suffix, {g, hiddenSize},
                                Init::uniform(bound));
      if (options.bias) {
        w.biasIh = addParameter("bias_ih" + suffix, {g}, Init::uniform(bound));
        w.biasHh = addParameter("bias_hh" + suffix, {g}, Init::uniform(bound));
      }
      weights.push_back(w);
    }
}

Recurrent::Output Recurrent::operator()(const Tensor &x, const Tensor &h0,
                                        const Tensor &c0,
                                        SourceLoc loc) const {
  Graph &graph = x.graph();
  Scope scope(*this, graph, loc);
  if (x.rank() != 3 || x.shape()[2] != inputSize)
    graph.fail(typeName(),
               fmt::format("input {} must be [B, T, input_size={}] "
                           "(batch first)",
                           shapes::str(x.shape()), inputSize),
               loc);
  int64_t b = x.shape()[0], t = x.shape()[1], h = hiddenSize;
  int64_t directions = options.bidirectional ? 2 : 1;
  int64_t states = options.numLayers * directions;
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
  Tensor input = x;
  std::vector<Tensor> finalH, finalC;
  for (int64_t layer = 0; layer < options.numLayers; ++layer) {
    std::vector<Tensor> outputs;
    for (int64_t d = 0; d < directions; ++d) {
      int64_t i = layer * directions + d;
      const Weights &w = weights[i];
      int64_t in = input.shape()[2];
      Tensor rows = reshape(input, {b * t, in}, loc);
      Tensor gates = matmul(rows, use(w.weightIh, graph, loc), false, true, loc);
      if (options.bias)
        gates = add(gates, use(w.biasIh, graph, loc), loc);
      gates = reshape(gates, {b, t, g}, loc);
      // b_hh is an operand of every recurrence: zeros without biases.
      Tensor biasHh = options.bias
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
  out.output = input;
  out.hidden = finalH.size() == 1 ? finalH[0] : cat(finalH, 0, loc);
  if (lstm)
    out.cell = finalC.size() == 1 ? finalC[0] : cat(finalC, 0, loc);
  return out;
}

GRUCell::GRUCell(Module *parent, std::string name, int64_t inputSize,
                 int64_t hiddenSize, bool bias, SourceLoc loc)
    : Module(parent, std::move(name), "GRUCell", loc), inputSize(inputSize),
      hiddenSize(hiddenSize), hasBias(bias) {
  if (inputSize < 1 || hiddenSize < 1)
    throw GraphError(fmt::format("{}:{}: error: module '{}' (GRUCell): input_size={} and "
                                 "hidden_size={} must be positive",
                                 loc.file, loc.line, path(), inputSize, hiddenSize));
  double bound = 1.0 / std::sqrt(static_cast<double>(hiddenSize));
  int64_t g = 3 * hiddenSize;
  weightIh = addParameter("weight_ih", {g, inputSize}, Init::uniform(bound));
  weightHh = addParameter("weight_hh", {g, hiddenSize}, Init::uniform(bound));
  if (bias) {
    biasIh = addParameter("bias_ih", {g}, Init::uniform(bound));
    biasHh = addParameter("bias_hh", {g}, Init::uniform(bound));
  }
}

Tensor GRUCell::operator()(const Tensor &x, const Tensor &h,
                           SourceLoc loc) const {
  Graph &graph = x.graph();
  Scope scope(*this, graph, loc);
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
