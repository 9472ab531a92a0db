//===- DynamicLibrary.h - Functions of libraries loaded with dlopen -------===//
//
// The CUDA driver, cuBLASLt, cuDNN and NCCL are loaded with dlopen, so that
// Kiln builds and runs on the CPU without them; their functions are looked up
// by name, into pointers typed as the library declares them.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CORE_DYNAMICLIBRARY_H
#define KILN_RUNTIME_CORE_DYNAMICLIBRARY_H

#include <dlfcn.h>

#include <cstdlib>
#include <initializer_list>
#include <string>

namespace kiln::rt {

/// Opens the library the variable `variable` names, else the first of
/// `candidates` that loads; null if none does, with each one tried and why
/// it failed in `tried` ("path: reason; ..."). A library the variable names
/// is the only one tried.
inline void *openFirst(const char *variable,
                       std::initializer_list<const char *> candidates,
                       std::string &tried) {
  tried.clear();
  const char *named = std::getenv(variable);
  auto open = [&](const char *path) -> void * {
    if (void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL))
      return handle;
    const char *why = dlerror();
    tried += std::string(tried.empty() ? "" : "; ") + path + ": " +
             (why ? why : "not found");
    return nullptr;
  };
  if (named && *named)
    return open(named);
  for (const char *path : candidates)
    if (void *handle = open(path))
      return handle;
  return nullptr;
}

/// Points `fn` at `library`'s function `name`; false if it has none.
template <typename F> bool resolve(void *library, const char *name, F &fn) {
  fn = reinterpret_cast<F>(dlsym(library, name));
  return fn != nullptr;
}

} // namespace kiln::rt

#endif // KILN_RUNTIME_CORE_DYNAMICLIBRARY_H
