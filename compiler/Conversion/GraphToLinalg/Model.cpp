//===- Model.cpp - Attention, recurrences and random numbers to linalg ----===//

#include "compiler/Conversion/GraphToLinalg/Common.h"
#include "compiler/Conversion/GraphToLinalg/Lowerings.h"

#include "dialects/Graph/IR/GraphDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace kiln::graph;

namespace kiln::lowering {
namespace {

/// softmax(q k^T * scale + masks) v over the last two dims.
Value attention(OpBuilder &b, Location loc, AttentionOp op) {
  MLIRContext *ctx = b.getContext();
  Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
  ArrayRef<int64_t> qs = shapeOf(q), ks = shapeOf(k);
  int64_t r = qs.size(), batch = r - 2;
  Type t = elementTypeOf(q);
  double scale = op.scaleOrDefault();

  // scores[..., i, j] = sum_d q[..., i, d] kT[..., d, j] * scale, with k
  // transposed once: the loops run batch..., i, d, j, the innermost along
  // the keys, contiguous in kT and the scores (vector multiply-adds, no
  // horizontal sums).
  SmallVector<int64_t> scoreShape(qs.begin(), qs.end() - 1);
  scoreShape.push_back(ks[r - 2]);
  int64_t loops = batch + 3; // batch..., i, d, j
  auto dim = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineExpr> qe, ke, se;
  for (int64_t i = 0; i < batch; ++i) {
    qe.push_back(dim(i));
    ke.push_back(dim(i));
    se.push_back(dim(i));
  }
  qe.append({dim(batch), dim(batch + 1)});
  ke.append({dim(batch + 1), dim(batch + 2)});
  se.append({dim(batch), dim(batch + 2)});
  Value kT = transposeLastTwo(b, loc, k);
  Value zeros = filled(b, loc, scoreShape, scalar(b, loc, t, 0));
  Value scores =
      generic(b, loc, loops, {q, kT},
              {AffineMap::get(loops, 0, qe, ctx), AffineMap::get(loops, 0, ke, ctx)},
              zeros, AffineMap::get(loops, 0, se, ctx), {batch + 1},
              [](OpBuilder &nb, Location l, ValueRange a) {
                return SmallVector<Value>{nb.create<arith::AddFOp>(
                    l, nb.create<arith::MulFOp>(l, a[0], a[1]), a[2])};
              })
          .front();

  // Scale and mask: -inf where causal (j > i) or the mask is false.
  Value mask = op.getMask();
  SmallVector<Value> inputs{scores};
  if (mask)
    inputs.push_back(mask);
  bool causal = op.getCausal();
  Value masked = elementwise(
      b, loc, scoreShape, t, inputs,
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value s = nb.create<arith::MulFOp>(l, a[0], scalar(nb, l, t, scale));
        Value minusInf = lowest(nb, l, t);
        if (causal) {
          Value i = nb.create<linalg::IndexOp>(l, r - 2);
          Value j = nb.create<linalg::IndexOp>(l, r - 1);
          Value future =
              nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::ugt, j, i);
          s = nb.create<arith::SelectOp>(l, future, minusInf, s);
        }
        if (a.size() > 1)
          s = nb.create<arith::SelectOp>(l, a[1], s, minusInf);
        return s;
      });

  // Row softmax.
  SmallVector<int64_t> row{r - 1};
  Value m = reduce(b, loc, masked, row, lowest(b, loc, t),
                   [](OpBuilder &nb, Location l, Value x, Value acc) {
                     return nb.create<arith::MaximumFOp>(l, x, acc).getResult();
                   });
  markNanAgnosticMax(m);
  AffineMap id = AffineMap::getMultiDimIdentityMap(r, ctx);
  AffineMap dropRow = droppingMap(ctx, r, row);
  Value expInit = empty(b, loc, scoreShape, t);
  Value e = generic(b, loc, r, {masked, m}, {id, dropRow}, expInit, id, {},
                    [](OpBuilder &nb, Location l, ValueRange a) {
                      return SmallVector<Value>{nb.create<math::ExpOp>(
                          l, nb.create<arith::SubFOp>(l, a[0], a[1]))};
                    })
                .front();
  Value sum = reduce(b, loc, e, row, scalar(b, loc, t, 0),
                     [](OpBuilder &nb, Location l, Value x, Value acc) {
                       return nb.create<arith::AddFOp>(l, x, acc).getResult();
                     });
  Value p = generic(b, loc, r, {e, sum}, {id, dropRow},
                    empty(b, loc, scoreShape, t), id, {},
                    [](OpBuilder &nb, Location l, ValueRange a) {
                      return SmallVector<Value>{
                          nb.create<arith::DivFOp>(l, a[0], a[1])};
                    })
                .front();

