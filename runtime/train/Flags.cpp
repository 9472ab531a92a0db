//===- Flags.cpp - Command-line flags of train, eval, generate and sample -===//

#include "kiln/runtime/Library.h"
#include "kiln/runtime/Sampling.h"
#include "kiln/runtime/Training.h"

#include <cerrno>
#include <cstdlib>
#include <functional>

namespace kiln::rt {
namespace {

/// argv[i] as a flag and its value: "--flag=value", or "--flag value"
/// (moving i past the value) where `separate(arg)` allows it.
struct FlagArg {
  std::string arg, flag, value;
  bool given = false; // a value was there
};

FlagArg readFlag(int argc, char **argv, int &i,
                 const std::function<bool(const std::string &)> &separate) {
  FlagArg f;
  f.arg = argv[i];
  size_t eq = f.arg.find('=');
  f.flag = f.arg.substr(0, eq);
  if (eq != std::string::npos) {
    f.value = f.arg.substr(eq + 1);
    f.given = true;
  } else if (i + 1 < argc && separate(f.arg)) {
    f.value = argv[++i];
    f.given = true;
  }
  return f;
}

/// The integer value of flag `f` (non-negative where `nonNegative`), or an
/// error naming the flag.
Status integerFlag(const FlagArg &f, int64_t &out, bool nonNegative) {
  char *end = nullptr;
  errno = 0;
  long long n = std::strtoll(f.value.c_str(), &end, 10);
  if (f.value.empty() || *end || errno || (nonNegative && n < 0))
    return Status::error(f.flag + " needs a " +
                         (nonNegative ? "non-negative " : "") +
                         "integer, got '" + f.value + "'");
  out = n;
  return Status::success();
}

/// The option a flag that takes no value turns on, or null.
bool TrainOptions::*switchFor(const std::string &arg) {
  if (arg == "--check-numerics")
    return &TrainOptions::checkNumerics;
  if (arg == "--copy-updates")
    return &TrainOptions::copyUpdates;
  if (arg == "--deterministic")
    return &TrainOptions::deterministic;
  return nullptr;
}

} // namespace

Status parseTrainFlags(int argc, char **argv, int first, TrainOptions &options,
                       std::string *paramsPath) {
  for (int i = first; i < argc; ++i) {
    FlagArg f = readFlag(argc, argv, i, [](const std::string &a) {
      return a.rfind("--", 0) == 0 && !switchFor(a);
    });
    const std::string &arg = f.arg, &flag = f.flag, &value = f.value;
    auto number = [&](int64_t &out) -> Status {
      char *end = nullptr;
      long long n = std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end || n < 0)
        return Status::error(flag + " needs a non-negative integer, got '" +
                             value + "'");
      out = n;
      return Status::success();
    };
    Status s;
    int64_t seed = 0;
    if (flag == "--epochs")
      s = number(options.epochs);
    else if (flag == "--seed")
      s = number(seed), options.seed = static_cast<uint64_t>(seed),
      options.seedGiven = true;
    else if (flag == "--steps-per-epoch")
      s = number(options.stepsPerEpoch);
    else if (flag == "--checkpoint-every")
      s = number(options.checkpointEvery);
    else if (flag == "--stop-after-steps")
      s = number(options.stopAfterSteps);
    else if (flag == "--data")
      options.data = value;
    else if (flag == "--data-dir")
      options.dataDir = value;
    else if (flag == "--train-file")
      options.trainFile = value;
    else if (flag == "--test-file")
      options.testFile = value;
    else if (flag == "--checkpoint")
      options.checkpoint = value;
    else if (flag == "--resume")
      options.resume = value;
    else if (flag == "--metrics")
      options.metrics = value;
    else if (flag == "--plot")
      options.plot = value;
    else if (flag == "--profile")
      options.profile = value;
    else if (flag == "--bucket-mb") {
      char *end = nullptr;
      double mb = std::strtod(value.c_str(), &end);
      if (value.empty() || *end || !(mb >= 0 && mb <= 1e6))
        s = Status::error("--bucket-mb needs a size in MiB from 0 to "
                          "1000000, got '" + value + "'");
      else
        options.bucketBytes = static_cast<int64_t>(mb * (1 << 20));
    }
    else if (flag == "--profile-steps") {
      s = number(options.profileSteps);
      if (s.ok() && options.profileSteps < 1)
        s = Status::error("--profile-steps needs at least 1, got '" + value +
                          "'");
    }
    else if (flag == "--save-params")
      options.paramsOut = value;
    else if (flag == "--init-params")
      options.initParams = value;
    else if (bool TrainOptions::*on = switchFor(arg))
      options.*on = true;
    else if (flag == "--params" && paramsPath)
      *paramsPath = value;
    else if (flag == "--threads") {
      int64_t n = 0;
      s = number(n);
      if (s.ok() && n > 0)
        kiln_set_num_threads(n);
    } else
      s = Status::error("unknown argument '" + arg + "'");
    if (!s.ok())
      return s;
  }
  return Status::success();
}


