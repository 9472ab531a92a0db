//===- Recurrence.cpp - Recurrences as loops of linalg ops ----------------===//
//
// Without library calls (the GPU, whose kernels cannot call the CPU's
// runtime), graph.recurrence and its gradient become an scf.for over the
// steps whose body is linalg on tensors: one matrix product and one
// elementwise pass over the gates per step, as the runtime's loop
// (runtime/cpu/Recurrence.cpp) computes them, so both give the same values
// to rounding. Layouts are batch-first: gates [B, T, G*H], hidden [B, T, H],
// saved [B, T, W*H].
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/GraphToLinalg/Common.h"
#include "compiler/Conversion/GraphToLinalg/Lowerings.h"

#include "dialects/Graph/IR/GraphDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace kiln::graph;

namespace kiln::lowering {
namespace {

enum Cell : int64_t { kTanh = 0, kLstm = 1, kGru = 2 };

/// A recurrence's sizes.
struct Dims {
  int64_t batch, steps, hidden, cell;
  bool reverse;
  int64_t gates() const { return cell == kLstm ? 4 : cell == kGru ? 3 : 1; }
  int64_t savedWidth() const {
    return cell == kLstm ? 5 : cell == kGru ? 4 : 1;
  }
  int64_t stateWidth() const { return cell == kLstm ? 2 : 1; }
};

OpFoldResult idx(OpBuilder &b, int64_t value) {
  return b.getIndexAttr(value);
}

/// The unit strides of a slice of `rank` dims.
SmallVector<OpFoldResult> unitStrides(OpBuilder &b, size_t rank) {
  return SmallVector<OpFoldResult>(rank, idx(b, 1));
}

/// The block of x at `offsets` of `sizes`, as a tensor of `shape` (the
/// sizes without the unit dims `shape` drops).
Value extract(OpBuilder &b, Location loc, Value x,
              ArrayRef<OpFoldResult> offsets, ArrayRef<int64_t> sizes,
              ArrayRef<int64_t> shape) {
  SmallVector<OpFoldResult> sizeAttrs;
  for (int64_t size : sizes)
    sizeAttrs.push_back(idx(b, size));
  return b.create<tensor::ExtractSliceOp>(
      loc, RankedTensorType::get(shape, elementTypeOf(x)), x, offsets,
      sizeAttrs, unitStrides(b, sizes.size()));
}

/// `piece` written into x at `offsets` as a block of `sizes`.
Value insert(OpBuilder &b, Location loc, Value piece, Value x,
             ArrayRef<OpFoldResult> offsets, ArrayRef<int64_t> sizes) {
  SmallVector<OpFoldResult> sizeAttrs;
  for (int64_t size : sizes)
    sizeAttrs.push_back(idx(b, size));
  return b.create<tensor::InsertSliceOp>(loc, piece, x, offsets, sizeAttrs,
                                         unitStrides(b, sizes.size()));
}

/// x[:, t, offset : offset + width] of x [B, T, N], as [B, width].
Value stepSlice(OpBuilder &b, Location loc, Value x, OpFoldResult t,
                int64_t offset, int64_t width) {
  int64_t rows = shapeOf(x)[0];
  return extract(b, loc, x, {idx(b, 0), t, idx(b, offset)}, {rows, 1, width},
                 {rows, width});
}

/// `piece` [B, width] written at x[:, t, offset...] of x [B, T, N].
Value stepInsert(OpBuilder &b, Location loc, Value piece, Value x,
                 OpFoldResult t, int64_t offset) {
  ArrayRef<int64_t> p = shapeOf(piece);
  return insert(b, loc, piece, x, {idx(b, 0), t, idx(b, offset)},
                {p[0], 1, p[1]});
}

/// x[:, offset : offset + width] of x [B, N].
Value columns(OpBuilder &b, Location loc, Value x, int64_t offset,
              int64_t width) {
  int64_t rows = shapeOf(x)[0];
  return extract(b, loc, x, {idx(b, 0), idx(b, offset)}, {rows, width},
                 {rows, width});
}

/// `piece` [B, width] written at x[:, offset...] of x [B, N].
Value insertColumns(OpBuilder &b, Location loc, Value piece, Value x,
                    int64_t offset) {
  return insert(b, loc, piece, x, {idx(b, 0), idx(b, offset)},
                shapeOf(piece));
}

/// init[m, n] + sum_k lhs[m, k] rhs(k, n), where rhs(k, n) is rhs[n, k]
/// with `transposeRhs`, else rhs[k, n].
Value product(OpBuilder &b, Location loc, Value lhs, Value rhs, Value init,
              bool transposeRhs) {
  MLIRContext *ctx = b.getContext();
  AffineExpr m = getAffineDimExpr(0, ctx), n = getAffineDimExpr(1, ctx),
             k = getAffineDimExpr(2, ctx);
  auto map = [&](ArrayRef<AffineExpr> e) { return AffineMap::get(3, 0, e, ctx); };
  return generic(b, loc, 3, {lhs, rhs},
                 {map({m, k}), transposeRhs ? map({n, k}) : map({k, n})}, init,
                 map({m, n}), {2},
                 [](OpBuilder &nb, Location l, ValueRange a) {
                   return SmallVector<Value>{nb.create<arith::AddFOp>(
                       l, nb.create<arith::MulFOp>(l, a[0], a[1]), a[2])};
                 })
      .front();
}

/// The identity maps of `count` operands of rank 2.
SmallVector<AffineMap> identities(MLIRContext *ctx, size_t count) {
  return SmallVector<AffineMap>(count, AffineMap::getMultiDimIdentityMap(2, ctx));
}

/// Scalar helpers for the gate passes.
struct Math {
  OpBuilder &b;
  Location loc;
  Type t;
  Value c(double v) { return scalar(b, loc, t, v); }
  Value add(Value x, Value y) { return b.create<arith::AddFOp>(loc, x, y); }
  Value sub(Value x, Value y) { return b.create<arith::SubFOp>(loc, x, y); }
  Value mul(Value x, Value y) { return b.create<arith::MulFOp>(loc, x, y); }
  Value sigmoid(Value x) {
    Value e = b.create<math::ExpOp>(loc, b.create<arith::NegFOp>(loc, x));
    return b.create<arith::DivFOp>(loc, c(1), add(c(1), e));
  }
  Value tanh(Value x) { return b.create<math::TanhOp>(loc, x); }
  /// 1 - x * x, and x * (1 - x).
  Value oneMinusSquare(Value x) { return sub(c(1), mul(x, x)); }
  Value logisticSlope(Value x) { return mul(x, sub(c(1), x)); }
};

/// The rows' initial hidden and cell states: from `state` [B, S*H], else
/// zero.
std::pair<Value, Value> initialState(OpBuilder &b, Location loc, Value state,
                                     const Dims &d, Type t) {
  Value zeros = filled(b, loc, {d.batch, d.hidden}, scalar(b, loc, t, 0));
  if (!state)
    return {zeros, zeros};
  Value h = columns(b, loc, state, 0, d.hidden);
  Value c = d.cell == kLstm ? columns(b, loc, state, d.hidden, d.hidden) : zeros;
  return {h, c};
}

/// The step at iteration `s` of the loop: s, or T - 1 - s in reverse.
Value position(OpBuilder &b, Location loc, Value s, const Dims &d) {
  if (!d.reverse)
    return s;
  return b.create<arith::SubIOp>(
      loc, b.create<arith::ConstantIndexOp>(loc, d.steps - 1), s);
}

/// One forward step at position `at`: from the previous state hPrev and
/// cPrev (lstm), writes the step's h into `hidden` and what the gradient
/// keeps into `saved`; returns both.
std::pair<Value, Value> forwardStep(OpBuilder &b, Location loc, const Dims &d,
                                    Type t, Value gates, Value weight,
                                    Value biasRows, OpFoldResult at,
                                    Value hPrev, Value cPrev, Value hidden,
                                    Value saved) {
  int64_t B = d.batch, H = d.hidden, G = d.gates(), W = d.savedWidth();
  MLIRContext *ctx = b.getContext();
  // h W_hh^T + b_hh.
  Value projected = product(b, loc, hPrev, weight, biasRows, true);
  SmallVector<Value> inputs;
  for (int64_t g = 0; g < G; ++g)
    inputs.push_back(stepSlice(b, loc, gates, at, g * H, H));
  for (int64_t g = 0; g < G; ++g)
    inputs.push_back(columns(b, loc, projected, g * H, H));
  inputs.append({hPrev, cPrev});
  // Outputs: the new h, then what the gradient keeps (W pieces; lstm's
  // last is the new c).
  SmallVector<Value> inits;
  for (int64_t i = 0; i < 1 + W; ++i)
    inits.push_back(empty(b, loc, {B, H}, t));
  SmallVector<Value> out = generic(
      b, loc, 2, inputs, identities(ctx, inputs.size()), inits,
      identities(ctx, inits.size()), {},
      [&](OpBuilder &eb, Location el, ValueRange a) {
        Math m{eb, el, t};
        auto gx = [&](int64_t g) { return a[g]; };
        auto gh = [&](int64_t g) { return a[G + g]; };
        Value hOld = a[2 * G], cOld = a[2 * G + 1];
        SmallVector<Value> y;
        if (d.cell == kLstm) {
          Value i = m.sigmoid(m.add(gx(0), gh(0)));
          Value f = m.sigmoid(m.add(gx(1), gh(1)));
          Value g = m.tanh(m.add(gx(2), gh(2)));
          Value o = m.sigmoid(m.add(gx(3), gh(3)));
          Value cn = m.add(m.mul(f, cOld), m.mul(i, g));
          y = {m.mul(o, m.tanh(cn)), i, f, g, o, cn};
        } else if (d.cell == kGru) {
          Value r = m.sigmoid(m.add(gx(0), gh(0)));
          Value z = m.sigmoid(m.add(gx(1), gh(1)));
          Value hn = gh(2);
          Value n = m.tanh(m.add(gx(2), m.mul(r, hn)));
          Value next = m.add(m.mul(m.sub(m.c(1), z), n), m.mul(z, hOld));
          y = {next, r, z, n, hn};
        } else {
          Value next = m.tanh(m.add(gx(0), gh(0)));
          y = {next, next};
        }
        return y;
      });
  hidden = stepInsert(b, loc, out[0], hidden, at, 0);
  for (int64_t w = 0; w < W; ++w)
    saved = stepInsert(b, loc, out[1 + w], saved, at, w * H);
  return {hidden, saved};
}

SmallVector<Value> recurrenceLoop(OpBuilder &b, Location loc, RecurrenceOp op) {
  Value gates = op.getGates(), weight = op.getWeight(), bias = op.getBias();
  ArrayRef<int64_t> hs = shapeOf(op.getHidden());
  Dims d{hs[0], hs[1], hs[2], static_cast<int64_t>(op.getCell()),
         op.getReverse()};
  Type t = elementTypeOf(gates);
  int64_t B = d.batch, H = d.hidden, G = d.gates(), W = d.savedWidth();
  auto [h0, c0] = initialState(b, loc, op.getState(), d, t);
  Value hidden = empty(b, loc, {B, d.steps, H}, t);
  Value saved = empty(b, loc, {B, d.steps, W * H}, t);
  // bias broadcast over the rows: every step's product starts from it.
  Value biasRows = elementwise(b, loc, {B, G * H}, t, {bias},
                               [](OpBuilder &, Location, ValueRange a) {
                                 return a[0];
                               });
  if (d.steps == 0)
    return {hidden, saved};
  // The first step from the initial state; each later one reads the state
  // the step before wrote (h in hidden, lstm's c in saved), so the loop
  // carries only hidden and saved, updated in place.
  int64_t first = d.reverse ? d.steps - 1 : 0;
  std::tie(hidden, saved) =
      forwardStep(b, loc, d, t, gates, weight, biasRows, idx(b, first), h0,
                  c0, hidden, saved);
  if (d.steps == 1)
    return {hidden, saved};
  Value one = b.create<arith::ConstantIndexOp>(loc, 1);
  Value steps = b.create<arith::ConstantIndexOp>(loc, d.steps);
  auto loop = b.create<scf::ForOp>(
      loc, one, steps, one, ValueRange{hidden, saved},
      [&](OpBuilder &nb, Location l, Value s, ValueRange carried) {
        Value at = position(nb, l, s, d);
        Value before = position(nb, l, nb.create<arith::SubIOp>(l, s, one), d);
        Value hPrev = stepSlice(nb, l, carried[0], before, 0, H);
        Value cPrev = d.cell == kLstm
                          ? stepSlice(nb, l, carried[1], before, 4 * H, H)
                          : hPrev;
        auto [nextHidden, nextSaved] =
            forwardStep(nb, l, d, t, gates, weight, biasRows, at, hPrev,
                        cPrev, carried[0], carried[1]);
        nb.create<scf::YieldOp>(l, ValueRange{nextHidden, nextSaved});
      });
  return {loop.getResult(0), loop.getResult(1)};
}

/// `all` [B, T, H] shifted by one step in the order the steps run, `first`
/// [B, H] in the first step's place: the state each step started from.
Value previousSteps(OpBuilder &b, Location loc, Value all, Value first,
                    const Dims &d) {
  Value result = empty(b, loc, shapeOf(all), elementTypeOf(all));
  int64_t firstStep = d.reverse ? d.steps - 1 : 0;
  result = stepInsert(b, loc, first, result, idx(b, firstStep), 0);
  if (d.steps == 1)
    return result;
  ArrayRef<int64_t> s = shapeOf(all);
  int64_t from = d.reverse ? 1 : 0, to = d.reverse ? 0 : 1;
  SmallVector<int64_t> block{s[0], s[1] - 1, s[2]};
  Value moved =
      extract(b, loc, all, {idx(b, 0), idx(b, from), idx(b, 0)}, block, block);
  return insert(b, loc, moved, result, {idx(b, 0), idx(b, to), idx(b, 0)},
                block);
}

SmallVector<Value> recurrenceGradLoop(OpBuilder &b, Location loc,
                                      RecurrenceGradOp op) {
  Value weight = op.getWeight(), state = op.getState(),
        hidden = op.getHidden(), saved = op.getSaved(),
        hiddenGrad = op.getHiddenGrad(), savedGrad = op.getSavedGrad();
  ArrayRef<int64_t> hs = shapeOf(hidden);
  Dims d{hs[0], hs[1], hs[2], static_cast<int64_t>(op.getCell()),
         op.getReverse()};
  Type t = elementTypeOf(weight);
  int64_t B = d.batch, T = d.steps, H = d.hidden, G = d.gates(),
          W = d.savedWidth();
  MLIRContext *ctx = b.getContext();
  if (T == 0) {
    Value zero = scalar(b, loc, t, 0);
    return {empty(b, loc, {B, 0, G * H}, t), filled(b, loc, {G * H, H}, zero),
            filled(b, loc, {G * H}, zero),
            filled(b, loc, {B, d.stateWidth() * H}, zero)};
  }
  auto [h0, c0] = initialState(b, loc, state, d, t);
  // The state every step started from: h for all cells (the weight's
  // gradient reads it too), c for lstm (saved's last piece).
  Value hPrevAll = previousSteps(b, loc, hidden, h0, d);
  Value cPrevAll = hPrevAll;
  if (d.cell == kLstm) {
    Value cAll = extract(b, loc, saved, {idx(b, 0), idx(b, 0), idx(b, 4 * H)},
                         {B, T, H}, {B, T, H});
    cPrevAll = previousSteps(b, loc, cAll, c0, d);
  }
  Value zeros = filled(b, loc, {B, H}, scalar(b, loc, t, 0));
  Value gatesGrad = empty(b, loc, {B, T, G * H}, t);
  // The gradient of each step's h W_hh^T + b_hh: the gates' own, except for
  // gru, whose n gate sees r (W_hn h + b_hn).
  Value recurrentGrad = d.cell == kGru ? empty(b, loc, {B, T, G * H}, t)
                                       : gatesGrad;
  Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
  Value steps = b.create<arith::ConstantIndexOp>(loc, T);
  Value one = b.create<arith::ConstantIndexOp>(loc, 1);
  Value last = b.create<arith::ConstantIndexOp>(loc, T - 1);
  // Carried: dh, dc, the gates' gradient, and for gru the recurrent one.
  SmallVector<Value> carriedInit{zeros, zeros, gatesGrad};
  if (d.cell == kGru)
    carriedInit.push_back(recurrentGrad);
  auto loop = b.create<scf::ForOp>(
      loc, zero, steps, one, carriedInit,
      [&](OpBuilder &nb, Location l, Value i, ValueRange carried) {
        // The steps run backwards: iteration i is step T - 1 - i.
        Value s = nb.create<arith::SubIOp>(l, last, i);
        OpFoldResult at = position(nb, l, s, d);
        Value dh = carried[0], dc = carried[1];
        SmallVector<Value> inputs;
        for (int64_t w = 0; w < W; ++w)
          inputs.push_back(stepSlice(nb, l, saved, at, w * H, H));
        for (int64_t w = 0; w < W; ++w)
          inputs.push_back(stepSlice(nb, l, savedGrad, at, w * H, H));
        inputs.push_back(stepSlice(nb, l, hidden, at, 0, H));
        inputs.push_back(stepSlice(nb, l, hiddenGrad, at, 0, H));
        inputs.push_back(stepSlice(nb, l, hPrevAll, at, 0, H));
        inputs.push_back(stepSlice(nb, l, cPrevAll, at, 0, H));
        // Outputs: dgx (G), dgh (G), then dc and dh updated in place (dh
        // becomes the part of the previous step's gradient that bypasses
        // W_hh, to which the product below adds).
        SmallVector<Value> inits;
        for (int64_t k = 0; k < 2 * G; ++k)
          inits.push_back(empty(nb, l, {B, H}, t));
        inits.append({dc, dh});
        SmallVector<Value> out = generic(
            nb, l, 2, inputs, identities(ctx, inputs.size()), inits,
            identities(ctx, inits.size()), {},
            [&](OpBuilder &eb, Location el, ValueRange a) {
              Math m{eb, el, t};
              auto keep = [&](int64_t w) { return a[w]; };
              auto keepGrad = [&](int64_t w) { return a[W + w]; };
              Value outH = a[2 * W], outGrad = a[2 * W + 1],
                    hPrev = a[2 * W + 2], cPrev = a[2 * W + 3],
                    dcIn = a[2 * W + 4 + 2 * G],
                    dhIn = a[2 * W + 5 + 2 * G];
              Value gH = m.add(dhIn, outGrad);
              Value zeroV = m.c(0);
              SmallVector<Value> y;
              if (d.cell == kLstm) {
                Value i = keep(0), f = keep(1), g = keep(2), o = keep(3),
                      cn = keep(4);
                Value tc = m.tanh(cn);
                Value gC = m.add(m.add(dcIn, keepGrad(4)),
                                 m.mul(m.mul(gH, o), m.oneMinusSquare(tc)));
                Value di = m.mul(m.mul(gC, g), m.logisticSlope(i));
                Value df = m.mul(m.mul(gC, cPrev), m.logisticSlope(f));
                Value dg = m.mul(m.mul(gC, i), m.oneMinusSquare(g));
                Value dO = m.mul(m.mul(gH, tc), m.logisticSlope(o));
                y = {di, df, dg, dO, di, df, dg, dO, m.mul(gC, f), zeroV};
              } else if (d.cell == kGru) {
                Value r = keep(0), z = keep(1), n = keep(2), hn = keep(3);
                Value gN = m.mul(m.mul(gH, m.sub(m.c(1), z)),
                                 m.oneMinusSquare(n));
                Value gR = m.mul(m.mul(gN, hn), m.logisticSlope(r));
                Value gZ = m.mul(m.mul(gH, m.sub(hPrev, n)),
                                 m.logisticSlope(z));
                y = {gR, gZ, gN, gR, gZ, m.mul(gN, r), dcIn, m.mul(gH, z)};
              } else {
                Value dPre = m.mul(m.add(gH, keepGrad(0)),
                                   m.oneMinusSquare(outH));
                y = {dPre, dPre, dcIn, zeroV};
              }
              return y;
            });
        Value nextGatesGrad = carried[2];
        Value step = empty(nb, l, {B, G * H}, t);
        for (int64_t g = 0; g < G; ++g) {
          nextGatesGrad = stepInsert(nb, l, out[g], nextGatesGrad, at, g * H);
          step = insertColumns(nb, l, out[G + g], step, g * H);
        }
        // dh for the step before: direct + dgh W_hh.
        Value dhPrev = product(nb, l, step, weight, out[2 * G + 1], false);
        SmallVector<Value> next{dhPrev, out[2 * G], nextGatesGrad};
        if (d.cell == kGru) {
          Value nextRecurrent = carried[3];
          for (int64_t g = 0; g < G; ++g)
            nextRecurrent =
                stepInsert(nb, l, out[G + g], nextRecurrent, at, g * H);
          next.push_back(nextRecurrent);
        }
        nb.create<scf::YieldOp>(l, next);
      });
  Value dh = loop.getResult(0), dc = loop.getResult(1);
  gatesGrad = loop.getResult(2);
  recurrentGrad = d.cell == kGru ? loop.getResult(3) : gatesGrad;
  // dW_hh [G*H, H] = sum over b, t of dgh[b, t, n] h_prev[b, t, k]; db_hh
  // the sum of dgh.
  AffineExpr n = getAffineDimExpr(0, ctx), k = getAffineDimExpr(1, ctx),
             bb = getAffineDimExpr(2, ctx), tt = getAffineDimExpr(3, ctx);
  Value weightInit = filled(b, loc, {G * H, H}, scalar(b, loc, t, 0));
  Value weightGrad =
      generic(b, loc, 4, {recurrentGrad, hPrevAll},
              {AffineMap::get(4, 0, {bb, tt, n}, ctx),
               AffineMap::get(4, 0, {bb, tt, k}, ctx)},
              weightInit, AffineMap::get(4, 0, {n, k}, ctx), {2, 3},
              [](OpBuilder &nb, Location l, ValueRange a) {
                return SmallVector<Value>{nb.create<arith::AddFOp>(
                    l, nb.create<arith::MulFOp>(l, a[0], a[1]), a[2])};
              })
          .front();
  Value biasGrad =
      reduce(b, loc, recurrentGrad, {0, 1}, scalar(b, loc, t, 0),
             [](OpBuilder &nb, Location l, Value x, Value acc) -> Value {
               return nb.create<arith::AddFOp>(l, x, acc);
             });
  Value stateGrad = empty(b, loc, {B, d.stateWidth() * H}, t);
  stateGrad = insertColumns(b, loc, dh, stateGrad, 0);
  if (d.cell == kLstm)
    stateGrad = insertColumns(b, loc, dc, stateGrad, H);
  return {gatesGrad, weightGrad, biasGrad, stateGrad};
}

} // namespace

Results lowerRecurrenceLoops(OpBuilder &b, Operation *op) {
  Location loc = op->getLoc();
  if (auto o = dyn_cast<RecurrenceOp>(op))
    return recurrenceLoop(b, loc, o);
  if (auto o = dyn_cast<RecurrenceGradOp>(op))
    return recurrenceGradLoop(b, loc, o);
  return std::nullopt;
}

} // namespace kiln::lowering
