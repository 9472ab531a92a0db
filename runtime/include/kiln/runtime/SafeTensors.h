//===- SafeTensors.h - Read and write .safetensors files ------------------===//
//
// The safetensors format, as PyTorch and Hugging Face write it: an 8-byte
// little-endian header length N, N bytes of JSON naming each tensor's dtype,
// shape and byte range, then the data region. Reading checks every field
// against the file before touching data; writing is atomic.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SAFETENSORS_H
#define KILN_RUNTIME_SAFETENSORS_H

#include "kiln/runtime/HostTensor.h"
#include "kiln/runtime/Status.h"

#include <string>
#include <utility>
#include <vector>

namespace kiln::rt {

/// A tensor with its name (a PyTorch state_dict key, for parameters).
struct NamedTensor {
  std::string name;
  HostTensor tensor;
};

/// The contents of a safetensors file.
struct SafeTensorsFile {
  /// The tensors, in the order of their data in the file.
  std::vector<NamedTensor> tensors;
  /// The "__metadata__" string pairs, in header order.
  std::vector<std::pair<std::string, std::string>> metadata;

  /// The tensor called `name`, or null.
  const HostTensor *find(const std::string &name) const;
};

/// Reads the safetensors file at `path`. Every dtype of DType is supported
/// (F32, F64, F16, BF16, I64, I32, I8, U8, BOOL). Fails with a message
/// naming the file, and the tensor when one is at fault, if the file is
/// malformed in any way.
StatusOr<SafeTensorsFile> readSafeTensors(const std::string &path);

/// Writes `file` to `path` atomically (a temporary file in the same
/// directory, fsync'ed and renamed over `path`; on failure an existing
/// `path` is left untouched and no temporary remains): tensor
/// data contiguous and in the given order, metadata first in the header.
/// Fails on duplicate or reserved ("__metadata__") tensor names, duplicate
/// metadata keys, names that are not UTF-8, or an I/O error.
Status writeSafeTensors(const std::string &path, const SafeTensorsFile &file);

} // namespace kiln::rt

#endif // KILN_RUNTIME_SAFETENSORS_H
