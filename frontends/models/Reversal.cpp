//===- Reversal.cpp - Encoder-decoders on sequence reversal ---------------===//
//
// As docs/models.md specifies them: a source of 16 tokens from 1..29 is to
// be written back reversed and closed by EOS (31); the decoder starts from
// BOS (30). V = 32, 0 is padding.
//
//   transformer  post-LN encoder-decoder, 2 + 2 layers of width 128, 4 heads,
//                sinusoidal positions.
//   seq2seq      bidirectional GRU encoder, additive attention, GRUCell
//                decoder.
//
// Entry points: forward(src [B,16], tgt [B,17]) -> logits [B,17,32] with
// teacher forcing (tgt = BOS then the reversed source); loss(src, tgt, y)
// -> mean cross-entropy over all B*17 labels (y = the reversed source then
// EOS); decode(src) -> tokens [B,17], greedy, each step fed the previous
// step's argmax.
//
//===----------------------------------------------------------------------===//

#include "frontends/models/Zoo.h"

#include <cmath>

namespace kiln::zoo {
namespace {

constexpr int64_t kVocab = 32, kSource = 16, kTarget = 17, kBos = 30;

/// Attention with separate projections `q`, `k`, `v` and `o`
/// (Linear(dim, dim) each), `heads` heads; queries from `x`, keys and
/// values from `memory` (x itself for self-attention).
struct Attention : Module {
  int64_t heads;
  bool causal;
  Linear q, k, v, o;

  Attention(Module *parent, std::string name, int64_t dim, int64_t heads,
            bool causal)
      : Module(parent, std::move(name), "Attention"), heads(heads),
        causal(causal), q{this, "q", dim, dim}, k{this, "k", dim, dim},
        v{this, "v", dim, dim}, o{this, "o", dim, dim} {}

  Tensor operator()(const Tensor &x, const Tensor &memory,
                    SourceLoc loc = SourceLoc::current()) const {
    Scope scope(*this, x.graph(), loc);
    AttentionOptions options;
    options.causal = causal;
    Tensor h = scaled_dot_product_attention(splitHeads(q(x), heads), splitHeads(k(memory), heads),
                         splitHeads(v(memory), heads), Tensor(), options);
    return o(mergeHeads(h));
  }
};

/// `fc1` Linear(dim, hidden) -> ReLU -> `fc2` Linear(hidden, dim).
struct ReluFeedForward : Module {
  Linear fc1, fc2;

  ReluFeedForward(Module *parent, std::string name, int64_t dim,
                  int64_t hidden)
      : Module(parent, std::move(name), "FeedForward"),
        fc1{this, "fc1", dim, hidden}, fc2{this, "fc2", hidden, dim} {}

  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const {
    Scope scope(*this, x.graph(), loc);
    return fc2(relu(fc1(x)));
  }
};

/// Post-LN encoder layer: x = norm1(x + self_attn(x)); x = norm2(x + ff(x)).
struct EncoderLayer : Module {
  Attention selfAttn;
  LayerNorm norm1;
  ReluFeedForward ff;
  LayerNorm norm2;

  EncoderLayer(Module *parent, std::string name, int64_t dim, int64_t heads,
               int64_t hidden)
      : Module(parent, std::move(name), "EncoderLayer"),
        selfAttn{this, "self_attn", dim, heads, false}, norm1{this, "norm1", dim},
        ff{this, "ff", dim, hidden}, norm2{this, "norm2", dim} {}

  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const {
    Scope scope(*this, x.graph(), loc);
    Tensor h = norm1(x + selfAttn(x, x));
    return norm2(h + ff(h));
  }
};

/// Post-LN decoder layer: causal self-attention, cross-attention to the
/// encoder's output, feed-forward, each followed by its residual LayerNorm.
struct DecoderLayer : Module {
  Attention selfAttn;
  LayerNorm norm1;
  Attention crossAttn;
  LayerNorm norm2;
  ReluFeedForward ff;
  LayerNorm norm3;

  DecoderLayer(Module *parent, std::string name, int64_t dim, int64_t heads,
               int64_t hidden)
      : Module(parent, std::move(name), "DecoderLayer"),
        selfAttn{this, "self_attn", dim, heads, true}, norm1{this, "norm1", dim},
        crossAttn{this, "cross_attn", dim, heads, false},
        norm2{this, "norm2", dim}, ff{this, "ff", dim, hidden},
        norm3{this, "norm3", dim} {}

