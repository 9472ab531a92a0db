//===- Idx.h - Read IDX files, the format of MNIST and Fashion-MNIST ------===//
//
// An IDX file is two zero bytes, an element-type byte, a dimension count,
// that many big-endian 32-bit dimensions, then the big-endian data. Files
// whose name ends in ".gz" are gunzipped while reading.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_IDX_H
#define KILN_RUNTIME_IDX_H

#include "kiln/runtime/HostTensor.h"
#include "kiln/runtime/Status.h"

#include <string>

namespace kiln::rt {

/// Reads the IDX file at `path` (gunzipping it if the name ends in ".gz").
/// Element types map to dtypes as 0x08 -> U8, 0x09 -> I8, 0x0B (int16) -> I32
/// (widened exactly; there is no 16-bit integer dtype), 0x0C -> I32,
/// 0x0D -> F32, 0x0E -> F64. Fails, with a message naming the file, if it is
/// missing, not gzip when it should be, corrupt, truncated, or has a bad
/// magic or an overflowing shape. Bytes after the data are ignored.
StatusOr<HostTensor> readIdx(const std::string &path);

} // namespace kiln::rt

#endif // KILN_RUNTIME_IDX_H