  // out[..., i, e] = sum_j p[..., i, j] v[..., j, e]; loops batch..., i, j,
  // e, the innermost along v's rows.
  SmallVector<AffineExpr> pe, ve, oe;
  for (int64_t i = 0; i < batch; ++i) {
    pe.push_back(dim(i));
    ve.push_back(dim(i));
    oe.push_back(dim(i));
  }
  pe.append({dim(batch), dim(batch + 1)});
  ve.append({dim(batch + 1), dim(batch + 2)});
  oe.append({dim(batch), dim(batch + 2)});
  ArrayRef<int64_t> outShape = shapeOf(op.getResult());
  Value outZeros = filled(b, loc, outShape, scalar(b, loc, t, 0));
  return generic(b, loc, loops, {p, v},
                 {AffineMap::get(loops, 0, pe, ctx),
                  AffineMap::get(loops, 0, ve, ctx)},
                 outZeros, AffineMap::get(loops, 0, oe, ctx), {batch + 1},
                 [](OpBuilder &nb, Location l, ValueRange a) {
                   return SmallVector<Value>{nb.create<arith::AddFOp>(
                       l, nb.create<arith::MulFOp>(l, a[0], a[1]), a[2])};
                 })
      .front();
}

//===----------------------------------------------------------------------===//
// Philox 4x32-10
//===----------------------------------------------------------------------===//

/// Four 32-bit outputs of Philox 4x32-10 for counter (lo, hi, 0, 0) and key
/// (seed lo, seed hi), all as i32 values.
std::array<Value, 4> philox(OpBuilder &b, Location loc, Value ctrLo,
                            Value ctrHi, Value keyLo, Value keyHi) {
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  auto c32 = [&](uint32_t v) {
    return b.create<arith::ConstantOp>(loc, b.getI32IntegerAttr(v));
  };
  auto mulhilo = [&](uint32_t m, Value x) -> std::pair<Value, Value> {
    Value wide = b.create<arith::MulIOp>(
        loc, b.create<arith::ExtUIOp>(loc, i64, x),
        b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(m)));
    Value lo = b.create<arith::TruncIOp>(loc, i32, wide);
    Value hi = b.create<arith::TruncIOp>(
        loc, i32,
        b.create<arith::ShRUIOp>(
            loc, wide, b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(32))));
    return {hi, lo};
  };
  Value x0 = ctrLo, x1 = ctrHi, x2 = c32(0), x3 = c32(0);
  Value k0 = keyLo, k1 = keyHi;
  for (int round = 0; round < 10; ++round) {
    auto [hi0, lo0] = mulhilo(0xD2511F53u, x0);
    auto [hi1, lo1] = mulhilo(0xCD9E8D57u, x2);
    Value n0 = b.create<arith::XOrIOp>(
        loc, b.create<arith::XOrIOp>(loc, hi1, x1), k0);
    Value n2 = b.create<arith::XOrIOp>(
        loc, b.create<arith::XOrIOp>(loc, hi0, x3), k1);
    x0 = n0;
    x1 = lo1;
    x2 = n2;
    x3 = lo0;
    k0 = b.create<arith::AddIOp>(loc, k0, c32(0x9E3779B9u));
    k1 = b.create<arith::AddIOp>(loc, k1, c32(0xBB67AE85u));
  }
  return {x0, x1, x2, x3};
}

/// A uniform float in (0, 1) from 32 random bits, with as many bits as the
/// type represents exactly: (v + 0.5) / 2^k for the top k bits v (k = 23 for
/// f32, whose sum then needs 24 mantissa bits; 32 for f64). Never 0 or 1.
Value unitInterval(OpBuilder &b, Location loc, Value bits, Type t) {
  int64_t k = t.getIntOrFloatBitWidth() >= 64 ? 32 : 23;
  Value top = bits;
  if (k < 32)
    top = b.create<arith::ShRUIOp>(
        loc, bits, b.create<arith::ConstantOp>(loc, b.getI32IntegerAttr(32 - k)));
  Value f = b.create<arith::UIToFPOp>(loc, t, top);
  Value centered = b.create<arith::AddFOp>(loc, f, scalar(b, loc, t, 0.5));
  return b.create<arith::MulFOp>(loc, centered,
                                 scalar(b, loc, t, std::ldexp(1.0, -k)));
}

