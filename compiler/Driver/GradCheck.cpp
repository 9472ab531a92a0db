//===- GradCheck.cpp - Gradients against finite differences ---------------===//
//
// For each checked element x of a parameter (or input), with h = step *
// max(|x|, 1):
//   central differences D(h) and D(h/2), and the asymmetry of the one-sided
//   ones, A(h) = D+(h) - D-(h), which for a smooth loss is f''h + O(h^3).
// The loss is smooth across [x - h, x + h] when D(h) and D(h/2) agree and
// A(h/2) = A(h)/2, both to within the rounding noise of the differences;
// then the Richardson extrapolation (4 D(h/2) - D(h)) / 3, exact to O(h^4),
// is the numeric derivative. Otherwise the differences straddle a kink (a
// ReLU's 0, a tie of a max): whatever the analytic gradient, finite
// differences cannot judge it there, so the element is reported as a kink
// and another one is checked instead.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/GradCheck.h"
#include "compiler/Driver/KinkProbe.h"

#include "compiler/Target/CPU/JitSession.h"
#include "runtime/train/Initialize.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <random>

namespace kiln::driver {
namespace {

constexpr double kEpsilon = std::numeric_limits<double>::epsilon();
constexpr double kInfinity = std::numeric_limits<double>::infinity();

/// The program errors name (GradCheckOptions::program), for this check.
std::string program = "kilnc";

int fail(const std::string &message) {
  std::fprintf(stderr, "%s: error: %s\n", program.c_str(), message.c_str());
  return 1;
}

bool isFloat(rt::DType dtype) {
  return dtype == rt::DType::F64 || dtype == rt::DType::F32;
}

/// A value for `arg`: its initializer for parameters, uniform [0, 1) for
/// float inputs, uniform integers in [0, 10) for integer inputs (labels).
rt::HostTensor draw(const rt::ArgumentSpec &arg, std::mt19937_64 &rng) {
  rt::HostTensor t =
      rt::HostTensor::zeros(arg.tensor.dtype, arg.tensor.shape).value();
  int64_t n = t.numElements();
  if (t.dtype() == rt::DType::I64) {
    for (int64_t i = 0; i < n; ++i)
      t.data<int64_t>()[i] = static_cast<int64_t>(rng() % 10);
    return t;
  }
  if (t.dtype() != rt::DType::F64)
    return t;
  double bound = 1.0;
  // "uniform:B" or "uniform:LO:HI": values of the initializer's size.
  if (auto range = rt::initializerNumbers(arg.init, "uniform")) {
    bound = 0;
    for (double v : *range)
      bound = std::max(bound, std::fabs(v));
    if (!(bound > 0))
      bound = 1.0;
  }
  bool ones = arg.init == "ones";
  std::uniform_real_distribution<double> d(
      arg.kind == rt::ArgKind::Input ? 0.0 : -bound, bound);
  for (int64_t i = 0; i < n; ++i)
    t.data<double>()[i] = ones ? 1.0 + 0.1 * d(rng) : d(rng);
  return t;
}

/// The verdict on one element.
struct Element {
  enum Kind { Checked, Kink, NonFinite } kind = Checked;
  double analytic = 0, numeric = 0;
  /// |analytic - numeric| and what the tolerance allows for this element.
  double error = 0, allowed = 0;
  /// ratio error / allowed: how close to failing (inf for NaN).
  double ratio() const {
    if (!(error <= allowed))
      return std::isnan(error) || allowed <= 0 ? kInfinity : error / allowed;
    return allowed > 0 ? error / allowed : 0.0;
  }
};

/// Per tensor: what was checked, the worst element, the kinks and their
/// owners.
struct Tally {
  int64_t checked = 0, kinks = 0, failures = 0, tried = 0;
  Element worst;
  bool any = false;
  std::map<std::string, int64_t> owners;
};

class Checker {
public:
  Checker(jit::Session &session, const GradCheckOptions &options,
          std::vector<rt::HostTensor> &args)
      : session(session), options(options), args(args) {}

  /// The loss at the current arguments.
  rt::Status loss(double &value) {
    std::vector<rt::HostTensor> out;
    if (rt::Status s = run(options.lossEntry, out); !s.ok())
      return s;
    value = out[0].data<double>()[0];
    return rt::Status::success();
  }

