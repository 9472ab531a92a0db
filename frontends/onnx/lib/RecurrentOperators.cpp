//===- RecurrentOperators.cpp - ONNX LSTM, GRU and RNN as DSL ops ---------===//
//
// ONNX's recurrent layers onto Kiln's recurrence op, whose cells are
// PyTorch's: the weights' gate blocks reordered, one direction at a time.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/lib/OperatorSupport.h"

#include <fmt/format.h>

namespace kiln::onnx {
namespace {

/// Rows of `w` (dim 0: G blocks of `h`) in another gate order: block k of
/// the result is block order[k] of `w`.
Tensor reorderGates(const Tensor &w, const std::vector<int64_t> &order,
                    int64_t h) {
  if (order.size() == 1)
    return w;
  std::vector<Tensor> blocks;
  for (int64_t k : order) {
    Shape lo(w.rank(), 0), hi = w.shape();
    lo[0] = k * h;
    hi[0] = (k + 1) * h;
    blocks.push_back(strided_slice(w, lo, hi));
  }
  return cat(blocks, 0);
}

/// Slab `d` of `t` along dim 0, without that dim.
Tensor direction(const Tensor &t, int64_t d) {
  Shape lo(t.rank(), 0), hi = t.shape();
  lo[0] = d;
  hi[0] = d + 1;
  Shape rest(t.shape().begin() + 1, t.shape().end());
  return reshape(strided_slice(t, lo, hi), rest);
}

} // namespace

/// LSTM, GRU and RNN onto Kiln's recurrence (PyTorch's cells): the input
/// projection is one matmul per direction, the loop over time one
/// graph.recurrence.
void convertRecurrent(Ctx &c, Cell cell) {
  int64_t gates = cell == Cell::Lstm ? 4 : cell == Cell::Gru ? 3 : 1;
  // ONNX's gate order -> PyTorch's: LSTM i,o,f,c -> i,f,c,o; GRU z,r,h ->
  // r,z,h.
  std::vector<int64_t> order =
      cell == Cell::Lstm  ? std::vector<int64_t>{0, 2, 3, 1}
      : cell == Cell::Gru ? std::vector<int64_t>{1, 0, 2}
                          : std::vector<int64_t>{0};
  std::vector<std::string> defaults =
      cell == Cell::Lstm  ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
      : cell == Cell::Gru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                          : std::vector<std::string>{"Tanh"};
  std::string dir = c.attrString("direction", "forward");
  if (dir != "forward" && dir != "reverse" && dir != "bidirectional")
    c.fail("direction must be forward, reverse or bidirectional");
  int64_t dirs = dir == "bidirectional" ? 2 : 1;
  if (c.hasAttr("activations")) {
    for (const auto &attr : c.node.attribute())
      if (attr.name() == "activations")
        for (int k = 0; k < attr.strings_size(); ++k)
          if (attr.strings(k) != defaults[k % defaults.size()])
            c.unsupported("activation " + attr.strings(k));
  }
  c.attrFloats("activation_alpha");
  c.attrFloats("activation_beta");
  if (c.hasAttr("clip"))
    c.unsupported("clip");
  if (c.attrInt("input_forget", 0))
    c.unsupported("input_forget=1");
  if (cell == Cell::Gru && !c.attrInt("linear_before_reset", 0))
    c.unsupported("linear_before_reset=0 (Kiln's GRU cell is PyTorch's, "
                  "linear_before_reset=1)");
  if (cell == Cell::Lstm && c.has(7))
    c.unsupported("peephole weights P");
  int64_t layout = c.attrInt("layout", 0);
  Tensor x = c.tensor(0);
  if (x.rank() != 3)
    c.fail("X must have rank 3");
  if (layout == 0)
    x = permute(x, {1, 0, 2}); // [B, T, I]
  int64_t batch = x.size(0), steps = x.size(1), inputSize = x.size(2);
  Tensor w = c.tensor(1), r = c.tensor(2);
  if (w.rank() != 3 || r.rank() != 3)
    c.fail("W and R must have rank 3");
  int64_t h = c.attrInt("hidden_size", r.size(-1));
  if (h < 1)
    c.fail("hidden_size must be positive");
  if (w.shape() != Shape{dirs, gates * h, inputSize} ||
      r.shape() != Shape{dirs, gates * h, h})
    c.fail(fmt::format("W [{}] and R [{}] do not match {} direction(s), "
                       "hidden_size {} and input size {}",
                       fmt::join(w.shape(), "x"), fmt::join(r.shape(), "x"),
                       dirs, h, inputSize));
  if (const Constant *lens = c.constant(4)) {
    for (int64_t v : lens->ints())
      if (v != steps)
        c.unsupported("sequence_lens shorter than the sequence");
  } else if (c.has(4)) {
    c.unsupported("sequence_lens computed at run time");
  }
  auto expect = [&](size_t input, const char *what, const Shape &shape) {
    if (c.has(input) && c.shape(input) != shape)
      c.fail(fmt::format("{} is [{}], expected [{}]", what,
                         fmt::join(c.shape(input), "x"),
                         fmt::join(shape, "x")));
  };
  // Initial states are [D, B, H] (layout 0) or [B, D, H] (layout 1).
  Shape stateShape =
      layout == 0 ? Shape{dirs, batch, h} : Shape{batch, dirs, h};
  expect(3, "B", {dirs, 2 * gates * h});
  expect(5, "initial_h", stateShape);
  if (cell == Cell::Lstm)
    expect(6, "initial_c", stateShape);
  auto initialState = [&](size_t input) {
    Tensor t = c.tensor(input);
    return layout == 0 ? t : permute(t, {1, 0, 2});
  };
  std::vector<Tensor> ys, hs, cs;
  for (int64_t d = 0; d < dirs; ++d) {
    bool reverse = dir == "reverse" || d == 1;
    Tensor wd = reorderGates(direction(w, d), order, h);
    Tensor rd = reorderGates(direction(r, d), order, h);
    Tensor wb, rb;
    if (c.has(3)) {
      Tensor bd = direction(c.tensor(3), d); // [2 G H]
      wb = reorderGates(strided_slice(bd, {0}, {gates * h}), order, h);
      rb = reorderGates(strided_slice(bd, {gates * h}, {2 * gates * h}), order,
                        h);
    } else {
      rb = broadcast_to(scalar(x, 0), {gates * h});
    }
    Tensor gx = matmul(reshape(x, {batch * steps, inputSize}), wd, false, true);
    if (wb.valid())
      gx = gx + wb;
    gx = reshape(gx, {batch, steps, gates * h});
    Tensor state;
    if (c.has(5) || (cell == Cell::Lstm && c.has(6))) {
      Tensor h0 = c.has(5) ? direction(initialState(5), d)
                           : broadcast_to(scalar(x, 0), {batch, h});
      state = h0;
      if (cell == Cell::Lstm) {
        Tensor c0 = c.has(6) ? direction(initialState(6), d)
                             : broadcast_to(scalar(x, 0), {batch, h});
        state = cat({h0, c0}, 1);
      }
    }
    RecurrenceResult res = recurrence(cell, gx, rd, rb, state, reverse);
    ys.push_back(res.hidden); // [B, T, H]
    int64_t last = reverse ? 0 : steps - 1;
    hs.push_back(
        reshape(strided_slice(res.hidden, {0, last, 0}, {batch, last + 1, h}),
                {1, batch, h}));
    if (cell == Cell::Lstm) {
      int64_t width = res.saved.size(2);
      cs.push_back(reshape(strided_slice(res.saved, {0, last, width - h},
                                         {batch, last + 1, width}),
                           {1, batch, h}));
    }
  }
  // Y: [T, D, B, H] (layout 0) or [B, T, D, H] (layout 1).
  std::vector<Tensor> parts;
  for (Tensor &y : ys)
    parts.push_back(layout == 0
                        ? reshape(permute(y, {1, 0, 2}), {steps, 1, batch, h})
                        : reshape(y, {batch, steps, 1, h}));
  auto joined = [](std::vector<Tensor> &v, int64_t axis) {
    return v.size() == 1 ? v[0] : cat(v, axis);
  };
  if (c.wantsOutput(0))
    c.setOutput(0, joined(parts, layout == 0 ? 1 : 2));
  auto finalState = [&](std::vector<Tensor> &v) {
    Tensor t = joined(v, 0); // [D, B, H]
    return layout == 0 ? t : permute(t, {1, 0, 2});
  };
  if (c.wantsOutput(1))
    c.setOutput(1, finalState(hs));
  if (cell == Cell::Lstm && c.wantsOutput(2))
    c.setOutput(2, finalState(cs));
}

} // namespace kiln::onnx
