//===- Layers.h - PyTorch-compatible layers of the Kiln C++ DSL -----------===//
//
// Each layer has PyTorch's parameter names, shapes, layouts and default
// initialization, so a state_dict moves between the two unchanged.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DSL_LAYERS_H
#define KILN_DSL_LAYERS_H

#include "kiln/Module.h"
#include "kiln/Ops.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace kiln {

/// y = x W^T + b; weight [out, in], bias [out]. Inputs of any rank >= 1
/// whose last dimension is `in`.
class Linear : public Module {
public:
  Linear(Module *parent, std::string name, int64_t in, int64_t out,
         bool bias = true,
         SourceLoc loc = SourceLoc::current());
  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const;

  int64_t in, out;
  Param weight, bias;
  bool hasBias;
};

/// 2-D convolution, NCHW; weight [out, in/groups, kh, kw], bias [out].
class Conv2d : public Module {
public:
  struct Options {
    int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
    bool bias = true;
  };
  Conv2d(Module *parent, std::string name, int64_t in, int64_t out,
         int64_t kernel, Options options,
         SourceLoc loc = SourceLoc::current());
  Conv2d(Module *parent, std::string name, int64_t in, int64_t out,
         int64_t kernel,
         SourceLoc loc = SourceLoc::current())
      : Conv2d(parent, std::move(name), in, out, kernel, Options{}, loc) {}
  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const;

  int64_t in, out, kernel;
  Options options;
  Param weight, bias;
};

/// PyTorch's nn.ConvTranspose2d (square kernel): weight [in, out/groups,
/// k, k], bias [out], both U(-1/sqrt(fan), 1/sqrt(fan)) with PyTorch's fan
/// out/groups * k * k (the weight's second dimension). Output size (H - 1)
/// * stride - 2 * padding + dilation * (k - 1) + output_padding + 1.
class ConvTranspose2d : public Module {
public:
  struct Options {
    int64_t stride = 1, padding = 0, outputPadding = 0, dilation = 1,
            groups = 1;
    bool bias = true;
  };
  ConvTranspose2d(Module *parent, std::string name, int64_t in, int64_t out,
                  int64_t kernel, Options options,
                  SourceLoc loc = SourceLoc::current());
  ConvTranspose2d(Module *parent, std::string name, int64_t in, int64_t out,
                  int64_t kernel,
                  SourceLoc loc = SourceLoc::current())
      : ConvTranspose2d(parent, std::move(name), in, out, kernel, Options{},
                        loc) {}
  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const;

  int64_t in, out, kernel;
  Options options;
  Param weight, bias;
};

/// Batch normalization over the channels of NCHW input (PyTorch's
/// BatchNorm2d): weight [C] (ones), bias [C] (zeros), and the buffers
/// running_mean [C] (zeros), running_var [C] (ones) and
/// num_batches_tracked (int64 scalar). In a training graph it normalizes
/// with the batch statistics and updates the buffers (momentum 0.1, the
/// running variance unbiased); otherwise it uses the running statistics.
class BatchNorm2d : public Module {
public:
  BatchNorm2d(Module *parent, std::string name, int64_t channels,
              double epsilon = 1e-5, double momentum = 0.1,
              SourceLoc loc = SourceLoc::current());
  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const;

  int64_t channels;
  double epsilon, momentum;
  Param weight, bias, runningMean, runningVar, numBatchesTracked;
};

/// PyTorch's nn.GroupNorm over NCHW input: the channels split into
/// `groups` groups, each normalized over its channels and positions;
/// weight [C] (ones) and bias [C] (zeros) per channel.
class GroupNorm : public Module {
public:
  GroupNorm(Module *parent, std::string name, int64_t groups,
            int64_t channels, double epsilon = 1e-5,
            SourceLoc loc = SourceLoc::current());
  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const;

  int64_t groups, channels;
  double epsilon;
  Param weight, bias;
};

/// Layer normalization over the last dimension (PyTorch's LayerNorm with
/// one normalized dimension): weight [dim] (ones), bias [dim] (zeros).
class LayerNorm : public Module {
public:
  LayerNorm(Module *parent, std::string name, int64_t dim,
            double epsilon = 1e-5,
            SourceLoc loc = SourceLoc::current());
  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const;

  int64_t dim;
  double epsilon;
  Param weight, bias;
};

/// A lookup table: weight [num, dim], initialized N(0, 1) as PyTorch's.
/// Indices of any integer type and shape give [..., dim].
class Embedding : public Module {
public:
  Embedding(Module *parent, std::string name, int64_t num, int64_t dim,
            SourceLoc loc = SourceLoc::current());
  Tensor operator()(const Tensor &indices,
                    SourceLoc loc = SourceLoc::current()) const;

  int64_t num, dim;
  Param weight;
};

