//===- Elements.h - One element of a float tensor, as a double ------------===//
//
// The sampler and the Langevin chain read and write images of either float
// precision element by element.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_TRAIN_ELEMENTS_H
#define KILN_RUNTIME_TRAIN_ELEMENTS_H

#include "kiln/runtime/HostTensor.h"

namespace kiln::rt {

/// Element `i` of an f32 or f64 tensor.
inline double valueAt(const HostTensor &t, int64_t i) {
  return t.dtype() == DType::F64 ? t.data<double>()[i]
                                 : double(t.data<float>()[i]);
}

/// Sets element `i` of an f32 or f64 tensor (rounded for f32).
inline void setValue(HostTensor &t, int64_t i, double v) {
  if (t.dtype() == DType::F64)
    t.data<double>()[i] = v;
  else
    t.data<float>()[i] = static_cast<float>(v);
}

} // namespace kiln::rt

#endif // KILN_RUNTIME_TRAIN_ELEMENTS_H
