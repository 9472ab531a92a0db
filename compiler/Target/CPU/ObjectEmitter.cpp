//===- ObjectEmitter.cpp - Ahead-of-time artefacts for the CPU ------------===//

#include "compiler/Target/CPU/ObjectEmitter.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/Object/ArchiveWriter.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/Transforms/Utils/Cloning.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <thread>

namespace kiln::aot {
namespace {

llvm::Error error(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

llvm::Error run(llvm::ArrayRef<llvm::StringRef> args) {
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(args[0], args, std::nullopt, {}, 0, 0,
                                     &message);
  if (rc != 0) {
    std::string command;
    for (llvm::StringRef a : args)
      command += (command.empty() ? "" : " ") + a.str();
    return error("linking failed (" + std::to_string(rc) + "): " + command +
                 (message.empty() ? "" : ": " + message));
  }
  return llvm::Error::success();
}

/// setRuntimeLibraryDir's folder ("" if none).
std::string &runtimeLibraryDir() {
  static std::string dir;
  return dir;
}

/// The runtime archive `name` (libKilnRuntime.a, libKilnArtefactMain.a):
/// in setRuntimeLibraryDir's folder, else the installed one beside this
/// kilnc (<prefix>/bin/kilnc links <prefix>/lib/<name>), else the one built
/// with it (`built`).
std::string runtimeArchive(llvm::StringRef name, llvm::StringRef built) {
  if (!runtimeLibraryDir().empty()) {
    llvm::SmallString<256> given(runtimeLibraryDir());
    llvm::sys::path::append(given, name);
    if (llvm::sys::fs::is_regular_file(given))
      return given.str().str();
  }
  // Any function of this program gives getMainExecutable its address.
  static int anchor;
  std::string self = llvm::sys::fs::getMainExecutable(nullptr, &anchor);
  if (!self.empty()) {
    llvm::SmallString<256> installed(llvm::sys::path::parent_path(
        llvm::sys::path::parent_path(self)));
    llvm::sys::path::append(installed, "lib", name);
    if (llvm::sys::fs::is_regular_file(installed))
      return installed.str().str();
  }
  return built.str();
}

/// Links `objects` with the runtime into a shared library or executable.
llvm::Error link(const std::vector<std::string> &objects,
                 const std::string &output, bool executable) {
  llvm::ErrorOr<std::string> cxx = llvm::sys::findProgramByName("c++");
  if (!cxx)
    return error("no C++ compiler driver (c++) on PATH to link with");
  std::vector<std::string> args{*cxx};
  // A shared artefact binds its calls to its own copy of the runtime (its
  // CUDA runtime's mgpu* functions, its thread pool), even in a host that
  // exports functions of the same names.
  if (!executable)
    args.insert(args.end(), {"-shared", "-Wl,-Bsymbolic"});
  args.insert(args.end(), {"-o", output});
  args.insert(args.end(), objects.begin(), objects.end());
  if (executable)
    args.insert(args.end(), {runtimeArchive("libKilnArtefactMain.a",
                                            KILN_ARTEFACT_MAIN_ARCHIVE),
                             // Data-parallel training under mpirun.
                             KILN_MPI_LIBRARY});
  args.insert(args.end(),
              {runtimeArchive("libKilnRuntime.a", KILN_RUNTIME_ARCHIVE),
               KILN_DNNL_LIBRARY, "-lpng16", "-lz", "-fopenmp", "-ldl", "-lm",
               "-pthread"});
#ifdef KILN_LINK_SANITIZERS
  args.push_back(KILN_LINK_SANITIZERS);
#endif
  std::vector<llvm::StringRef> refs(args.begin(), args.end());
  return run(refs);
}

std::string cType(rt::DType dtype) {
  switch (dtype) {
  case rt::DType::F32:
    return "float";
  case rt::DType::F64:
    return "double";
  case rt::DType::I64:
    return "int64_t";
  case rt::DType::I32:
    return "int32_t";
  case rt::DType::Bool:
  case rt::DType::U8:
    return "uint8_t";
  case rt::DType::I8:
    return "int8_t";
  case rt::DType::F16:
  case rt::DType::BF16:
    return "uint16_t";
  }
  return "void";
}

std::string identifier(const std::string &name) {
  std::string out;
  for (char c : name)
    out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0])))
    out = "t_" + out;
  return out;
}