/// Element i of the stream: Philox of counter (offset + i) under `seed`.
Value randomTensor(OpBuilder &b, Location loc, Operation *op, Value seed,
                   Value offset) {
  MLIRContext *ctx = b.getContext();
  RankedTensorType type = tensorTypeOf(op->getResult(0));
  ArrayRef<int64_t> shape = type.getShape();
  int64_t rank = shape.size();
  Type t = type.getElementType();
  AffineMap scalarMap = AffineMap::get(rank, 0, {}, ctx);
  Value init = empty(b, loc, shape, t);
  return generic(
      b, loc, rank, {seed, offset}, {scalarMap, scalarMap}, init,
      AffineMap::getMultiDimIdentityMap(rank, ctx), {},
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Type i32 = nb.getI32Type(), i64 = nb.getI64Type();
        // Row-major linear index of this element.
        Value linear = nb.create<arith::ConstantIndexOp>(l, 0);
        for (int64_t dIdx = 0; dIdx < rank; ++dIdx) {
          Value size = nb.create<arith::ConstantIndexOp>(l, shape[dIdx]);
          linear = nb.create<arith::AddIOp>(
              l, nb.create<arith::MulIOp>(l, linear, size),
              nb.create<linalg::IndexOp>(l, dIdx));
        }
        Value counter = nb.create<arith::AddIOp>(
            l, a[1], nb.create<arith::IndexCastOp>(l, i64, linear));
        auto split = [&](Value v) {
          Value lo = nb.create<arith::TruncIOp>(l, i32, v);
          Value hi = nb.create<arith::TruncIOp>(
              l, i32,
              nb.create<arith::ShRUIOp>(
                  l, v, nb.create<arith::ConstantOp>(l, nb.getI64IntegerAttr(32))));
          return std::make_pair(lo, hi);
        };
        auto [cLo, cHi] = split(counter);
        auto [kLo, kHi] = split(a[0]);
        std::array<Value, 4> bits = philox(nb, l, cLo, cHi, kLo, kHi);
        return SmallVector<Value>{llvm::TypeSwitch<Operation *, Value>(op)
            .Case([&](RandomUniformOp o) {
              double lo = o.getLow().convertToDouble();
              double hi = o.getHigh().convertToDouble();
              Value u = unitInterval(nb, l, bits[0], t);
              return nb.create<arith::AddFOp>(
                  l, scalar(nb, l, t, lo),
                  nb.create<arith::MulFOp>(l, u, scalar(nb, l, t, hi - lo)));
            })
            .Case([&](RandomNormalOp o) {
              // Box-Muller on two uniforms in (0, 1).
              Value u1 = unitInterval(nb, l, bits[0], t);
              Value u2 = unitInterval(nb, l, bits[1], t);
              Value radius = nb.create<math::SqrtOp>(
                  l, nb.create<arith::MulFOp>(l, scalar(nb, l, t, -2),
                                              nb.create<math::LogOp>(l, u1)));
              Value angle = nb.create<arith::MulFOp>(
                  l, u2, scalar(nb, l, t, 2 * M_PI));
              Value z = nb.create<arith::MulFOp>(
                  l, radius, nb.create<math::CosOp>(l, angle));
              return nb.create<arith::AddFOp>(
                  l, scalar(nb, l, t, o.getMean().convertToDouble()),
                  nb.create<arith::MulFOp>(
                      l, z, scalar(nb, l, t, o.getStddev().convertToDouble())));
            })
            .Case([&](RandomIntegersOp o) {
              // low + (64 random bits mod range); the bias is below 2^-32
              // for any range a model uses.
              int64_t low = static_cast<int64_t>(o.getLow());
              int64_t range = static_cast<int64_t>(o.getHigh()) - low;
              Value wide = nb.create<arith::OrIOp>(
                  l, nb.create<arith::ExtUIOp>(l, i64, bits[0]),
                  nb.create<arith::ShLIOp>(
                      l, nb.create<arith::ExtUIOp>(l, i64, bits[1]),
                      nb.create<arith::ConstantOp>(l, nb.getI64IntegerAttr(32))));
              Value r = nb.create<arith::RemUIOp>(
                  l, wide,
                  nb.create<arith::ConstantOp>(l, nb.getI64IntegerAttr(range)));
              Value v = nb.create<arith::AddIOp>(
                  l, r, nb.create<arith::ConstantOp>(l, nb.getI64IntegerAttr(low)));
              return t.isInteger(64)
                         ? v
                         : nb.create<arith::TruncIOp>(l, t, v).getResult();
            })
            .Default([](Operation *) { return Value(); })};
      })
      .front();
}

/// A recurrence and its gradient are one runtime call each
/// (kiln_recurrence[_grad]_f32/_f64): the time loop with its per-step
/// matrix product and fused gate pass lives in the runtime.
std::string recurrenceCallee(StringRef base, Value like) {
  return (base + (elementTypeOf(like).isF64() ? "_f64" : "_f32")).str();
}

