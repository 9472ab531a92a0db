//===- RunCommand.cpp - Run one entry point on files ----------------------===//

#include "kiln/runtime/RunCommand.h"

#include "kiln/runtime/Library.h"
#include "kiln/runtime/Npy.h"
#include "kiln/runtime/Numerics.h"
#include "kiln/runtime/SafeTensors.h"

#include "io/AtomicFile.h"
#include "io/Json.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <unistd.h>

namespace kiln::rt {
namespace {

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

StatusOr<SafeTensorsFile> readInputs(const EntrySpec &entry,
                                     const std::string &path) {
  if (!endsWith(path, ".npy"))
    return readSafeTensors(path);
  std::vector<std::string> names;
  for (const ArgumentSpec &a : entry.arguments)
    if (a.kind == ArgKind::Input)
      names.push_back(a.tensor.name);
  if (names.size() != 1)
    return Status::error("--inputs=" + path +
                         ": a .npy file can only feed an entry with one "
                         "input; '" +
                         entry.name + "' has " + std::to_string(names.size()));
  StatusOr<HostTensor> t = readNpy(path);
  if (!t.ok())
    return t.status();
  SafeTensorsFile file;
  file.tensors.push_back({names[0], std::move(t).value()});
  return file;
}

/// Writes the results of `entry` to the --outputs file.
Status writeResults(const EntrySpec &entry, const RunRequest &request,
                    std::vector<HostTensor> results) {
  if (endsWith(request.outputs, ".npy")) {
    if (results.size() != 1)
      return Status::error("--outputs=" + request.outputs +
                           ": a .npy file holds one result; '" + entry.name +
                           "' has " + std::to_string(results.size()));
    return writeNpy(request.outputs, results[0]);
  }
  SafeTensorsFile out;
  for (size_t i = 0; i < results.size(); ++i)
    out.tensors.push_back({entry.results[i].name, std::move(results[i])});
  return writeSafeTensors(request.outputs, out);
}

} // namespace

std::string listEntries(const std::vector<EntrySpec> &entries) {
  std::string names;
  for (const EntrySpec &e : entries)
    names += (names.empty() ? "" : ", ") + e.name;
  return "entry points: " + names;
}

Status runEntryOnFiles(const std::vector<EntrySpec> &entries,
                       const EntryRunner &run, const RunRequest &request) {
  const EntrySpec *entry = findEntry(entries, request.entry);
  if (!entry)
    return Status::error("no entry point '" + request.entry + "'; " +
                         listEntries(entries));
  if (request.threads > 0)
    kiln_set_num_threads(request.threads);
  if (request.outputs.empty())
    return Status::error("--outputs=FILE is required (.safetensors, or .npy "
                         "for one result)");
  if (request.repeat < 1)
    return Status::error("--repeat must be at least 1");
  if (!request.profile.empty()) {
    std::string folder = io::directoryOf(request.profile);
    if (::access(folder.c_str(), W_OK) != 0)
      return Status::error("cannot write the profile '" + request.profile +
                           "': the folder '" + folder + "' " +
                           (errno == ENOENT ? "does not exist"
                                            : "is not writable"));
  }

  std::optional<SafeTensorsFile> params, inputs;
  if (!request.params.empty()) {
    StatusOr<SafeTensorsFile> p = readSafeTensors(request.params);
    if (!p.ok())
      return p.status();
    params = std::move(p).value();
  }
  if (!request.inputs.empty()) {
    StatusOr<SafeTensorsFile> in = readInputs(*entry, request.inputs);
    if (!in.ok())
      return in.status();
    inputs = std::move(in).value();
  }
  StatusOr<std::vector<HostTensor>> arguments = bindArguments(
      *entry, params ? &*params : nullptr, inputs ? &*inputs : nullptr);
  if (!arguments.ok())
    return arguments.status();
  StatusOr<std::vector<HostTensor>> results = allocateResults(*entry);
  if (!results.ok())
    return results.status();
  if (request.checkNumerics) {
    setNumericsChecks(true);
    resetNonFinite();
  }
  // With --repeat, the first call warms up (library primitives created,
  // caches filled) and is not profiled.
  bool warmUp = request.repeat > 1;
  for (int64_t i = 0; i < request.repeat; ++i) {
    if (!request.profile.empty() && i == (warmUp ? 1 : 0))
      setProfiling(true);
    profileStart();
    Status s = run(entry->name, arguments.value(), results.value());
    profileEnd(entry->name + " (after its last report)");
    if (!s.ok()) {
      setProfiling(false);
      return s;
    }
  }
  if (!request.profile.empty()) {
    setProfiling(false);
    if (Status s = reportProfile(takeProfile(), request.profile,
                                 warmUp ? request.repeat - 1 : 1,
                                 "'" + entry->name + "'", request.onGpu);
        !s.ok())
      return s;
  }
  if (Status s = writeResults(*entry, request, std::move(results).value());
      !s.ok())
    return s;
  if (std::optional<NonFiniteValue> bad = firstNonFinite())
    return Status::error("'" + entry->name + "' computed " + bad->describe() +
                         " (outputs written to " + request.outputs + ")");
  return Status::success();
}

StatusOr<RunRequest> parseRunFlags(int argc, char **argv, int first) {
  RunRequest request;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char *flag) -> std::optional<std::string> {
      std::string prefix = std::string(flag) + "=";
      if (arg.rfind(prefix, 0) == 0)
        return arg.substr(prefix.size());
      return std::nullopt;
    };
    if (auto v = value("--entry"))
      request.entry = *v;
    else if (auto v = value("--params"))
      request.params = *v;
    else if (auto v = value("--inputs"))
      request.inputs = *v;
    else if (auto v = value("--outputs"))
      request.outputs = *v;
    else if (auto v = value("--threads")) {
      char *end = nullptr;
      long long n = std::strtoll(v->c_str(), &end, 10);
      if (v->empty() || *end != '\0' || n < 1)
        return Status::error("--threads must be a positive integer, got '" +
                             *v + "'");
      request.threads = n;
    }
    else if (auto v = value("--repeat")) {
      char *end = nullptr;
      long long n = std::strtoll(v->c_str(), &end, 10);
      if (v->empty() || *end != '\0' || n < 1)
        return Status::error("--repeat must be a positive integer, got '" +
                             *v + "'");
      request.repeat = n;
    } else if (auto v = value("--profile"))
      request.profile = *v;
    else if (arg == "--check-numerics")
      request.checkNumerics = true;
    else
      return Status::error("unknown argument '" + arg +
                           "'; expected --entry=E --params=P.safetensors "
                           "--inputs=I.safetensors --outputs=O.safetensors "
                           "[--threads=N] [--repeat=N] [--profile=T.json] "
                           "[--check-numerics]");
  }
  return request;
}

} // namespace kiln::rt
