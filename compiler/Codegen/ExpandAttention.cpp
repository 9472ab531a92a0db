//===- ExpandAttention.cpp - Fused attention as loop nests over rows ------===//
//
// Fused attention's three calls (compiler/Conversion/LibraryCalls.h) become
// loop nests that never hold the [..., Tq, Tk] scores: a parallel loop over
// the rows (queries, or keys for the key side of the gradient), and in its
// body sequential passes over the other side that recompute each score
// from its two rows. Whatever a row accumulates (its output, or its
// gradients) is carried by the pass as scalars, which become registers on
// the GPU; a row wider than kMaxCarried takes one pass per slice.
//
//===----------------------------------------------------------------------===//

#include "compiler/Codegen/Passes.h"
#include "compiler/Conversion/LibraryCalls.h"

#include "llvm/ADT/APFloat.h"

#include <functional>

namespace kiln {
#define GEN_PASS_DEF_KILNEXPANDATTENTION
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;
namespace fused = kiln::fused_attention;

namespace {

/// The most accumulators one pass over a row's partners carries.
constexpr int64_t kMaxCarried = 128;

/// One fused-attention call's operands and sizes.
struct Attention {
  Value q, k, v, mask; // mask: null where absent
  bool causal = false;
  double scale = 1.0;
  SmallVector<int64_t> batch;
  int64_t tq = 0, tk = 0, d = 0, dv = 0;
  FloatType type;
};

/// Builds the loops of one call at one location.
struct Emitter {
  OpBuilder &b;
  Location loc;
  const Attention &a;

  Value index(int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); }
  Value constant(double v) {
    return b.create<arith::ConstantOp>(loc, b.getFloatAttr(a.type, v));
  }
  Value minusInfinity() {
    FloatType type = a.type;
    return b.create<arith::ConstantOp>(
        loc,
        b.getFloatAttr(type, llvm::APFloat::getInf(type.getFloatSemantics(),
                                                   /*Negative=*/true)));
  }

  /// buffer[batch..., row, column].
  Value load(Value buffer, ValueRange batch, Value row, Value column) {
    SmallVector<Value> at(batch);
    at.append({row, column});
    return b.create<memref::LoadOp>(loc, buffer, at);
  }
  Value load(Value buffer, ValueRange batch, Value row, int64_t column) {
    return load(buffer, batch, row, index(column));
  }
  void store(Value value, Value buffer, ValueRange batch, Value row,
             int64_t column) {
    SmallVector<Value> at(batch);
    at.append({row, index(column)});
    b.create<memref::StoreOp>(loc, value, buffer, at);
  }

  /// sum_c x[batch, xRow, c] y[batch, yRow, c] over `length` columns, in
  /// order from zero (as a linalg reduction sums).
  Value dot(ValueRange batch, Value x, Value xRow, Value y, Value yRow,
            int64_t length) {
    // (Operands made one statement each: their order in the IR is fixed.)
    Value begin = index(0), end = index(length), step = index(1);
    Value zero = constant(0.0);
    auto loop = b.create<scf::ForOp>(
        loc, begin, end, step, ValueRange{zero},
        [&](OpBuilder &nb, Location l, Value c, ValueRange acc) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          Value xc = load(x, batch, xRow, c);
          Value yc = load(y, batch, yRow, c);
          Value product = b.create<arith::MulFOp>(l, xc, yc);
          b.create<scf::YieldOp>(
              l, ValueRange{b.create<arith::AddFOp>(l, product, acc[0])});
        });
    return loop.getResult(0);
  }