/// Optimizes `module` (O3) and writes it as an object or assembly file.
llvm::Error optimizeAndEmit(llvm::Module &module, llvm::TargetMachine &machine,
                            llvm::CodeGenFileType type,
                            const std::string &path) {
  if (llvm::Error e = mlir::makeOptimizingTransformer(
          /*optLevel=*/3, /*sizeLevel=*/0, &machine)(&module))
    return e;
  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return error("cannot write '" + path + "': " + ec.message());
  llvm::legacy::PassManager pm;
  if (machine.addPassesToEmitFile(pm, out.os(), nullptr, type))
    return error("the target cannot emit this file type");
  pm.run(module);
  out.keep();
  return llvm::Error::success();
}

/// Defined instructions of a large model, from which LLVM's work is split
/// across threads (resnet's train_step alone has about 40,000).
constexpr uint64_t kSplitInstructions = 20000;

/// Splits `module` into `parts` modules, as bitcode, that link back into
/// the same program: every function definition goes to one part (the
/// largest first, each to the least loaded part), global variables to the
/// first; local symbols become hidden ones, renamed (with the model's name)
/// so that they cannot collide with another object's, another model's
/// included.
std::vector<llvm::SmallVector<char, 0>> splitModule(llvm::Module &module,
                                                    unsigned parts) {
  for (llvm::GlobalValue &value : module.global_values())
    if (value.hasLocalLinkage() && !value.isDeclaration()) {
      value.setName("__kiln_local." + module.getModuleIdentifier() + "." +
                    value.getName());
      value.setLinkage(llvm::GlobalValue::ExternalLinkage);
      value.setVisibility(llvm::GlobalValue::HiddenVisibility);
    }
  std::vector<std::pair<uint64_t, const llvm::Function *>> functions;
  for (const llvm::Function &f : module)
    if (!f.isDeclaration())
      functions.push_back({f.getInstructionCount(), &f});
  llvm::stable_sort(functions, [](const auto &a, const auto &b) {
    return a.first > b.first;
  });
  llvm::DenseMap<const llvm::GlobalValue *, unsigned> owner;
  std::vector<uint64_t> load(parts, 0);
  for (auto [size, f] : functions) {
    unsigned lightest = static_cast<unsigned>(
        std::min_element(load.begin(), load.end()) - load.begin());
    owner[f] = lightest;
    load[lightest] += size + 1;
  }
  std::vector<llvm::SmallVector<char, 0>> bitcode(parts);
  for (unsigned p = 0; p < parts; ++p) {
    llvm::ValueToValueMapTy map;
    std::unique_ptr<llvm::Module> part = llvm::CloneModule(
        module, map, [&](const llvm::GlobalValue *value) {
          auto it = owner.find(value);
          return it == owner.end() ? p == 0 : it->second == p;
        });
    llvm::raw_svector_ostream os(bitcode[p]);
    llvm::WriteBitcodeToFile(*part, os);
  }
  return bitcode;
}

