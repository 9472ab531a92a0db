//===- Npy.h - Read and write NumPy .npy files ----------------------------===//
//
// The .npy format of numpy.save, versions 1.0 and 2.0: the magic
// "\x93NUMPY", a version, a header length, a Python dict literal giving
// 'descr', 'fortran_order' and 'shape', then the C-order data. Supported
// descrs: '<f4', '<f8', '<f2', '<i4', '<i8', '|i1', '|u1', '|b1'.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_NPY_H
#define KILN_RUNTIME_NPY_H

#include "kiln/runtime/HostTensor.h"
#include "kiln/runtime/Status.h"

#include <string>

namespace kiln::rt {

/// Reads the .npy file at `path`. Rejects, with a message naming the file,
/// a bad magic or version, a truncated or unparsable header, Fortran order,
/// big-endian or unsupported dtypes, and data shorter than the shape needs.
/// Bytes after the data are ignored.
StatusOr<HostTensor> readNpy(const std::string &path);

/// Writes `tensor` to `path` as a version 1.0 .npy file (2.0 if the header
/// needs it), atomically like writeSafeTensors. Fails for BF16, which NumPy
/// has no dtype for.
Status writeNpy(const std::string &path, const HostTensor &tensor);

} // namespace kiln::rt

#endif // KILN_RUNTIME_NPY_H
