//===- Transformers.cpp - Pre-LN Transformer models: vit, gpt, bert -------===//
//
// As docs/models.md specifies them. The three share one block: x +=
// attn(ln1(x)); x += mlp(ln2(x)), with GELU in the MLP.
//
//   vit   x [B,1,28,28] f32, y [B] labels; forward -> logits [B,10].
//   gpt   x, y [B,64] token ids (y is x shifted by one); forward -> logits
//         [B,64,96], causal attention.
//   bert  x (corrupted tokens), y (original tokens) [B,32], mask [B,32] f32
//         (1 where a position was selected); forward -> logits [B,32,97];
//         the loss averages cross-entropy over the selected positions.
//
//===----------------------------------------------------------------------===//

#include "frontends/models/Zoo.h"

#include <functional>

namespace kiln::zoo {
namespace {

/// `fc1` Linear(dim, hidden) -> GELU -> `fc2` Linear(hidden, dim).
struct FeedForward : Module {
  Linear fc1, fc2;

  FeedForward(Module *parent, std::string name, int64_t dim, int64_t hidden)
      : Module(parent, std::move(name), "Mlp"), fc1{this, "fc1", dim, hidden},
        fc2{this, "fc2", hidden, dim} {}

  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const {
    Scope scope(*this, x.graph(), loc);
    return fc2(gelu(fc1(x)));
  }
};

/// A pre-LN block: x += attn(ln1(x)); x += mlp(ln2(x)).
struct Block : Module {
  LayerNorm ln1;
  SelfAttention attn;
  LayerNorm ln2;
  FeedForward mlp;

  Block(Module *parent, std::string name, int64_t dim, int64_t heads,
        int64_t hidden, bool causal)
      : Module(parent, std::move(name), "Block"), ln1{this, "ln1", dim},
        attn{this, "attn", dim, heads, causal}, ln2{this, "ln2", dim},
        mlp{this, "mlp", dim, hidden} {}

  /// What the block's attention does with its heads (of ln1(x)): plain
  /// attention, or attention through a key/value cache.
  using Attend = std::function<Tensor(const SelfAttention::Heads &)>;

  Tensor apply(const Tensor &x, const Attend &attend,
               SourceLoc loc = SourceLoc::current()) const {
    Scope scope(*this, x.graph(), loc);
    Tensor h = x + attn.output(attend(attn.project(ln1(x))));
    return h + mlp(ln2(h));
  }

  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const {
    return apply(
        x,
        [&](const SelfAttention::Heads &a) {
          AttentionOptions options;
          options.causal = attn.causal;
          return scaled_dot_product_attention(a.q, a.k, a.v, Tensor(), options);
        },
        loc);
  }
};

/// Bare parameters (`pos_emb`, `cls_token`) start N(0, 0.02^2).
constexpr double kBareStddev = 0.02;

/// Non-overlapping patches as tokens: `proj` Conv2d(1, dim, patch, stride
/// patch), [B, 1, H, W] -> [B, H*W/patch^2, dim] in row-major order.
struct PatchEmbed : Module {
  Conv2d proj;

  PatchEmbed(Module *parent, std::string name, int64_t dim, int64_t patch)
      : Module(parent, std::move(name), "PatchEmbed"),
        proj{this, "proj", Conv2dOptions(1, dim, patch).stride(patch)} {}

  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const {
    Scope scope(*this, x.graph(), loc);
    return transpose(flatten(proj(x), 2), 1, 2);
  }
};

struct Vit : Module {
  static constexpr int64_t kDim = 64, kTokens = 16;
  PatchEmbed patchEmbed{this, "patch_embed", kDim, 7};
  Param clsToken = register_parameter("cls_token", {1, 1, kDim},
                                Init::normal(kBareStddev));
  Param posEmbed = register_parameter("pos_embed", {1, kTokens + 1, kDim},
                                Init::normal(kBareStddev));
  ModuleList<Block> blocks{this, "blocks"};
  LayerNorm norm{this, "norm", kDim};
  Linear head{this, "head", kDim, 10};

  explicit Vit(DType dtype) : Module("ViT", dtype) {
    for (int i = 0; i < 4; ++i)
      blocks.append(kDim, /*heads=*/4, /*hidden=*/128, /*causal=*/false);
  }

