//===- Winograd.cpp - 3x3 convolutions by Winograd's algorithm ------------===//
//
// Winograd's minimal filtering F(m x m, 3 x 3) (Lavin and Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016) computes an m x m
// tile of a 3x3 convolution's output from the (m+2) x (m+2) input tile d
// around it as A^T [U . (B^T d B)] A, where U = G g G^T is the transformed
// 3x3 kernel g and "." the elementwise product. Summed over input channels,
// the elementwise products are (m+2)^2 independent matrix products
// [tiles, c] x [c, o]: oneDNN's matmul runs them, and the runtime's own
// loops run the transforms, vectorized over 16 channels of NHWC data. The
// direct convolution takes 9 multiplications per output and input channel;
// F(2x2) takes 16/4 = 4, F(4x4) 36/16 = 2.25.
//
// Tiles are taken a few images at a time, so that the transformed tiles
// (V = B^T d B, [(m+2)^2, tiles, c]) and their products ([(m+2)^2, tiles,
// o]) stay in the core's cache between the three steps; blocks of images
// run on separate threads, each matrix product on one thread, so every
// output is computed the same way on any thread count.
//
// A transposed 3x3 convolution with unit stride and padding 1 (the data
// gradient of such a convolution) is the convolution by the kernel flipped
// in both axes with input and output channels swapped: only the weight's
// transform reads it differently.
//
// The weight gradient follows from the same algebra: a tile's output is
// linear in the kernel, so the kernel's gradient is G^T [(A dy A^T) . V] G
// for the result gradient's m x m tile dy, summed over tiles. The sums
// over tiles are (m+2)^2 matrix products [c, tiles] x [tiles, o], added
// block by block into a fixed number of partial sums, which are then added
// in order (the same result on any thread count).
//
// Rounding: F(4x4)'s transforms multiply by up to 8 and 5 before the sums
// cancel, so its results carry several times the direct convolution's
// rounding error: ddpm's layers, against float64, 4.5e-6 of the largest
// output and 4.8e-6 of the largest weight gradient with F(4x4), 3e-7 and
// 4e-7 with F(2x2) (the library tests bound both at 2e-5). ddpm's training
// step on one AVX-512 core, batch 64: 159 ms with oneDNN's direct kernels
// (KILN_WINOGRAD=0), 124-133 with these; on two cores 94 and 73.
//
//===----------------------------------------------------------------------===//

#include "Winograd.h"

#include "OneDnnSupport.h"
#include "PrimitiveCache.h"

#include "cpu/Vector.h"

#include <oneapi/dnnl/dnnl_config.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <omp.h>

using namespace kiln::rt::onednn;
using namespace kiln::rt::onednn::convolution;

