//===- DSLTest.cpp - Unit tests of the C++ DSL ----------------------------===//

#include "kiln/DSL.h"
#include "kiln/Init.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <limits>

using namespace kiln;
using ::testing::AllOf;
using ::testing::HasSubstr;

namespace {

/// The message of the GraphError that `body` throws ("" if none).
std::string errorOf(const std::function<void()> &body) {
  try {
    body();
  } catch (const GraphError &e) {
    return e.what();
  }
  return "";
}

std::string here(int line) { return "tests/unit/DSLTest.cpp:" + std::to_string(line); }

struct Block : Module {
  Linear proj;
  Block(Module *parent, std::string name, int64_t width)
      : Module(parent, std::move(name), "Block"),
        proj(this, "proj", width, width) {}
  Tensor operator()(const Tensor &x) const { return relu(proj(x)); }
};

struct Tower : Module {
  Linear embed{this, "embed", 16, 32};
  Block first{this, "blocks.0", 32};
  Block second{this, "blocks.1", 32};
  Param scale;
  Tower() : Module("Tower") { scale = register_parameter("scale", {32}, Init::ones()); }
  Tensor operator()(const Tensor &x, Graph &g) const {
    return second(first(embed(x))) * use(scale, g, SourceLoc::current());
  }
};

TEST(DSL, StateDictNamesFollowPyTorchOrder) {
  Tower tower;
  std::vector<std::string> names;
  for (const auto &p : tower.namedParameters())
    names.push_back(p.path);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "scale", "embed.weight", "embed.bias",
                       "blocks.0.proj.weight", "blocks.0.proj.bias",
                       "blocks.1.proj.weight", "blocks.1.proj.bias"}));
  EXPECT_EQ(tower.second.proj.path(), "blocks.1.proj");
}

TEST(DSL, GraphArgumentsAreParametersThenInputs) {
  Tower tower;
  Graph g("forward", tower);
  Tensor x = g.input("x", {4, 16});
  Tensor y = tower(x, g);
  EXPECT_EQ(y.shape(), (Shape{4, 32}));
  ASSERT_EQ(g.arguments().size(), 8u);
  EXPECT_EQ(g.arguments()[0].name, "scale");
  EXPECT_EQ(g.arguments()[7].name, "x");
  EXPECT_EQ(g.arguments()[7].kind, ArgKind::Input);
}

TEST(DSL, LinearShapeMismatchNamesModuleOpShapesAndLine) {
  Tower tower;
  Graph g("forward", tower);
  Tensor x = g.input("x", {4, 15});
  int line = __LINE__ + 1;
  std::string error = errorOf([&] { tower.embed(x); });
  EXPECT_THAT(error, AllOf(HasSubstr(here(line)), HasSubstr("module 'embed' (Linear)"),
                           HasSubstr("[4, 15]"), HasSubstr("[32, 16]"),
                           HasSubstr("in_features=16")));
}

TEST(DSL, MatmulErrorNamesBothShapes) {
  Graph g("f");
  Tensor a = g.input("a", {64, 3136});
  Tensor b = g.input("b", {128, 3135});
  int line = __LINE__ + 1;
  std::string error = errorOf([&] { matmul(a, b, false, true); });
  EXPECT_THAT(error,
              AllOf(HasSubstr(here(line)), HasSubstr("in graph 'f'"),
                    HasSubstr("graph.matmul"), HasSubstr("lhs [64, 3136]"),
                    HasSubstr("rhs [128, 3135] (transposed)")));
}

TEST(DSL, OperatorErrorPointsAtTheExpression) {
  Graph g("f");
  Tensor a = g.input("a", {4, 8});
  Tensor b = g.input("b", {3});
  int line = __LINE__ + 1;
  std::string error = errorOf([&] { (void)(a + b); });
  EXPECT_THAT(error, AllOf(HasSubstr(here(line)), HasSubstr("graph.add"),
                           HasSubstr("shapes [4, 8] and [3] are not "
                                     "broadcastable")));
}

TEST(DSL, ErrorInsideNestedModuleNamesFullPath) {
  struct Bad : Module {
    Block block{this, "blocks.3", 8};
    Bad() : Module("Bad") {}
  } bad;
  Graph g("forward", bad);
  Tensor x = g.input("x", {2, 9});
  std::string error = errorOf([&] { bad.block(x); });
  EXPECT_THAT(error, AllOf(HasSubstr("module 'blocks.3.proj' (Linear)"),
                           HasSubstr("[2, 9]")));
}

