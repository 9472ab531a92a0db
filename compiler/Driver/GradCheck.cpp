//===- GradCheck.cpp - Gradients against central finite differences -------===//

#include "compiler/Driver/GradCheck.h"

#include "compiler/Target/CPU/JitSession.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <random>

namespace kiln::driver {
namespace {

int fail(const std::string &message) {
  std::fprintf(stderr, "kilnc: error: %s\n", message.c_str());
  return 1;
}

const rt::EntrySpec *find(const jit::Session &s, const std::string &name) {
  return s.findEntry(name);
}

/// A value for `arg`: its initializer for parameters, uniform [0, 1) for
/// float inputs, uniform integers in [0, 10) for integer inputs (labels).
rt::HostTensor draw(const rt::ArgumentSpec &arg, std::mt19937_64 &rng) {
  rt::HostTensor t = rt::HostTensor::zeros(arg.tensor.dtype, arg.tensor.shape).value();
  int64_t n = t.numElements();
  if (t.dtype() == rt::DType::I64) {
    for (int64_t i = 0; i < n; ++i)
      t.data<int64_t>()[i] = static_cast<int64_t>(rng() % 10);
    return t;
  }
  if (t.dtype() != rt::DType::F64)
    return t;
  double bound = 1.0;
  if (arg.init.rfind("uniform:", 0) == 0)
    bound = std::strtod(arg.init.c_str() + 8, nullptr);
  bool ones = arg.init == "ones";
  std::uniform_real_distribution<double> d(arg.kind == rt::ArgKind::Input ? 0.0 : -bound,
                                           bound);
  for (int64_t i = 0; i < n; ++i)
    t.data<double>()[i] = ones ? 1.0 + 0.1 * d(rng) : d(rng);
  return t;
}

} // namespace

int gradCheck(const std::string &graphIR, const GradCheckOptions &options) {
  jit::Options jitOptions;
  std::string error;
  std::unique_ptr<jit::Session> session =
      jit::Session::compile(graphIR, jitOptions, error);
  if (!session) {
    std::fprintf(stderr, "%s", error.c_str());
    return fail("cannot compile the model for the gradient check");
  }
  const rt::EntrySpec *loss = find(*session, "loss");
  const rt::EntrySpec *grad = find(*session, "grad");
  if (!loss || !grad)
    return fail("the gradient check needs `loss` and `grad` entry points");
  for (const rt::ArgumentSpec &a : loss->arguments)
    if (a.kind != rt::ArgKind::Input && a.tensor.dtype != rt::DType::F64)
      return fail("the gradient check runs in float64: compile with "
                  "--dtype=f64 (parameter '" + a.tensor.name + "' is " +
                  rt::dtypeName(a.tensor.dtype) + ")");

  std::mt19937_64 rng(options.seed);
  std::vector<rt::HostTensor> args;
  for (const rt::ArgumentSpec &a : loss->arguments)
    args.push_back(draw(a, rng));
  auto evaluate = [&](const std::string &entry, std::vector<rt::HostTensor> &in,
                      std::vector<rt::HostTensor> &out) {
    out = rt::allocateResults(*session->findEntry(entry)).value();
    return session->run(entry, in, out);
  };
  std::vector<rt::HostTensor> gradients;
  if (rt::Status s = evaluate("grad", args, gradients); !s.ok())
    return fail(s.message());

  std::printf("%-32s %10s %14s %14s %10s\n", "parameter", "checked",
              "analytic", "numeric", "rel error");
  bool ok = true;
  size_t result = 1;
  for (size_t i = 0; i < loss->arguments.size(); ++i) {
    const rt::ArgumentSpec &a = loss->arguments[i];
    if (a.kind != rt::ArgKind::Parameter)
      continue;
    const rt::HostTensor &g = gradients[result++];
    int64_t n = args[i].numElements();
    int64_t samples = std::min(n, options.samples);
    double worst = -1, worstAnalytic = 0, worstNumeric = 0;
    for (int64_t k = 0; k < samples; ++k) {
      int64_t index = samples == n ? k : k * (n - 1) / std::max<int64_t>(1, samples - 1);
      double &x = args[i].data<double>()[index];
      double saved = x;
      std::vector<rt::HostTensor> out;
      x = saved + options.step;
      if (rt::Status s = evaluate("loss", args, out); !s.ok())
        return fail(s.message());
      double plus = out[0].data<double>()[0];
      x = saved - options.step;
      if (rt::Status s = evaluate("loss", args, out); !s.ok())
        return fail(s.message());
      double minus = out[0].data<double>()[0];
      x = saved;
      double numeric = (plus - minus) / (2 * options.step);
      double analytic = g.data<double>()[index];
      double error = std::abs(analytic - numeric) / std::max(std::abs(numeric), 1e-3);
      if (error > worst)
        worst = error, worstAnalytic = analytic, worstNumeric = numeric;
    }
    bool pass = worst <= options.tolerance;
    ok &= pass;
    std::printf("%-32s %10lld %14.6e %14.6e %10.2e%s\n", a.tensor.name.c_str(),
                static_cast<long long>(samples), worstAnalytic, worstNumeric,
                worst, pass ? "" : "  FAIL");
  }
  std::printf("%s (tolerance %g, step %g)\n",
              ok ? "gradients match finite differences"
                 : "gradients differ from finite differences",
              options.tolerance, options.step);
  return ok ? 0 : 1;
}

} // namespace kiln::driver
