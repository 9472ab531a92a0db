//===- LibraryCalls.h - Which ops the runtime's library computes ----------===//

#ifndef KILN_COMPILER_CONVERSION_LIBRARYCALLS_H
#define KILN_COMPILER_CONVERSION_LIBRARYCALLS_H

#include <cstring>
#include <initializer_list>

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

/// How the GPU's libraries compute float32 products and convolutions
/// (kilnc --gpu-math): the runtime's KILN_GPU_MATH_* codes.
enum class GpuMath {
  /// Float32 throughout, as on the CPU (the default).
  Float32 = 0,
  /// TF32 tensor cores: operands rounded to 10 mantissa bits, float32 sums.
  Tf32 = 1,
  /// bfloat16 tensor cores for matrix products (7 mantissa bits, float32
  /// sums); convolutions as with Tf32.
  Bf16 = 2,
};

/// The GpuMath that `name` (fp32, tf32, bf16) names, if any.
inline bool parseGpuMath(const char *name, GpuMath &math) {
  struct Named {
    const char *name;
    GpuMath math;
  };
  for (Named n : {Named{"fp32", GpuMath::Float32}, Named{"tf32", GpuMath::Tf32},
                  Named{"bf16", GpuMath::Bf16}})
    if (std::strcmp(name, n.name) == 0) {
      math = n.math;
      return true;
    }
  return false;
}

} // namespace kiln

#endif // KILN_COMPILER_CONVERSION_LIBRARYCALLS_H