/// Optimizes and compiles each part of a split module on a thread of its
/// own, into temporary objects (appended to `objects`, also on failure so
/// the caller removes them).
llvm::Error emitInParallel(llvm::Module &module, const TargetOptions &target,
                           unsigned parts, std::vector<std::string> &objects) {
  std::vector<llvm::SmallVector<char, 0>> bitcode = splitModule(module, parts);
  for (unsigned p = 0; p < parts; ++p) {
    llvm::SmallString<128> temp;
    if (std::error_code ec =
            llvm::sys::fs::createTemporaryFile("kiln", "o", temp))
      return error("cannot create a temporary object file: " + ec.message());
    objects.push_back(temp.str().str());
  }
  // Target machines are made here: initializing LLVM's targets is not
  // thread-safe.
  std::vector<std::unique_ptr<llvm::TargetMachine>> machines;
  for (unsigned p = 0; p < parts; ++p) {
    auto machine = createTargetMachine(target);
    if (!machine)
      return machine.takeError();
    machines.push_back(std::move(*machine));
  }
  std::vector<llvm::Error> errors;
  for (unsigned p = 0; p < parts; ++p)
    errors.push_back(llvm::Error::success());
  std::vector<std::thread> threads;
  for (unsigned p = 0; p < parts; ++p)
    threads.emplace_back([&, p] {
      llvm::LLVMContext context;
      llvm::Expected<std::unique_ptr<llvm::Module>> part = llvm::parseBitcodeFile(
          llvm::MemoryBufferRef(
              llvm::StringRef(bitcode[p].data(), bitcode[p].size()), "part"),
          context);
      if (!part) {
        errors[p] = part.takeError();
        return;
      }
      errors[p] = optimizeAndEmit(**part, *machines[p],
                                  llvm::CodeGenFileType::ObjectFile,
                                  objects[p]);
    });
  for (std::thread &t : threads)
    t.join();
  llvm::Error all = llvm::Error::success();
  for (llvm::Error &e : errors)
    all = llvm::joinErrors(std::move(all), std::move(e));
  return all;
}

} // namespace

void setRuntimeLibraryDir(const std::string &dir) { runtimeLibraryDir() = dir; }

llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const TargetOptions &options) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  std::string triple = llvm::sys::getProcessTriple();
  std::string message;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, message);
  if (!target)
    return error("no LLVM target for " + triple + ": " + message);
  std::string cpu = options.cpu;
  std::string features = options.features;
  if (cpu != "host") {
    // LLVM only warns of an unknown CPU, then aborts on what it lacks:
    // check the name first, and suggest the nearest known one.
    std::unique_ptr<llvm::MCSubtargetInfo> info(
        target->createMCSubtargetInfo(triple, "", ""));
    if (!info->isCPUStringValid(cpu)) {
      std::string nearest;
      unsigned best = ~0u;
      for (const llvm::SubtargetSubTypeKV &known :
           info->getAllProcessorDescriptions()) {
        unsigned distance = llvm::StringRef(known.Key).edit_distance(cpu);
        if (distance < best)
          best = distance, nearest = known.Key;
      }
      return error("--cpu=" + cpu + " is not a CPU LLVM knows" +
                   (nearest.empty() ? std::string()
                                    : "; did you mean '" + nearest + "'?") +
                   " (--cpu=host targets this machine)");
    }
  }
  if (cpu == "host") {
    cpu = llvm::sys::getHostCPUName().str();
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      features += std::string(features.empty() ? "" : ",") +
                  (feature.second ? "+" : "-") + feature.first().str();
  }
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, cpu, features, llvm::TargetOptions(), llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    return error("cannot create a target machine for CPU '" + cpu + "'");
  // Kiln's code is 64-bit: a CPU without it (i386) would abort in LLVM.
  if (triple.find("x86_64") == 0 &&
      !machine->getMCSubtargetInfo()->checkFeatures("+64bit"))
    return error("--cpu=" + cpu + " has no 64-bit mode; Kiln targets " +
                 triple);
  return machine;
}

bool targetHasFeature(const TargetOptions &options,
                      const std::string &feature) {
  auto machine = createTargetMachine(options);
  if (!machine) {
    llvm::consumeError(machine.takeError());
    return false;
  }
  return (*machine)->getMCSubtargetInfo()->checkFeatures("+" + feature);
}

