//===- Artefact.cpp - Manifests and loading compiled models ---------------===//

#include "kiln/runtime/Artefact.h"
#include "kiln/runtime/Cuda.h"

#include "kiln/runtime/CodegenSupport.h"
#include "kiln/runtime/Library.h"
#include "kiln/runtime/Numerics.h"

#include "io/InputFile.h"
#include "io/Json.h"

#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <elf.h>
#include <map>

namespace kiln::rt {
namespace {

std::string tensorJson(const TensorSpec &t, const char *kind) {
  std::string out = "{\"name\": " + json::quote(t.name);
  if (kind)
    out += ", \"kind\": \"" + std::string(kind) + "\"";
  out += ", \"dtype\": \"" + std::string(dtypeName(t.dtype)) + "\", \"shape\": [";
  for (size_t i = 0; i < t.shape.size(); ++i)
    out += (i ? ", " : "") + std::to_string(t.shape[i]);
  return out + "]}";
}

const json::Value *member(const json::Value &object, const char *key) {
  for (const auto &[name, value] : object.members)
    if (name == key)
      return &value;
  return nullptr;
}

Status expect(const json::Value *v, json::Value::Kind kind, const std::string &what) {
  if (!v)
    return Status::error("manifest: missing " + what);
  if (v->kind != kind)
    return Status::error("manifest: " + what + " must be " +
                         (kind == json::Value::Kind::Object   ? "an object"
                          : kind == json::Value::Kind::Array  ? "an array"
                          : kind == json::Value::Kind::String ? "a string"
                                                              : "an integer") +
                         ", got " + v->kindName());
  return Status::success();
}

Status parseTensor(const json::Value &v, const std::string &where,
                   TensorSpec &out) {
  if (Status s = expect(&v, json::Value::Kind::Object, where); !s.ok())
    return s;
  const json::Value *name = member(v, "name"), *dtype = member(v, "dtype"),
                    *shape = member(v, "shape");
  for (auto [value, key, kind] :
       {std::make_tuple(name, "name", json::Value::Kind::String),
        std::make_tuple(dtype, "dtype", json::Value::Kind::String),
        std::make_tuple(shape, "shape", json::Value::Kind::Array)})
    if (Status s = expect(value, kind, where + "." + key); !s.ok())
      return s;
  std::optional<DType> parsed = parseDTypeName(dtype->string);
  if (!parsed)
    return Status::error("manifest: " + where + ": unknown dtype '" +
                         dtype->string + "'");
  out.name = name->string;
  out.dtype = *parsed;
  out.shape.clear();
  for (const json::Value &d : shape->elements) {
    if (d.kind != json::Value::Kind::Integer || d.integer < 0)
      return Status::error("manifest: " + where +
                           ".shape must hold non-negative integers");
    out.shape.push_back(d.integer);
  }
  return Status::success();
}

/// `object.key` into `out` if present; it must then be a string.
Status optionalString(const json::Value &object, const char *key,
                      const std::string &where, std::string &out) {
  const json::Value *value = member(object, key);
  if (!value)
    return Status::success();
  if (Status s = expect(value, json::Value::Kind::String, where + "." + key);
      !s.ok())
    return s;
  out = value->string;
  return Status::success();
}

} // namespace

std::string manifestToJson(const std::string &model,
                           const std::vector<EntrySpec> &entries) {
  std::string out = "{\"version\": 1, \"model\": " + json::quote(model) +
                    ", \"entries\": [";
  for (size_t e = 0; e < entries.size(); ++e) {
    const EntrySpec &entry = entries[e];
    out += (e ? ", " : "") + std::string("{\"name\": ") +
           json::quote(entry.name) + ", \"arguments\": [";
    for (size_t i = 0; i < entry.arguments.size(); ++i) {
      std::string t = tensorJson(entry.arguments[i].tensor,
                                 argKindName(entry.arguments[i].kind));
      if (!entry.arguments[i].init.empty())
        t = t.substr(0, t.size() - 1) + ", \"init\": " +
            json::quote(entry.arguments[i].init) + "}";
      if (entry.arguments[i].indexBound > 0)
        t = t.substr(0, t.size() - 1) + ", \"index_bound\": " +
            std::to_string(entry.arguments[i].indexBound) + "}";
      out += (i ? ", " : "") + t;
    }
    out += "], \"results\": [";
    for (size_t i = 0; i < entry.results.size(); ++i) {
      std::string t = tensorJson(entry.results[i], nullptr);
      if (!entry.results[i].updates.empty())
        t = t.substr(0, t.size() - 1) + ", \"updates\": " +
            json::quote(entry.results[i].updates) + "}";
      out += (i ? ", " : "") + t;
    }
    out += "]}";
  }
  return out + "]}";
}

StatusOr<std::vector<EntrySpec>> parseManifest(const std::string &text) {
  StatusOr<json::Value> parsed = json::parse(text);
  if (!parsed.ok())
    return parsed.status().withPrefix("manifest: ");
  const json::Value &root = parsed.value();
  if (Status s = expect(&root, json::Value::Kind::Object, "top level"); !s.ok())
    return s;
  const json::Value *version = member(root, "version");
  if (Status s = expect(version, json::Value::Kind::Integer, "version");
      !s.ok())
    return s;
  if (version->integer != 1)
    return Status::error("manifest: version " +
                         std::to_string(version->integer) +
                         " is not supported (this runtime reads version 1)");
  const json::Value *list = member(root, "entries");
  if (Status s = expect(list, json::Value::Kind::Array, "entries"); !s.ok())
    return s;
  std::vector<EntrySpec> entries;
  for (size_t e = 0; e < list->elements.size(); ++e) {
    const json::Value &v = list->elements[e];
    std::string where = "entries[" + std::to_string(e) + "]";
    if (Status s = expect(&v, json::Value::Kind::Object, where); !s.ok())
      return s;
    const json::Value *name = member(v, "name"),
                      *args = member(v, "arguments"),
                      *results = member(v, "results");
    if (Status s = expect(name, json::Value::Kind::String, where + ".name");
        !s.ok())
      return s;
    if (Status s = expect(args, json::Value::Kind::Array, where + ".arguments");
        !s.ok())
      return s;
    if (Status s = expect(results, json::Value::Kind::Array, where + ".results");
        !s.ok())
      return s;
    EntrySpec entry;
    entry.name = name->string;
    for (size_t i = 0; i < args->elements.size(); ++i) {
      std::string w = where + ".arguments[" + std::to_string(i) + "]";
      ArgumentSpec arg;
      if (Status s = parseTensor(args->elements[i], w, arg.tensor); !s.ok())
        return s;
      const json::Value *kind = member(args->elements[i], "kind");
      if (Status s = expect(kind, json::Value::Kind::String, w + ".kind");
          !s.ok())
        return s;
      if (kind->string == "parameter")
        arg.kind = ArgKind::Parameter;
      else if (kind->string == "buffer")
        arg.kind = ArgKind::Buffer;
      else if (kind->string == "input")
        arg.kind = ArgKind::Input;
      else
        return Status::error("manifest: " + w + ".kind: unknown kind '" +
                             kind->string + "'");
      if (Status s = optionalString(args->elements[i], "init", w, arg.init);
          !s.ok())
        return s;
      if (const json::Value *bound = member(args->elements[i], "index_bound")) {
        if (bound->kind != json::Value::Kind::Integer || bound->integer < 1 ||
            (arg.tensor.dtype != DType::I64 && arg.tensor.dtype != DType::I32))
          return Status::error("manifest: " + w +
                               ".index_bound must be a positive integer, on "
                               "an integer tensor");
        arg.indexBound = bound->integer;
      }
      entry.arguments.push_back(std::move(arg));
    }
    for (size_t i = 0; i < results->elements.size(); ++i) {
      ResultSpec r;
      std::string w = where + ".results[" + std::to_string(i) + "]";
      if (Status s = parseTensor(results->elements[i], w, r); !s.ok())
        return s;
      if (Status s = optionalString(results->elements[i], "updates", w,
                                    r.updates);
          !s.ok())
        return s;
      entry.results.push_back(std::move(r));
      // A result that updates an argument may be given that argument's
      // buffer: it must be a parameter or buffer of the same dtype and
      // shape, updated by no other result.
      const ResultSpec &added = entry.results.back();
      if (added.updates.empty())
        continue;
      int a = entry.updatedArgument(i);
      if (a < 0 || entry.arguments[a].kind == ArgKind::Input ||
          entry.arguments[a].tensor.dtype != added.dtype ||
          entry.arguments[a].tensor.shape != added.shape)
        return Status::error("manifest: " + w + " updates '" + added.updates +
                             "', which is no parameter or buffer of the same "
                             "dtype and shape");
      for (size_t k = 0; k < i; ++k)
        if (entry.results[k].updates == added.updates)
          return Status::error("manifest: " + w + " and results[" +
                               std::to_string(k) + "] both update '" +
                               added.updates + "'");
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

int EntrySpec::updatedArgument(size_t r) const {
  if (r >= results.size() || results[r].updates.empty())
    return -1;
  for (size_t i = 0; i < arguments.size(); ++i)
    if (arguments[i].kind != ArgKind::Input &&
        arguments[i].tensor.name == results[r].updates)
      return static_cast<int>(i);
  return -1;
}

StatusOr<std::vector<void *>> packPointers(const EntrySpec &entry,
                                           std::vector<HostTensor> &arguments,
                                           std::vector<HostTensor> &results) {
  if (arguments.size() != entry.arguments.size() ||
      results.size() != entry.results.size())
    return Status::error("entry '" + entry.name + "' takes " +
                         std::to_string(entry.arguments.size()) +
                         " arguments and " +
                         std::to_string(entry.results.size()) + " results");
  auto check = [&](const TensorSpec &spec, const HostTensor &t,
                   const char *what) {
    if (t.dtype() != spec.dtype || t.shape() != spec.shape)
      return Status::error(std::string(what) + " '" + spec.name +
                           "' of entry '" + entry.name + "': expected " +
                           dtypeName(spec.dtype) + formatShape(spec.shape) +
                           ", given " + t.describe());
    return Status::success();
  };
  // Indices out of range would read out of bounds or give a plausible but
  // wrong loss: refused, as PyTorch refuses them.
  auto checkIndices = [&](const ArgumentSpec &spec, const HostTensor &t) {
    for (int64_t k = 0; k < t.numElements(); ++k) {
      int64_t v = t.dtype() == DType::I64
                      ? t.data<int64_t>()[k]
                      : static_cast<int64_t>(t.data<int32_t>()[k]);
      if (v < 0 || v >= spec.indexBound)
        return Status::error(
            "input '" + spec.tensor.name + "' of entry '" + entry.name +
            "': element " + std::to_string(k) + " is " + std::to_string(v) +
            ", out of bounds: indices into " +
            std::to_string(spec.indexBound) + " classes or rows must be in [0, " +
            std::to_string(spec.indexBound) + ")");
    }
    return Status::success();
  };
  std::vector<void *> pointers;
  for (size_t i = 0; i < arguments.size(); ++i) {
    if (Status s = check(entry.arguments[i].tensor, arguments[i], "argument");
        !s.ok())
      return s;
    if (entry.arguments[i].indexBound > 0)
      if (Status s = checkIndices(entry.arguments[i], arguments[i]); !s.ok())
        return s;
    pointers.push_back(arguments[i].data());
  }
  for (size_t i = 0; i < results.size(); ++i) {
    // A result without a buffer (a default-constructed tensor) that updates
    // an argument is written into the argument: updated in place.
    int updated = entry.updatedArgument(i);
    if (updated >= 0 && results[i].data() == nullptr) {
      if (Status s = check(entry.results[i], arguments[updated], "result");
          !s.ok())
        return s;
      pointers.push_back(arguments[updated].data());
      continue;
    }
    if (Status s = check(entry.results[i], results[i], "result"); !s.ok())
      return s;
    pointers.push_back(results[i].data());
  }
  return pointers;
}

namespace {

/// Checks that `path` is a regular file holding a whole 64-bit ELF shared
/// object: dlopen maps a truncated one and dies with SIGBUS on the missing
/// pages instead of failing.
Status checkElf(const std::string &path) {
  StatusOr<io::InputFile> file = io::InputFile::open(path);
  if (!file.ok())
    return file.status();
  uint64_t size = file.value().size();
  Elf64_Ehdr header;
  if (size < sizeof(header))
    return Status::error("cannot load '" + path + "': not an ELF file (" +
                         std::to_string(size) + " bytes)");
  if (Status s = file.value().readAt(0, &header, sizeof(header)); !s.ok())
    return s;
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0)
    return Status::error("cannot load '" + path + "': not an ELF file");
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_type != ET_DYN)
    return Status::error("cannot load '" + path +
                         "': not a 64-bit ELF shared object (compile it with "
                         "kilnc --emit=so)");
  auto truncated = [&](uint64_t end) {
    return Status::error("cannot load '" + path + "': truncated (" +
                         std::to_string(size) + " bytes, its ELF headers "
                         "describe " + std::to_string(end) + ")");
  };
  uint64_t headers = header.e_phoff +
                     uint64_t(header.e_phnum) * header.e_phentsize;
  if (header.e_phentsize != sizeof(Elf64_Phdr) || headers > size ||
      headers < header.e_phoff)
    return truncated(headers);
  for (uint16_t i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment;
    if (Status s = file.value().readAt(header.e_phoff + i * sizeof(segment),
                                       &segment, sizeof(segment));
        !s.ok())
      return s;
    uint64_t end = segment.p_offset + segment.p_filesz;
    if (segment.p_type == PT_LOAD && (end > size || end < segment.p_offset))
      return truncated(end);
  }
  uint64_t sections =
      header.e_shoff + uint64_t(header.e_shnum) * header.e_shentsize;
  if (sections > size || sections < header.e_shoff)
    return truncated(sections);
  return Status::success();
}

} // namespace

StatusOr<std::unique_ptr<Artefact>> Artefact::open(const std::string &path) {
  if (Status s = checkElf(path); !s.ok())
    return s;
  // dlopen searches the library path for bare names; make paths explicit.
  std::string explicitPath =
      path.find('/') == std::string::npos ? "./" + path : path;
  void *handle = dlopen(explicitPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    return Status::error("cannot load '" + path + "': " + dlerror());
  auto manifest =
      reinterpret_cast<const char *(*)()>(dlsym(handle, "kiln_manifest"));
  auto count =
      reinterpret_cast<int64_t (*)()>(dlsym(handle, "kiln_num_entries"));
  auto table = reinterpret_cast<const KilnEntryRecord *(*)()>(
      dlsym(handle, "kiln_entry_table"));
  if (!manifest || !count || !table) {
    dlclose(handle);
    return Status::error("'" + path +
                         "' is not a Kiln artefact: it does not export "
                         "kiln_manifest, kiln_num_entries and "
                         "kiln_entry_table (compile it with kilnc --emit=so)");
  }
  StatusOr<std::unique_ptr<Artefact>> a =
      fromFunctions(manifest, count, table, path);
  if (!a.ok()) {
    dlclose(handle);
    return a;
  }
  a.value()->handle_ = handle;
  // A GPU artefact exports its copy of the CUDA runtime.
  using CudaApi = const KilnCudaApi *(*)();
  if (auto api = reinterpret_cast<CudaApi>(dlsym(handle, "kiln_cuda_api")))
    if (Status st = a.value()->useCudaApi(api(), "'" + path + "'"); !st.ok())
      return st;
  // The artefact carries its own copy of the runtime: its numerics checks
  // report to this process's, which --check-numerics turns on and reads.
  using Forward = void (*)(const KilnNumericsHooks *);
  auto forward =
      reinterpret_cast<Forward>(dlsym(handle, "kiln_numerics_forward_to"));
  static const KilnNumericsHooks hooks{&kiln_check_finite_f32,
                                       &kiln_check_finite_f64, &reportsWanted,
                                       &recordKernelTime};
  if (forward && forward != &kiln_numerics_forward_to)
    forward(&hooks);
  return a;
}

StatusOr<std::unique_ptr<Artefact>>
Artefact::linked(const char *(*manifest)(), int64_t (*numEntries)(),
                 const KilnEntryRecord *(*entryTable)(),
                 const KilnCudaApi *(*cudaApi)()) {
  StatusOr<std::unique_ptr<Artefact>> a =
      fromFunctions(manifest, numEntries, entryTable, "this program");
  if (a.ok() && cudaApi)
    if (Status st = a.value()->useCudaApi(cudaApi(), "this program"); !st.ok())
      return st;
  return a;
}

StatusOr<std::unique_ptr<Artefact>>
Artefact::fromFunctions(const char *(*manifest)(), int64_t (*count)(),
                        const KilnEntryRecord *(*table)(),
                        const std::string &where) {
  StatusOr<std::vector<EntrySpec>> entries = parseManifest(manifest());
  if (!entries.ok())
    return entries.status().withPrefix("'" + where + "': ");
  std::unique_ptr<Artefact> artefact(new Artefact());
  artefact->entries_ = std::move(entries).value();
  const KilnEntryRecord *records = table();
  int64_t n = count();
  for (const EntrySpec &e : artefact->entries_) {
    void (*fn)(void **) = nullptr;
    for (int64_t i = 0; i < n; ++i)
      if (records[i].name && e.name == records[i].name)
        fn = records[i].packed;
    if (!fn)
      return Status::error("'" + where + "': the manifest lists entry '" +
                           e.name + "' but the entry table has no such "
                           "function");
    artefact->functions_.push_back(fn);
  }
  return artefact;
}

Artefact::~Artefact() {
  if (cuda_) {
    for (EntryGraph &graph : graphs_)
      releaseGraph(graph);
    for (auto &[host, copy] : resident_)
      cuda_->release(copy.data);
    char error[1024];
    cuda_->finish(error, sizeof(error));
  }
  if (handle_)
    dlclose(handle_);
}

void Artefact::setNumThreads(int64_t n) {
  kiln_set_num_threads(n);
  if (!handle_)
    return;
  using Set = void (*)(int64_t);
  auto own = reinterpret_cast<Set>(dlsym(handle_, "kiln_set_num_threads"));
  if (own && own != &kiln_set_num_threads)
    own(n);
}

const EntrySpec *Artefact::findEntry(const std::string &name) const {
  for (const EntrySpec &e : entries_)
    if (e.name == name)
      return &e;
  return nullptr;
}

Status Artefact::run(const std::string &name,
                     std::vector<HostTensor> &arguments,
                     std::vector<HostTensor> &results) {
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].name != name)
      continue;
    StatusOr<std::vector<void *>> pointers =
        packPointers(entries_[i], arguments, results);
    if (!pointers.ok())
      return pointers.status();
    if (cuda_)
      return runOnGpu(i, pointers.value(), arguments, results);
    functions_[i](pointers.value().data());
    return Status::success();
  }
  return Status::error("no entry point named '" + name + "'");
}

Status Artefact::useCudaApi(const KilnCudaApi *api, const std::string &where) {
  if (!api || api->version != kKilnCudaApiVersion)
    return Status::error(where + " was compiled for the GPU by another "
                         "version of Kiln (CUDA runtime API " +
                         std::to_string(api ? api->version : 0) +
                         ", this one's " +
                         std::to_string(kKilnCudaApiVersion) + ")");
  cuda_ = api;
  graphs_.resize(entries_.size());
  return Status::success();
}

Status knownDevice(const std::string &device) {
  if (device != "cpu" && device != "cuda")
    return Status::error("--device=" + device +
                         " is not a device; devices: cpu, cuda");
  return Status::success();
}

Status Artefact::checkDevice(const std::string &device,
                             const std::string &what) const {
  if (Status s = knownDevice(device); !s.ok())
    return s;
  if (device == "cpu" && onGpu())
    return Status::error(what + " was compiled for NVIDIA GPUs (kilnc "
                                "--target=cuda): run it with --device=cuda");
  if (device == "cuda" && !onGpu())
    return Status::error(what + " was compiled for the CPU: compile it with "
                                "kilnc --target=cuda to run it with "
                                "--device=cuda");
  return Status::success();
}

} // namespace kiln::rt