TEST(DSL, ConvChannelMismatch) {
  struct Net : Module {
    Conv2d conv{this, "conv", Conv2dOptions(3, 8, 3).padding(1)};
    Net() : Module("Net") {}
  } net;
  Graph g("forward", net);
  Tensor x = g.input("x", {2, 1, 28, 28});
  int line = __LINE__ + 1;
  std::string error = errorOf([&] { net.conv(x); });
  EXPECT_THAT(error, AllOf(HasSubstr(here(line)), HasSubstr("module 'conv' (Conv2d)"),
                           HasSubstr("graph.conv2d"),
                           HasSubstr("weight [8, 3, 3, 3] expects 3 input "
                                     "channels (groups=1) but input "
                                     "[2, 1, 28, 28] has 1")));
}

TEST(DSL, WrongRankAndDtype) {
  Graph g("f");
  Tensor x = g.input("x", {2, 28, 28});
  Tensor w = g.input("w", {4, 1, 3, 3});
  EXPECT_THAT(errorOf([&] { conv2d(x, w, Tensor()); }),
              HasSubstr("input must be NCHW (rank 4), got [2, 28, 28]"));
  Tensor logits = g.input("logits", {2, 10});
  Tensor labels = g.input("labels", {2});
  EXPECT_THAT(errorOf([&] { cross_entropy(logits, labels); }),
              HasSubstr("labels must be an integer tensor, got f32 [2]"));
  Tensor d = g.input("d", {2, 10}, DType::F64);
  EXPECT_THAT(errorOf([&] { logits + d; }),
              HasSubstr("dtypes differ: f32 [2, 10] and f64 [2, 10]"));
}

TEST(DSL, ArgumentsTooLargeToExistAreRejected) {
  Graph g("f");
  const int64_t huge = std::numeric_limits<int64_t>::max();
  // The element count overflows int64; then one that fits but exceeds
  // 2^47 bytes in float64, though not in one-byte booleans.
  EXPECT_THAT(errorOf([&] { g.input("x", {huge, 1, 28, 28}); }),
              HasSubstr("'x' of shape [9223372036854775807, 1, 28, 28] needs "
                        "more than 2^47 bytes (128 TiB)"));
  EXPECT_THAT(errorOf([&] { g.input("y", {int64_t(1) << 45}, DType::F64); }),
              HasSubstr("'y' of shape [35184372088832] needs more than 2^47"));
  EXPECT_EQ(errorOf([&] { g.input("z", {int64_t(1) << 45}, DType::I1); }), "");
  Tensor ok = g.input("ok", {8, 784});
  EXPECT_THAT(errorOf([&] { reshape(ok, {-1, huge, 2}); }),
              HasSubstr("has more elements than int64 counts"));
}

TEST(DSL, DuplicateNamesAreRejected) {
  static int line;
  struct Twice : Module {
    Linear a{this, "fc", 2, 2};
    Twice() : Module("Twice") {
      line = __LINE__ + 1;
      Linear b(this, "fc", 2, 2);
    }
  };
  // The user's line, and the root named by its type, not ''.
  std::string twice = errorOf([] { Twice t; });
  EXPECT_THAT(twice, HasSubstr(here(line) + ": error: the model (Twice) "
                               "already has a child named 'fc' (a Linear)"));
  static int paramLine;
  struct Scale : Module {
    Param w;
    Scale() : Module("Scale") {
      w = register_parameter("w", {2}, Init::ones());
      paramLine = __LINE__ + 1;
      register_parameter("w", {3}, Init::ones());
    }
  };
  std::string scale = errorOf([] { Scale s; });
  EXPECT_THAT(scale, HasSubstr(here(paramLine) + ": error: the model (Scale) "
                               "already has a parameter named 'w'"));
  Graph g("f");
  g.input("x", {1});
  EXPECT_THAT(errorOf([&] { g.input("x", {2}); }),
              HasSubstr("an argument named 'x' already exists"));
}

TEST(DSL, ALossMustBeAFloatScalar) {
  Graph loss("loss");
  Tensor x = loss.input("x", {4, 3});
  int line = __LINE__ + 1;
  std::string error = errorOf([&] { loss.output("loss", x); });
  EXPECT_THAT(error, AllOf(HasSubstr(here(line)),
                           HasSubstr("the loss 'loss' must be a float scalar "
                                     "(what training minimizes), got f32 "
                                     "[4, 3]")));
  Graph step("loss_d");
  Tensor labels = step.input("y", {}, DType::I64);
  EXPECT_THAT(errorOf([&] { step.output("loss", labels); }),
              HasSubstr("must be a float scalar"));
  // Other entries' outputs, and a loss entry's later outputs, may be
  // anything.
  Graph forward("forward");
  forward.output("y", forward.input("x", {4, 3}));
  Graph withExtra("loss");
  Tensor v = withExtra.input("v", {2});
  withExtra.output("loss", sum(v, {0}));
  withExtra.output("v", v);
}