SmallVector<Value> recurrence(OpBuilder &b, Location loc, RecurrenceOp op) {
  ArrayRef<int64_t> h = shapeOf(op.getHidden());
  SmallVector<RankedTensorType> results{tensorTypeOf(op.getHidden()),
                                        tensorTypeOf(op.getSaved())};
  return libraryCall(b, loc, recurrenceCallee("kiln_recurrence", op.getGates()),
                     {op.getGates(), op.getWeight(), op.getBias(),
                      op.getState()},
                     results,
                     {h[0], h[1], h[2], static_cast<int64_t>(op.getCell()),
                      op.getReverse() ? 1 : 0},
                     {});
}

SmallVector<Value> recurrenceGrad(OpBuilder &b, Location loc,
                                  RecurrenceGradOp op) {
  ArrayRef<int64_t> h = shapeOf(op.getHidden());
  SmallVector<RankedTensorType> results;
  for (Value r : op->getResults())
    results.push_back(tensorTypeOf(r));
  return libraryCall(
      b, loc, recurrenceCallee("kiln_recurrence_grad", op.getWeight()),
      {op.getWeight(), op.getState(), op.getHidden(), op.getSaved(),
       op.getHiddenGrad(), op.getSavedGrad()},
      results,
      {h[0], h[1], h[2], static_cast<int64_t>(op.getCell()),
       op.getReverse() ? 1 : 0},
      {});
}

/// graph.attention as one fused_attention::kForward call.
Value fusedAttentionCall(OpBuilder &b, Location loc, AttentionOp op) {
  double scale = op.scaleOrDefault();
  return libraryCall(b, loc, fused_attention::kForward,
                     {op.getQuery(), op.getKey(), op.getValue(), op.getMask()},
                     {tensorTypeOf(op.getResult())}, {op.getCausal() ? 1 : 0},
                     scale);
}

/// graph.attention_grad as two fused calls: per query row (its statistics
/// and the query's gradient), then per key row.
SmallVector<Value> fusedAttentionGrad(OpBuilder &b, Location loc,
                                      AttentionGradOp op) {
  double scale = op.scaleOrDefault();
  int64_t causal = op.getCausal() ? 1 : 0;
  SmallVector<int64_t> statsShape(shapeOf(op.getQuery()));
  statsShape.back() = 3;
  auto stats = RankedTensorType::get(statsShape, elementTypeOf(op.getQuery()));
  SmallVector<Value> rows =
      libraryCall(b, loc, fused_attention::kGradRows,
                  {op.getQuery(), op.getKey(), op.getValue(), op.getMask(),
                   op.getResult(), op.getResultGrad()},
                  {tensorTypeOf(op.getQueryGrad()), stats}, {causal}, {scale});
  SmallVector<Value> columns = libraryCall(
      b, loc, fused_attention::kGradColumns,
      {op.getQuery(), op.getKey(), op.getValue(), op.getMask(),
       op.getResultGrad(), rows[1]},
      {tensorTypeOf(op.getKeyGrad()), tensorTypeOf(op.getValueGrad())},
      {causal}, {scale});
  return {rows[0], columns[0], columns[1]};
}

} // namespace

Results lowerModel(OpBuilder &b, Operation *op, bool libraryCalls,
                   bool fusedAttention) {
  Location loc = op->getLoc();
  if (!libraryCalls && isa<RecurrenceOp, RecurrenceGradOp>(op))
    return lowerRecurrenceLoops(b, op);
  if (auto grad = dyn_cast<AttentionGradOp>(op)) {
    if (fusedAttention)
      return fusedAttentionGrad(b, loc, grad);
    op->emitOpError("is lowered only with fused attention; without, "
                    "graph-decompose-attention-grad rewrites it first");
    return std::nullopt;
  }
  return llvm::TypeSwitch<Operation *, Results>(op)
      .Case([&](AttentionOp o) {
        return SmallVector<Value>{fusedAttention ? fusedAttentionCall(b, loc, o)
                                                 : attention(b, loc, o)};
      })
      .Case([&](RecurrenceOp o) { return recurrence(b, loc, o); })
      .Case([&](RecurrenceGradOp o) { return recurrenceGrad(b, loc, o); })
      .Case<RandomUniformOp, RandomNormalOp, RandomIntegersOp>([&](auto o) {
        return SmallVector<Value>{
            randomTensor(b, loc, op, o.getSeed(), o.getOffset())};
      })
      .Default([](Operation *) { return std::nullopt; });
}

} // namespace kiln::lowering
