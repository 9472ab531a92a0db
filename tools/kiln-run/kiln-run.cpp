//===- kiln-run.cpp - Run an entry point of a compiled model --------------===//
//
//   kiln-run MODEL.mlir --jit --entry=forward --params=P.safetensors
//            --inputs=I.safetensors --outputs=O.safetensors
//
// Parameters and inputs are found by name (PyTorch state_dict keys for
// parameters); results are written under their output names. `.npy` files
// are accepted for a single input (`--inputs=x.npy`) or output.
//
//===----------------------------------------------------------------------===//

#include "compiler/Target/CPU/JitSession.h"

#include "kiln/runtime/Manifest.h"
#include "kiln/runtime/Npy.h"
#include "kiln/runtime/SafeTensors.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;
using namespace kiln;

namespace {

cl::OptionCategory category("kiln-run options");
cl::opt<std::string> modelFile(cl::Positional, cl::Required,
                               cl::desc("<model.mlir>"), cl::cat(category));
cl::opt<bool> jitFlag("jit",
                  cl::desc("Compile the graph module in-process (required: "
                           "the model argument is a graph .mlir file)"),
                  cl::init(false), cl::cat(category));
cl::opt<std::string> entryName("entry", cl::desc("Entry point to run"),
                               cl::init("forward"), cl::cat(category));
cl::opt<std::string> paramsFile("params",
                                cl::desc("Parameters and buffers "
                                         "(.safetensors)"),
                                cl::init(""), cl::cat(category));
cl::opt<std::string> inputsFile("inputs",
                                cl::desc("Inputs (.safetensors, or .npy for "
                                         "an entry with one input)"),
                                cl::init(""), cl::cat(category));
cl::opt<std::string> outputsFile("outputs",
                                 cl::desc("Where to write the results "
                                          "(.safetensors, or .npy for one "
                                          "result)"),
                                 cl::Required, cl::cat(category));
cl::opt<std::string> fusion("fusion",
                            cl::desc("Fuse kernels: on or off (one kernel "
                                     "per op)"),
                            cl::init("on"), cl::cat(category));
cl::opt<std::string> libraryCalls("library-calls",
                                  cl::desc("float32 matmul/conv through "
                                           "oneDNN: on or off (generated "
                                           "code)"),
                                  cl::init("on"), cl::cat(category));

int fail(const std::string &message) {
  llvm::errs() << "kiln-run: error: " << message << "\n";
  return 1;
}

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Reads the inputs: a safetensors file, or one .npy for a single input.
rt::StatusOr<rt::SafeTensorsFile> readInputs(const rt::EntrySpec &entry) {
  if (!endsWith(inputsFile, ".npy"))
    return rt::readSafeTensors(inputsFile);
  std::vector<std::string> names;
  for (const rt::ArgumentSpec &a : entry.arguments)
    if (a.kind == rt::ArgKind::Input)
      names.push_back(a.tensor.name);
  if (names.size() != 1)
    return rt::Status::error("--inputs=" + inputsFile + ": a .npy file can "
                             "only feed an entry with one input; '" +
                             entry.name + "' has " +
                             std::to_string(names.size()));
  rt::StatusOr<rt::HostTensor> t = rt::readNpy(inputsFile);
  if (!t.ok())
    return t.status();
  rt::SafeTensorsFile file;
  file.tensors.push_back({names[0], std::move(t).value()});
  return file;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "kiln-run: run an entry point of a model\n");
  if (!jitFlag)
    return fail("only --jit is supported by this build: pass a graph .mlir "
                "file and --jit");
  for (const cl::opt<std::string> *flag : {&fusion, &libraryCalls})
    if (*flag != "on" && *flag != "off")
      return fail("--" + flag->ArgStr.str() + " must be on or off, got '" +
                  flag->getValue() + "'");

  auto buffer = llvm::MemoryBuffer::getFile(modelFile);
  if (!buffer)
    return fail("cannot read '" + modelFile +
                "': " + buffer.getError().message());
  jit::Options options;
  options.fusion = fusion == "on";
  options.libraryCalls = libraryCalls == "on";
  std::string error;
  std::unique_ptr<jit::Session> session =
      jit::Session::compile((*buffer)->getBuffer().str(), options, error);
  if (!session) {
    llvm::errs() << error;
    return fail("cannot compile '" + modelFile + "'");
  }
  const rt::EntrySpec *entry = session->findEntry(entryName);
  if (!entry) {
    std::string names;
    for (const rt::EntrySpec &e : session->entries())
      names += (names.empty() ? "" : ", ") + e.name;
    return fail("'" + modelFile + "' has no entry point '" + entryName +
                "'; entry points: " + names);
  }

  std::optional<rt::SafeTensorsFile> params, inputs;
  if (!paramsFile.empty()) {
    auto p = rt::readSafeTensors(paramsFile);
    if (!p.ok())
      return fail(p.status().message());
    params = std::move(p).value();
  }
  if (!inputsFile.empty()) {
    auto in = readInputs(*entry);
    if (!in.ok())
      return fail(in.status().message());
    inputs = std::move(in).value();
  }
  auto arguments = rt::bindArguments(*entry, params ? &*params : nullptr,
                                     inputs ? &*inputs : nullptr);
  if (!arguments.ok())
    return fail(arguments.status().message());
  auto results = rt::allocateResults(*entry);
  if (!results.ok())
    return fail(results.status().message());
  if (rt::Status s = session->run(entryName, arguments.value(), results.value());
      !s.ok())
    return fail(s.message());

  rt::Status written;
  if (endsWith(outputsFile, ".npy")) {
    if (results.value().size() != 1)
      return fail("--outputs=" + outputsFile + ": a .npy file holds one "
                  "result; '" + entryName + "' has " +
                  std::to_string(results.value().size()));
    written = rt::writeNpy(outputsFile, results.value()[0]);
  } else {
    rt::SafeTensorsFile out;
    for (size_t i = 0; i < results.value().size(); ++i)
      out.tensors.push_back(
          {entry->results[i].name, std::move(results.value()[i])});
    written = rt::writeSafeTensors(outputsFile, out);
  }
  if (!written.ok())
    return fail(written.message());
  return 0;
}