Status parseFillFlags(int argc, char **argv, int first, FillOptions &options) {
  for (int i = first; i < argc; ++i) {
    FlagArg f =
        readFlag(argc, argv, i, [](const std::string &) { return true; });
    const std::string &arg = f.arg, &flag = f.flag, &value = f.value;
    if (!f.given)
      return Status::error(flag + " needs a value");
    if (flag == "--params")
      options.params = value;
    else if (flag == "--text")
      options.text = value;
    else if (flag == "--mask-char") {
      if (value.size() != 1)
        return Status::error("--mask-char needs one character, got '" +
                             value + "'");
      options.maskChar = value[0];
    } else if (flag == "--threads") {
      char *end = nullptr;
      long long n = std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end)
        return Status::error("--threads needs an integer, got '" + value +
                             "'");
      if (n > 0)
        kiln_set_num_threads(n);
    } else {
      return Status::error("unknown argument '" + arg + "'");
    }
  }
  return Status::success();
}

Status parseGenerateFlags(int argc, char **argv, int first,
                          GenerateOptions &options) {
  for (int i = first; i < argc; ++i) {
    FlagArg f =
        readFlag(argc, argv, i, [](const std::string &) { return true; });
    const std::string &arg = f.arg, &flag = f.flag, &value = f.value;
    if (!f.given)
      return Status::error(flag + " needs a value");
    auto integer = [&](int64_t &out) { return integerFlag(f, out, false); };
    Status s;
    if (flag == "--params")
      options.params = value;
    else if (flag == "--prompt")
      options.prompt = value;
    else if (flag == "--tokens")
      s = integer(options.tokens);
    else if (flag == "--top-k")
      s = integer(options.topK);
    else if (flag == "--seed") {
      int64_t seed = 0;
      s = integer(seed);
      if (s.ok() && seed < 0)
        s = Status::error("--seed needs a non-negative integer, got '" +
                          value + "'");
      options.seed = static_cast<uint64_t>(seed);
    } else if (flag == "--temperature") {
      char *end = nullptr;
      options.temperature = std::strtod(value.c_str(), &end);
      if (value.empty() || *end)
        s = Status::error("--temperature needs a number, got '" + value + "'");
    } else if (flag == "--threads") {
      int64_t n = 0;
      s = integer(n);
      if (s.ok() && n > 0)
        kiln_set_num_threads(n);
    } else if (flag == "--kv-cache") {
      if (value != "on" && value != "off")
        s = Status::error("--kv-cache must be on or off, got '" + value + "'");
      options.cache = value == "on";
    } else {
      s = Status::error("unknown argument '" + arg + "'");
    }
    if (!s.ok())
      return s;
  }
  return Status::success();
}

Status parseSampleFlags(int argc, char **argv, int first,
                        SampleOptions &options) {
  for (int i = first; i < argc; ++i) {
    FlagArg f =
        readFlag(argc, argv, i, [](const std::string &) { return true; });
    const std::string &arg = f.arg, &flag = f.flag, &value = f.value;
    if (!f.given)
      return Status::error(flag + " needs a value");
    auto count = [&](int64_t &out) { return integerFlag(f, out, true); };
    Status s;
    if (flag == "--params")
      options.params = value;
    else if (flag == "--n")
      s = count(options.n);
    else if (flag == "--steps")
      s = count(options.steps);
    else if (flag == "--ddim")
      s = count(options.ddim);
    else if (flag == "--seed") {
      int64_t seed = 0;
      s = count(seed);
      options.seed = static_cast<uint64_t>(seed);
    } else if (flag == "--out")
      options.out = value;
    else if (flag == "--png")
      options.png = value;
    else if (flag == "--data-dir")
      options.dataDir = value;
    else if (flag == "--threads") {
      int64_t n = 0;
      s = count(n);
      if (s.ok() && n > 0)
        kiln_set_num_threads(n);
    } else {
      s = Status::error("unknown argument '" + arg + "'");
    }
    if (!s.ok())
      return s;
  }
  return Status::success();
}

Status parseFrechetFlags(int argc, char **argv, int first,
                         FrechetOptions &options) {
  // The flags of `sample` choose how samples are drawn; these say what is
  // scored against what.
  std::vector<char *> sampling{argv[0]};
  for (int i = first; i < argc; ++i) {
    FlagArg f =
        readFlag(argc, argv, i, [](const std::string &) { return true; });
    if (!f.given)
      return Status::error(f.flag + " needs a value");
    if (f.flag == "--cnn")
      options.cnn = f.value;
    else if (f.flag == "--cnn-params")
      options.cnnParams = f.value;
    else if (f.flag == "--samples")
      options.samples = f.value;
    else if (f.flag == "--reference")
      options.reference = f.value;
    else if (f.flag == "--out" || f.flag == "--png")
      return Status::error("fid writes no files; " + f.flag +
                           " is a flag of sample");
    else {
      // Kept alive by argv: the flag and its value as one argument.
      options.flagText.push_back(f.flag + "=" + f.value);
    }
  }
  for (std::string &text : options.flagText)
    sampling.push_back(text.data());
  options.sampling.n = 10000;
  return parseSampleFlags(static_cast<int>(sampling.size()), sampling.data(),
                          1, options.sampling);
}

} // namespace kiln::rt