  /// The score of query i and key j: (q[i] . k[j]) * scale, -inf where the
  /// mask is false. (Causal positions are never visited.)
  Value score(ValueRange batch, Value i, Value j) {
    Value product = dot(batch, a.q, i, a.k, j, a.d);
    Value s = b.create<arith::MulFOp>(loc, product, constant(a.scale));
    if (!a.mask)
      return s;
    // The mask broadcasts to [batch..., Tq, Tk], aligned at the right.
    SmallVector<Value> full(batch);
    full.append({i, j});
    ArrayRef<int64_t> shape = cast<MemRefType>(a.mask.getType()).getShape();
    size_t offset = full.size() - shape.size();
    SmallVector<Value> at;
    for (size_t dim = 0; dim < shape.size(); ++dim)
      at.push_back(shape[dim] == 1 ? index(0) : full[offset + dim]);
    Value keep = b.create<memref::LoadOp>(loc, a.mask, at);
    return b.create<arith::SelectOp>(loc, keep, s, minusInfinity());
  }

  /// The end of query i's keys: i + 1 (at most Tk) when causal, else Tk.
  Value keysEnd(Value i) {
    if (!a.causal)
      return index(a.tk);
    Value next = b.create<arith::AddIOp>(loc, i, index(1));
    return b.create<arith::MinSIOp>(loc, next, index(a.tk));
  }
  /// The first query that sees key j: j when causal, else 0.
  Value queriesBegin(Value j) { return a.causal ? j : index(0); }

  /// Query i's softmax maximum m and sum l of exp(s - m), in one pass over
  /// its keys: when the maximum grows to m', l becomes
  /// l exp(m - m') + exp(s - m'). While every score so far is -inf
  /// (masked), m stays -inf and l 0.
  std::pair<Value, Value> softmaxStatistics(ValueRange batch, Value i) {
    Value begin = index(0), end = keysEnd(i), step = index(1);
    Value lowest = minusInfinity(), zero = constant(0.0);
    auto loop = b.create<scf::ForOp>(
        loc, begin, end, step, ValueRange{lowest, zero},
        [&](OpBuilder &nb, Location l, Value j, ValueRange ml) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          Value s = score(batch, i, j);
          Value m = ml[0], sum = ml[1];
          Value grown = b.create<arith::MaximumFOp>(l, m, s);
          Value rescaled = b.create<arith::MulFOp>(
              l, sum,
              b.create<math::ExpOp>(l, b.create<arith::SubFOp>(l, m, grown)));
          Value next = b.create<arith::AddFOp>(
              l, rescaled,
              b.create<math::ExpOp>(l, b.create<arith::SubFOp>(l, s, grown)));
          Value none = b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OEQ,
                                               grown, minusInfinity());
          b.create<scf::YieldOp>(
              l, ValueRange{b.create<arith::SelectOp>(l, none, m, grown),
                            b.create<arith::SelectOp>(l, none, sum, next)});
        });
    return {loop.getResult(0), loop.getResult(1)};
  }

  /// weight * buffer[batch, row, c] for the columns c of [begin, end).
  SmallVector<Value> scaledRow(Value weight, Value buffer, ValueRange batch,
                               Value row, int64_t begin, int64_t end) {
    SmallVector<Value> terms;
    for (int64_t c = begin; c < end; ++c)
      terms.push_back(
          b.create<arith::MulFOp>(loc, weight, load(buffer, batch, row, c)));
    return terms;
  }

  /// p = exp(s - m) / l.
  Value probability(Value s, Value m, Value l) {
    return b.create<arith::DivFOp>(
        loc, b.create<math::ExpOp>(loc, b.create<arith::SubFOp>(loc, s, m)), l);
  }

  /// Sums `count` terms over [begin, end) in carried scalars from zero:
  /// `terms(partner)` returns the terms of one partner row, in order;
  /// each accumulator adds its term (term + acc, as linalg sums).
  SmallVector<Value>
  accumulate(Value begin, Value end, int64_t count,
             const std::function<SmallVector<Value>(Value)> &terms) {
    SmallVector<Value> zeros(count, constant(0.0));
    Value step = index(1);
    auto loop = b.create<scf::ForOp>(
        loc, begin, end, step, zeros,
        [&](OpBuilder &nb, Location l, Value partner, ValueRange acc) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          SmallVector<Value> next;
          for (auto [term, sum] : llvm::zip_equal(terms(partner), acc))
            next.push_back(b.create<arith::AddFOp>(l, term, sum));
          b.create<scf::YieldOp>(l, next);
        });
    return SmallVector<Value>(loop.getResults());
  }

  /// A parallel loop over [batch..., rows], `body` given the batch indices
  /// and the row.
  void overRows(int64_t rows,
                const std::function<void(ValueRange, Value)> &body) {
    SmallVector<Value> lower, upper, step;
    for (int64_t size : a.batch) {
      lower.push_back(index(0));
      upper.push_back(index(size));
      step.push_back(index(1));
    }
    lower.push_back(index(0));
    upper.push_back(index(rows));
    step.push_back(index(1));
    b.create<scf::ParallelOp>(
        loc, lower, upper, step, [&](OpBuilder &nb, Location, ValueRange ivs) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          body(ivs.drop_back(), ivs.back());
        });
  }
};