TEST(DSL, TensorsOfAnotherGraphAreRejected) {
  Graph f("f"), h("h");
  Tensor a = f.input("a", {2});
  Tensor b = h.input("b", {2});
  EXPECT_THAT(errorOf([&] { add(a, b); }),
              HasSubstr("an operand belongs to graph 'h', not 'f'"));
}

TEST(DSL, ReshapeInfersOneDimensionAndFlattenCollapses) {
  Graph g("f");
  Tensor x = g.input("x", {4, 3, 5});
  EXPECT_EQ(reshape(x, {-1, 5}).shape(), (Shape{12, 5}));
  EXPECT_EQ(flatten(x, 1).shape(), (Shape{4, 15}));
  EXPECT_THAT(errorOf([&] { reshape(x, {7, -1}); }),
              HasSubstr("cannot reshape [4, 3, 5]"));
}

TEST(DSL, ScalarOperandsTakeTheTensorDtype) {
  Graph g("f");
  Tensor x = g.input("x", {3}, DType::F64);
  Tensor y = x * 0.5 + 1;
  EXPECT_EQ(y.dtype(), DType::F64);
  EXPECT_EQ(y.shape(), (Shape{3}));
}

/// Every DSL op in one program: the emitted module must verify, which checks
/// that the DSL's attributes and result types match the dialect's.
TEST(DSL, EveryOpEmitsVerifiedIR) {
  struct Empty : Module {
    Empty() : Module("Empty") {}
  } empty;
  Program program("all_ops", empty);
  Graph &g = program.addEntry("f");
  Tensor x = g.input("x", {2, 4, 6, 6});
  Tensor c = g.input("c", {4});
  Tensor w = g.input("w", {4, 4, 3, 3});
  Tensor dw = g.input("dw", {4, 1, 3, 3});
  Tensor tw = g.input("tw", {4, 2, 4, 4});
  Tensor m = g.input("m", {8, 16});
  Tensor q = g.input("q", {2, 2, 5, 8});
  Tensor pad = g.input("pad", {2, 1, 1, 5}, DType::I1);
  Tensor ids = g.input("ids", {2, 3}, DType::I64);
  Tensor seed = g.input("seed", {}, DType::I64);
  Tensor offset = g.input("offset", {}, DType::I64);

  Tensor e = x;
  for (auto f : {neg, abs, exp, log, sqrt, rsqrt, sin, cos, tanh, erf, sigmoid,
                 relu, gelu, silu})
    e = f(e, SourceLoc::current());
  e = leaky_relu(clamp(e, -1, 1), 0.2);
  e = maximum(minimum(pow(e + 1, e), e), e - 1);
  e = where(compare(Compare::Lt, e, scalar_like(e, 0)), e, e / 2);
  Tensor conv = conv2d(e, w, c, {{1, 1}, {1, 1}, {1, 1}, 1});
  conv = conv2d(conv, dw, Tensor(), {{2, 2}, {1, 1}, {1, 1}, 4});
  Tensor up = conv_transpose2d(conv, tw, Tensor(), {{2, 2}, {1, 1}, {1, 1}, 1});
  Tensor pooled = avg_pool2d(max_pool2d(up, {2, 2}, {2, 2}), {3, 3}, {1, 1},
                            {1, 1}, false);
  Tensor gp = adaptive_avg_pool2d(pooled, {1, 1});
  Tensor r = sum(mean(amax(amin(x, {0}, true), {1}), {-1}, true), {0});
  Tensor am = argmax(x, 1);
  Tensor sm = log_softmax(softmax(x));
  Tensor ln = layer_norm(x, g.input("lw", {6}), g.input("lb", {6}));
  BatchNormResult bn = batch_norm_training(x, c, c, c, c);
  Tensor bi = batch_norm(bn.output, bn.running_mean, bn.running_var, c,
                                 c);
  Tensor gn = group_norm(bi, 2, c, c);
  Tensor emb = embedding(m, ids);
  Tensor joined = cat({emb, emb}, 2);
  Tensor sl = strided_slice(joined, {0, 1, 0}, {2, 3, 32}, {1, 1, 4});
  Tensor tr = permute(reshape(sl, {2, 16}), {1, 0});
  Tensor bc = broadcast_to(c, {3, 4});
  Tensor att = scaled_dot_product_attention(q, q, q, pad, {true, 0.5});
  Tensor att2 = scaled_dot_product_attention(q, q, q, Tensor());
  Tensor mm = bmm(att, att2, false, true);
  Tensor lin = matmul(tr, tr, true, false);
  Tensor logits = g.input("logits", {2, 10});
  Tensor labels = g.input("labels", {2}, DType::I64);
  Tensor ce = cross_entropy(logits, labels, Reduction::None);
  Tensor mse = mse_loss(logits, logits, Reduction::Sum);
  Tensor bce = binary_cross_entropy_with_logits(logits, logits);
  Tensor u = rand(seed, offset, {2, 3}, -1, 1);
  Tensor n = randn(seed, offset, {4}, 0, 2, DType::F64);
  Tensor i = randint(seed, offset, {5}, 0, 96);
  Tensor casted = cast(i, DType::F32);
  Tensor k = constant(g, {2, 2}, {1, 2, 3, 4});
  for (auto [name, t] :
       std::vector<std::pair<std::string, Tensor>>{
           {"gp", gp}, {"r", r}, {"am", am}, {"sm", sm}, {"ln", ln},
           {"gn", gn}, {"bnm", bn.running_mean}, {"bc", bc}, {"mm", mm},
           {"lin", lin}, {"ce", ce}, {"mse", mse}, {"bce", bce}, {"u", u},
           {"n", n}, {"casted", casted}, {"k", k}})
    g.output(name, t);

  std::string ir;
  ASSERT_NO_THROW(ir = program.emitGraphIR());
  for (const char *op :
       {"graph.gelu", "graph.conv_transpose2d", "graph.avg_pool2d",
        "graph.batch_norm_training", "graph.group_norm", "graph.attention",
        "graph.random_integers", "graph.compare lt", "graph.cross_entropy none",
        "graph.mse_loss sum", "graph.slice", "graph.constant"})
    EXPECT_THAT(ir, HasSubstr(op));
}

