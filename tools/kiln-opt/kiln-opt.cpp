//===- kiln-opt.cpp - Kiln's dialects and passes behind MlirOptMain -------===//
//
// mlir-opt's driver with Kiln's dialects and passes. The input is read here,
// screened for the spellings MLIR 19's parser misreads (ParseScreen.h), and
// handed to MlirOptMain; the output file is written only when it succeeds.
//
//===----------------------------------------------------------------------===//

#include "compiler/CrashGuard.h"
#include "compiler/InitAll.h"
#include "compiler/ParseScreen.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <memory>
#include <string>

namespace {

int runOpt(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::DialectRegistry registry;
  kiln::registerAllDialects(registry);
  kiln::registerAllPasses();
  auto [inputFile, outputFile] = mlir::registerAndParseCLIOptions(
      argc, argv, "Kiln optimizer driver\n", registry);
  mlir::MlirOptMainConfig config = mlir::MlirOptMainConfig::createFromCLOptions();
  if (config.shouldShowDialects()) {
    llvm::outs() << "Available Dialects: ";
    llvm::interleave(registry.getDialectNames(), llvm::outs(), ",");
    llvm::outs() << "\n";
    return 0;
  }

  // An output in a folder that does not exist is found before the work.
  if (outputFile != "-") {
    llvm::StringRef folder = llvm::sys::path::parent_path(outputFile);
    if (!folder.empty() && !llvm::sys::fs::is_directory(folder)) {
      llvm::errs() << "kiln-opt: cannot write '" << outputFile
                   << "': the folder '" << folder << "' does not exist\n";
      return 1;
    }
  }
  if (inputFile == "-" &&
      llvm::sys::Process::FileDescriptorIsDisplayed(fileno(stdin)))
    llvm::errs() << "(processing input from stdin now, hit ctrl-c/ctrl-d to "
                    "interrupt)\n";
  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> input =
      mlir::openInputFile(inputFile, &error);
  if (!input) {
    llvm::errs() << "kiln-opt: " << error << "\n";
    return 1;
  }
  {
    llvm::SourceMgr screen;
    screen.AddNewSourceBuffer(
        llvm::MemoryBuffer::getMemBuffer(input->getMemBufferRef(), false),
        llvm::SMLoc());
    if (kiln::reportParseHazard(screen, llvm::errs()))
      return 1;
  }
  // To stdout the result streams as it comes (with --split-input-file, the
  // chunks before a failing one are printed); to a file it is written only
  // once complete, so a failed run leaves an existing file as it was.
  if (outputFile == "-")
    return mlir::succeeded(mlir::MlirOptMain(llvm::outs(), std::move(input),
                                             registry, config))
               ? 0
               : 1;
  std::string result;
  llvm::raw_string_ostream resultStream(result);
  if (mlir::failed(
          mlir::MlirOptMain(resultStream, std::move(input), registry, config)))
    return 1;
  std::unique_ptr<llvm::ToolOutputFile> output =
      mlir::openOutputFile(outputFile, &error);
  if (!output) {
    llvm::errs() << "kiln-opt: " << error << "\n";
    return 1;
  }
  output->os() << result;
  output->keep();
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  return kiln::runGuarded("kiln-opt", argc, argv,
                          [&] { return runOpt(argc, argv); });
}