/// The columns [begin, begin + width) of a row: slices of at most
/// kMaxCarried, each one pass.
SmallVector<std::pair<int64_t, int64_t>> slices(int64_t width) {
  SmallVector<std::pair<int64_t, int64_t>> out;
  for (int64_t begin = 0; begin < width; begin += kMaxCarried)
    out.push_back({begin, std::min(kMaxCarried, width - begin)});
  return out;
}

/// out[i] = sum_j p_ij v[j].
void expandForward(Emitter &e, Value out) {
  const Attention &a = e.a;
  e.overRows(a.tq, [&](ValueRange batch, Value i) {
    auto [m, l] = e.softmaxStatistics(batch, i);
    for (auto [begin, width] : slices(a.dv)) {
      Value first = e.index(0), end = e.keysEnd(i);
      SmallVector<Value> sums = e.accumulate(first, end, width, [&](Value j) {
        Value p = e.probability(e.score(batch, i, j), m, l);
        return e.scaledRow(p, a.v, batch, j, begin, begin + width);
      });
      for (int64_t c = 0; c < width; ++c)
        e.store(sums[c], out, batch, i, begin + c);
    }
  });
}

/// q_grad[i] = scale sum_j p_ij (g[i] . v[j] - D_i) k[j], and the row's
/// stats (m, l, D_i = g[i] . out[i]).
void expandGradRows(Emitter &e, Value out, Value outGrad, Value qGrad,
                    Value stats) {
  const Attention &a = e.a;
  e.overRows(a.tq, [&](ValueRange batch, Value i) {
    auto [m, l] = e.softmaxStatistics(batch, i);
    Value rowDot = e.dot(batch, outGrad, i, out, i, a.dv);
    for (auto [begin, width] : slices(a.d)) {
      Value first = e.index(0), end = e.keysEnd(i);
      SmallVector<Value> sums = e.accumulate(first, end, width, [&](Value j) {
        Value p = e.probability(e.score(batch, i, j), m, l);
        Value dp = e.dot(batch, outGrad, i, a.v, j, a.dv);
        Value ds = e.b.create<arith::MulFOp>(
            e.loc, p, e.b.create<arith::SubFOp>(e.loc, dp, rowDot));
        return e.scaledRow(ds, a.k, batch, j, begin, begin + width);
      });
      for (int64_t c = 0; c < width; ++c)
        e.store(e.b.create<arith::MulFOp>(e.loc, sums[c], e.constant(a.scale)),
                qGrad, batch, i, begin + c);
    }
    e.store(m, stats, batch, i, 0);
    e.store(l, stats, batch, i, 1);
    e.store(rowDot, stats, batch, i, 2);
  });
}