TEST(DSL, DebugInfoCarriesModulePathAndUserLine) {
  struct Net : Module {
    Linear fc{this, "fc", 4, 2};
    Net() : Module("Net") {}
  } net;
  Program program("net", net);
  Graph &g = program.addEntry("forward");
  int line = __LINE__ + 1;
  g.output("y", net.fc(g.input("x", {3, 4})));
  std::string ir = program.emitGraphIR(/*debugInfo=*/true);
  EXPECT_THAT(ir, HasSubstr("loc(\"tests/unit/DSLTest.cpp\":" +
                            std::to_string(line) + ":0)"));
  EXPECT_THAT(ir, HasSubstr("loc(\"fc\"("));
}

} // namespace

struct Normed : Module {
  Conv2d conv{this, "conv", 3, 4, 3};
  BatchNorm2d bn{this, "bn", 4};
  Normed() : Module("Normed") {}
};

TEST(DSL, BatchNormUsesRunningStatisticsUnlessTraining) {
  Normed model;
  std::vector<std::string> names;
  for (const auto &p : model.namedParameters())
    names.push_back(p.path + (p.spec->kind == ArgKind::Buffer ? " (buffer)" : ""));
  EXPECT_EQ(names, (std::vector<std::string>{
                       "conv.weight", "conv.bias", "bn.weight", "bn.bias",
                       "bn.running_mean (buffer)", "bn.running_var (buffer)",
                       "bn.num_batches_tracked (buffer)"}));

  Program program("normed", model);
  Graph &forward = program.addEntry("forward");
  forward.output("y", model.bn(model.conv(forward.input("x", {2, 3, 8, 8}))));
  EXPECT_EQ(forward.outputs().size(), 1u);

  Graph &loss = program.addEntry("loss");
  loss.setTraining(true);
  Tensor y = model.bn(model.conv(loss.input("x", {2, 3, 8, 8})));
  loss.output("loss", mean(y * y, {0, 1, 2, 3}));
  std::string ir = program.emitGraphIR();
  EXPECT_THAT(ir, HasSubstr("graph.batch_norm_inference"));
  EXPECT_THAT(ir, HasSubstr("graph.batch_norm_training"));
  // The loss comes first, then the buffers batch norm updated.
  EXPECT_THAT(ir, HasSubstr("-> (tensor<f32> {graph.output = \"loss\"}, "
                            "tensor<4xf32> {graph.output = \"bn.running_mean\", "
                            "graph.update = \"bn.running_mean\"}, "
                            "tensor<4xf32> {graph.output = \"bn.running_var\", "
                            "graph.update = \"bn.running_var\"}, "
                            "tensor<i64> {graph.output = \"bn.num_batches_tracked\", "
                            "graph.update = \"bn.num_batches_tracked\"})"));
}

