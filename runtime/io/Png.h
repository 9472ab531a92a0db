//===- Png.h - Image grids as PNG files (libpng) --------------------------===//

#ifndef KILN_RUNTIME_IO_PNG_H
#define KILN_RUNTIME_IO_PNG_H

#include "kiln/runtime/HostTensor.h"
#include "kiln/runtime/Status.h"

#include <string>

namespace kiln::rt::io {

/// Writes `images` [N, 1, H, W] (float32 or float64, values in [0, 1]; those
/// outside are clamped, NaN is black) as one 8-bit greyscale PNG: a grid of
/// `columns` images per row (0: about square), 2 pixels of black between
/// and around them. The file is replaced atomically (an unwritable path
/// leaves nothing behind); the error names the path.
Status writePngGrid(const std::string &path, const HostTensor &images,
                    int64_t columns = 0);

} // namespace kiln::rt::io

#endif // KILN_RUNTIME_IO_PNG_H