std::string cHeader(const std::string &model,
                    const std::vector<rt::EntrySpec> &entries) {
  std::string guard = identifier(model) + "_KILN_H";
  for (char &c : guard)
    c = std::toupper(static_cast<unsigned char>(c));
  std::string out =
      "/* " + model +
      ": entry points compiled by kilnc. Every pointer is a contiguous "
      "row-major\n   buffer of the dtype and shape given; results are written "
      "in place.\n   An output buffer must not overlap any other buffer, "
      "except that an output\n   that updates a parameter may be that "
      "parameter's buffer. Entry points may\n   run on several threads at "
      "once, each call on its own buffers. Link with\n   Kiln's runtime: "
      "`pkg-config --libs kiln-runtime`, or CMake's Kiln::runtime.\n   "
      "kiln/kiln.h sets the thread count and reads safetensors files. */\n"
      "#ifndef " +
      guard + "\n#define " + guard +
      "\n\n#include <stdint.h>\n\n#ifdef __cplusplus\nextern "
      "\"C\" {\n#endif\n\n/* JSON naming every entry point's arguments and "
      "results with their dtypes\n   and shapes. */\nconst char *" +
      identifier(model) + "_kiln_manifest(void);\n";
  for (const rt::EntrySpec &e : entries) {
    out += "\n/* " + e.name + " */\nvoid " + identifier(model) + "_" +
           identifier(e.name) + "(";
    std::vector<std::string> params;
    // Parameter names are unique C identifiers: a result that updates an
    // argument is "<argument>_out" (it may be given the argument's own
    // buffer), and names that meet after mangling ("a.b", "a_b") are
    // numbered.
    std::set<std::string> used;
    auto unique = [&](std::string name) {
      std::string candidate = name;
      for (int n = 2; !used.insert(candidate).second; ++n)
        candidate = name + "_" + std::to_string(n);
      return candidate;
    };
    for (const rt::ArgumentSpec &a : e.arguments) {
      // A donated argument (one a result updates) may be overwritten.
      bool updated = llvm::any_of(e.results, [&](const rt::ResultSpec &r) {
        return r.updates == a.tensor.name;
      });
      params.push_back((updated ? "" : "const ") + cType(a.tensor.dtype) +
                       " *" + unique(identifier(a.tensor.name)) + " /* " +
                       (a.kind == rt::ArgKind::Input ? "input " : "parameter ") +
                       a.tensor.name + ": " + rt::dtypeName(a.tensor.dtype) +
                       rt::formatShape(a.tensor.shape) +
                       (updated ? ", may be overwritten" : "") + " */");
    }
    for (const rt::ResultSpec &r : e.results)
      params.push_back(
          cType(r.dtype) + " *" +
          unique(identifier(r.name) + (r.updates.empty() ? "" : "_out")) +
          " /* output " + r.name + ": " + rt::dtypeName(r.dtype) +
          rt::formatShape(r.shape) +
          (r.updates.empty()
               ? ""
               : ", updates " + r.updates + " (may be its own buffer)") +
          " */");
    for (size_t i = 0; i < params.size(); ++i)
      out += (i ? ",\n    " : "\n    ") + params[i];
    out += ");\n";
  }
  return out + "\n#ifdef __cplusplus\n}\n#endif\n\n#endif /* " + guard +
         " */\n";
}

namespace {

/// Prefixes the functions through which a loader reads the manifest
/// (kiln_manifest, kiln_num_entries, kiln_entry_table) with the model's
/// name, so that several models link into one program.
void prefixManifestSymbols(llvm::Module &module, const std::string &model) {
  for (const char *name :
       {"kiln_manifest", "kiln_num_entries", "kiln_entry_table"})
    if (llvm::Function *f = module.getFunction(name))
      f->setName(identifier(model) + "_" + name);
}

/// The header beside an object or archive: `path` with a .h extension, and
/// for an archive without the "lib" of its name (libmlp.a: mlp.h).
std::string headerPath(const std::string &path, Artefact kind) {
  llvm::SmallString<128> header(path);
  llvm::sys::path::replace_extension(header, "h");
  llvm::StringRef file = llvm::sys::path::filename(header);
  if (kind == Artefact::Library && file.starts_with("lib") &&
      file.size() > 5) {
    llvm::SmallString<128> renamed(llvm::sys::path::parent_path(header));
    llvm::sys::path::append(renamed, file.drop_front(3));
    return renamed.str().str();
  }
  return header.str().str();
}

/// Writes `objects` into the static archive `path` as members
/// <model>.o, <model>.1.o, ..., with a symbol table.
llvm::Error writeLibrary(const std::vector<std::string> &objects,
                         const std::string &path, const std::string &model) {
  std::vector<std::string> names;
  for (size_t i = 0; i < objects.size(); ++i)
    names.push_back(identifier(model) +
                    (i ? "." + std::to_string(i) : std::string()) + ".o");
  std::vector<llvm::NewArchiveMember> members;
  for (size_t i = 0; i < objects.size(); ++i) {
    llvm::Expected<llvm::NewArchiveMember> member =
        llvm::NewArchiveMember::getFile(objects[i], /*Deterministic=*/true);
    if (!member)
      return member.takeError();
    member->MemberName = names[i];
    members.push_back(std::move(*member));
  }
  if (llvm::Error e = llvm::writeArchive(
          path, members, llvm::SymtabWritingMode::NormalSymtab,
          llvm::object::Archive::K_GNU, /*Deterministic=*/true,
          /*Thin=*/false))
    return error("cannot write '" + path + "': " +
                 llvm::toString(std::move(e)));
  return llvm::Error::success();
}

} // namespace