namespace {

// The transforms are compiled for three CPUs (KILN_CLONES), vectorized
// over 16 channels.
using namespace kiln::rt::simd;

/// F(2x2, 3x3): 4x4 input tiles.
struct Tile2 {
  static constexpr int m = 2, alpha = 4;
  /// B^T applied to a column (or row) `d` of an input tile.
  static KILN_INLINE void input(const Vector *d, Vector *r) {
    r[0] = d[0] - d[2];
    r[1] = d[1] + d[2];
    r[2] = d[2] - d[1];
    r[3] = d[1] - d[3];
  }
  /// A^T applied to a column (or row) `s` of a tile of products.
  static KILN_INLINE void output(const Vector *s, Vector *r) {
    r[0] = s[0] + s[1] + s[2];
    r[1] = s[1] - s[2] - s[3];
  }
  /// A applied to a column (or row) `g` of a result gradient's tile: the
  /// transposed output transform, for the weight gradient.
  static KILN_INLINE void gradient(const Vector *g, Vector *r) {
    r[0] = g[0];
    r[1] = g[0] + g[1];
    r[2] = g[0] - g[1];
    r[3] = -g[1];
  }
  static constexpr double g[alpha][3] = {
      {1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
};

/// F(4x4, 3x3): 6x6 input tiles.
struct Tile4 {
  static constexpr int m = 4, alpha = 6;
  static KILN_INLINE void input(const Vector *d, Vector *r) {
    Vector d42 = d[4] - d[2];
    r[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];
    r[1] = d[3] + d[4] - 4.0f * (d[1] + d[2]);
    r[2] = 4.0f * (d[1] - d[2]) - d[3] + d[4];
    r[3] = 2.0f * (d[3] - d[1]) + d42;
    r[4] = 2.0f * (d[1] - d[3]) + d42;
    r[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];
  }
  static KILN_INLINE void output(const Vector *s, Vector *r) {
    Vector sum12 = s[1] + s[2], diff12 = s[1] - s[2];
    Vector sum34 = s[3] + s[4], diff34 = s[3] - s[4];
    r[0] = s[0] + sum12 + sum34;
    r[1] = diff12 + 2.0f * diff34;
    r[2] = sum12 + 4.0f * sum34;
    r[3] = diff12 + 8.0f * diff34 + s[5];
  }
  static KILN_INLINE void gradient(const Vector *g, Vector *r) {
    Vector even = g[0] + g[2], odd = g[1] + g[3];
    Vector even4 = g[0] + 4.0f * g[2], odd8 = 2.0f * g[1] + 8.0f * g[3];
    r[0] = g[0];
    r[1] = even + odd;
    r[2] = even - odd;
    r[3] = even4 + odd8;
    r[4] = even4 - odd8;
    r[5] = g[3];
  }
  static constexpr double g[alpha][3] = {{0.25, 0, 0},
                                         {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                         {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                         {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                         {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                         {0, 0, 1}};
};

/// Where one block's tiles lie: `images` images from `firstImage`, each
/// tilesH x tilesW tiles of m x m outputs.
struct TileGrid {
  int64_t h, w, tilesH, tilesW;
  int64_t firstImage, images;
  int64_t tiles() const { return images * tilesH * tilesW; }
};

/// V[xi][t][c] = (B^T d B)[xi] for every tile t of `grid` and channel c of
/// the NHWC `input` ([n, h, w, c]), zero beyond the image's border.
template <typename Tile>
KILN_INLINE void transformInputs(const float *input, int64_t c,
                                 const TileGrid &grid, float *v) {
  constexpr int alpha = Tile::alpha, m = Tile::m;
  int64_t tiles = grid.tiles(), t = 0;
  const Vector zero = {};
  for (int64_t image = grid.firstImage; image < grid.firstImage + grid.images;
       ++image)
    for (int64_t ty = 0; ty < grid.tilesH; ++ty)
      for (int64_t tx = 0; tx < grid.tilesW; ++tx, ++t) {
        const float *rows[alpha];
        bool columnInside[alpha];
        for (int i = 0; i < alpha; ++i) {
          int64_t y = ty * m - 1 + i, x = tx * m - 1 + i;
          rows[i] = y >= 0 && y < grid.h
                        ? input + ((image * grid.h + y) * grid.w) * c
                        : nullptr;
          columnInside[i] = x >= 0 && x < grid.w;
        }
        for (int64_t c0 = 0; c0 < c; c0 += kLanes) {
          Vector d[alpha][alpha], column[alpha], u[alpha][alpha];
          for (int i = 0; i < alpha; ++i)
            for (int j = 0; j < alpha; ++j)
              d[i][j] = rows[i] && columnInside[j]
                            ? load(rows[i] + (tx * m - 1 + j) * c + c0)
                            : zero;
          for (int j = 0; j < alpha; ++j) {
            Vector in[alpha];
            for (int i = 0; i < alpha; ++i)
              in[i] = d[i][j];
            Tile::input(in, column);
            for (int i = 0; i < alpha; ++i)
              u[i][j] = column[i];
          }
          for (int i = 0; i < alpha; ++i) {
            Tile::input(u[i], column);
            for (int j = 0; j < alpha; ++j)
              store(v + ((i * alpha + j) * tiles + t) * c + c0, column[j]);
          }
        }
      }
}

/// The NHWC `result` ([n, h, w, o]) of `grid`'s tiles from their products
/// P[xi][t][o]: A^T P A, plus the bias and the residual where given.
template <typename Tile>
KILN_INLINE void transformOutputs(const float *products, int64_t o,
                                  const TileGrid &grid, const float *bias,
                                  const float *residual, float *result) {
  constexpr int alpha = Tile::alpha, m = Tile::m;
  int64_t tiles = grid.tiles(), t = 0;
  for (int64_t image = grid.firstImage; image < grid.firstImage + grid.images;
       ++image)
    for (int64_t ty = 0; ty < grid.tilesH; ++ty)
      for (int64_t tx = 0; tx < grid.tilesW; ++tx, ++t) {
        int64_t rowsInside = std::min<int64_t>(m, grid.h - ty * m);
        int64_t columnsInside = std::min<int64_t>(m, grid.w - tx * m);
        for (int64_t o0 = 0; o0 < o; o0 += kLanes) {
          Vector s[alpha][alpha], u[m][alpha], row[m];
          for (int i = 0; i < alpha; ++i)
            for (int j = 0; j < alpha; ++j)
              s[i][j] = load(products + ((i * alpha + j) * tiles + t) * o + o0);
          for (int j = 0; j < alpha; ++j) {
            Vector column[alpha], out[m];
            for (int i = 0; i < alpha; ++i)
              column[i] = s[i][j];
            Tile::output(column, out);
            for (int i = 0; i < m; ++i)
              u[i][j] = out[i];
          }
          Vector base = bias ? load(bias + o0) : Vector{};
          for (int64_t i = 0; i < rowsInside; ++i) {
            Tile::output(u[i], row);
            int64_t y = ty * m + i;
            for (int64_t j = 0; j < columnsInside; ++j) {
              int64_t at =
                  ((image * grid.h + y) * grid.w + tx * m + j) * o + o0;
              Vector value = row[j] + base;
              if (residual)
                value += load(residual + at);
              store(result + at, value);
            }
          }
        }
      }
}

/// Z[xi][t][o] = (A g A^T)[xi] for every tile t of `grid` and channel o of
/// the NHWC result gradient `grad` ([n, h, w, o]), zero beyond the border.
template <typename Tile>
KILN_INLINE void transformGrads(const float *grad, int64_t o,
                                const TileGrid &grid, float *z) {
  constexpr int alpha = Tile::alpha, m = Tile::m;
  int64_t tiles = grid.tiles(), t = 0;
  const Vector zero = {};
  for (int64_t image = grid.firstImage; image < grid.firstImage + grid.images;
       ++image)
    for (int64_t ty = 0; ty < grid.tilesH; ++ty)
      for (int64_t tx = 0; tx < grid.tilesW; ++tx, ++t) {
        int64_t rowsInside = std::min<int64_t>(m, grid.h - ty * m);
        int64_t columnsInside = std::min<int64_t>(m, grid.w - tx * m);
        for (int64_t o0 = 0; o0 < o; o0 += kLanes) {
          Vector u[alpha][m], column[m], row[alpha];
          for (int j = 0; j < m; ++j) {
            for (int i = 0; i < m; ++i)
              column[i] = i < rowsInside && j < columnsInside
                              ? load(grad +
                                     ((image * grid.h + ty * m + i) * grid.w +
                                      tx * m + j) *
                                         o +
                                     o0)
                              : zero;
            Vector out[alpha];
            Tile::gradient(column, out);
            for (int i = 0; i < alpha; ++i)
              u[i][j] = out[i];
          }
          for (int i = 0; i < alpha; ++i) {
            Tile::gradient(u[i], row);
            for (int j = 0; j < alpha; ++j)
              store(z + ((i * alpha + j) * tiles + t) * o + o0, row[j]);
          }
        }
      }
}

KILN_CLONES void transformInputs2(const float *input, int64_t c,
                                  const TileGrid &grid, float *v) {
  transformInputs<Tile2>(input, c, grid, v);
}
KILN_CLONES void transformInputs4(const float *input, int64_t c,
                                  const TileGrid &grid, float *v) {
  transformInputs<Tile4>(input, c, grid, v);
}
KILN_CLONES void transformOutputs2(const float *products, int64_t o,
                                   const TileGrid &grid, const float *bias,
                                   const float *residual, float *result) {
  transformOutputs<Tile2>(products, o, grid, bias, residual, result);
}
KILN_CLONES void transformOutputs4(const float *products, int64_t o,
                                   const TileGrid &grid, const float *bias,
                                   const float *residual, float *result) {
  transformOutputs<Tile4>(products, o, grid, bias, residual, result);
}

KILN_CLONES void transformGrads2(const float *grad, int64_t o,
                                 const TileGrid &grid, float *z) {
  transformGrads<Tile2>(grad, o, grid, z);
}
KILN_CLONES void transformGrads4(const float *grad, int64_t o,
                                 const TileGrid &grid, float *z) {
  transformGrads<Tile4>(grad, o, grid, z);
}

/// U[xi][c][o] = (G g G^T)[xi] for each kernel g = weight(o, c): PyTorch's
/// [o, c, 3, 3], or a transposed convolution's [c, o, 3, 3] read flipped.
/// In float64, rounded once.
template <typename Tile>
void transformWeights(const float *weight, const ConvolutionConfig &cfg,
                      float *u) {
  constexpr int alpha = Tile::alpha;
  int64_t c = cfg.c, o = cfg.o;
  for (int64_t oc = 0; oc < o; ++oc)
    for (int64_t ic = 0; ic < c; ++ic) {
      double kernel[3][3];
      for (int ky = 0; ky < 3; ++ky)
        for (int kx = 0; kx < 3; ++kx)
          kernel[ky][kx] =
              cfg.transposed ? weight[((ic * o + oc) * 3 + 2 - ky) * 3 + 2 - kx]
                             : weight[((oc * c + ic) * 3 + ky) * 3 + kx];
      double left[alpha][3];
      for (int i = 0; i < alpha; ++i)
        for (int kx = 0; kx < 3; ++kx) {
          double sum = 0;
          for (int ky = 0; ky < 3; ++ky)
            sum += Tile::g[i][ky] * kernel[ky][kx];
          left[i][kx] = sum;
        }
      for (int i = 0; i < alpha; ++i)
        for (int j = 0; j < alpha; ++j) {
          double sum = 0;
          for (int kx = 0; kx < 3; ++kx)
            sum += left[i][kx] * Tile::g[j][kx];
          u[((i * alpha + j) * c + ic) * o + oc] = static_cast<float>(sum);
        }
    }
}

/// The batched matrix product of one block on one thread: the forward
/// pass's [xis, tiles, c] x [xis, c, o], or the weight gradient's
/// [xis, c, tiles] (the transformed input tiles, transposed) x
/// [xis, tiles, o] added into [xis, c, o].
struct ProductEntry {
  dnnl::primitive primitive;
  dnnl::memory::desc source, weights, result, scratchpad;
};

PrimitiveCache<ProductEntry> &productCache() {
  static auto *cache = new PrimitiveCache<ProductEntry>();
  return *cache;
}

ProductEntry createProduct(int64_t xis, int64_t tiles, int64_t c, int64_t o,
                           bool weightGrad) {
  using Tag = dnnl::memory::format_tag;
  ProductEntry entry;
  dnnl::primitive_attr attributes;
  attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (weightGrad) {
    entry.source = dnnl::memory::desc({xis, c, tiles}, DataType::f32,
                                      dnnl::memory::dims{tiles * c, 1, c});
    entry.weights =
        dnnl::memory::desc({xis, tiles, o}, DataType::f32, Tag::abc);
    entry.result = dnnl::memory::desc({xis, c, o}, DataType::f32, Tag::abc);
    dnnl::post_ops accumulate;
    accumulate.append_sum(1.0f);
    attributes.set_post_ops(accumulate);
  } else {
    entry.source = dnnl::memory::desc({xis, tiles, c}, DataType::f32, Tag::abc);
    entry.weights = dnnl::memory::desc({xis, c, o}, DataType::f32, Tag::abc);
    entry.result = dnnl::memory::desc({xis, tiles, o}, DataType::f32, Tag::abc);
  }
  // Each product runs on the thread of its block: oneDNN partitions a
  // primitive's work for the thread count it is created under.
#if DNNL_CPU_THREADING_RUNTIME == DNNL_RUNTIME_OMP
  int before = omp_get_max_threads();
  omp_set_num_threads(1);
#endif
  std::optional<dnnl::matmul::primitive_desc> primitiveDesc = optimizedMatmul(
      dnnl::matmul::desc(entry.source, entry.weights, entry.result),
      attributes);
#if DNNL_CPU_THREADING_RUNTIME == DNNL_RUNTIME_OMP
  omp_set_num_threads(before);
#endif
  if (!primitiveDesc)
    throw std::runtime_error("oneDNN has no optimized batched matmul for "
                             "Winograd's products");
  entry.primitive = dnnl::matmul(*primitiveDesc);
  entry.scratchpad = primitiveDesc->scratchpad_desc();
  return entry;
}

std::shared_ptr<const ProductEntry> productFor(int64_t xis, int64_t tiles,
                                               int64_t c, int64_t o,
                                               bool weightGrad = false) {
  return productCache().getOrCreate(
      CacheKey{xis, tiles, c, o, weightGrad},
      [&] { return createProduct(xis, tiles, c, o, weightGrad); });
}

/// The transformed tiles and their products of a block of images take at
/// most about this many bytes (a core's L2 cache), at least one image.
constexpr int64_t kBlockBytes = 1 << 20;

/// The output tile's side m of the F(m x m, 3 x 3) that runs `cfg`: 4 where
/// 4x4 tiles cover the image exactly; 2 where a ragged edge of 4x4 tiles
/// would waste more than their fewer products save.
int64_t tileSide(const ConvolutionConfig &cfg) {
  return cfg.h % 4 == 0 && cfg.w % 4 == 0 ? 4 : 2;
}

/// How `cfg`'s images are taken: tilesH x tilesW tiles of m x m outputs
/// each, in blocks of `perBlock` images (the last of `lastImages`). The
/// blocks do not depend on the thread count: neither do the matrix
/// products, nor so the results.
struct BlockPlan {
  int64_t xis, tilesH, tilesW, perBlock, blocks, lastImages;

  /// The bytes of one image's transformed tiles and their products.
  int64_t imageBytes(const ConvolutionConfig &cfg) const {
    return xis * tilesH * tilesW * (cfg.c + cfg.o) * 4;
  }
  int64_t imagesOf(int64_t block) const {
    return block + 1 == blocks ? lastImages : perBlock;
  }
  TileGrid grid(const ConvolutionConfig &cfg, int64_t block) const {
    return {cfg.h, cfg.w, tilesH, tilesW, block * perBlock, imagesOf(block)};
  }
};

/// `cfg`'s tiles, in blocks of one image.
BlockPlan planTiles(const ConvolutionConfig &cfg) {
  int64_t m = tileSide(cfg);
  return {(m + 2) * (m + 2), (cfg.h + m - 1) / m, (cfg.w + m - 1) / m, 1, 1, 1};
}

/// `cfg`'s tiles in blocks of about kBlockBytes (cfg.n >= 1).
BlockPlan planBlocks(const ConvolutionConfig &cfg) {
  BlockPlan plan = planTiles(cfg);
  plan.perBlock =
      std::clamp<int64_t>(kBlockBytes / plan.imageBytes(cfg), 1, cfg.n);
  plan.blocks = (cfg.n + plan.perBlock - 1) / plan.perBlock;
  plan.lastImages = cfg.n - (plan.blocks - 1) * plan.perBlock;
  return plan;
}

/// The products of a plan's full blocks and of its last one (the same
/// where the last is full).
struct BlockProducts {
  std::shared_ptr<const ProductEntry> full, last;
  const ProductEntry &of(const BlockPlan &plan, int64_t block) const {
    return block + 1 == plan.blocks ? *last : *full;
  }
};

BlockProducts productsFor(const BlockPlan &plan, const ConvolutionConfig &cfg,
                          bool weightGrad) {
  int64_t tilesPerImage = plan.tilesH * plan.tilesW;
  BlockProducts products;
  products.full = productFor(plan.xis, plan.perBlock * tilesPerImage, cfg.c,
                             cfg.o, weightGrad);
  products.last = plan.lastImages == plan.perBlock
                      ? products.full
                      : productFor(plan.xis, plan.lastImages * tilesPerImage,
                                   cfg.c, cfg.o, weightGrad);
  return products;
}

/// body(0) ... body(count - 1), spread over `threads` OpenMP threads where
/// there is more than one of each. An exception must not leave an OpenMP
/// region: the first one is kept and rethrown after it.
template <typename Body>
void forEachOnThreads(int64_t count, int64_t threads, Body &&body) {
  if (threads <= 1 || count <= 1) {
    for (int64_t i = 0; i < count; ++i)
      body(i);
    return;
  }
  std::exception_ptr failure;
  std::mutex failureMutex;
#pragma omp parallel for num_threads(static_cast <int>(threads))               \
    schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    try {
      body(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(failureMutex);
      if (!failure)
        failure = std::current_exception();
    }
  }
  if (failure)
    std::rethrow_exception(failure);
}

template <typename Tile>
void runTiles(const float *input, const float *weight, const float *bias,
              const float *residual, float *result,
              const ConvolutionConfig &cfg, int64_t threads,
              void (*inputs)(const float *, int64_t, const TileGrid &, float *),
              void (*outputs)(const float *, int64_t, const TileGrid &,
                              const float *, const float *, float *)) {
  BlockPlan plan = planBlocks(cfg);
  float *u = static_cast<float *>(scratchBuffer(
      Scratch::Weights, plan.xis * cfg.c * cfg.o * sizeof(float)));
  transformWeights<Tile>(weight, cfg, u);
  BlockProducts products = productsFor(plan, cfg, /*weightGrad=*/false);
  forEachOnThreads(plan.blocks, threads, [&](int64_t block) {
    TileGrid grid = plan.grid(cfg, block);
    const ProductEntry &product = products.of(plan, block);
    float *v = static_cast<float *>(
        scratchBuffer(Scratch::Source, product.source.get_size()));
    inputs(input, cfg.c, grid, v);
    const float *tileProducts = matmulIntoScratch(
        threadStream(), product, wrap(product.source, v),
        wrap(product.weights, u), product.result, Scratch::Destination);
    outputs(tileProducts, cfg.o, grid, bias, residual, result);
  });
}

/// Blocks of images whose weight-gradient sums are added in a fixed order:
/// each group's blocks into one partial sum, on one thread, then the
/// groups' sums in group order, so that the result is the same on any
/// thread count.
constexpr int64_t kSumGroups = 8;

template <typename Tile>
void runWeightGradTiles(const float *input, const float *grad, float *result,
                        const ConvolutionConfig &cfg, int64_t threads,
                        void (*inputs)(const float *, int64_t, const TileGrid &,
                                       float *),
                        void (*grads)(const float *, int64_t, const TileGrid &,
                                      float *)) {
  constexpr int alpha = Tile::alpha;
  BlockPlan plan = planBlocks(cfg);
  int64_t groups = std::min(plan.blocks, kSumGroups);
  int64_t sumCount = plan.xis * cfg.c * cfg.o;
  float *sums = static_cast<float *>(
      scratchBuffer(Scratch::Weights, groups * sumCount * sizeof(float)));
  BlockProducts products = productsFor(plan, cfg, /*weightGrad=*/true);
  forEachOnThreads(groups, threads, [&](int64_t group) {
    float *sum = sums + group * sumCount;
    std::fill(sum, sum + sumCount, 0.0f);
    dnnl::stream &stream = threadStream();
    for (int64_t block = group * plan.blocks / groups;
         block < (group + 1) * plan.blocks / groups; ++block) {
      TileGrid grid = plan.grid(cfg, block);
      const ProductEntry &product = products.of(plan, block);
      float *v = static_cast<float *>(
          scratchBuffer(Scratch::Source, product.source.get_size()));
      float *z = static_cast<float *>(
          scratchBuffer(Scratch::Destination, product.weights.get_size()));
      inputs(input, cfg.c, grid, v);
      grads(grad, cfg.o, grid, z);
      product.primitive.execute(
          stream, {{DNNL_ARG_SRC, wrap(product.source, v)},
                   {DNNL_ARG_WEIGHTS, wrap(product.weights, z)},
                   {DNNL_ARG_DST, wrap(product.result, sum)},
                   {DNNL_ARG_SCRATCHPAD,
                    wrapScratch(product.scratchpad, Scratch::Primitive)}});
      stream.wait();
    }
  });
  for (int64_t group = 1; group < groups; ++group)
    for (int64_t i = 0; i < sumCount; ++i)
      sums[i] += sums[group * sumCount + i];

  // The kernel's gradient is G^T S G for the summed products S of each
  // (input, output) channel pair, in float64.
  for (int64_t oc = 0; oc < cfg.o; ++oc)
    for (int64_t ic = 0; ic < cfg.c; ++ic) {
      double left[3][alpha];
      for (int ky = 0; ky < 3; ++ky)
        for (int b = 0; b < alpha; ++b) {
          double total = 0;
          for (int a = 0; a < alpha; ++a)
            total += Tile::g[a][ky] *
                     sums[((a * alpha + b) * cfg.c + ic) * cfg.o + oc];
          left[ky][b] = total;
        }
      for (int ky = 0; ky < 3; ++ky)
        for (int kx = 0; kx < 3; ++kx) {
          double total = 0;
          for (int b = 0; b < alpha; ++b)
            total += left[ky][b] * Tile::g[b][kx];
          result[((oc * cfg.c + ic) * 3 + ky) * 3 + kx] =
              static_cast<float>(total);
        }
    }
}

bool winogradEnabled() {
  static const bool enabled = [] {
    const char *choice = std::getenv("KILN_WINOGRAD");
    return !(choice && std::strcmp(choice, "0") == 0);
  }();
  return enabled;
}

} // namespace

namespace {

/// One image's transformed tiles and their products, in bytes: at most
/// this much takes Winograd's path, so that a block stays near the cache
/// (larger images and channel counts, untried, keep oneDNN's kernels).
constexpr int64_t kMaxImageBytes = int64_t(4) << 20;

/// The weight gradient's sums are [(m+2)^2, c, o] per group, read and
/// written by every block's products: with more channel pairs than this
/// (measured up to 64 x 64) they would outweigh the products.
constexpr int64_t kMaxWeightGradPairs = 64 * 64;

} // namespace

bool convolution::winogradTakes(const ConvolutionConfig &cfg) {
  return winogradEnabled() && cfg.channelsLast && cfg.groups == 1 &&
         cfg.kh == 3 && cfg.kw == 3 && cfg.strideH == 1 && cfg.strideW == 1 &&
         cfg.dilationH == 1 && cfg.dilationW == 1 && cfg.padH == 1 &&
         cfg.padW == 1 && cfg.outputPadH == 0 && cfg.outputPadW == 0 &&
         cfg.oh == cfg.h && cfg.ow == cfg.w && cfg.h >= 8 && cfg.w >= 8 &&
         cfg.c % kLanes == 0 && cfg.o % kLanes == 0 &&
         cfg.activation == KILN_ACTIVATION_NONE &&
         planTiles(cfg).imageBytes(cfg) <= kMaxImageBytes;
}

bool convolution::winogradTakesWeightGrad(const ConvolutionConfig &cfg) {
  return !cfg.transposed && winogradTakes(cfg) &&
         cfg.c * cfg.o <= kMaxWeightGradPairs;
}

void convolution::runWinograd(const float *input, const float *weight,
                              const float *bias, const float *residual,
                              float *result, const ConvolutionConfig &cfg,
                              int64_t threads) {
  if (tileSide(cfg) == 4)
    runTiles<Tile4>(input, weight, bias, residual, result, cfg, threads,
                    transformInputs4, transformOutputs4);
  else
    runTiles<Tile2>(input, weight, bias, residual, result, cfg, threads,
                    transformInputs2, transformOutputs2);
}

void convolution::runWinogradWeightGrad(const float *input, const float *grad,
                                        float *result,
                                        const ConvolutionConfig &cfg,
                                        int64_t threads) {
  if (tileSide(cfg) == 4)
    runWeightGradTiles<Tile4>(input, grad, result, cfg, threads,
                              transformInputs4, transformGrads4);
  else
    runWeightGradTiles<Tile2>(input, grad, result, cfg, threads,
                              transformInputs2, transformGrads2);
}

size_t convolution::winogradCacheSize() { return productCache().size(); }