TEST(DSL, BufferUpdatesAreChecked) {
  Normed model;
  Graph g("loss", model);
  Tensor mean = g.parameter("bn.running_mean", SourceLoc::current());
  int line = __LINE__ + 1;
  std::string error = errorOf([&] { g.updateBuffer("bn.weight", mean); });
  EXPECT_THAT(error, AllOf(HasSubstr(here(line)),
                           HasSubstr("'bn.weight' is not a buffer")));
  EXPECT_EQ(errorOf([&] { g.updateBuffer("bn.running_var", mean * mean + mean); }),
            "");
  EXPECT_THAT(errorOf([&] { g.updateBuffer("bn.running_var", mean); }),
              HasSubstr("'bn.running_var' is already a result of this graph"));
  Tensor wide = g.input("x", {5});
  EXPECT_THAT(errorOf([&] { g.updateBuffer("bn.running_mean", wide); }),
              HasSubstr("the new value of 'bn.running_mean' is f32[5], the "
                        "buffer is f32[4]"));
  EXPECT_THAT(errorOf([&] { model.bn(wide); }),
              HasSubstr("input [5] must be [N, 4, H, W]"));
}

// Attribute checks are the dialect's own (GraphShapes.h): the DSL reports
// exactly what the verifier says of the same op (tests/lit/Graph/invalid.mlir).
TEST(DSL, AttributeChecksAreTheVerifiers) {
  Graph g("f");
  Tensor x = g.input("x", {2, 4});
  EXPECT_THAT(errorOf([&] { clamp(x, 1, -1); }),
              HasSubstr("graph.clamp: min 1 is greater than max -1"));
  Tensor q = g.input("q", {2, 4, 8});
  AttentionOptions negative;
  negative.scale = -1;
  EXPECT_THAT(errorOf([&] { scaled_dot_product_attention(q, q, q, Tensor(), negative); }),
              HasSubstr("scale must be positive, got -1"));
  Tensor seed = g.input("seed", {}, DType::I64);
  Tensor offset = g.input("offset", {}, DType::I64);
  EXPECT_THAT(errorOf([&] { rand(seed, offset, {4}, 1, 1); }),
              HasSubstr("low 1 must be below high 1"));
  EXPECT_THAT(errorOf([&] { randn(seed, offset, {4}, 0, 0); }),
              HasSubstr("stddev must be positive, got 0"));
  EXPECT_THAT(errorOf([&] { randint(seed, offset, {4}, 5, 2); }),
              HasSubstr("low 5 must be below high 2"));
  EXPECT_THAT(errorOf([&] { randn(seed, offset, {4}, 0, 1, DType::I64); }),
              HasSubstr("needs a float dtype, got i64"));
}

struct TwoDropouts : Module {
  Linear fc{this, "fc", 8, 8};
  Dropout first{this, "drop1", 0.25};
  Dropout second{this, "drop2", 0.5};
  TwoDropouts() : Module("TwoDropouts") {}
  Tensor operator()(const Tensor &x) const { return second(fc(first(x))); }
};

TEST(DSL, DropoutDrawsDisjointRandomNumbersOnlyWhenTraining) {
  TwoDropouts model;
  Program program("dropouts", model);
  Graph &forward = program.addEntry("forward");
  forward.output("y", model(forward.input("x", {4, 8})));
  std::vector<std::string> forwardInputs;
  for (const Graph::Argument &a : forward.arguments())
    if (a.kind == ArgKind::Input)
      forwardInputs.push_back(a.name);
  EXPECT_EQ(forwardInputs, std::vector<std::string>{"x"});

  Graph &loss = program.addEntry("loss");
  loss.setTraining(true);
  Tensor y = model(loss.input("x", {4, 8}));
  loss.output("loss", mean(y * y, {0, 1}));
  std::vector<std::string> lossInputs;
  for (const Graph::Argument &a : loss.arguments())
    if (a.kind == ArgKind::Input)
      lossInputs.push_back(a.name);
  EXPECT_EQ(lossInputs,
            (std::vector<std::string>{"x", "rng_seed", "rng_offset"}));
  std::string ir = program.emitGraphIR();
  // Two draws of 32 numbers each: the second starts 32 past the first.
  size_t first = ir.find("graph.random_uniform");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(ir.find("graph.random_uniform", first + 1), std::string::npos);
  EXPECT_THAT(ir, HasSubstr("dense<32> : tensor<i64>"));
  EXPECT_THAT(ir, HasSubstr("graph.compare ge"));

  EXPECT_THAT(errorOf([] {
                struct Bad : Module {
                  Dropout drop{this, "drop", 1.5};
                  Bad() : Module("Bad") {}
                } bad;
              }),
              HasSubstr("module 'drop' (Dropout): p=1.5 must be between 0 and 1"));
}

