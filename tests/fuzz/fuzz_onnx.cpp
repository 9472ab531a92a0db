// The ONNX importer on any bytes: a model imported into a DSL program, or
// a GraphError; never a crash, a leak or an out-of-bounds access. Every
// value the program holds is walked (the summary).
#include "FuzzSupport.h"

#include "kiln/Onnx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = kiln::fuzz::inputFile(data, size, ".onnx");
  kiln::onnx::ImportOptions options;
  try {
    kiln::onnx::ImportedModel model =
        kiln::onnx::importModel(path, "fuzz", options);
    volatile size_t sink = model.built.program->summary().size();
    (void)sink;
  } catch (const kiln::GraphError &) {
  }
  return 0;
}
