//===- Modules.cpp - Layers without parameters, and Sequential ------------===//

#include "kiln/Layers.h"

#include <fmt/format.h>

namespace kiln {

Activation::Activation(Module *parent, std::string name, std::string typeName,
                       Function function, SourceLoc loc)
    : Module(parent, std::move(name), std::move(typeName), loc),
      function_(std::move(function)) {}

Tensor Activation::operator()(const Tensor &x, SourceLoc loc) const {
  Scope scope(*this, x.graph(), loc);
  return function_(x, loc);
}

LeakyReLU::LeakyReLU(Module *parent, std::string name,
                     const LeakyReLUOptions &options, SourceLoc loc)
    : Activation(
          parent, std::move(name), "LeakyReLU",
          [slope = options.negative_slope()](const Tensor &x, SourceLoc l) {
            return leaky_relu(x, slope, l);
          },
          loc),
      options(options) {}

Softmax::Softmax(Module *parent, std::string name,
                 const SoftmaxOptions &options, SourceLoc loc)
    : Activation(
          parent, std::move(name), "Softmax",
          [dim = options.dim()](const Tensor &x, SourceLoc l) {
            return softmax(x, dim, l);
          },
          loc),
      options(options) {}

LogSoftmax::LogSoftmax(Module *parent, std::string name,
                       const LogSoftmaxOptions &options, SourceLoc loc)
    : Activation(
          parent, std::move(name), "LogSoftmax",
          [dim = options.dim()](const Tensor &x, SourceLoc l) {
            return log_softmax(x, dim, l);
          },
          loc),
      options(options) {}

Flatten::Flatten(Module *parent, std::string name,
                 const FlattenOptions &options, SourceLoc loc)
    : Activation(
          parent, std::move(name), "Flatten",
          [o = options](const Tensor &x, SourceLoc l) {
            return flatten(x, o.start_dim(), o.end_dim(), l);
          },
          loc),
      options(options) {}

Unflatten::Unflatten(Module *parent, std::string name,
                     const UnflattenOptions &options, SourceLoc loc)
    : Activation(
          parent, std::move(name), "Unflatten",
          [o = options](const Tensor &x, SourceLoc l) {
            int64_t dim = o.dim();
            if (dim < 0)
              dim += x.rank();
            if (dim < 0 || dim >= x.rank())
              x.graph().fail("Unflatten",
                             fmt::format("dimension {} is out of range for "
                                         "rank {}",
                                         o.dim(), x.rank()),
                             l);
            Shape shape(x.shape().begin(), x.shape().begin() + dim);
            shape.insert(shape.end(), o.sizes().begin(), o.sizes().end());
            shape.insert(shape.end(), x.shape().begin() + dim + 1,
                         x.shape().end());
            return reshape(x, shape, l);
          },
          loc),
      options(options) {}

MaxPool2d::MaxPool2d(Module *parent, std::string name,
                     const MaxPool2dOptions &options, SourceLoc loc)
    : Activation(
          parent, std::move(name), "MaxPool2d",
          [o = options](const Tensor &x, SourceLoc l) {
            return max_pool2d(x, {o.kernel_size(), o.kernel_size()},
                              {o.stride(), o.stride()},
                              {o.padding(), o.padding()}, l);
          },
          loc),
      options(options) {}

AvgPool2d::AvgPool2d(Module *parent, std::string name,
                     const AvgPool2dOptions &options, SourceLoc loc)
    : Activation(
          parent, std::move(name), "AvgPool2d",
          [o = options](const Tensor &x, SourceLoc l) {
            return avg_pool2d(x, {o.kernel_size(), o.kernel_size()},
                              {o.stride(), o.stride()},
                              {o.padding(), o.padding()},
                              o.count_include_pad(), l);
          },
          loc),
      options(options) {}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(Module *parent, std::string name,
                                     const AdaptiveAvgPool2dOptions &options,
                                     SourceLoc loc)
    : Activation(
          parent, std::move(name), "AdaptiveAvgPool2d",
          [size = options.output_size()](const Tensor &x, SourceLoc l) {
            return adaptive_avg_pool2d(x, size, l);
          },
          loc),
      options(options) {}

Tensor Sequential::operator()(const Tensor &x, SourceLoc loc) const {
  Scope scope(*this, x.graph(), loc);
  Tensor h = x;
  for (const Item &item : items_)
    h = item.forward(h, loc);
  return h;
}

} // namespace kiln
