//===- Initialize.cpp - A parameter's starting values, as the model says --===//

#include "train/Initialize.h"

#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace kiln::rt {

/// The numbers of an initializer's text after its kind ("uniform:-1:2"
/// -> {-1, 2}); none when the text is not one or two finite numbers.
namespace {

std::optional<std::vector<double>> initNumbers(const std::string &text) {
  std::vector<double> values;
  const char *p = text.c_str();
  while (*p) {
    char *end = nullptr;
    double v = std::strtod(p, &end);
    if (end == p || !std::isfinite(v) || (*end != ':' && *end != '\0'))
      return std::nullopt;
    values.push_back(v);
    p = *end == ':' ? end + 1 : end;
  }
  if (values.empty() || values.size() > 2)
    return std::nullopt;
  return values;
}

} // namespace

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
  auto numbers = [&](size_t prefix) {
    return initNumbers(arg.init.substr(prefix));
  };
  std::optional<std::vector<double>> v;
  if (arg.init == "ones") {
    s = fill([] { return 1.0; });
  } else if (arg.init.rfind("constant:", 0) == 0 && (v = numbers(9)) &&
             v->size() == 1) {
    s = fill([&] { return (*v)[0]; });
  } else if (arg.init.rfind("uniform:", 0) == 0 && (v = numbers(8)) &&
             (v->size() == 1 ? (*v)[0] >= 0 : (*v)[0] <= (*v)[1])) {
    double low = v->size() == 1 ? -(*v)[0] : (*v)[0];
    double high = v->size() == 1 ? (*v)[0] : (*v)[1];
    std::uniform_real_distribution<double> d(low, high);
    s = fill([&] { return d(rng); });
  } else if (arg.init.rfind("normal:", 0) == 0 && (v = numbers(7)) &&
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
