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

/// Fused attention (--fused-attention, and always on the GPU): the callees
/// of kernel.library_call ops that are not C functions but loop nests
/// kiln-expand-attention writes, one row per thread. The operands have
/// graph.attention's shapes, `q [..., Tq, D]`, `k [..., Tk, D]`,
/// `v [..., Tk, Dv]`, the optional `i1` mask broadcasting to the scores
/// `[..., Tq, Tk]` (slot -1 when absent); ints: [causal]; floats: [scale].
namespace fused_attention {
/// q, k, v, mask -> out [..., Tq, Dv]: per query row, the scores' maximum and
/// exponential sum in one pass over the keys, then the weighted values.
inline constexpr const char *kForward = "kiln.attention";
/// q, k, v, mask, out, out_grad -> q_grad, stats [..., Tq, 3]: per query
/// row, its softmax maximum and sum and rowsum(out_grad * out), then the
/// query's gradient.
inline constexpr const char *kGradRows = "kiln.attention_grad_rows";
/// q, k, v, mask, out_grad, stats -> k_grad, v_grad: per key row, over the
/// queries that see it.
inline constexpr const char *kGradColumns = "kiln.attention_grad_columns";
/// The prefix of these callees ("kiln.").
inline constexpr const char *kPrefix = "kiln.";
} // namespace fused_attention

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
