//===- DynamicLibrary.h - Functions of libraries loaded with dlopen -------===//
//
// The CUDA driver, cuBLASLt and NCCL are loaded with dlopen, so that Kiln
// builds and runs on the CPU without them; their functions are looked up
// by name, into pointers typed as the library declares them.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CORE_DYNAMICLIBRARY_H
#define KILN_RUNTIME_CORE_DYNAMICLIBRARY_H

#include <dlfcn.h>

namespace kiln::rt {

/// Points `fn` at `library`'s function `name`; false if it has none.
template <typename F> bool resolve(void *library, const char *name, F &fn) {
  fn = reinterpret_cast<F>(dlsym(library, name));
  return fn != nullptr;
}

} // namespace kiln::rt

#endif // KILN_RUNTIME_CORE_DYNAMICLIBRARY_H