TEST(DSL, TrainsNamesSubmodulesAndDifferentiateInputsFloatInputs) {
  struct Pair : Module {
    Module g{this, "g", "Generator"};
    Linear gFc{&g, "fc", 4, 4};
    Module d{this, "d", "Discriminator"};
    Linear dFc{&d, "fc", 4, 1};
    Module empty{this, "empty", "Empty"};
    Pair() : Module("Pair") {}
  } model;
  Program program("pair", model);
  Graph &lossD = program.addEntry("loss_d");
  Tensor x = lossD.input("x", {2, 4});
  lossD.trains(model.d);
  lossD.output("loss", mean(model.dFc(model.gFc(x)), {0, 1}));
  EXPECT_EQ(lossD.trainedParts(), std::vector<std::string>{"d"});
  EXPECT_THAT(program.emitGraphIR(), HasSubstr("graph.trains = [\"d\"]"));
  EXPECT_THAT(errorOf([&] { lossD.trains(model.d); }),
              HasSubstr("'d' is already trained here"));
  EXPECT_THAT(errorOf([&] { lossD.trains(model.empty); }),
              HasSubstr("module 'empty' has no parameter in this graph"));
  EXPECT_THAT(errorOf([&] { lossD.trains(model); }),
              HasSubstr("name a submodule"));

  Graph &energy = program.addEntry("energy");
  Tensor e = energy.input("x", {2, 4});
  Tensor labels = energy.input("y", {2}, DType::I64);
  (void)labels;
  energy.output("energy", sum(model.dFc(e), {0, 1}));
  EXPECT_THAT(errorOf([&] { energy.differentiateInputs({"z"}); }),
              HasSubstr("'z' is not an input of this graph"));
  EXPECT_THAT(errorOf([&] { energy.differentiateInputs({"y"}); }),
              HasSubstr("'y' is an integer input"));
  energy.differentiateInputs({"x"});
  EXPECT_THAT(program.emitGraphIR(), HasSubstr("graph.wrt = [\"x\"]"));
}

namespace {

TEST(DSL, SequentialNamesChildrenAsPyTorch) {
  struct Net : Module {
    Sequential body{this, "body"};
    Net() : Module("Net") {
      body.append<Conv2d>(Conv2dOptions(1, 4, 3).padding(1).bias(false));
      body.append<BatchNorm2d>(BatchNorm2dOptions(4).eps(1e-3));
      body.append<ReLU>();
      body.add<Flatten>("flatten");
      body.add<Linear>("fc", LinearOptions(4 * 5 * 5, 2).bias(false));
    }
  } net;
  std::vector<std::string> names;
  for (const auto &p : net.namedParameters())
    names.push_back(p.path);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "body.0.weight", "body.1.weight", "body.1.bias",
                       "body.1.running_mean", "body.1.running_var",
                       "body.1.num_batches_tracked", "body.fc.weight"}));
  EXPECT_EQ(net.body.size(), 5u);
  EXPECT_EQ(net.body[2].typeName(), "ReLU");
  Graph g("forward", net);
  EXPECT_EQ(net.body(g.input("x", {3, 1, 5, 5})).shape(), (Shape{3, 2}));
  EXPECT_THAT(errorOf([&] { net.body.add<ReLU>("fc"); }),
              HasSubstr("module 'body' (Sequential) already has a child named "
                        "'fc' (a Linear)"));
}

TEST(DSL, OptionsAreCheckedWhereTheLayerIsDeclared) {
  // The user's file and line (GCC gives a member initializer's default
  // arguments the line of the constructor that runs it).
  struct BadGroups : Module {
    Conv2d conv{this, "conv", Conv2dOptions(6, 4, 3).groups(4)};
    BadGroups() : Module("BadGroups") {}
  };
  EXPECT_THAT(errorOf([] { BadGroups bad; }),
              AllOf(HasSubstr("tests/unit/DSLTest.cpp:"),
                    HasSubstr("module 'conv' (Conv2d): in_channels=6 and "
                              "out_channels=4 must be divisible by groups=4")));
  struct BadStride : Module {
    Conv2d conv{this, "conv", Conv2dOptions(1, 4, 3).stride(0)};
    BadStride() : Module("BadStride") {}
  };
  EXPECT_THAT(errorOf([] { BadStride bad; }),
              HasSubstr("module 'conv' (Conv2d): stride=0 must be positive"));
  struct BadLstm : Module {
    LSTM lstm{this, "lstm", LSTMOptions(4, 3).num_layers(0)};
    BadLstm() : Module("BadLstm") {}
  };
  EXPECT_THAT(errorOf([] { BadLstm bad; }),
              HasSubstr("module 'lstm' (LSTM): num_layers=0 must be positive"));
  struct BadNorm : Module {
    LayerNorm ln{this, "ln", LayerNormOptions(8).eps(0)};
    BadNorm() : Module("BadNorm") {}
  };
  EXPECT_THAT(errorOf([] { BadNorm bad; }),
              HasSubstr("module 'ln' (LayerNorm): eps=0 must be positive"));
}

