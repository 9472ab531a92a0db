//===- Manifest.h - Entry points of a compiled model and their bindings ---===//
//
// What a compiled artefact promises: its entry points, each with named,
// typed, shaped arguments (parameters and buffers by state_dict key, then
// inputs) and results. Binding checks the tensors a user supplies against
// it, so a wrong file fails with the tensor's name, not a crash.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_MANIFEST_H
#define KILN_RUNTIME_MANIFEST_H

#include "kiln/runtime/HostTensor.h"
#include "kiln/runtime/SafeTensors.h"
#include "kiln/runtime/Status.h"

#include <string>
#include <vector>

namespace kiln::rt {

enum class ArgKind { Parameter, Buffer, Input };

/// "parameter", "buffer" or "input": the manifest's spelling.
const char *argKindName(ArgKind kind);

struct TensorSpec {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
};

struct ArgumentSpec {
  TensorSpec tensor;
  ArgKind kind;
  /// How a parameter or buffer starts: "uniform:BOUND" (U(-BOUND, BOUND)),
  /// "uniform:LOW:HIGH", "normal:STDDEV", "normal:MEAN:STDDEV",
  /// "constant:VALUE", "ones", "imported" (given by --init-params); empty or
  /// "zeros": zeros (train/Initialize.h draws them).
  std::string init;
  /// For an integer input used as indices (cross-entropy's class labels,
  /// embedding ids, one-hot classes): every value must lie in
  /// [0, indexBound); 0: unchecked. The runtime checks it before each call,
  /// as PyTorch does ("Target out of bounds").
  int64_t indexBound = 0;
};

/// A result of an entry point. A result that `updates` an argument (by
/// name: a parameter or buffer; train_step's parameters, optimizer state
/// and running statistics, batch norm's statistics in loss and grad) may be
/// given that argument's own buffer; given a buffer of its own, the result
/// is written there. train_step donates its arguments: it updates them in
/// place whichever buffers its results are given. Other entries leave their
/// arguments unchanged.
struct ResultSpec : TensorSpec {
  std::string updates; // The argument's name, or empty.
};

struct EntrySpec {
  std::string name;
  std::vector<ArgumentSpec> arguments;
  std::vector<ResultSpec> results;

  /// The index of the argument result `r` updates, or -1.
  int updatedArgument(size_t r) const;
};

/// The entry named `name`, or null.
const EntrySpec *findEntry(const std::vector<EntrySpec> &entries,
                           const std::string &name);

/// The tensors for every argument of `entry`, in order: parameters and
/// buffers from `params`, inputs from `inputs` (either may be null when the
/// entry needs none of its kind). A tensor of a narrower dtype is widened
/// exactly (f32 -> f64); nothing is narrowed. Errors name the tensor and give
/// the expected and the given dtype and shape, or list what is missing.
StatusOr<std::vector<HostTensor>> bindArguments(const EntrySpec &entry,
                                                const SafeTensorsFile *params,
                                                const SafeTensorsFile *inputs);

/// Zeroed tensors for every result of `entry`.
StatusOr<std::vector<HostTensor>> allocateResults(const EntrySpec &entry);

} // namespace kiln::rt

#endif // KILN_RUNTIME_MANIFEST_H
