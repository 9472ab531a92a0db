//===- Matmul.cpp - kiln_matmul_f32 on oneDNN's matmul primitive ----------===//

#include "kiln/runtime/Library.h"

#include "OneDnnSupport.h"
#include "PrimitiveCache.h"
#include "cpu/SmallMatmul.h"

#include <memory>
#include <stdexcept>
#include <unordered_map>

using namespace kiln::rt::onednn;

namespace {

using Dims = dnnl::memory::dims;
using DataType = dnnl::memory::data_type;

/// A created matmul primitive and the plain descriptors of its operands.
struct MatmulEntry {
  dnnl::matmul primitive;
  dnnl::memory::desc lhs, rhs, bias, result, scratchpad;
};

/// The shape and fusions of one matmul call.
struct MatmulConfig {
  int64_t m, n, k;
  bool transposeLhs, transposeRhs, hasBias, hasResidual;
  int64_t activation;
  double alpha;
};

PrimitiveCache<MatmulEntry> &matmulCache() {
  static auto *cache = new PrimitiveCache<MatmulEntry>();
  return *cache;
}

MatmulEntry createMatmul(const MatmulConfig &config) {
  int64_t m = config.m, n = config.n, k = config.k;
  // A transposed operand is the same logical matrix with swapped strides.
  dnnl::memory::desc lhs({m, k}, DataType::f32,
                         config.transposeLhs ? Dims{1, m} : Dims{k, 1});
  dnnl::memory::desc rhs({k, n}, DataType::f32,
                         config.transposeRhs ? Dims{1, k} : Dims{n, 1});
  dnnl::memory::desc result({m, n}, DataType::f32, Dims{n, 1});
  dnnl::memory::desc bias;
  if (config.hasBias)
    bias = dnnl::memory::desc({1, n}, DataType::f32, Dims{n, 1});
  dnnl::matmul::desc desc = config.hasBias
                                ? dnnl::matmul::desc(lhs, rhs, bias, result)
                                : dnnl::matmul::desc(lhs, rhs, result);
  dnnl::matmul::primitive_desc primitiveDesc(
      desc,
      fusedAttributes(config.hasResidual, config.activation, config.alpha),
      cpuEngine());
  return {dnnl::matmul(primitiveDesc),    lhs, rhs, bias, result,
          primitiveDesc.scratchpad_desc()};
}

void runMatmul(const float *lhs, const float *rhs, const float *bias,
               const float *residual, float *result, const MatmulConfig &cfg) {
  if (cfg.m <= 0 || cfg.n <= 0 || cfg.k <= 0)
    throw std::invalid_argument("sizes must be positive");
  int64_t threads = useLibraryThreads();
  // A few rows stream the weights on the runtime's own loop (SmallMatmul.h).
  if (cfg.m <= kiln::rt::kSmallMatmulRows && !cfg.transposeLhs) {
    kiln::rt::smallMatmul(lhs, rhs, bias, residual, result, cfg.m, cfg.n,
                          cfg.k, cfg.transposeRhs, cfg.activation, cfg.alpha,
                          threads);
    return;
  }
  CacheKey key{cfg.m,
               cfg.n,
               cfg.k,
               cfg.transposeLhs,
               cfg.transposeRhs,
               cfg.hasBias,
               cfg.hasResidual,
               cfg.activation,
               CacheKey::bitsOf(cfg.alpha),
               threads};
  std::shared_ptr<const MatmulEntry> entry =
      matmulCache().getOrCreate(key, [&] { return createMatmul(cfg); });

  if (residual)
    copyResidual(residual, result, static_cast<size_t>(cfg.m * cfg.n));
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, wrap(entry->lhs, lhs)},
      {DNNL_ARG_WEIGHTS, wrap(entry->rhs, rhs)},
      {DNNL_ARG_DST, wrap(entry->result, result)},
      {DNNL_ARG_SCRATCHPAD, wrapScratch(entry->scratchpad, Scratch::Primitive)},
  };
  if (bias)
    args.emplace(DNNL_ARG_BIAS, wrap(entry->bias, bias));
  dnnl::stream &stream = threadStream();
  entry->primitive.execute(stream, args);
  stream.wait();
}

} // namespace

size_t kiln::rt::onednn::matmulCacheSize() { return matmulCache().size(); }

extern "C" void kiln_matmul_f32(const float *lhs, const float *rhs,
                                const float *bias, const float *residual,
                                float *result, int64_t m, int64_t n, int64_t k,
                                int64_t transposeLhs, int64_t transposeRhs,
                                int64_t activation, double alpha) {
  bool hasBias = bias, hasResidual = residual;
  bool transposedLhs = transposeLhs, transposedRhs = transposeRhs;
  double parameter = activationParameter(activation, alpha);
  MatmulConfig config{
      m,       n,           k,          transposedLhs, transposedRhs,
      hasBias, hasResidual, activation, parameter};
  runGuarded(
      [&] {
        return describeCall(
            "kiln_matmul_f32",
            "m n k transposeLhs transposeRhs bias residual activation",
            {m, n, k, transposeLhs, transposeRhs, hasBias, hasResidual,
             activation});
      },
      [&] { runMatmul(lhs, rhs, bias, residual, result, config); });
}
