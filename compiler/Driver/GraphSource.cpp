//===- GraphSource.cpp - kilnc's input: a model, an .mlir or an .onnx file ===//

#include "compiler/Driver/GraphSource.h"

#include "kiln/Onnx.h"
#include "kiln/runtime/SafeTensors.h"
#include "compiler/Driver/Report.h"
#include "compiler/ParseScreen.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>

#include <cctype>
#include <cstring>
#include <memory>

namespace kiln::driver {
namespace {

/// `path`'s stem with every character but letters and digits made '_'.
std::string sanitizedStem(const std::string &path) {
  std::string stem = llvm::sys::path::stem(path).str();
  for (char &c : stem)
    if (!std::isalnum(static_cast<unsigned char>(c)))
      c = '_';
  return stem;
}

/// Parses `buffer` (a graph module) into `context`, with located errors.
mlir::OwningOpRef<mlir::ModuleOp>
parseModule(std::unique_ptr<llvm::MemoryBuffer> buffer,
            mlir::MLIRContext &context) {
  auto sourceMgr = std::make_shared<llvm::SourceMgr>();
  sourceMgr->AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  if (reportParseHazard(*sourceMgr, llvm::errs()))
    return nullptr;
  mlir::SourceMgrDiagnosticHandler handler(*sourceMgr, &context);
  return mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
}

/// Writes an imported model's initial values as safetensors.
bool writeInitialValues(const std::vector<onnx::InitialValue> &values,
                        const std::string &path) {
  rt::SafeTensorsFile file;
  for (const onnx::InitialValue &v : values) {
    rt::StatusOr<rt::HostTensor> t = rt::HostTensor::zeros(
        v.dtype == DType::F64 ? rt::DType::F64 : rt::DType::F32, v.shape);
    if (!t.ok()) {
      fail(t.status().message());
      return false;
    }
    std::memcpy(t.value().data(), v.bytes.data(), v.bytes.size());
    file.tensors.push_back({v.name, std::move(t).value()});
  }
  file.metadata.push_back({"format", "pt"});
  if (rt::Status s = rt::writeSafeTensors(path, file); !s.ok()) {
    fail(s.message());
    return false;
  }
  return true;
}

/// The graph module of an .onnx input; null after an error.
mlir::OwningOpRef<mlir::ModuleOp> importOnnx(const GraphSource &source,
                                             mlir::MLIRContext &context,
                                             std::string &summary) {
  onnx::ImportOptions options;
  options.loss = source.onnxLoss;
  std::string text;
  try {
    for (const std::string &arg : source.inputShapes) {
      size_t eq = arg.rfind('=');
      if (eq == std::string::npos || eq == 0)
        throw GraphError(fmt::format("--input-shape={} is not NAME=AxBx...",
                                     arg));
      options.inputShapes.push_back(
          {arg.substr(0, eq), onnx::parseShape(arg.substr(eq + 1))});
    }
    onnx::ImportedModel imported = onnx::importModel(
        source.inputFile, symbolNameOf(source.inputFile), options);
    text = imported.built.program->emitGraphIR(/*debugInfo=*/true);
    summary = imported.built.program->summary();
    if (!source.paramsOut.empty() &&
        !writeInitialValues(imported.initialValues, source.paramsOut))
      return nullptr;
  } catch (const GraphError &e) {
    fail(e.what());
    return nullptr;
  }
  return parseModule(
      llvm::MemoryBuffer::getMemBufferCopy(text, source.inputFile), context);
}

/// The graph module of an .mlir input; null after an error.
mlir::OwningOpRef<mlir::ModuleOp> readGraphFile(const std::string &path,
                                                mlir::MLIRContext &context) {
  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> buffer =
      mlir::openInputFile(path, &error);
  if (!buffer) {
    fail(error);
    return nullptr;
  }
  mlir::OwningOpRef<mlir::ModuleOp> module =
      parseModule(std::move(buffer), context);
  // Artefact symbols are prefixed by the module's name: default to the
  // file's stem where it can be one.
  if (module && !module->getSymName()) {
    std::string stem = sanitizedStem(path);
    if (!stem.empty() && !std::isdigit(static_cast<unsigned char>(stem[0])))
      module->setSymName(stem);
  }
  return module;
}

} // namespace

bool isOnnxFile(const std::string &path) {
  return llvm::StringRef(path).ends_with(".onnx");
}

std::string symbolNameOf(const std::string &path) {
  std::string stem = sanitizedStem(path);
  if (stem.empty() || std::isdigit(static_cast<unsigned char>(stem[0])))
    stem = "model_" + stem;
  return stem;
}

mlir::OwningOpRef<mlir::ModuleOp> loadGraph(const GraphSource &source,
                                            mlir::MLIRContext &context,
                                            std::string &summary) {
  if (!source.model)
    return isOnnxFile(source.inputFile)
               ? importOnnx(source, context, summary)
               : readGraphFile(source.inputFile, context);
  std::string text;
  try {
    BuiltModel built = buildModel(*source.model, source.modelOptions);
    // Locations always travel with the IR; printing decides whether to show.
    text = built.program->emitGraphIR(/*debugInfo=*/true);
    summary = built.program->summary();
  } catch (const GraphError &e) {
    failModel(e.what());
    return nullptr;
  }
  return parseModule(
      llvm::MemoryBuffer::getMemBufferCopy(text, source.model->name), context);
}

} // namespace kiln::driver
