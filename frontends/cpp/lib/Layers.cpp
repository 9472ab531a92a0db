//===- Layers.cpp - PyTorch-compatible layers -----------------------------===//

#include "kiln/Layers.h"

#include "dialects/Graph/IR/GraphShapes.h"

#include <fmt/format.h>

#include <cmath>

namespace kiln {

Linear::Linear(Module *parent, std::string name, int64_t in, int64_t out,
               bool bias)
    : Module(parent, std::move(name), "Linear"), in(in), out(out),
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
               int64_t kernel, Options options)
    : Module(parent, std::move(name), "Conv2d"), in(in), out(out),
      kernel(kernel), options(options) {
  if (options.groups < 1 || in % options.groups || out % options.groups)
    throw GraphError(fmt::format(
        "module '{}' (Conv2d): in_channels={} and out_channels={} must be "
        "divisible by groups={}",
        path(), in, out, options.groups));
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

BatchNorm2d::BatchNorm2d(Module *parent, std::string name, int64_t channels,
                         double epsilon, double momentum)
    : Module(parent, std::move(name), "BatchNorm2d"), channels(channels),
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
    return batchNormInference(x, w, b, mean, var, epsilon, loc);
  BatchNormResult r =
      batchNormTraining(x, w, b, mean, var, epsilon, momentum, loc);
  update(runningMean, graph, r.runningMean, loc);
  update(runningVar, graph, r.runningVar, loc);
  Tensor tracked = use(numBatchesTracked, graph, loc);
  update(numBatchesTracked, graph,
         add(tracked, constant(graph, {}, {1}, DType::I64, loc), loc), loc);
  return r.output;
}

} // namespace kiln
