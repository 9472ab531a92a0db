//===- Initialize.cpp - A parameter's starting values, as the model says --===//

#include "train/Initialize.h"

#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace kiln::rt {

std::optional<std::vector<double>> initializerNumbers(const std::string &init,
                                                      const std::string &kind) {
  if (init.size() <= kind.size() || init.compare(0, kind.size(), kind) != 0 ||
      init[kind.size()] != ':')
    return std::nullopt;
  std::vector<double> values;
  const char *p = init.c_str() + kind.size() + 1;
  while (*p) {
    char *end = nullptr;
    double v = std::strtod(p, &end);
    if (end == p || !std::isfinite(v) || (*end != ':' && *end != '\0'))
      return std::nullopt;
    values.push_back(v);
    p = end;
    if (*p == ':' && *++p == '\0')
      return std::nullopt; // "normal:1:"
  }
  if (values.empty() || values.size() > 2)
    return std::nullopt;
  return values;
}

StatusOr<HostTensor> initialize(const ArgumentSpec &arg, std::mt19937_64 &rng) {
  StatusOr<HostTensor> t = HostTensor::zeros(arg.tensor.dtype, arg.tensor.shape);
  if (!t.ok() || arg.init.empty() || arg.init == "zeros")
    return t;
  HostTensor &tensor = t.value();
  auto fill = [&](auto generate) -> Status {
    if (tensor.dtype() == DType::F32) {
      for (int64_t i = 0; i < tensor.numElements(); ++i)
        tensor.data<float>()[i] = static_cast<float>(generate());
    } else if (tensor.dtype() == DType::F64) {
      for (int64_t i = 0; i < tensor.numElements(); ++i)
        tensor.data<double>()[i] = generate();
    } else {
      return Status::error("cannot initialize '" + arg.tensor.name + "' of " +
                           "dtype " + dtypeName(tensor.dtype()));
    }
    return Status::success();
  };
  Status s;
  std::optional<std::vector<double>> v;
  if (arg.init == "ones") {
    s = fill([] { return 1.0; });
  } else if ((v = initializerNumbers(arg.init, "constant")) &&
             v->size() == 1) {
    s = fill([&] { return (*v)[0]; });
  } else if ((v = initializerNumbers(arg.init, "uniform")) &&
             (v->size() == 1 ? (*v)[0] >= 0 : (*v)[0] <= (*v)[1])) {
    double low = v->size() == 1 ? -(*v)[0] : (*v)[0];
    double high = v->size() == 1 ? (*v)[0] : (*v)[1];
    std::uniform_real_distribution<double> d(low, high);
    s = fill([&] { return d(rng); });
  } else if ((v = initializerNumbers(arg.init, "normal")) &&
             v->back() >= 0) {
    std::normal_distribution<double> d(v->size() == 1 ? 0.0 : (*v)[0],
                                       v->back());
    s = fill([&] { return d(rng); });
  } else {
    s = Status::error("'" + arg.tensor.name + "': unknown initializer '" +
                      arg.init + "'");
  }
  if (!s.ok())
    return s;
  return t;
}

} // namespace kiln::rt