TEST(DSL, RecurrentLayersAreTimeMajorUnlessBatchFirst) {
  struct Net : Module {
    GRU timeMajor{this, "a", GRUOptions(4, 3).bidirectional(true)};
    LSTM batchFirst{this, "b", LSTMOptions(4, 3).batch_first(true)};
    Net() : Module("Net") {}
  } net;
  Graph g("forward", net);
  Tensor x = g.input("x", {7, 2, 4});
  EXPECT_EQ(net.timeMajor(x).output.shape(), (Shape{7, 2, 6}));
  EXPECT_EQ(net.timeMajor(x).hidden.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(net.batchFirst(x).output.shape(), (Shape{7, 2, 3}));
  EXPECT_EQ(net.batchFirst(x).hidden.shape(), (Shape{1, 7, 3}));
  EXPECT_THAT(errorOf([&] { net.timeMajor(g.input("y", {7, 2, 5})); }),
              HasSubstr("must be [T, B, input_size] (or [B, T, input_size] "
                        "with batch_first) with input_size=4"));
}

TEST(DSL, ShapeOpsFollowTorch) {
  Graph g("forward");
  Tensor x = g.input("x", {2, 3, 4, 5});
  EXPECT_EQ(flatten(x).shape(), (Shape{120}));
  EXPECT_EQ(flatten(x, 1, 2).shape(), (Shape{2, 12, 5}));
  EXPECT_EQ(transpose(x, 1, -1).shape(), (Shape{2, 5, 4, 3}));
  EXPECT_EQ(unsqueeze(x, -1).shape(), (Shape{2, 3, 4, 5, 1}));
  // (shape() refers into the graph: copy it before adding nodes)
  Shape original = x.shape();
  EXPECT_EQ(squeeze(unsqueeze(x, 0), 0).shape(), original);
  EXPECT_EQ(slice(x, 3, 1, -1, 2).shape(), (Shape{2, 3, 4, 2}));
  EXPECT_EQ(slice(x, 1, -100, 100).shape(), original);
  EXPECT_EQ(narrow(x, 2, 1, 2).shape(), (Shape{2, 3, 2, 5}));
  EXPECT_EQ(matmul(x, g.input("w", {5, 6})).shape(), (Shape{2, 3, 4, 6}));
  EXPECT_EQ(matmul(g.input("a", {3, 1, 4, 5}), g.input("b", {2, 5, 7})).shape(),
            (Shape{3, 2, 4, 7}));
  EXPECT_EQ(adaptive_avg_pool2d(g.input("i", {1, 2, 8, 6}), {4, 3}).shape(),
            (Shape{1, 2, 4, 3}));
  EXPECT_EQ(one_hot(g.input("t", {4}, DType::I64), 3).shape(), (Shape{4, 3}));
  EXPECT_THAT(errorOf([&] { squeeze(x, 1); }),
              HasSubstr("dimension 1 of [2, 3, 4, 5] is not a dimension of 1"));
  EXPECT_THAT(errorOf([&] { narrow(x, 3, 4, 2); }),
              HasSubstr("2 elements from 4 along dimension 3 are not inside"));
  EXPECT_THAT(errorOf([&] { adaptive_avg_pool2d(x, {3, 3}); }),
              HasSubstr("output size [3, 3] must divide the input's 4x5"));
  EXPECT_THAT(errorOf([&] { transpose(x, 0, 4); }),
              HasSubstr("dimensions 0 and 4 are out of range"));
  EXPECT_THAT(errorOf([&] { flatten(x, 2, 1); }),
              HasSubstr("dimensions 2..1 are not a range of [2, 3, 4, 5]"));
}

TEST(DSL, LossOptionsAreChecked) {
  Graph g("loss");
  Tensor logits = g.input("logits", {4, 3});
  Tensor labels = g.input("labels", {4}, DType::I64);
  EXPECT_EQ(cross_entropy(logits, labels,
                          CrossEntropyOptions(kNone).ignore_index(-1))
                .shape(),
            (Shape{4}));
  EXPECT_EQ(kl_div(logits, logits, KLDivOptions(KLDivReduction::None)).shape(),
            (Shape{4, 3}));
  EXPECT_THAT(errorOf([&] {
                cross_entropy(logits, labels,
                              CrossEntropyOptions().label_smoothing(1.5));
              }),
              HasSubstr("label smoothing must be in [0, 1], got 1.5"));
  EXPECT_THAT(errorOf([&] { smooth_l1_loss(logits, logits, kMean, 0); }),
              HasSubstr("beta must be positive, got 0"));
  EXPECT_THAT(errorOf([&] { l1_loss(logits, g.input("t", {4})); }),
              HasSubstr("must have the same shape"));
  EXPECT_THAT(errorOf([&] { nll_loss(logits, g.input("f", {4})); }),
              HasSubstr("labels must be an integer tensor"));
}

TEST(DSL, InitFunctionsSetPyTorchsDistributions) {
  struct Net : Module {
    Conv2d conv{this, "conv", Conv2dOptions(3, 8, 3)};
    Linear fc{this, "fc", 20, 10};
    Param scale = register_parameter("scale", {4}, Init::ones());
    Net() : Module("Net") {
      init::kaiming_normal_(conv.weight, 0, kFanOut, kReLU);
      init::xavier_uniform_(fc.weight);
      init::constant_(fc.bias, 0.5);
      init::uniform_(conv.bias, -0.1, 0.3);
      init::normal_(scale, 1, 0.02);
    }
  } net;
  Program program("net", net);
  Graph &forward = program.addEntry("forward");
  forward.output("y", net.fc(forward.input("x", {2, 20})));
  std::string ir = program.emitGraphIR();
  // 1/sqrt(8*9) * sqrt(2); sqrt(6 / 30); constants and ranges verbatim.
  EXPECT_THAT(ir, HasSubstr("graph.init = \"normal:0.16666666666666669\", "
                            "graph.param = \"conv.weight\""));
  EXPECT_THAT(ir, HasSubstr("graph.init = \"uniform:0.44721359549995793\", "
                            "graph.param = \"fc.weight\""));
  EXPECT_THAT(ir, HasSubstr("graph.init = \"constant:0.5\", graph.param = "
                            "\"fc.bias\""));
  EXPECT_THAT(ir, HasSubstr("graph.init = \"uniform:-0.10000000000000001:"
                            "0.29999999999999999\", graph.param = \"conv.bias\""));
  EXPECT_THAT(ir, HasSubstr("graph.init = \"normal:1:0.02\", graph.param = "
                            "\"scale\""));
  EXPECT_THAT(errorOf([&] { init::xavier_normal_(net.scale); }),
              HasSubstr("init of 'scale' [4]: fan in and fan out need a "
                        "parameter of rank 2 or more"));
  EXPECT_THAT(errorOf([&] { init::normal_(net.scale, 0, -1); }),
              HasSubstr("normal_ needs std >= 0, got -1"));
  EXPECT_THAT(errorOf([&] { init::uniform_(net.scale, 1, 0); }),
              HasSubstr("uniform_ needs a <= b"));
}

} // namespace

