//===- CodegenSupport.h - Functions generated code calls into -------------===//
//
// The C ABI that compiled models may call: part of the runtime's contract
// with the compiler. The JIT registers these symbols with the engine; AOT
// artefacts link them from the runtime library.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CODEGENSUPPORT_H
#define KILN_RUNTIME_CODEGENSUPPORT_H

#include <cstdint>

extern "C" {

/// An unranked memref as MLIR passes it: the rank and a pointer to a ranked
/// descriptor {allocated, aligned, offset, sizes[rank], strides[rank]}.
struct KilnUnrankedMemRef {
  int64_t rank;
  void *descriptor;
};

/// Copies a strided memref into another of the same shape, element by
/// element (`elementSize` bytes each). MLIR lowers non-contiguous
/// memref.copy ops to calls of this symbol.
void memrefCopy(int64_t elementSize, KilnUnrankedMemRef *source,
                KilnUnrankedMemRef *target);
}

#endif // KILN_RUNTIME_CODEGENSUPPORT_H
