//===- Reversal.cpp - The sequence-reversal task, drawn from a seed -------===//

#include "kiln/runtime/Training.h"

#include <cstring>
#include <random>

namespace kiln::rt {

Dataset reversalProblems(int64_t count, int64_t length, bool heldOut) {
  Dataset data;
  data.problems = count;
  data.problemLength = length;
  data.heldOut = heldOut;
  return data;
}

void fillReversal(const Dataset &data, const std::vector<int64_t> &order,
                  int64_t first, const WindowDraw &draw, HostTensor &src,
                  HostTensor *tgt, HostTensor *y) {
  int64_t batch = src.shape()[0], length = src.shape()[1];
  for (HostTensor *t : {&src, tgt, y})
    if (t)
      std::memset(t->data(), 0, t->sizeInBytes());
  for (int64_t b = 0; b < batch && first + b < static_cast<int64_t>(order.size());
       ++b) {
    uint64_t problem = static_cast<uint64_t>(order[first + b]);
    // One generator per problem: a resumed run draws the same ones. Held
    // out problems come from a stream of their own, whatever the seed.
    uint64_t stream =
        data.heldOut || !draw.training
            ? 0x5EED0F4E7A1D5E75ull
            : draw.seed * 0x9E3779B97F4A7C15ull + draw.epoch + 1;
    std::mt19937_64 rng(stream ^ (problem * 0xD1B54A32D192ED03ull + 0x2545F491));
    std::uniform_int_distribution<int64_t> token(1, kReversalBos - 1);
    int64_t *s = src.data<int64_t>() + b * length;
    for (int64_t t = 0; t < length; ++t)
      s[t] = token(rng);
    if (tgt) {
      int64_t *d = tgt->data<int64_t>() + b * (length + 1);
      d[0] = kReversalBos;
      for (int64_t t = 0; t < length; ++t)
        d[t + 1] = s[length - 1 - t];
    }
    if (y) {
      int64_t *l = y->data<int64_t>() + b * (length + 1);
      for (int64_t t = 0; t < length; ++t)
        l[t] = s[length - 1 - t];
      l[length] = kReversalEos;
    }
  }
}

} // namespace kiln::rt