  Tensor operator()(const Tensor &x, const Tensor &memory,
                    SourceLoc loc = SourceLoc::current()) const {
    Scope scope(*this, x.graph(), loc);
    Tensor h = norm1(x + selfAttn(x, x));
    h = norm2(h + crossAttn(h, memory));
    return norm3(h + ff(h));
  }
};

/// The fixed sinusoidal encoding [1, T, d]: position p, dimension 2i
/// sin(p 10000^(-2i/d)), 2i+1 cos of the same.
Tensor sinusoids(Graph &graph, int64_t positions, int64_t dim, DType dtype) {
  std::vector<double> values(positions * dim);
  for (int64_t p = 0; p < positions; ++p)
    for (int64_t i = 0; i < dim; i += 2) {
      double angle = p * std::pow(10000.0, -static_cast<double>(i) / dim);
      values[p * dim + i] = std::sin(angle);
      if (i + 1 < dim)
        values[p * dim + i + 1] = std::cos(angle);
    }
  return constant(graph, {1, positions, dim}, values, dtype);
}

/// A stack of layers under `layers` (the encoder's and the decoder's).
template <typename Layer> struct LayerStack : Module {
  ModuleList<Layer> layers{this, "layers"};

  LayerStack(Module *parent, std::string name, std::string typeName)
      : Module(parent, std::move(name), std::move(typeName)) {}
};

struct Transformer : Module {
  static constexpr int64_t kDim = 128;
  Embedding srcEmb{this, "src_emb", kVocab, kDim};
  Embedding tgtEmb{this, "tgt_emb", kVocab, kDim};
  LayerStack<EncoderLayer> encoder{this, "encoder", "Encoder"};
  LayerStack<DecoderLayer> decoder{this, "decoder", "Decoder"};
  Linear out{this, "out", kDim, kVocab};

  explicit Transformer(DType dtype) : Module("Transformer", dtype) {
    for (int i = 0; i < 2; ++i) {
      encoder.layers.append(kDim, /*heads=*/4, /*hidden=*/256);
      decoder.layers.append(kDim, /*heads=*/4, /*hidden=*/256);
    }
  }

  /// Embeddings scaled by sqrt(d), plus the positions.
  Tensor embed(const Embedding &table, const Tensor &tokens) const {
    Graph &graph = tokens.graph();
    return table(tokens) * scalar_like(table(tokens), std::sqrt(double(kDim))) +
           sinusoids(graph, tokens.shape()[1], kDim, dtype());
  }

  Tensor encode(const Tensor &src) const {
    Tensor h = embed(srcEmb, src);
    for (const EncoderLayer &layer : encoder.layers)
      h = layer(h);
    return h;
  }

  /// Logits [B, T, V] of decoder inputs `tgt` [B, T].
  Tensor decode(const Tensor &tgt, const Tensor &memory) const {
    Tensor h = embed(tgtEmb, tgt);
    for (const DecoderLayer &layer : decoder.layers)
      h = layer(h, memory);
    return out(h);
  }

  Tensor operator()(const Tensor &src, const Tensor &tgt) const {
    return decode(tgt, encode(src));
  }

  /// Greedy decoding: step t runs the decoder on [BOS, the predictions so
  /// far, padding] (causal, so position t sees only what precedes it) and
  /// takes the argmax at position t.
  Tensor greedy(const Tensor &src) const {
    Graph &graph = src.graph();
    int64_t b = src.shape()[0];
    Tensor memory = encode(src);
    Tensor bos = constant(graph, {b, 1}, {double(kBos)}, DType::I64);
    std::vector<Tensor> predicted;
    for (int64_t t = 0; t < kTarget; ++t) {
      std::vector<Tensor> parts{bos};
      parts.insert(parts.end(), predicted.begin(), predicted.end());
      if (t + 1 < kTarget)
        parts.push_back(
            constant(graph, {b, kTarget - 1 - t}, {0.0}, DType::I64));
      Tensor logits = decode(cat(parts, 1), memory);
      Tensor at = slice(logits, 1, t, t + 1);
      predicted.push_back(argmax(at, 2));
    }
    return cat(predicted, 1);
  }
};

/// Bahdanau's scores v(tanh(w_enc(enc_s) + w_dec(h))): `w_enc` Linear(key,
/// hidden), `w_dec` Linear(hidden, hidden), `v` Linear(hidden, 1) without
/// bias.
struct AdditiveAttention : Module {
  Linear wEnc, wDec, v;

  AdditiveAttention(Module *parent, std::string name, int64_t key,
                    int64_t hidden)
      : Module(parent, std::move(name), "AdditiveAttention"),
        wEnc{this, "w_enc", key, hidden}, wDec{this, "w_dec", hidden, hidden},
        v{this, "v", LinearOptions(hidden, 1).bias(false)} {}
};

struct Seq2Seq : Module {
  static constexpr int64_t kEmbed = 64, kHidden = 128;
  Embedding srcEmb{this, "src_emb", kVocab, kEmbed};
  Embedding tgtEmb{this, "tgt_emb", kVocab, kEmbed};
  GRU encoder{this, "encoder",
              GRUOptions(kEmbed, kHidden).batch_first(true).bidirectional(true)};
  Linear bridge{this, "bridge", 2 * kHidden, kHidden};
  AdditiveAttention attn{this, "attn", 2 * kHidden, kHidden};
  GRUCell decoder{this, "decoder", kEmbed + 2 * kHidden, kHidden};
  Linear out{this, "out", kHidden + 2 * kHidden, kVocab};

  explicit Seq2Seq(DType dtype) : Module("Seq2Seq", dtype) {}