/// Per key row j, over the queries i that see it: v_grad[j] = sum_i p_ij
/// g[i] and k_grad[j] = scale sum_i p_ij (g[i] . v[j] - D_i) q[i]. The
/// columns of both are sliced together: v_grad's Dv, then k_grad's D.
void expandGradColumns(Emitter &e, Value outGrad, Value stats, Value kGrad,
                       Value vGrad) {
  const Attention &a = e.a;
  e.overRows(a.tk, [&](ValueRange batch, Value j) {
    for (auto [begin, width] : slices(a.dv + a.d)) {
      bool keys = begin + width > a.dv;
      Value first = e.queriesBegin(j), end = e.index(a.tq);
      SmallVector<Value> sums = e.accumulate(first, end, width, [&](Value i) {
        Value m = e.load(stats, batch, i, 0);
        Value l = e.load(stats, batch, i, 1);
        Value p = e.probability(e.score(batch, i, j), m, l);
        Value ds;
        if (keys) {
          Value dp = e.dot(batch, outGrad, i, a.v, j, a.dv);
          ds = e.b.create<arith::MulFOp>(
              e.loc, p,
              e.b.create<arith::SubFOp>(e.loc, dp, e.load(stats, batch, i, 2)));
        }
        // v_grad's columns of the slice, then k_grad's.
        int64_t end = begin + width;
        SmallVector<Value> terms;
        if (begin < a.dv)
          terms = e.scaledRow(p, outGrad, batch, i, begin, std::min(end, a.dv));
        if (end > a.dv)
          llvm::append_range(terms, e.scaledRow(ds, a.q, batch, i,
                                                std::max(begin, a.dv) - a.dv,
                                                end - a.dv));
        return terms;
      });
      for (int64_t c = begin; c < begin + width; ++c) {
        Value sum = sums[c - begin];
        if (c < a.dv)
          e.store(sum, vGrad, batch, j, c);
        else
          e.store(e.b.create<arith::MulFOp>(e.loc, sum, e.constant(a.scale)),
                  kGrad, batch, j, c - a.dv);
      }
    }
  });
}