namespace {

TEST(DSL, TensorMethodsAreTheOps) {
  Graph g("forward");
  Tensor x = g.input("x", {2, 3, 4});
  Tensor w = g.input("w", {5, 12});
  EXPECT_EQ(x.flatten(1).matmul(w.t()).shape(), (Shape{2, 5}));
  EXPECT_EQ(x.view({6, 4}).shape(), (Shape{6, 4}));
  EXPECT_EQ(x.transpose(0, 2).permute({1, 0, 2}).shape(), (Shape{3, 4, 2}));
  EXPECT_EQ(x.unsqueeze(1).squeeze(1).expand({5, 2, 3, 4}).shape(),
            (Shape{5, 2, 3, 4}));
  EXPECT_EQ(x.sum({1}).mean({0}, true).shape(), (Shape{1, 4}));
  EXPECT_EQ(x.log_softmax(-1).relu().exp().amax({2}).shape(), (Shape{2, 3}));
  EXPECT_EQ(x.argmax(2).dtype(), DType::I64);
  EXPECT_EQ(x.to(DType::F64).dtype(), DType::F64);
  EXPECT_THAT(errorOf([&] { g.input("v", {3}).t(); }),
              HasSubstr("t: needs a tensor of rank 2 or more, got [3]"));
}

} // namespace
