//===- Init.h - PyTorch's nn::init for Kiln parameters --------------------===//
//
// How a parameter starts, set after the layer that declares it, as in
// PyTorch:
//
//   Conv2d conv{this, "conv", Conv2dOptions(3, 64, 3).bias(false)};
//   Model() : Module("Model") {
//     init::kaiming_normal_(conv.weight, 0, kFanOut, kReLU);
//   }
//
// The values are drawn by the training executable from its seed (not
// PyTorch's generator); their distribution is PyTorch's. The fans follow
// torch.nn.init: fan_in = shape[1] * receptive field, fan_out = shape[0] *
// receptive field, receptive field = the product of shape[2:]; a parameter
// of rank below 2 has no fans (an error for the xavier and kaiming
// functions).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DSL_INIT_H
#define KILN_DSL_INIT_H

#include "kiln/Module.h"

namespace kiln {

/// The activation after a layer, for gains (torch's kReLU, kTanh, ...).
enum class Nonlinearity { Linear, Conv2d, Sigmoid, Tanh, ReLU, LeakyReLU, SELU };
inline constexpr Nonlinearity kLinear = Nonlinearity::Linear;
inline constexpr Nonlinearity kConv2d = Nonlinearity::Conv2d;
inline constexpr Nonlinearity kSigmoid = Nonlinearity::Sigmoid;
inline constexpr Nonlinearity kTanh = Nonlinearity::Tanh;
inline constexpr Nonlinearity kReLU = Nonlinearity::ReLU;
inline constexpr Nonlinearity kLeakyReLU = Nonlinearity::LeakyReLU;
inline constexpr Nonlinearity kSELU = Nonlinearity::SELU;

/// Which fan a kaiming initialization preserves the variance of.
enum class FanMode { FanIn, FanOut };
inline constexpr FanMode kFanIn = FanMode::FanIn;
inline constexpr FanMode kFanOut = FanMode::FanOut;

namespace init {

/// torch.nn.init.calculate_gain: 1 for linear, conv and sigmoid, 5/3 for
/// tanh, sqrt(2) for ReLU, sqrt(2 / (1 + slope^2)) for leaky ReLU (`param`
/// is the slope), 3/4 for SELU.
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);

/// {fan_in, fan_out} of a parameter of rank >= 2.
std::pair<double, double> calculate_fan_in_and_fan_out(const Param &param);

void zeros_(const Param &param);
void ones_(const Param &param);
void constant_(const Param &param, double value);
/// U(a, b), a <= b.
void uniform_(const Param &param, double a = 0, double b = 1);
/// N(mean, std^2), std >= 0.
void normal_(const Param &param, double mean = 0, double std = 1);
/// U(-B, B) with B = gain sqrt(6 / (fan_in + fan_out)).
void xavier_uniform_(const Param &param, double gain = 1);
/// N(0, s^2) with s = gain sqrt(2 / (fan_in + fan_out)).
void xavier_normal_(const Param &param, double gain = 1);
/// U(-B, B) with B = sqrt(3) gain / sqrt(fan); gain from `nonlinearity`
/// and `a` (the leaky ReLU slope). PyTorch's layers start their weights
/// with kaiming_uniform_(w, sqrt(5)).
void kaiming_uniform_(const Param &param, double a = 0,
                      FanMode mode = kFanIn,
                      Nonlinearity nonlinearity = kLeakyReLU);
/// N(0, s^2) with s = gain / sqrt(fan).
void kaiming_normal_(const Param &param, double a = 0, FanMode mode = kFanIn,
                     Nonlinearity nonlinearity = kLeakyReLU);

} // namespace init
} // namespace kiln

#endif // KILN_DSL_INIT_H