struct KilnExpandAttention
    : kiln::impl::KilnExpandAttentionBase<KilnExpandAttention> {
  void runOnOperation() override {
    SmallVector<kiln::kernel::LibraryCallOp> calls;
    getOperation().walk([&](kiln::kernel::LibraryCallOp call) {
      if (call.getCallee().starts_with(fused::kPrefix))
        calls.push_back(call);
    });
    for (kiln::kernel::LibraryCallOp call : calls) {
      if (failed(expand(call)))
        return signalPassFailure();
      call.erase();
    }
  }

  LogicalResult expand(kiln::kernel::LibraryCallOp call) {
    StringRef callee = call.getCallee();
    bool forward = callee == fused::kForward;
    bool rows = callee == fused::kGradRows;
    bool columns = callee == fused::kGradColumns;
    if (!forward && !rows && !columns)
      return call.emitOpError("names no fused-attention kernel: ") << callee;
    if (!call.getResults().empty())
      return call.emitOpError("must be bufferized before "
                              "kiln-expand-attention");
    ArrayRef<int64_t> slots = call.getSlots();
    size_t operands = forward ? 4 : 6, results = forward ? 1 : 2;
    if (slots.size() != operands || call.getOutputs().size() != results ||
        call.getInts().size() != 1 || call.getFloats().size() != 1)
      return call.emitOpError("has not the operands of ") << callee;
    auto operand = [&](size_t slot) -> Value {
      int64_t at = slots[slot];
      return at < 0 ? Value() : call.getInputs()[at];
    };
    Attention a;
    a.q = operand(0);
    a.k = operand(1);
    a.v = operand(2);
    a.mask = operand(3);
    a.causal = call.getInts()[0] != 0;
    a.scale = call.getFloats()[0];
    if (!a.q || !a.k || !a.v)
      return call.emitOpError("lacks a query, key or value");
    auto qType = cast<MemRefType>(a.q.getType());
    auto kType = cast<MemRefType>(a.k.getType());
    auto vType = cast<MemRefType>(a.v.getType());
    int64_t rank = qType.getRank();
    a.type = dyn_cast<FloatType>(qType.getElementType());
    if (rank < 2 || kType.getRank() != rank || vType.getRank() != rank ||
        !a.type || !qType.hasStaticShape() || !kType.hasStaticShape() ||
        !vType.hasStaticShape())
      return call.emitOpError("takes float buffers of one static shape rank "
                              ">= 2");
    ValueRange outs = call.getOutputs();
    a.batch.assign(qType.getShape().begin(), qType.getShape().end() - 2);
    a.tq = qType.getDimSize(rank - 2);
    a.d = qType.getDimSize(rank - 1);
    a.tk = kType.getDimSize(rank - 2);
    a.dv = vType.getDimSize(rank - 1);
    // Every other buffer's shape follows; a call that disagrees (written
    // by hand) is an error, not loads past a buffer.
    auto shape = [&](int64_t rows, int64_t columns) {
      SmallVector<int64_t> s(a.batch);
      s.append({rows, columns});
      return s;
    };
    auto expect = [&](Value v, ArrayRef<int64_t> want,
                      StringRef what) -> LogicalResult {
      auto type = v ? dyn_cast<MemRefType>(v.getType()) : MemRefType();
      if (type && type.getShape() == want && type.getElementType() == a.type)
        return success();
      InFlightDiagnostic error = call.emitOpError("needs ")
                                 << what << " of shape [" << want
                                 << "] and element type " << a.type << ", got ";
      if (v)
        error << v.getType();
      else
        error << "none";
      return error;
    };
    SmallVector<std::pair<Value, SmallVector<int64_t>>> wanted{
        {a.k, shape(a.tk, a.d)}, {a.v, shape(a.tk, a.dv)}};
    const char *names[] = {"the key", "the value", "", "", "", ""};
    if (forward) {
      wanted.push_back({outs[0], shape(a.tq, a.dv)});
      names[2] = "the output";
    } else if (rows) {
      wanted.push_back({operand(4), shape(a.tq, a.dv)});
      wanted.push_back({operand(5), shape(a.tq, a.dv)});
      wanted.push_back({outs[0], shape(a.tq, a.d)});
      wanted.push_back({outs[1], shape(a.tq, 3)});
      names[2] = "the attention's result";
      names[3] = "its gradient";
      names[4] = "the query's gradient";
      names[5] = "the rows' statistics";
    } else {
      wanted.push_back({operand(4), shape(a.tq, a.dv)});
      wanted.push_back({operand(5), shape(a.tq, 3)});
      wanted.push_back({outs[0], shape(a.tk, a.d)});
      wanted.push_back({outs[1], shape(a.tk, a.dv)});
      names[2] = "the result's gradient";
      names[3] = "the rows' statistics";
      names[4] = "the key's gradient";
      names[5] = "the value's gradient";
    }
    for (auto [i, w] : llvm::enumerate(wanted))
      if (failed(expect(w.first, w.second, names[i])))
        return failure();
    if (a.mask) {
      auto mask = dyn_cast<MemRefType>(a.mask.getType());
      SmallVector<int64_t> scores = shape(a.tq, a.tk);
      bool ok = mask && mask.hasStaticShape() &&
                mask.getElementType().isInteger(1) &&
                mask.getRank() <= static_cast<int64_t>(scores.size());
      for (int64_t d = 0; ok && d < mask.getRank(); ++d) {
        int64_t size = mask.getDimSize(d);
        int64_t score = scores[scores.size() - mask.getRank() + d];
        ok = size == 1 || size == score;
      }
      if (!ok)
        return call.emitOpError("needs a mask of i1 that broadcasts to the "
                                "scores [")
               << scores << "], got " << a.mask.getType();
    }

    OpBuilder b(call);
    Emitter e{b, call.getLoc(), a};
    if (forward)
      expandForward(e, outs[0]);
    else if (rows)
      expandGradRows(e, operand(4), operand(5), outs[0], outs[1]);
    else
      expandGradColumns(e, operand(4), operand(5), outs[0], outs[1]);
    return success();
  }
};

} // namespace
