//===- LibraryCalls.h - Which ops the runtime's library computes ----------===//

#ifndef KILN_COMPILER_CONVERSION_LIBRARYCALLS_H
#define KILN_COMPILER_CONVERSION_LIBRARYCALLS_H

namespace kiln {

/// Which float32 ops become calls of the runtime's library
/// (kernel.library_call) rather than generated code.
enum class LibraryCalls {
  /// None: everything is generated code.
  None,
  /// The CPU's, on oneDNN: matmul and convolutions with their fused
  /// epilogues, and recurrences.
  OneDnn,
  /// The GPU's: matmul on cuBLASLt with its bias, residual and ReLU (other
  /// activations follow as generated code), and channels-first convolutions
  /// on cuDNN (their bias, residual and activation follow as generated
  /// code).
  Cuda,
};

} // namespace kiln

#endif // KILN_COMPILER_CONVERSION_LIBRARYCALLS_H