/// PyTorch's nn.RNN (tanh), nn.LSTM and nn.GRU, batch-first: input
/// [B, T, input_size], output [B, T, D*hidden_size] (D = 2 when
/// bidirectional: the forward direction's states, then the reverse's).
/// Parameters as PyTorch names them, per layer k and direction:
/// weight_ih_l{k}[_reverse] [G*H, in], weight_hh_l{k}[_reverse] [G*H, H],
/// bias_ih_l{k}[_reverse], bias_hh_l{k}[_reverse] [G*H], all
/// U(-1/sqrt(H), 1/sqrt(H)); G is 1, 4 (i, f, g, o) or 3 (r, z, n). Each
/// direction of each layer is one input projection for all steps (a matmul)
/// and one graph.recurrence. No dropout between layers.
class Recurrent : public Module {
public:
  struct Options {
    int64_t numLayers = 1;
    bool bias = true;
    bool bidirectional = false;
  };
  struct Output {
    Tensor output; ///< [B, T, D*H]
    Tensor hidden; ///< h_n [L*D, B, H], as PyTorch orders it.
    Tensor cell;   ///< c_n [L*D, B, H] (LSTM only).
  };
  Recurrent(Module *parent, std::string name, std::string typeName, Cell cell,
            int64_t inputSize, int64_t hiddenSize, Options options,
            SourceLoc loc = SourceLoc::current());
  /// `h0` (and for an LSTM `c0`) [L*D, B, H] may be invalid tensors: zeros.
  Output operator()(const Tensor &x, const Tensor &h0 = Tensor(),
                    const Tensor &c0 = Tensor(),
                    SourceLoc loc = SourceLoc::current()) const;

  Cell cell;
  int64_t inputSize, hiddenSize;
  Options options;
  /// Per layer and direction (index 2*layer + reverse, or layer):
  /// weight_ih, weight_hh, bias_ih, bias_hh.
  struct Weights {
    Param weightIh, weightHh, biasIh, biasHh;
  };
  std::vector<Weights> weights;
};

class RNN : public Recurrent {
public:
  RNN(Module *parent, std::string name, int64_t inputSize, int64_t hiddenSize,
      Options options = {},
      SourceLoc loc = SourceLoc::current())
      : Recurrent(parent, std::move(name), "RNN", Cell::Tanh, inputSize,
                  hiddenSize, options, loc) {}
};
class LSTM : public Recurrent {
public:
  LSTM(Module *parent, std::string name, int64_t inputSize,
       int64_t hiddenSize, Options options = {},
       SourceLoc loc = SourceLoc::current())
      : Recurrent(parent, std::move(name), "LSTM", Cell::Lstm, inputSize,
                  hiddenSize, options, loc) {}
};
class GRU : public Recurrent {
public:
  GRU(Module *parent, std::string name, int64_t inputSize, int64_t hiddenSize,
      Options options = {},
      SourceLoc loc = SourceLoc::current())
      : Recurrent(parent, std::move(name), "GRU", Cell::Gru, inputSize,
                  hiddenSize, options, loc) {}
};

/// PyTorch's nn.GRUCell: one step, h' from x [B, input_size] and h
/// [B, hidden_size]; parameters weight_ih [3H, in], weight_hh [3H, H],
/// bias_ih, bias_hh [3H], U(-1/sqrt(H), 1/sqrt(H)). A one-step
/// graph.recurrence, so its gradient is the recurrence's.
class GRUCell : public Module {
public:
  GRUCell(Module *parent, std::string name, int64_t inputSize,
          int64_t hiddenSize, bool bias = true,
          SourceLoc loc = SourceLoc::current());
  Tensor operator()(const Tensor &x, const Tensor &h,
                    SourceLoc loc = SourceLoc::current()) const;

  int64_t inputSize, hiddenSize;
  bool hasBias;
  Param weightIh, weightHh, biasIh, biasHh;
};

/// PyTorch's nn.Dropout: in a training graph each element is zeroed with
/// probability p and the others scaled by 1/(1 - p), the choice drawn from
/// counter-based random numbers (Graph::randomStream: the entry point gets
/// the inputs rng_seed and rng_offset); elsewhere (evaluation) the
/// identity. No parameters.
class Dropout : public Module {
public:
  Dropout(Module *parent, std::string name, double p = 0.5,
          SourceLoc loc = SourceLoc::current());
  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const;

  double p;
};

/// Children named "0", "1", ... as PyTorch's nn.ModuleList and
/// nn.Sequential, so a model writes
///
///   ModuleList<Block> blocks{this, "blocks"};
///   for (int i = 0; i < 4; ++i) blocks.append(128, 4);  // blocks.i.attn...
///
/// `append` constructs a T (or a subclass U) with this list as its parent,
/// the next index as its name and the remaining arguments.
template <typename T> class ModuleList : public Module {
public:
  ModuleList(Module *parent, std::string name,
             std::string typeName = "ModuleList",
             SourceLoc loc = SourceLoc::current())
      : Module(parent, std::move(name), std::move(typeName), loc) {}

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

/// Multi-head self-attention with one input projection, as GPT-style
/// models write it: `qkv` Linear(dim, 3*dim) split into q, k and v (in that
/// order along the last dimension), `heads` heads of dim/heads, scaled
/// dot-product attention (causal if asked), heads concatenated, `proj`
/// Linear(dim, dim). Input and output [B, T, dim].
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

} // namespace kiln

#endif // KILN_DSL_LAYERS_H
