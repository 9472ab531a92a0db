//===- Png.cpp - Image grids as PNG files (libpng) ------------------------===//

#include "Png.h"

#include "AtomicFile.h"

#include <png.h>

#include <cmath>
#include <csetjmp>
#include <cstdint>
#include <vector>

namespace kiln::rt::io {
namespace {

/// libpng's output: appended to a byte vector, written out atomically.
void appendBytes(png_structp png, png_bytep data, png_size_t size) {
  auto *out = static_cast<std::vector<uint8_t> *>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + size);
}

void noFlush(png_structp) {}

/// Encodes `rows` (height rows of width grey bytes) as PNG into `out`;
/// false (with libpng's message in `error`) on failure. No C++ object with
/// a destructor lives between setjmp and libpng's longjmp.
bool encode(const std::vector<png_bytep> &rows, uint32_t width,
            std::vector<uint8_t> &out, std::string &error) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr,
                                            nullptr, nullptr);
  if (!png) {
    error = "libpng could not start";
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (!info || setjmp(png_jmpbuf(png))) {
    error = "libpng failed to encode the image";
    png_destroy_write_struct(&png, info ? &info : nullptr);
    return false;
  }
  png_set_write_fn(png, &out, appendBytes, noFlush);
  png_set_IHDR(png, info, width, static_cast<uint32_t>(rows.size()), 8,
               PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, const_cast<png_bytepp>(rows.data()));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

} // namespace

Status writePngGrid(const std::string &path, const HostTensor &images,
                    int64_t columns) {
  const std::vector<int64_t> &shape = images.shape();
  if (shape.size() != 4 || shape[1] != 1 || shape[0] < 1 ||
      (images.dtype() != DType::F32 && images.dtype() != DType::F64))
    return Status::error("cannot write '" + path + "': a PNG grid needs " +
                         "greyscale images [N, 1, H, W] of f32 or f64, got " +
                         images.describe());
  int64_t n = shape[0], h = shape[2], w = shape[3];
  if (columns <= 0)
    columns = static_cast<int64_t>(std::ceil(std::sqrt(double(n))));
  int64_t gridRows = (n + columns - 1) / columns;
  constexpr int64_t pad = 2;
  int64_t width = columns * (w + pad) + pad, height = gridRows * (h + pad) + pad;
  if (width > 1000000 || height > 1000000)
    return Status::error("cannot write '" + path + "': a grid of " +
                         std::to_string(width) + "x" + std::to_string(height) +
                         " pixels is too large for one PNG");
  std::vector<uint8_t> pixels(static_cast<size_t>(width * height), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t top = pad + (i / columns) * (h + pad);
    int64_t left = pad + (i % columns) * (w + pad);
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        int64_t at = (i * h + y) * w + x;
        double v = images.dtype() == DType::F32
                       ? double(images.data<float>()[at])
                       : images.data<double>()[at];
        v = std::isnan(v) ? 0.0 : std::fmin(1.0, std::fmax(0.0, v));
        pixels[(top + y) * width + left + x] =
            static_cast<uint8_t>(std::lround(v * 255.0));
      }
  }
  std::vector<png_bytep> rows(static_cast<size_t>(height));
  for (int64_t y = 0; y < height; ++y)
    rows[y] = pixels.data() + y * width;
  std::vector<uint8_t> encoded;
  std::string error;
  if (!encode(rows, static_cast<uint32_t>(width), encoded, error))
    return Status::error("cannot write '" + path + "': " + error);
  return writeFileAtomically(path, {{encoded.data(), encoded.size()}});
}

} // namespace kiln::rt::io
