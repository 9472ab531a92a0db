//===- Manifest.cpp - Binding user tensors to entry-point arguments -------===//

#include "kiln/runtime/Manifest.h"

namespace kiln::rt {

const char *argKindName(ArgKind kind) {
  switch (kind) {
  case ArgKind::Parameter:
    return "parameter";
  case ArgKind::Buffer:
    return "buffer";
  case ArgKind::Input:
    return "input";
  }
  return "input";
}

namespace {

std::string describe(DType dtype, const std::vector<int64_t> &shape) {
  return std::string(dtypeName(dtype)) + formatShape(shape);
}

} // namespace

StatusOr<std::vector<HostTensor>> bindArguments(const EntrySpec &entry,
                                                const SafeTensorsFile *params,
                                                const SafeTensorsFile *inputs) {
  std::vector<HostTensor> bound;
  std::vector<std::string> missing;
  for (const ArgumentSpec &arg : entry.arguments) {
    const SafeTensorsFile *source =
        arg.kind == ArgKind::Input ? inputs : params;
    const HostTensor *given = source ? source->find(arg.tensor.name) : nullptr;
    if (!given) {
      missing.push_back(std::string(argKindName(arg.kind)) + " '" +
                        arg.tensor.name + "' (" +
                        describe(arg.tensor.dtype, arg.tensor.shape) + ")");
      continue;
    }
    if (given->shape() != arg.tensor.shape)
      return Status::error(std::string(argKindName(arg.kind)) + " '" +
                           arg.tensor.name + "' of entry '" + entry.name +
                           "': expected shape " +
                           formatShape(arg.tensor.shape) + ", given " +
                           formatShape(given->shape()));
    if (given->dtype() == arg.tensor.dtype) {
      bound.push_back(given->clone());
      continue;
    }
    StatusOr<HostTensor> converted = convertTo(*given, arg.tensor.dtype);
    if (!converted.ok())
      return Status::error(std::string(argKindName(arg.kind)) + " '" +
                           arg.tensor.name + "' of entry '" + entry.name +
                           "': expected " +
                           describe(arg.tensor.dtype, arg.tensor.shape) +
                           ", given " + given->describe() + " (" +
                           converted.status().message() + ")");
    bound.push_back(std::move(converted).value());
  }
  if (!missing.empty()) {
    std::string message = "entry '" + entry.name + "' is missing ";
    for (size_t i = 0; i < missing.size(); ++i)
      message += (i ? ", " : "") + missing[i];
    return Status::error(message);
  }
  return bound;
}

StatusOr<std::vector<HostTensor>> allocateResults(const EntrySpec &entry) {
  std::vector<HostTensor> results;
  for (const TensorSpec &r : entry.results) {
    StatusOr<HostTensor> t = HostTensor::zeros(r.dtype, r.shape);
    if (!t.ok())
      return t.status().withPrefix("result '" + r.name + "': ");
    results.push_back(std::move(t).value());
  }
  return results;
}

const EntrySpec *findEntry(const std::vector<EntrySpec> &entries,
                           const std::string &name) {
  for (const EntrySpec &e : entries)
    if (e.name == name)
      return &e;
  return nullptr;
}

} // namespace kiln::rt