  /// Checks element `index` of argument `arg` against `analytic`.
  rt::Status check(size_t arg, int64_t index, double analytic, double f0,
                   Element &e, std::vector<std::string> &owners) {
    double &x = args[arg].data<double>()[index];
    const double saved = x;
    const double h = options.step * std::max(std::abs(saved), 1.0);
    // f at saved + delta, with the step actually taken (delta as rounded).
    auto at = [&](double delta, double &value, double &taken) {
      x = saved + delta;
      taken = x - saved;
      rt::Status s = loss(value);
      x = saved;
      return s;
    };
    double fp1, fm1, fp2, fm2, hp1, hm1, hp2, hm2;
    for (auto [delta, value, taken] :
         {std::tuple{h, &fp1, &hp1}, std::tuple{-h, &fm1, &hm1},
          std::tuple{h / 2, &fp2, &hp2}, std::tuple{-h / 2, &fm2, &hm2}})
      if (rt::Status s = at(delta, *value, *taken); !s.ok())
        return s;
    hm1 = -hm1, hm2 = -hm2;
    double d1 = (fp1 - fm1) / (hp1 + hm1), d2 = (fp2 - fm2) / (hp2 + hm2);
    double asym1 = (fp1 - f0) / hp1 - (f0 - fm1) / hm1;
    double asym2 = (fp2 - f0) / hp2 - (f0 - fm2) / hm2;
    e.analytic = analytic;
    if (!std::isfinite(d1) || !std::isfinite(d2) || !std::isfinite(asym1) ||
        !std::isfinite(asym2) || !std::isfinite(analytic)) {
      e.kind = Element::NonFinite;
      e.numeric = d2;
      e.error = kInfinity;
      return rt::Status::success();
    }
    // Rounding noise of a difference quotient over step s.
    double lossNoise = kRoundingUlps * kEpsilon * std::max(std::abs(f0), 1e-300);
    double noise1 = lossNoise / h, noise2 = 2 * lossNoise / h;
    double scale = std::max(std::abs(d1), std::abs(d2));
    double slack = 4 * noise2 + options.tolerance * scale;
    bool smooth = std::abs(d1 - d2) <= slack &&
                  std::abs(asym2 - asym1 / 2) <= slack;
    if (!smooth) {
      e.kind = Element::Kink;
      return kinkOwners(arg, index, h, owners);
    }
    e.kind = Element::Checked;
    e.numeric = (4 * d2 - d1) / 3;
    e.error = std::abs(e.analytic - e.numeric);
    // The extrapolation weighs the two differences' noise by 4/3 and 1/3:
    // (4 noise2 + noise1) / 3 = 3 lossNoise / h, doubled.
    e.allowed = options.tolerance * std::abs(e.numeric) +
                2 * (4 * noise2 + noise1) / 3;
    return rt::Status::success();
  }

private:
  rt::Status run(const std::string &entry, std::vector<rt::HostTensor> &out) {
    rt::StatusOr<std::vector<rt::HostTensor>> results =
        rt::allocateResults(*session.findEntry(entry));
    if (!results.ok())
      return results.status();
    out = std::move(results.value());
    return session.run(entry, args, out);
  }

  /// The piecewise ops whose branch differs between saved - h and saved + h.
  rt::Status kinkOwners(size_t arg, int64_t index, double h,
                        std::vector<std::string> &owners) {
    if (!session.findEntry(kKinkProbeEntry))
      return rt::Status::success();
    double &x = args[arg].data<double>()[index];
    const double saved = x;
    std::vector<rt::HostTensor> left, right;
    x = saved - h;
    rt::Status s = run(kKinkProbeEntry, left);
    x = saved + h;
    if (s.ok())
      s = run(kKinkProbeEntry, right);
    x = saved;
    if (!s.ok())
      return s;
    for (size_t k = 1; k < left.size() && k - 1 < options.kinkOwners.size();
         ++k) {
      const rt::HostTensor &a = left[k], &b = right[k];
      if (a.sizeInBytes() != b.sizeInBytes() ||
          std::memcmp(a.data(), b.data(), a.sizeInBytes()) != 0)
        owners.push_back(options.kinkOwners[k - 1]);
    }
    return rt::Status::success();
  }