llvm::Error emitArtefact(mlir::ModuleOp module, Artefact kind,
                         const TargetOptions &target, const std::string &path,
                         const std::string &model,
                         const std::vector<rt::EntrySpec> &entries) {
  auto machine = createTargetMachine(target);
  if (!machine)
    return machine.takeError();
  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> llvmModule =
      mlir::translateModuleToLLVMIR(module, context, model);
  if (!llvmModule)
    return error("translation to LLVM IR failed");
  llvmModule->setTargetTriple((*machine)->getTargetTriple().str());
  llvmModule->setDataLayout((*machine)->createDataLayout());
  bool linked =
      kind == Artefact::SharedLibrary || kind == Artefact::Executable;
  // What another program links carries its model's name on every symbol.
  if (!linked)
    prefixManifestSymbols(*llvmModule, model);
  // The header first: an unwritable folder is found before compiling.
  if (kind == Artefact::Object || kind == Artefact::Library) {
    std::string header = headerPath(path, kind);
    std::error_code ec;
    llvm::ToolOutputFile out(header, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return error("cannot write '" + header + "': " + ec.message());
    out.os() << cHeader(model, entries);
    out.keep();
  }
  // A large model linked into one file or archived is optimized and
  // compiled in parts, one per thread.
  uint64_t instructions = llvmModule->getInstructionCount();
  unsigned parts = std::min(2u, std::max(1u, std::thread::hardware_concurrency()));
  bool split = linked || kind == Artefact::Library;
  std::vector<std::string> objects;
  auto removeObjects = llvm::make_scope_exit([&] {
    if (kind != Artefact::Object && kind != Artefact::Assembly)
      for (const std::string &object : objects)
        llvm::sys::fs::remove(object);
  });
  if (split && parts > 1 && instructions >= kSplitInstructions) {
    if (llvm::Error e = emitInParallel(*llvmModule, target, parts, objects))
      return e;
  } else {
    std::string objectPath = path;
    if (kind != Artefact::Object && kind != Artefact::Assembly) {
      llvm::SmallString<128> temp;
      if (std::error_code ec =
              llvm::sys::fs::createTemporaryFile("kiln", "o", temp))
        return error("cannot create a temporary object file: " + ec.message());
      objectPath = temp.str().str();
    }
    objects.push_back(objectPath);
    if (llvm::Error e = optimizeAndEmit(
            *llvmModule, **machine,
            kind == Artefact::Assembly ? llvm::CodeGenFileType::AssemblyFile
                                       : llvm::CodeGenFileType::ObjectFile,
            objectPath))
      return e;
  }
  switch (kind) {
  case Artefact::Assembly:
  case Artefact::Object:
    return llvm::Error::success();
  case Artefact::Library:
    return writeLibrary(objects, path, model);
  case Artefact::SharedLibrary:
  case Artefact::Executable:
    return link(objects, path, kind == Artefact::Executable);
  }
  return llvm::Error::success();
}

} // namespace kiln::aot
