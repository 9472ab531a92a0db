//===- ObjectEmitter.cpp - Ahead-of-time artefacts for the CPU ------------===//

#include "compiler/Target/CPU/ObjectEmitter.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

#include <cctype>

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

/// Links `object` with the runtime into a shared library or executable.
llvm::Error link(const std::string &object, const std::string &output,
                 bool executable) {
  llvm::ErrorOr<std::string> cxx = llvm::sys::findProgramByName("c++");
  if (!cxx)
    return error("no C++ compiler driver (c++) on PATH to link with");
  std::vector<std::string> args{*cxx};
  if (!executable)
    args.push_back("-shared");
  args.insert(args.end(), {"-o", output, object});
  if (executable)
    args.push_back(KILN_ARTEFACT_MAIN_ARCHIVE);
  args.insert(args.end(), {KILN_RUNTIME_ARCHIVE, KILN_DNNL_LIBRARY, "-lz",
                           "-fopenmp", "-ldl", "-lm", "-pthread"});
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

} // namespace

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
  std::string out = "/* " + model +
                    ": entry points compiled by kilnc. Every pointer is a "
                    "contiguous row-major\n   buffer of the dtype and shape "
                    "given; results are written in place.\n   An output "
                    "buffer must not overlap any other buffer, except that "
                    "an output\n   that updates a parameter may be that "
                    "parameter's buffer. */\n#ifndef " +
                    guard + "\n#define " + guard +
                    "\n\n#include <stdint.h>\n\n#ifdef __cplusplus\nextern "
                    "\"C\" {\n#endif\n";
  for (const rt::EntrySpec &e : entries) {
    out += "\n/* " + e.name + " */\nvoid " + identifier(model) + "_" +
           identifier(e.name) + "(";
    std::vector<std::string> params;
    for (const rt::ArgumentSpec &a : e.arguments) {
      // A donated argument (one a result updates) may be overwritten.
      bool updated = llvm::any_of(e.results, [&](const rt::ResultSpec &r) {
        return r.updates == a.tensor.name;
      });
      params.push_back((updated ? "" : "const ") + cType(a.tensor.dtype) +
                       " *" + identifier(a.tensor.name) + " /* " +
                       (a.kind == rt::ArgKind::Input ? "input " : "parameter ") +
                       a.tensor.name + ": " + rt::dtypeName(a.tensor.dtype) +
                       rt::formatShape(a.tensor.shape) +
                       (updated ? ", may be overwritten" : "") + " */");
    }
    for (const rt::ResultSpec &r : e.results)
      params.push_back(cType(r.dtype) + " *" + identifier(r.name) +
                       " /* output " + r.name + ": " + rt::dtypeName(r.dtype) +
                       rt::formatShape(r.shape) +
                       (r.updates.empty() ? "" : ", updates " + r.updates) +
                       " */");
    for (size_t i = 0; i < params.size(); ++i)
      out += (i ? ",\n    " : "\n    ") + params[i];
    out += ");\n";
  }
  return out + "\n#ifdef __cplusplus\n}\n#endif\n\n#endif /* " + guard +
         " */\n";
}

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
  if (llvm::Error e = mlir::makeOptimizingTransformer(
          /*optLevel=*/3, /*sizeLevel=*/0, machine->get())(llvmModule.get()))
    return e;

  bool linked =
      kind == Artefact::SharedLibrary || kind == Artefact::Executable;
  std::string objectPath = path;
  if (linked) {
    llvm::SmallString<128> temp;
    if (std::error_code ec =
            llvm::sys::fs::createTemporaryFile("kiln", "o", temp))
      return error("cannot create a temporary object file: " + ec.message());
    objectPath = temp.str().str();
  }
  {
    std::error_code ec;
    llvm::ToolOutputFile out(objectPath, ec, llvm::sys::fs::OF_None);
    if (ec)
      return error("cannot write '" + objectPath + "': " + ec.message());
    llvm::legacy::PassManager pm;
    auto type = kind == Artefact::Assembly ? llvm::CodeGenFileType::AssemblyFile
                                           : llvm::CodeGenFileType::ObjectFile;
    if ((*machine)->addPassesToEmitFile(pm, out.os(), nullptr, type))
      return error("the target cannot emit this file type");
    pm.run(*llvmModule);
    out.keep();
  }
  if (kind == Artefact::Object) {
    llvm::SmallString<128> header(path);
    llvm::sys::path::replace_extension(header, "h");
    std::error_code ec;
    llvm::ToolOutputFile out(header, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return error("cannot write '" + header.str() + "': " + ec.message());
    out.os() << cHeader(model, entries);
    out.keep();
  }
  if (!linked)
    return llvm::Error::success();
  llvm::Error linkError =
      link(objectPath, path, kind == Artefact::Executable);
  llvm::sys::fs::remove(objectPath);
  return linkError;
}

} // namespace kiln::aot
