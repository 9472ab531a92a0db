//===- CApi.cpp - The runtime's C API (kiln/kiln.h) -----------------------===//

#include "kiln/kiln.h"

#include "kiln/runtime/SafeTensors.h"

#include <cstring>
#include <exception>
#include <new>
#include <string>

using kiln::rt::DType;
using kiln::rt::HostTensor;

struct kiln_tensors {
  std::string path;
  kiln::rt::SafeTensorsFile file;
};

namespace {

thread_local std::string lastError;

/// Records `message` as the calling thread's last error.
void setError(std::string message) { lastError = std::move(message); }

/// The tensor `name` of `tensors`, or null with the error recorded.
const HostTensor *lookup(const kiln_tensors *tensors, const char *name) {
  if (!tensors || !name) {
    setError("kiln_tensors: a null file or tensor name");
    return nullptr;
  }
  const HostTensor *tensor = tensors->file.find(name);
  if (!tensor)
    setError("'" + tensors->path + "' has no tensor '" + name + "'");
  return tensor;
}

/// Copies tensor `name` into `data` if it is `dtype` with `count` elements.
int readTensor(const kiln_tensors *tensors, const char *name, DType dtype,
         void *data, int64_t count) {
  const HostTensor *tensor = lookup(tensors, name);
  if (!tensor)
    return 1;
  std::string where = "'" + tensors->path + "', tensor '" + name + "': ";
  if (tensor->dtype() != dtype) {
    setError(where + "it is " + tensor->describe() + ", not " +
             kiln::rt::dtypeName(dtype));
    return 1;
  }
  if (tensor->numElements() != count) {
    setError(where + "it is " + tensor->describe() + " (" +
             std::to_string(tensor->numElements()) + " elements), not " +
             std::to_string(count) + " elements");
    return 1;
  }
  if (count > 0) {
    if (!data) {
      setError(where + "a null destination");
      return 1;
    }
    std::memcpy(data, tensor->data(), tensor->sizeInBytes());
  }
  return 0;
}

} // namespace

extern "C" {

kiln_tensors *kiln_tensors_open(const char *path) {
  if (!path) {
    setError("kiln_tensors_open: a null path");
    return nullptr;
  }
  try {
    kiln::rt::StatusOr<kiln::rt::SafeTensorsFile> file =
        kiln::rt::readSafeTensors(path);
    if (!file.ok()) {
      setError(file.status().message());
      return nullptr;
    }
    return new kiln_tensors{path, std::move(file).value()};
  } catch (const std::bad_alloc &) {
    setError(std::string("'") + path + "': out of memory");
  } catch (const std::exception &e) {
    setError(std::string("'") + path + "': " + e.what());
  }
  return nullptr;
}

void kiln_tensors_close(kiln_tensors *tensors) { delete tensors; }

int64_t kiln_tensors_count(const kiln_tensors *tensors) {
  return tensors ? static_cast<int64_t>(tensors->file.tensors.size()) : 0;
}

const char *kiln_tensors_name(const kiln_tensors *tensors, int64_t index) {
  if (!tensors || index < 0 || index >= kiln_tensors_count(tensors))
    return nullptr;
  return tensors->file.tensors[static_cast<size_t>(index)].name.c_str();
}

int kiln_tensors_shape(const kiln_tensors *tensors, const char *name,
                       int64_t *shape, int capacity) {
  const HostTensor *tensor = lookup(tensors, name);
  if (!tensor)
    return -1;
  for (int64_t i = 0; i < tensor->rank() && i < capacity; ++i)
    shape[i] = tensor->shape()[static_cast<size_t>(i)];
  return static_cast<int>(tensor->rank());
}

int kiln_tensors_read_f32(const kiln_tensors *tensors, const char *name,
                          float *data, int64_t count) {
  return readTensor(tensors, name, DType::F32, data, count);
}

int kiln_tensors_read_f64(const kiln_tensors *tensors, const char *name,
                          double *data, int64_t count) {
  return readTensor(tensors, name, DType::F64, data, count);
}

int kiln_tensors_read_i64(const kiln_tensors *tensors, const char *name,
                          int64_t *data, int64_t count) {
  return readTensor(tensors, name, DType::I64, data, count);
}

const char *kiln_last_error(void) { return lastError.c_str(); }

} // extern "C"
