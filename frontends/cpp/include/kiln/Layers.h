//===- Layers.h - PyTorch's layers in the Kiln C++ DSL --------------------===//
//
// Each layer has torch::nn's name, options, parameter names, shapes,
// layouts and default initialization, so a state_dict moves between the
// two unchanged. A layer is declared as a member of its parent module with
// its name (the state_dict key's part) and its options:
//
//   Conv2d conv1{this, "conv1", Conv2dOptions(1, 32, 3).padding(1)};
//   Linear fc{this, "fc", 3136, 10};               // LinearOptions(3136, 10)
//   Tensor y = fc(flatten(relu(conv1(x)), 1));
//
// Options are PyTorch's: required arguments in the constructor, the rest
// set by name. Calling a layer checks the input's shape and names the
// layer's path and the caller's line when it does not fit.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DSL_LAYERS_H
#define KILN_DSL_LAYERS_H

#include "kiln/Module.h"
#include "kiln/Ops.h"

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

/// An option with a setter that returns the options (for chaining) and a
/// getter, as PyTorch's TORCH_ARG: `KILN_ARG(int64_t, stride) = 1;`.
#define KILN_ARG(T, name)                                                      \
public:                                                                        \
  auto &name(const T &value) {                                                 \
    name##_ = value;                                                           \
    return *this;                                                              \
  }                                                                            \
  const T &name() const { return name##_; }                                    \
                                                                               \
private:                                                                       \
  T name##_

namespace kiln {

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

struct LinearOptions {
  LinearOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  KILN_ARG(int64_t, in_features);
  KILN_ARG(int64_t, out_features);
  KILN_ARG(bool, bias) = true;
};

/// Square kernels, strides, padding and dilation.
struct Conv2dOptions {
  Conv2dOptions(int64_t in_channels, int64_t out_channels,
                int64_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels),
        kernel_size_(kernel_size) {}
  KILN_ARG(int64_t, in_channels);
  KILN_ARG(int64_t, out_channels);
  KILN_ARG(int64_t, kernel_size);
  KILN_ARG(int64_t, stride) = 1;
  KILN_ARG(int64_t, padding) = 0;
  KILN_ARG(int64_t, dilation) = 1;
  KILN_ARG(int64_t, groups) = 1;
  KILN_ARG(bool, bias) = true;
};

struct ConvTranspose2dOptions {
  ConvTranspose2dOptions(int64_t in_channels, int64_t out_channels,
                         int64_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels),
        kernel_size_(kernel_size) {}
  KILN_ARG(int64_t, in_channels);
  KILN_ARG(int64_t, out_channels);
  KILN_ARG(int64_t, kernel_size);
  KILN_ARG(int64_t, stride) = 1;
  KILN_ARG(int64_t, padding) = 0;
  KILN_ARG(int64_t, output_padding) = 0;
  KILN_ARG(int64_t, dilation) = 1;
  KILN_ARG(int64_t, groups) = 1;
  KILN_ARG(bool, bias) = true;
};

struct BatchNorm2dOptions {
  BatchNorm2dOptions(int64_t num_features) : num_features_(num_features) {}
  KILN_ARG(int64_t, num_features);
  KILN_ARG(double, eps) = 1e-5;
  KILN_ARG(double, momentum) = 0.1;
};

struct GroupNormOptions {
  GroupNormOptions(int64_t num_groups, int64_t num_channels)
      : num_groups_(num_groups), num_channels_(num_channels) {}
  KILN_ARG(int64_t, num_groups);
  KILN_ARG(int64_t, num_channels);
  KILN_ARG(double, eps) = 1e-5;
};

/// One normalized (last) dimension.
struct LayerNormOptions {
  LayerNormOptions(int64_t normalized_shape)
      : normalized_shape_(normalized_shape) {}
  KILN_ARG(int64_t, normalized_shape);
  KILN_ARG(double, eps) = 1e-5;
};

struct EmbeddingOptions {
  EmbeddingOptions(int64_t num_embeddings, int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  KILN_ARG(int64_t, num_embeddings);
  KILN_ARG(int64_t, embedding_dim);
};

struct DropoutOptions {
  DropoutOptions(double p = 0.5) : p_(p) {}
  KILN_ARG(double, p);
};

/// nn::RNN, nn::LSTM and nn::GRU's options (RNN's cell is tanh). As in
/// PyTorch, inputs are [T, B, features] unless batch_first.
struct RNNOptions {
  RNNOptions(int64_t input_size, int64_t hidden_size)
      : input_size_(input_size), hidden_size_(hidden_size) {}
  KILN_ARG(int64_t, input_size);
  KILN_ARG(int64_t, hidden_size);
  KILN_ARG(int64_t, num_layers) = 1;
  KILN_ARG(bool, bias) = true;
  KILN_ARG(bool, batch_first) = false;
  KILN_ARG(bool, bidirectional) = false;
};
using LSTMOptions = RNNOptions;
using GRUOptions = RNNOptions;

struct GRUCellOptions {
  GRUCellOptions(int64_t input_size, int64_t hidden_size)
      : input_size_(input_size), hidden_size_(hidden_size) {}
  KILN_ARG(int64_t, input_size);
  KILN_ARG(int64_t, hidden_size);
  KILN_ARG(bool, bias) = true;
};

struct LeakyReLUOptions {
  KILN_ARG(double, negative_slope) = 0.01;
};

struct SoftmaxOptions {
  SoftmaxOptions(int64_t dim) : dim_(dim) {}
  KILN_ARG(int64_t, dim);
};
using LogSoftmaxOptions = SoftmaxOptions;

/// nn::Flatten's defaults: everything but the batch dimension.
struct FlattenOptions {
  KILN_ARG(int64_t, start_dim) = 1;
  KILN_ARG(int64_t, end_dim) = -1;
};

/// nn::Unflatten: dimension `dim` becomes `sizes` (whose product it is).
struct UnflattenOptions {
  UnflattenOptions(int64_t dim, Shape sizes)
      : dim_(dim), sizes_(std::move(sizes)) {}
  KILN_ARG(int64_t, dim);
  KILN_ARG(Shape, sizes);
};

/// The stride defaults to the kernel size, as in PyTorch.
struct MaxPool2dOptions {
  MaxPool2dOptions(int64_t kernel_size)
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  KILN_ARG(int64_t, kernel_size);
  KILN_ARG(int64_t, stride);
  KILN_ARG(int64_t, padding) = 0;
};

struct AvgPool2dOptions {
  AvgPool2dOptions(int64_t kernel_size)
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  KILN_ARG(int64_t, kernel_size);
  KILN_ARG(int64_t, stride);
  KILN_ARG(int64_t, padding) = 0;
  KILN_ARG(bool, count_include_pad) = true;
};

struct AdaptiveAvgPool2dOptions {
  AdaptiveAvgPool2dOptions(int64_t size) : output_size_{size, size} {}
  AdaptiveAvgPool2dOptions(int64_t h, int64_t w) : output_size_{h, w} {}
  KILN_ARG(Shape, output_size);
};

//===----------------------------------------------------------------------===//
// Layers with parameters
//===----------------------------------------------------------------------===//

/// y = x W^T + b: `[..., in_features] -> [..., out_features]`; weight
/// [out, in] and bias [out], both U(-1/sqrt(in), 1/sqrt(in)).
class Linear : public Module {
public:
  Linear(Module *parent, std::string name, const LinearOptions &options,
         SourceLoc loc = SourceLoc::current());
  Linear(Module *parent, std::string name, int64_t in_features,
         int64_t out_features, SourceLoc loc = SourceLoc::current())
      : Linear(parent, std::move(name),
               LinearOptions(in_features, out_features), loc) {}
  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const;

  LinearOptions options;
  Param weight, bias; ///< bias invalid without one.
};

/// 2-D convolution: `[B, in, H, W] -> [B, out, H', W']` (conv2d's rule);
/// weight [out, in/groups, k, k] and bias [out], U(-1/sqrt(fan_in),
/// 1/sqrt(fan_in)) with fan_in = in/groups * k * k.
class Conv2d : public Module {
public:
  Conv2d(Module *parent, std::string name, const Conv2dOptions &options,
         SourceLoc loc = SourceLoc::current());
  Conv2d(Module *parent, std::string name, int64_t in_channels,
         int64_t out_channels, int64_t kernel_size,
         SourceLoc loc = SourceLoc::current())
      : Conv2d(parent, std::move(name),
               Conv2dOptions(in_channels, out_channels, kernel_size), loc) {}
  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const;

  Conv2dOptions options;
  Param weight, bias;
};

/// nn::ConvTranspose2d: `[B, in, H, W] -> [B, out, H', W']`
/// (conv_transpose2d's rule); weight [in, out/groups, k, k], bias [out],
/// both U(-1/sqrt(fan), 1/sqrt(fan)) with PyTorch's fan out/groups * k * k
/// (the weight's second dimension).
class ConvTranspose2d : public Module {
public:
  ConvTranspose2d(Module *parent, std::string name,
                  const ConvTranspose2dOptions &options,
                  SourceLoc loc = SourceLoc::current());
  ConvTranspose2d(Module *parent, std::string name, int64_t in_channels,
                  int64_t out_channels, int64_t kernel_size,
                  SourceLoc loc = SourceLoc::current())
      : ConvTranspose2d(parent, std::move(name),
                        ConvTranspose2dOptions(in_channels, out_channels,
                                               kernel_size),
                        loc) {}
  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const;

  ConvTranspose2dOptions options;
  Param weight, bias;
};

/// Batch normalization over the channels of `[B, C, H, W]` (same shape):
/// weight [C] (ones), bias [C] (zeros), and the buffers running_mean [C]
/// (zeros), running_var [C] (ones) and num_batches_tracked (int64 scalar).
/// In a training graph it normalizes with the batch statistics and updates
/// the buffers (the running variance unbiased); otherwise it uses the
/// running statistics.
class BatchNorm2d : public Module {
public:
  BatchNorm2d(Module *parent, std::string name,
              const BatchNorm2dOptions &options,
              SourceLoc loc = SourceLoc::current());
  BatchNorm2d(Module *parent, std::string name, int64_t num_features,
              SourceLoc loc = SourceLoc::current())
      : BatchNorm2d(parent, std::move(name), BatchNorm2dOptions(num_features),
                    loc) {}
  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const;

  BatchNorm2dOptions options;
  Param weight, bias, running_mean, running_var, num_batches_tracked;
};

/// nn::GroupNorm over `[B, C, ...]` (same shape): the channels split into
/// num_groups groups, each normalized over its channels and positions;
/// weight [C] (ones) and bias [C] (zeros) per channel.
class GroupNorm : public Module {
public:
  GroupNorm(Module *parent, std::string name, const GroupNormOptions &options,
            SourceLoc loc = SourceLoc::current());
  GroupNorm(Module *parent, std::string name, int64_t num_groups,
            int64_t num_channels, SourceLoc loc = SourceLoc::current())
      : GroupNorm(parent, std::move(name),
                  GroupNormOptions(num_groups, num_channels), loc) {}
  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const;

  GroupNormOptions options;
  Param weight, bias;
};

/// Layer normalization over the last dimension D of `[..., D]` (same
/// shape): weight [D] (ones), bias [D] (zeros).
class LayerNorm : public Module {
public:
  LayerNorm(Module *parent, std::string name, const LayerNormOptions &options,
            SourceLoc loc = SourceLoc::current());
  LayerNorm(Module *parent, std::string name, int64_t normalized_shape,
            SourceLoc loc = SourceLoc::current())
      : LayerNorm(parent, std::move(name), LayerNormOptions(normalized_shape),
                  loc) {}
  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const;

  LayerNormOptions options;
  Param weight, bias;
};

/// A lookup table: integer indices `[...]` -> `[..., embedding_dim]`;
/// weight [num_embeddings, embedding_dim], N(0, 1) as PyTorch's.
class Embedding : public Module {
public:
  Embedding(Module *parent, std::string name, const EmbeddingOptions &options,
            SourceLoc loc = SourceLoc::current());
  Embedding(Module *parent, std::string name, int64_t num_embeddings,
            int64_t embedding_dim, SourceLoc loc = SourceLoc::current())
      : Embedding(parent, std::move(name),
                  EmbeddingOptions(num_embeddings, embedding_dim), loc) {}
  Tensor operator()(const Tensor &indices,
                    SourceLoc loc = SourceLoc::current()) const;

  EmbeddingOptions options;
  Param weight;
};

/// nn::RNN (tanh), nn::LSTM and nn::GRU: input `[T, B, input_size]` (or
/// `[B, T, input_size]` with batch_first), output of the last layer `[T,
/// B, D*hidden_size]` (batch first likewise; D = 2 when bidirectional: the
/// forward direction's states, then the reverse's). Parameters as PyTorch
/// names them, per layer k and direction: weight_ih_l{k}[_reverse] [G*H,
/// in], weight_hh_l{k}[_reverse] [G*H, H], bias_ih_l{k}[_reverse],
/// bias_hh_l{k}[_reverse] [G*H], all U(-1/sqrt(H), 1/sqrt(H)); G is 1, 4
/// (i, f, g, o) or 3 (r, z, n). Each direction of each layer is one input
/// projection for all steps (a matmul) and one graph.recurrence. No dropout
/// between layers.
class Recurrent : public Module {
public:
  struct Output {
    Tensor output; ///< [T, B, D*H], or [B, T, D*H] batch first.
    Tensor hidden; ///< h_n [L*D, B, H], as PyTorch orders it.
    Tensor cell;   ///< c_n [L*D, B, H] (LSTM only).
  };
  Recurrent(Module *parent, std::string name, std::string typeName, Cell cell,
            const RNNOptions &options, SourceLoc loc = SourceLoc::current());
  /// `h0` (and for an LSTM `c0`) [L*D, B, H] may be invalid tensors: zeros.
  Output operator()(const Tensor &x, const Tensor &h0 = Tensor(),
                    const Tensor &c0 = Tensor(),
                    SourceLoc loc = SourceLoc::current()) const;

  Cell cell;
  RNNOptions options;
  /// Per layer and direction (index 2*layer + reverse, or layer):
  /// weight_ih, weight_hh, bias_ih, bias_hh.
  struct Weights {
    Param weightIh, weightHh, biasIh, biasHh;
  };
  std::vector<Weights> weights;
};

class RNN : public Recurrent {
public:
  RNN(Module *parent, std::string name, const RNNOptions &options,
      SourceLoc loc = SourceLoc::current())
      : Recurrent(parent, std::move(name), "RNN", Cell::Tanh, options, loc) {}
};
class LSTM : public Recurrent {
public:
  LSTM(Module *parent, std::string name, const LSTMOptions &options,
       SourceLoc loc = SourceLoc::current())
      : Recurrent(parent, std::move(name), "LSTM", Cell::Lstm, options, loc) {}
};
class GRU : public Recurrent {
public:
  GRU(Module *parent, std::string name, const GRUOptions &options,
      SourceLoc loc = SourceLoc::current())
      : Recurrent(parent, std::move(name), "GRU", Cell::Gru, options, loc) {}
};

/// nn::GRUCell: one step, h' [B, hidden_size] from x [B, input_size] and h
/// [B, hidden_size]; parameters weight_ih [3H, in], weight_hh [3H, H],
/// bias_ih, bias_hh [3H], U(-1/sqrt(H), 1/sqrt(H)). A one-step
/// graph.recurrence, so its gradient is the recurrence's.
class GRUCell : public Module {
public:
  GRUCell(Module *parent, std::string name, const GRUCellOptions &options,
          SourceLoc loc = SourceLoc::current());
  GRUCell(Module *parent, std::string name, int64_t input_size,
          int64_t hidden_size, SourceLoc loc = SourceLoc::current())
      : GRUCell(parent, std::move(name),
                GRUCellOptions(input_size, hidden_size), loc) {}
  Tensor operator()(const Tensor &x, const Tensor &h,
                    SourceLoc loc = SourceLoc::current()) const;

  GRUCellOptions options;
  Param weightIh, weightHh, biasIh, biasHh;
};

/// Multi-head self-attention with one input projection, as GPT-style
/// models write it (Kiln's; PyTorch's nn::MultiheadAttention names its
/// parameters differently): `qkv` Linear(dim, 3*dim) split into q, k and v
/// (in that order along the last dimension), `heads` heads of dim/heads,
/// scaled dot-product attention (causal if asked), heads concatenated,
/// `proj` Linear(dim, dim). Input and output [B, T, dim].
class SelfAttention : public Module {
public:
  SelfAttention(Module *parent, std::string name, int64_t dim, int64_t heads,
                bool causal,
                SourceLoc loc = SourceLoc::current());
  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const;

  /// The queries, keys and values of `x` [B, T, dim], each split into
  /// heads, [B, heads, T, dim/heads]: what a key/value cache keeps.
  struct Heads {
    Tensor q, k, v;
  };
  Heads project(const Tensor &x, SourceLoc loc = SourceLoc::current()) const;
  /// `proj` of the heads [B, heads, T, d] merged back to [B, T, dim].
  Tensor output(const Tensor &heads,
                SourceLoc loc = SourceLoc::current()) const;

  int64_t dim, heads;
  bool causal;
  Linear qkv, proj;
};

/// [B, T, heads*d] -> [B, heads, T, d], and back.
Tensor splitHeads(const Tensor &x, int64_t heads,
                  SourceLoc loc = SourceLoc::current());
Tensor mergeHeads(const Tensor &x, SourceLoc loc = SourceLoc::current());

//===----------------------------------------------------------------------===//
// Layers without parameters (they hold options; the state_dict has none)
//===----------------------------------------------------------------------===//

/// nn::Dropout: in a training graph each element is zeroed with
/// probability p and the others scaled by 1/(1 - p), the choice drawn from
/// counter-based random numbers (Graph::randomStream: the entry point gets
/// the inputs rng_seed and rng_offset); elsewhere (evaluation) the
/// identity. Same shape.
class Dropout : public Module {
public:
  Dropout(Module *parent, std::string name,
          const DropoutOptions &options = {},
          SourceLoc loc = SourceLoc::current());
  Dropout(Module *parent, std::string name, double p,
          SourceLoc loc = SourceLoc::current())
      : Dropout(parent, std::move(name), DropoutOptions(p), loc) {}
  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const;

  DropoutOptions options;
};

/// An elementwise function as a module (nn::ReLU, nn::Tanh, ...): same
/// shape.
class Activation : public Module {
public:
  using Function = std::function<Tensor(const Tensor &, SourceLoc)>;
  Activation(Module *parent, std::string name, std::string typeName,
             Function function, SourceLoc loc = SourceLoc::current());
  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const;

private:
  Function function_;
};

#define KILN_ACTIVATION(Name, function)                                        \
  class Name : public Activation {                                             \
  public:                                                                      \
    Name(Module *parent, std::string name,                                     \
         SourceLoc loc = SourceLoc::current())                                 \
        : Activation(                                                          \
              parent, std::move(name), #Name,                                  \
              [](const Tensor &x, SourceLoc l) { return function(x, l); },     \
              loc) {}                                                          \
  };
KILN_ACTIVATION(ReLU, relu)
KILN_ACTIVATION(GELU, gelu)
KILN_ACTIVATION(SiLU, silu)
KILN_ACTIVATION(Tanh, tanh)
KILN_ACTIVATION(Sigmoid, sigmoid)
#undef KILN_ACTIVATION

/// The input itself, as a placeholder in a Sequential.
class Identity : public Activation {
public:
  Identity(Module *parent, std::string name,
           SourceLoc loc = SourceLoc::current())
      : Activation(
            parent, std::move(name), "Identity",
            [](const Tensor &x, SourceLoc) { return x; }, loc) {}
};

class LeakyReLU : public Activation {
public:
  LeakyReLU(Module *parent, std::string name,
            const LeakyReLUOptions &options = {},
            SourceLoc loc = SourceLoc::current());
  LeakyReLUOptions options;
};

/// softmax (or log_softmax) along options.dim(); same shape.
class Softmax : public Activation {
public:
  Softmax(Module *parent, std::string name, const SoftmaxOptions &options,
          SourceLoc loc = SourceLoc::current());
  SoftmaxOptions options;
};
class LogSoftmax : public Activation {
public:
  LogSoftmax(Module *parent, std::string name,
             const LogSoftmaxOptions &options,
             SourceLoc loc = SourceLoc::current());
  LogSoftmaxOptions options;
};

/// flatten(x, start_dim, end_dim) with nn::Flatten's defaults (1, -1):
/// `[B, C, H, W] -> [B, C*H*W]`.
class Flatten : public Activation {
public:
  Flatten(Module *parent, std::string name, const FlattenOptions &options = {},
          SourceLoc loc = SourceLoc::current());
  FlattenOptions options;
};

/// `[B, 784] -> [B, 1, 28, 28]` with UnflattenOptions(1, {1, 28, 28}).
class Unflatten : public Activation {
public:
  Unflatten(Module *parent, std::string name, const UnflattenOptions &options,
            SourceLoc loc = SourceLoc::current());
  UnflattenOptions options;
};

/// max_pool2d / avg_pool2d / adaptive_avg_pool2d with the options' sizes:
/// `[B, C, H, W] -> [B, C, H', W']` by those ops' rules.
class MaxPool2d : public Activation {
public:
  MaxPool2d(Module *parent, std::string name, const MaxPool2dOptions &options,
            SourceLoc loc = SourceLoc::current());
  MaxPool2dOptions options;
};
class AvgPool2d : public Activation {
public:
  AvgPool2d(Module *parent, std::string name, const AvgPool2dOptions &options,
            SourceLoc loc = SourceLoc::current());
  AvgPool2dOptions options;
};
class AdaptiveAvgPool2d : public Activation {
public:
  AdaptiveAvgPool2d(Module *parent, std::string name,
                    const AdaptiveAvgPool2dOptions &options,
                    SourceLoc loc = SourceLoc::current());
  AdaptiveAvgPool2dOptions options;
};

//===----------------------------------------------------------------------===//
// Containers
//===----------------------------------------------------------------------===//

/// nn::Sequential: layers applied in order, each taking the previous one's
/// output (every layer must map one tensor to one tensor). Children are
/// named "0", "1", ... as in PyTorch, or as given to `add`:
///
///   Sequential features{this, "features"};
///   Model() : Module("Model") {
///     features.append<Conv2d>(Conv2dOptions(1, 32, 3).padding(1));  // 0
///     features.append<ReLU>();                                       // 1
///     features.append<MaxPool2d>(MaxPool2dOptions(2));               // 2
///   }
///   ... features(x) ...
class Sequential : public Module {
public:
  Sequential(Module *parent, std::string name,
             SourceLoc loc = SourceLoc::current())
      : Module(parent, std::move(name), "Sequential", loc) {}

  /// Constructs a T named by its position with `args` after the parent and
  /// name, and returns it.
  template <typename T, typename... Args> T &append(Args &&...args) {
    return add<T>(std::to_string(items_.size()), std::forward<Args>(args)...);
  }
  /// As `append`, with a name of one's own.
  template <typename T, typename... Args>
  T &add(std::string name, Args &&...args) {
    static_assert(std::is_base_of_v<Module, T>, "a layer is a Module");
    static_assert(
        std::is_invocable_r_v<Tensor, const T &, const Tensor &, SourceLoc>,
        "a Sequential's layers take one tensor and give one tensor");
    auto item = std::make_unique<T>(this, std::move(name),
                                    std::forward<Args>(args)...);
    T &ref = *item;
    const T *layer = item.get();
    items_.push_back({std::move(item), [layer](const Tensor &x, SourceLoc loc) {
                        return (*layer)(x, loc);
                      }});
    return ref;
  }

  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const;
  size_t size() const { return items_.size(); }
  Module &operator[](size_t i) { return *items_.at(i).module; }
  const Module &operator[](size_t i) const { return *items_.at(i).module; }

private:
  struct Item {
    std::unique_ptr<Module> module;
    std::function<Tensor(const Tensor &, SourceLoc)> forward;
  };
  std::vector<Item> items_;
};

/// nn::ModuleList: children named "0", "1", ..., so a model writes
///
///   ModuleList<Block> blocks{this, "blocks"};
///   for (int i = 0; i < 4; ++i) blocks.append(128, 4);  // blocks.i.attn...
///
/// `append` constructs a T (or a subclass U) with this list as its parent,
/// the next index as its name and the remaining arguments.
template <typename T> class ModuleList : public Module {
public:
  ModuleList(Module *parent, std::string name,
             SourceLoc loc = SourceLoc::current())
      : Module(parent, std::move(name), "ModuleList", loc) {}

  template <typename U = T, typename... Args> U &append(Args &&...args) {
    auto item = std::make_unique<U>(this, std::to_string(items_.size()),
                                    std::forward<Args>(args)...);
    U &ref = *item;
    items_.push_back(std::move(item));
    return ref;
  }

  size_t size() const { return items_.size(); }
  T &operator[](size_t i) { return *items_.at(i); }
  const T &operator[](size_t i) const { return *items_.at(i); }

  template <typename Item> class Iterator {
  public:
    using Base = typename std::vector<std::unique_ptr<T>>::const_iterator;
    explicit Iterator(Base it) : it_(it) {}
    Item &operator*() const { return **it_; }
    Iterator &operator++() {
      ++it_;
      return *this;
    }
    bool operator!=(const Iterator &other) const { return it_ != other.it_; }

  private:
    Base it_;
  };
  Iterator<const T> begin() const { return Iterator<const T>(items_.begin()); }
  Iterator<const T> end() const { return Iterator<const T>(items_.end()); }

private:
  std::vector<std::unique_ptr<T>> items_;
};

} // namespace kiln

#endif // KILN_DSL_LAYERS_H