  jit::Session &session;
  const GradCheckOptions &options;
  std::vector<rt::HostTensor> &args;
};

/// Element indices to try for a tensor of n elements: `samples` spread
/// evenly, then others at random, none twice; at most `limit`.
std::vector<int64_t> candidates(int64_t n, int64_t samples, int64_t limit,
                                std::mt19937_64 &rng) {
  std::vector<int64_t> order;
  std::vector<bool> taken(static_cast<size_t>(n), false);
  auto add = [&](int64_t i) {
    if (!taken[static_cast<size_t>(i)]) {
      taken[static_cast<size_t>(i)] = true;
      order.push_back(i);
    }
  };
  int64_t spread = std::min(n, samples);
  for (int64_t k = 0; k < spread; ++k)
    add(spread == n ? k : k * (n - 1) / std::max<int64_t>(1, spread - 1));
  limit = std::min(n, limit);
  if (limit == n) {
    for (int64_t i = 0; i < n; ++i)
      add(i);
  } else {
    std::uniform_int_distribution<int64_t> pick(0, n - 1);
    while (static_cast<int64_t>(order.size()) < limit)
      add(pick(rng));
  }
  return order;
}

std::string ownersText(const std::map<std::string, int64_t> &owners) {
  std::string text;
  for (const auto &[owner, count] : owners)
    text += fmt::format("{}{} x {}", text.empty() ? "" : "; ", count, owner);
  return text;
}

} // namespace

int gradCheck(const std::string &graphIR, const GradCheckOptions &options) {
  program = options.program;
  jit::Options jitOptions;
  jitOptions.wrtInputs = options.wrtInputs;
  jitOptions.testScaleRule = options.testScaleRule;
  jitOptions.testScaleFactor = options.testScaleFactor;
  jitOptions.entries = {options.lossEntry, options.gradEntry, kKinkProbeEntry};
  if (const char *level = std::getenv("KILN_GRADCHECK_OPT"))
    jitOptions.optLevel = std::atoi(level);
  std::string error;
  std::unique_ptr<jit::Session> session =
      jit::Session::compile(graphIR, jitOptions, error);
  if (!session) {
    std::fprintf(stderr, "%s", error.c_str());
    return fail("cannot compile the model for the gradient check");
  }
  const rt::EntrySpec *lossEntry = session->findEntry(options.lossEntry);
  const rt::EntrySpec *gradEntry = session->findEntry(options.gradEntry);
  if (!lossEntry || !gradEntry)
    return fail("the gradient check needs `" + options.lossEntry + "` and `" +
                options.gradEntry + "` entry points");
  for (const rt::ArgumentSpec &a : lossEntry->arguments)
    if (a.kind != rt::ArgKind::Input && isFloat(a.tensor.dtype) &&
        a.tensor.dtype != rt::DType::F64)
      return fail("the gradient check runs in float64: compile with "
                  "--dtype=f64 (parameter '" +
                  a.tensor.name + "' is " + rt::dtypeName(a.tensor.dtype) +
                  ")");

  std::mt19937_64 rng(options.seed);
  std::vector<rt::HostTensor> args;
  for (const rt::ArgumentSpec &a : lossEntry->arguments)
    args.push_back(draw(a, rng));
  std::vector<rt::HostTensor> gradients =
      rt::allocateResults(*gradEntry).value();
  if (rt::Status s = session->run(options.gradEntry, args, gradients);
      !s.ok())
    return fail(s.message());
  Checker checker(*session, options, args);
  double f0 = 0;
  if (rt::Status s = checker.loss(f0); !s.ok())
    return fail(s.message());

  std::printf("loss %.6e at the drawn parameters and inputs (seed %llu)\n"
              "step h = %g x max(|x|, 1); allowed |analytic - numeric| = %g x "
              "|numeric| + 6 x %g ulps of the loss / h (the extrapolation's "
              "rounding noise, doubled; %.2e at h = %g)\n",
              f0, static_cast<unsigned long long>(options.seed), options.step,
              options.tolerance, kRoundingUlps,
              6 * kRoundingUlps * kEpsilon * std::abs(f0) / options.step,
              options.step);
  std::printf("%-32s %8s %6s %14s %14s %10s %10s\n", "tensor", "checked",
              "kinks", "analytic", "numeric", "|a - n|", "allowed");
  bool ok = std::isfinite(f0);
  if (!ok)
    std::printf("the loss itself is %g: FAIL\n", f0);
  int64_t totalChecked = 0, totalKinks = 0, tensors = 0;
  std::vector<std::pair<std::string, Tally>> kinked;
  for (size_t i = 0; i < lossEntry->arguments.size(); ++i) {
    const rt::ArgumentSpec &a = lossEntry->arguments[i];
    bool wanted = a.kind == rt::ArgKind::Parameter ||
                  (options.wrtInputs && a.kind == rt::ArgKind::Input &&
                   isFloat(a.tensor.dtype));
    if (!wanted)
      continue;
    int result = -1;
    for (size_t r = 0; r < gradEntry->results.size(); ++r)
      if (gradEntry->results[r].name == "grad." + a.tensor.name)
        result = static_cast<int>(r);
    // One step of alternating training differentiates only the parameters
    // it trains.
    if (result < 0 && a.kind == rt::ArgKind::Parameter &&
        options.gradEntry != "grad")
      continue;
    if (result < 0)
      return fail("`" + options.gradEntry + "` has no result 'grad." +
                  a.tensor.name + "'");
    const rt::HostTensor &g = gradients[static_cast<size_t>(result)];
    int64_t n = args[i].numElements();
    // Kinks are rare: trying four times the samples finds enough smooth
    // elements unless most of the tensor sits on one.
    std::vector<int64_t> order =
        candidates(n, options.samples,
                   std::max<int64_t>(4 * options.samples, options.samples + 32),
                   rng);
    Tally tally;
    for (int64_t index : order) {
      if (tally.checked >= std::min(n, options.samples))
        break;
      ++tally.tried;
      Element e;
      std::vector<std::string> owners;
      if (rt::Status s =
              checker.check(i, index, g.data<double>()[index], f0, e, owners);
          !s.ok())
        return fail(s.message());
      if (e.kind == Element::Kink) {
        ++tally.kinks;
        if (owners.empty())
          owners.push_back("an op the model cannot name");
        for (const std::string &o : owners)
          ++tally.owners[o];
        continue;
      }
      ++tally.checked;
      bool pass = e.kind == Element::Checked && e.error <= e.allowed;
      tally.failures += !pass;
      if (!tally.any || e.ratio() > tally.worst.ratio() ||
          e.kind == Element::NonFinite) {
        tally.worst = e;
        tally.any = true;
      }
    }
    bool pass = tally.failures == 0 && (n == 0 || tally.checked > 0);
    ok &= pass;
    ++tensors;
    totalChecked += tally.checked;
    totalKinks += tally.kinks;
    const char *verdict = pass ? "" : tally.checked == 0 ? "  UNCHECKED" : "  FAIL";
    if (tally.any)
      std::printf("%-32s %8lld %6lld %14.6e %14.6e %10.2e %10.2e%s\n",
                  a.tensor.name.c_str(), static_cast<long long>(tally.checked),
                  static_cast<long long>(tally.kinks), tally.worst.analytic,
                  tally.worst.numeric, tally.worst.error, tally.worst.allowed,
                  verdict);
    else
      std::printf("%-32s %8lld %6lld %14s %14s %10s %10s%s\n",
                  a.tensor.name.c_str(), static_cast<long long>(tally.checked),
                  static_cast<long long>(tally.kinks), "-", "-", "-", "-",
                  verdict);
    if (tally.kinks)
      kinked.push_back({a.tensor.name, tally});
    if (tally.checked > 0 && tally.checked < std::min(n, options.samples))
      std::printf("  (only %lld of %lld: the other %lld elements tried sit on "
                  "kinks)\n",
                  static_cast<long long>(tally.checked),
                  static_cast<long long>(std::min(n, options.samples)),
                  static_cast<long long>(tally.kinks));
  }
  for (const auto &[name, tally] : kinked)
    std::printf("kinks in %s (skipped; its left and right derivatives "
                "differ): %s\n",
                name.c_str(), ownersText(tally.owners).c_str());
  std::printf("%s: %lld elements of %lld tensors checked, %lld on kinks "
              "skipped\n",
              ok ? "gradients match finite differences"
                 : "gradients differ from finite differences",
              static_cast<long long>(totalChecked),
              static_cast<long long>(tensors),
              static_cast<long long>(totalKinks));
  return ok ? 0 : 1;
}

} // namespace kiln::driver
