//===- Flags.h - kilnc's command-line flags and their checks --------------===//
//
// The flags of kilnc (and of a model program of one's own, kiln/Driver.h),
// defined in Flags.cpp and read by the driver, and what checkFlags() derives
// from them.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_DRIVER_FLAGS_H
#define KILN_COMPILER_DRIVER_FLAGS_H

#include "compiler/Pipelines/Pipelines.h"
#include "kiln/Model.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::driver {

/// kilnc's own flags; --help hides the others.
extern llvm::cl::OptionCategory category;

// The input and the model.
extern llvm::cl::opt<std::string> inputFile;
extern llvm::cl::opt<std::string> modelName;
extern llvm::cl::opt<bool> listModels;
extern llvm::cl::list<int64_t> batch;
extern llvm::cl::opt<std::string> dtypeName;
// What is emitted, for which target.
extern llvm::cl::opt<std::string> emit;
extern llvm::cl::opt<std::string> dumpStages;
extern llvm::cl::opt<std::string> cpu;
extern llvm::cl::opt<std::string> features;
extern llvm::cl::opt<std::string> targetName;
extern llvm::cl::opt<std::string> gpuArch;
extern llvm::cl::opt<std::string> gpuMath;
extern llvm::cl::opt<std::string> cudaPath;
extern llvm::cl::opt<std::string> report;
extern llvm::cl::opt<std::string> streamStores;
// The entry points and how they are compiled.
extern llvm::cl::opt<std::string> trainStep;
extern llvm::cl::list<std::string> entries;
extern llvm::cl::opt<bool> wrtInputs;
extern llvm::cl::opt<bool> channelsLast;
extern llvm::cl::opt<bool> libraryCalls;
extern llvm::cl::opt<bool> fusedAttention;
extern llvm::cl::opt<bool> numericsChecks;
// --gradcheck and its settings.
extern llvm::cl::opt<bool> gradcheck;
extern llvm::cl::opt<int64_t> gradcheckSamples;
extern llvm::cl::opt<double> gradcheckStep;
extern llvm::cl::opt<double> gradcheckTol;
extern llvm::cl::opt<uint64_t> gradcheckSeed;
extern llvm::cl::opt<std::string> testScaleGradientRule;
extern llvm::cl::opt<double> testScaleGradientFactor;
// Output.
extern llvm::cl::opt<bool> summary;
extern llvm::cl::opt<std::string> outputFile;
// An .onnx input's shapes, loss and parameters.
extern llvm::cl::list<std::string> inputShapes;
extern llvm::cl::opt<std::string> onnxLoss;
extern llvm::cl::opt<std::string> paramsOut;

/// The built-in models and the program's own.
extern std::vector<ModelInfo> allModels;

/// The model of `allModels` named `name`, or null.
const ModelInfo *findModel(const std::string &name);

/// --target=cuda's CUDA toolkit (cuda::findToolkit), once found.
extern std::string cudaToolkit;

bool targetIsCuda();

/// The entry points to keep: --entries, and once a module holds several
/// batch sizes, their suffixed names.
extern std::vector<std::string> askedEntries;

/// --stream-stores as a threshold in bytes (set by checkFlags).
extern long long streamStoreBytes;

/// The IR stage an --emit value needs (later stages translate LLVM).
Stage irStageOf(llvm::StringRef name);

/// Checks the flags' values and how they combine, before any work; sets
/// --model's default and `batchSizes` (one 0 for the model's default).
/// Returns 0, or 1 after printing the error.
int checkFlags(std::vector<int64_t> &batchSizes);

} // namespace kiln::driver

#endif // KILN_COMPILER_DRIVER_FLAGS_H
