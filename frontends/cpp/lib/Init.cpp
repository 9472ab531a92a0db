//===- Init.cpp - PyTorch's nn::init for Kiln parameters ------------------===//

#include "kiln/Init.h"

#include "dialects/Graph/IR/GraphShapes.h"

#include <fmt/format.h>

#include <cmath>

namespace kiln::init {
namespace {

[[noreturn]] void refuse(const Param &param, const std::string &what) {
  throw GraphError(fmt::format("error: init of '{}' {}: {}", param.spec().name,
                               shapes::str(param.spec().shape), what));
}

void requireFinite(const Param &param, const char *name, double value) {
  if (!std::isfinite(value))
    refuse(param, fmt::format("{} must be finite, got {}", name, value));
}

double fan(const Param &param, FanMode mode) {
  auto [in, out] = calculate_fan_in_and_fan_out(param);
  return mode == FanMode::FanIn ? in : out;
}

} // namespace

double calculate_gain(Nonlinearity nonlinearity, double param) {
  switch (nonlinearity) {
  case Nonlinearity::Linear:
  case Nonlinearity::Conv2d:
  case Nonlinearity::Sigmoid:
    return 1;
  case Nonlinearity::Tanh:
    return 5.0 / 3.0;
  case Nonlinearity::ReLU:
    return std::sqrt(2.0);
  case Nonlinearity::LeakyReLU:
    return std::sqrt(2.0 / (1 + param * param));
  case Nonlinearity::SELU:
    return 0.75;
  }
  return 1;
}

std::pair<double, double> calculate_fan_in_and_fan_out(const Param &param) {
  const Shape &shape = param.spec().shape;
  if (shape.size() < 2)
    refuse(param, "fan in and fan out need a parameter of rank 2 or more");
  double receptive = 1;
  for (size_t i = 2; i < shape.size(); ++i)
    receptive *= static_cast<double>(shape[i]);
  double in = static_cast<double>(shape[1]) * receptive;
  double out = static_cast<double>(shape[0]) * receptive;
  if (in <= 0 || out <= 0)
    refuse(param, "a parameter without elements has no fans");
  return {in, out};
}

void zeros_(const Param &param) { param.setInit(Init::zeros()); }
void ones_(const Param &param) { param.setInit(Init::ones()); }

void constant_(const Param &param, double value) {
  requireFinite(param, "the value", value);
  param.setInit(Init::constant(value));
}

void uniform_(const Param &param, double a, double b) {
  requireFinite(param, "a", a);
  requireFinite(param, "b", b);
  if (a > b)
    refuse(param, fmt::format("uniform_ needs a <= b, got [{}, {}]", a, b));
  param.setInit(Init::uniform(a, b));
}

void normal_(const Param &param, double mean, double std) {
  requireFinite(param, "the mean", mean);
  requireFinite(param, "std", std);
  if (std < 0)
    refuse(param, fmt::format("normal_ needs std >= 0, got {}", std));
  param.setInit(Init::normal(mean, std));
}

void xavier_uniform_(const Param &param, double gain) {
  auto [in, out] = calculate_fan_in_and_fan_out(param);
  double bound = gain * std::sqrt(6.0 / (in + out));
  uniform_(param, -bound, bound);
}

void xavier_normal_(const Param &param, double gain) {
  auto [in, out] = calculate_fan_in_and_fan_out(param);
  normal_(param, 0, std::fabs(gain) * std::sqrt(2.0 / (in + out)));
}

void kaiming_uniform_(const Param &param, double a, FanMode mode,
                      Nonlinearity nonlinearity) {
  double bound =
      std::sqrt(3.0) * calculate_gain(nonlinearity, a) / std::sqrt(fan(param, mode));
  uniform_(param, -bound, bound);
}

void kaiming_normal_(const Param &param, double a, FanMode mode,
                     Nonlinearity nonlinearity) {
  normal_(param, 0,
          calculate_gain(nonlinearity, a) / std::sqrt(fan(param, mode)));
}

} // namespace kiln::init