  struct Encoded {
    Tensor states; // enc_s [B, S, 256]
    Tensor keys;   // w_enc(enc_s) [B, S, 128], once for every step
    Tensor h0;     // the decoder's initial state [B, 128]
  };

  Encoded encode(const Tensor &src) const {
    int64_t b = src.shape()[0];
    Recurrent::Output enc = encoder(srcEmb(src));
    // h_n [2, B, H]: the forward direction's final state, then the
    // backward's; bridged to the decoder's initial state.
    Tensor finals = reshape(permute(enc.hidden, {1, 0, 2}), {b, 2 * kHidden});
    return {enc.output, attn.wEnc(enc.output), tanh(bridge(finals))};
  }

  /// One decoder step from the previous state `h` and token `previous`
  /// [B]: the new state and the step's logits [B, V].
  std::pair<Tensor, Tensor> step(const Encoded &e, const Tensor &h,
                                 const Tensor &previous) const {
    int64_t b = h.shape()[0], s = e.states.shape()[1];
    // score_s = v(tanh(w_enc(enc_s) + w_dec(h))), softmax over s.
    Tensor query = reshape(attn.wDec(h), {b, 1, kHidden});
    Tensor scores = reshape(attn.v(tanh(e.keys + query)), {b, s});
    Tensor weights = reshape(softmax(scores, 1), {b, 1, s});
    Tensor context = reshape(bmm(weights, e.states), {b, 2 * kHidden});
    Tensor next = decoder(cat({tgtEmb(previous), context}, 1), h);
    return {next, out(cat({next, context}, 1))};
  }

  /// Teacher forcing: step t reads tgt[:, t].
  Tensor operator()(const Tensor &src, const Tensor &tgt) const {
    int64_t b = src.shape()[0], t = tgt.shape()[1];
    Encoded e = encode(src);
    Tensor h = e.h0;
    std::vector<Tensor> logits;
    for (int64_t i = 0; i < t; ++i) {
      Tensor token = reshape(strided_slice(tgt, {0, i}, {b, i + 1}), {b});
      auto [next, stepLogits] = step(e, h, token);
      h = next;
      logits.push_back(reshape(stepLogits, {b, 1, kVocab}));
    }
    return cat(logits, 1);
  }

  /// Greedy decoding: each step reads the previous step's argmax.
  Tensor greedy(const Tensor &src) const {
    Graph &graph = src.graph();
    int64_t b = src.shape()[0];
    Encoded e = encode(src);
    Tensor h = e.h0;
    Tensor token = constant(graph, {b}, {double(kBos)}, DType::I64);
    std::vector<Tensor> predicted;
    for (int64_t i = 0; i < kTarget; ++i) {
      auto [next, stepLogits] = step(e, h, token);
      h = next;
      token = argmax(stepLogits, 1);
      predicted.push_back(reshape(token, {b, 1}));
    }
    return cat(predicted, 1);
  }
};

/// Mean cross-entropy of logits [B, T, V] against labels [B, T].
Tensor meanCrossEntropy(const Tensor &logits, const Tensor &labels) {
  return cross_entropy(reshape(logits, {-1, kVocab}), reshape(labels, {-1}));
}

template <typename Model>
BuiltModel buildReversalModel(const std::string &name,
                              const ModelOptions &options) {
  auto model = std::make_unique<Model>(options.dtype);
  auto program = std::make_unique<Program>(name, *model);
  Shape source{options.batch, kSource}, target{options.batch, kTarget};

  // Inputs in the order src, tgt (y): each declared in a statement of its
  // own, as argument evaluation order is unspecified.
  Graph &forward = program->addEntry("forward");
  Tensor src = forward.input("src", source, DType::I64);
  Tensor tgt = forward.input("tgt", target, DType::I64);
  forward.output("logits", (*model)(src, tgt));

  Graph &loss = program->addEntry("loss");
  loss.setTraining(true);
  Tensor lossSrc = loss.input("src", source, DType::I64);
  Tensor lossTgt = loss.input("tgt", target, DType::I64);
  Tensor labels = loss.input("y", target, DType::I64);
  loss.output("loss", meanCrossEntropy((*model)(lossSrc, lossTgt), labels));

  Graph &decode = program->addEntry("decode");
  decode.output("tokens",
                model->greedy(decode.input("src", source, DType::I64)));
  return {std::move(model), std::move(program)};
}

} // namespace

void addReversal(std::vector<ModelInfo> &zoo) {
  zoo.push_back({"transformer",
                 "Post-LN encoder-decoder Transformer (2+2 layers, width 128) "
                 "reversing 16-token sequences",
                 64, [](const ModelOptions &o) {
                   return buildReversalModel<Transformer>("transformer", o);
                 }});
  zoo.push_back({"seq2seq",
                 "Bidirectional-GRU encoder, additive attention, GRUCell "
                 "decoder, reversing 16-token sequences",
                 64, [](const ModelOptions &o) {
                   return buildReversalModel<Seq2Seq>("seq2seq", o);
                 }});
}

} // namespace kiln::zoo