  Tensor operator()(const Tensor &x) const {
    Graph &graph = x.graph();
    int64_t batch = x.shape()[0];
    Tensor patches = patchEmbed(x); // [B, 16, 64]
    Tensor cls = broadcast_to(use(clsToken, graph, SourceLoc::current()),
                             {batch, 1, kDim});
    Tensor h = cat({cls, patches}, 1) +
               use(posEmbed, graph, SourceLoc::current());
    for (const Block &block : blocks)
      h = block(h);
    Tensor first = reshape(strided_slice(h, {0, 0, 0}, {batch, 1, kDim}),
                           {batch, kDim});
    return head(norm(first));
  }
};

/// The character-level models' shared trunk: token and position
/// embeddings, pre-LN blocks, `ln_f` and `head`.
struct TextEncoder : Module {
  static constexpr int64_t kDim = 128;
  int64_t vocab, context;
  Param posEmb;
  Embedding tokEmb;
  ModuleList<Block> blocks{this, "blocks"};
  LayerNorm lnF{this, "ln_f", kDim};
  Linear head;

  TextEncoder(const char *type, DType dtype, int64_t vocab, int64_t context,
              bool causal)
      : Module(type, dtype), vocab(vocab), context(context),
        posEmb(register_parameter("pos_emb", {1, context, kDim},
                            Init::normal(kBareStddev))),
        tokEmb{this, "tok_emb", vocab, kDim}, head{this, "head", kDim, vocab} {
    for (int i = 0; i < 4; ++i)
      blocks.append(kDim, /*heads=*/4, /*hidden=*/512, causal);
  }

  /// Logits [B, T, vocab] of tokens [B, T].
  Tensor operator()(const Tensor &tokens) const {
    Graph &graph = tokens.graph();
    Tensor h = tokEmb(tokens) + use(posEmb, graph, SourceLoc::current());
    for (const Block &block : blocks)
      h = block(h);
    return head(lnF(h));
  }
};

struct Gpt : TextEncoder {
  static constexpr int64_t kHeads = 4, kHeadDim = kDim / kHeads;
  explicit Gpt(DType dtype) : TextEncoder("GPT", dtype, 96, 64, true) {}

  /// One sequence's keys and values: [blocks, 2 (k then v), heads,
  /// context, head dim].
  Shape cacheShape() const {
    return {static_cast<int64_t>(blocks.size()), 2, kHeads, context, kHeadDim};
  }

  /// Logits [1, T, V] of a window [1, T], and its keys and values.
  std::pair<Tensor, Tensor> prefill(const Tensor &tokens) const {
    Graph &graph = tokens.graph();
    Tensor h = tokEmb(tokens) + use(posEmb, graph, SourceLoc::current());
    std::vector<Tensor> layers;
    for (const Block &block : blocks)
      h = block.apply(h, [&](const SelfAttention::Heads &a) {
        layers.push_back(
            reshape(cat({a.k, a.v}, 0), {1, 2, kHeads, context, kHeadDim}));
        AttentionOptions options;
        options.causal = true;
        return scaled_dot_product_attention(a.q, a.k, a.v, Tensor(), options);
      });
    return {head(lnF(h)), cat(layers, 0)};
  }

  /// The logits [1, V] after `token` [1] at `position` (a 0-d index below
  /// the context), attending to the cache's positions up to it; the cache
  /// with this position's keys and values written in.
  std::pair<Tensor, Tensor> decodeStep(const Tensor &token,
                                       const Tensor &position,
                                       const Tensor &cache) const {
    Graph &graph = token.graph();
    int64_t t = context;
    Tensor at = reshape(position, {1});
    Tensor h = tokEmb(token) +
               embedding(reshape(use(posEmb, graph, SourceLoc::current()),
                                 {t, kDim}),
                         at);
    h = reshape(h, {1, 1, kDim});
    std::vector<double> positions(t);
    for (int64_t i = 0; i < t; ++i)
      positions[i] = static_cast<double>(i);
    Tensor iota = constant(graph, {t}, positions, DType::I64);
    // 1 at this position along the cache's time axis; the keys seen so far.
    Tensor here = cast(eq(reshape(iota, {1, 1, t, 1}), position), dtype());
    Tensor keep = scalar_like(here, 1.0) - here;
    Tensor seen = le(reshape(iota, {1, 1, 1, t}), position);
    std::vector<Tensor> layers;
    for (size_t l = 0; l < blocks.size(); ++l)
      h = blocks[l].apply(h, [&](const SelfAttention::Heads &a) {
        auto written = [&](int64_t which, const Tensor &fresh) {
          int64_t layer = static_cast<int64_t>(l);
          Tensor old = reshape(strided_slice(cache, {layer, which, 0, 0, 0},
                                     {layer + 1, which + 1, kHeads, t,
                                      kHeadDim}),
                               {1, kHeads, t, kHeadDim});
          return old * keep + fresh * here;
        };
        Tensor k = written(0, a.k), v = written(1, a.v);
        layers.push_back(
            reshape(cat({k, v}, 0), {1, 2, kHeads, t, kHeadDim}));
        return scaled_dot_product_attention(a.q, k, v, seen);
      });
    return {reshape(head(lnF(h)), {1, vocab}), cat(layers, 0)};
  }
};

struct Bert : TextEncoder {
  explicit Bert(DType dtype) : TextEncoder("BERT", dtype, 97, 32, false) {}
};

/// Mean cross-entropy of logits [B, T, V] against labels [B, T], over all
/// positions or, with `weights` [B, T], averaged with those weights.
Tensor sequenceCrossEntropy(const Tensor &logits, const Tensor &labels,
                            const Tensor &weights = Tensor()) {
  int64_t vocab = logits.shape().back();
  Tensor rows = reshape(logits, {-1, vocab});
  Tensor flat = reshape(labels, {-1});
  if (!weights.valid())
    return cross_entropy(rows, flat);
  Tensor w = reshape(weights, {-1});
  return sum(cross_entropy(rows, flat, kNone) * w, {0}) /
         sum(w, {0});
}

template <typename Model>
BuiltModel buildTextModel(const std::string &name,
                          const ModelOptions &options) {
  auto model = std::make_unique<Model>(options.dtype);
  auto program = std::make_unique<Program>(name, *model);
  Shape tokens{options.batch, model->context};
  Graph &forward = program->addEntry("forward");
  forward.output("logits", (*model)(forward.input("x", tokens, DType::I64)));
  Graph &loss = program->addEntry("loss");
  loss.setTraining(true);
  Tensor logits = (*model)(loss.input("x", tokens, DType::I64));
  Tensor labels = loss.input("y", tokens, DType::I64);
  if constexpr (std::is_same_v<Model, Bert>)
    loss.output("loss", sequenceCrossEntropy(
                            logits, labels,
                            loss.input("mask", tokens, options.dtype)));
  else
    loss.output("loss", sequenceCrossEntropy(logits, labels));
  if constexpr (std::is_same_v<Model, Bert>) {
    // fill(x) -> x with every [MASK] replaced by the most likely of the
    // text's symbols there.
    Graph &fill = program->addEntry("fill");
    Tensor corrupted = fill.input("x", tokens, DType::I64);
    Tensor scores = (*model)(corrupted);
    Tensor text = strided_slice(scores, {0, 0, 0},
                        {options.batch, model->context, model->vocab - 1});
    Tensor masked = eq(corrupted, constant(fill, {}, {double(model->vocab - 1)},
                                           DType::I64));
    fill.output("tokens", where(masked, argmax(text, 2), corrupted));
  }
  if constexpr (std::is_same_v<Model, Gpt>) {
    // Generation, one sequence at a time: prefill(x [1, T]) -> the logits
    // of every position and the window's key/value cache; decode_step(token
    // [1], position [], cache) -> the next logits and the updated cache.
    Graph &prefill = program->addEntry("prefill");
    auto [windowLogits, cache] =
        model->prefill(prefill.input("x", {1, model->context}, DType::I64));
    prefill.output("logits", windowLogits);
    prefill.output("cache", cache);
    Graph &step = program->addEntry("decode_step");
    Tensor token = step.input("token", {1}, DType::I64);
    Tensor position = step.input("position", {}, DType::I64);
    Tensor past = step.input("cache", model->cacheShape(), options.dtype);
    auto [nextLogits, nextCache] = model->decodeStep(token, position, past);
    step.output("logits", nextLogits);
    step.output("next_cache", nextCache);
  }
  return {std::move(model), std::move(program)};
}

} // namespace

void addTransformers(std::vector<ModelInfo> &zoo) {
  zoo.push_back({"vit",
                 "Fashion-MNIST vision Transformer: 7x7 patches, class token, "
                 "4 pre-LN blocks of width 64",
                 64, [](const ModelOptions &o) {
                   return buildClassifier<Vit>("vit", o);
                 }});
  zoo.push_back({"gpt",
                 "Character-level GPT: 96 symbols, context 64, 4 causal pre-LN "
                 "blocks of width 128",
                 32, [](const ModelOptions &o) {
                   return buildTextModel<Gpt>("gpt", o);
                 }});
  zoo.push_back({"bert",
                 "Masked character model: 97 symbols, 32 positions, 4 pre-LN "
                 "blocks of width 128",
                 64, [](const ModelOptions &o) {
                   return buildTextModel<Bert>("bert", o);
                 }});
}

} // namespace kiln::zoo
