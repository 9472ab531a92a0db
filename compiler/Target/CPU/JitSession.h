//===- JitSession.h - Compile a graph module and run it in-process --------===//
//
// The just-in-time path: a graph module is compiled through the CPU pipeline
// and MLIR's ExecutionEngine (host CPU features), then any entry point runs
// on caller-owned buffers. Used by `kiln-run --jit` and by tests. No MLIR in
// this header.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_TARGET_CPU_JITSESSION_H
#define KILN_COMPILER_TARGET_CPU_JITSESSION_H

#include "kiln/runtime/Manifest.h"

#include <memory>
#include <string>
#include <vector>

namespace kiln::jit {

struct Options {
  /// Partition into fused kernels (off: one kernel per op, no epilogues).
  bool fusion = true;
  /// Float32 matmul and convolution through the runtime's oneDNN calls
  /// (off: generated code).
  bool libraryCalls = true;
  /// Float32 convolutions keep channels-last activations (graph-channels-last).
  bool channelsLast = true;
  /// Attention and its gradient as loop nests over rows, without the score
  /// matrix (the GPU's form; see PipelineOptions::fusedAttention).
  bool fusedAttention = false;
  /// Options of the optimizer in train_step (see graph-train-step).
  std::string trainStep;
  /// `grad` also returns the gradients of float inputs (grad.<input>).
  bool wrtInputs = false;
  /// Testing only: a gradient rule made wrong on purpose (see
  /// PipelineOptions::testScaleRule).
  std::string testScaleRule;
  double testScaleFactor = 1.0;
  /// The entry points to compile (after autodiff adds `grad` and
  /// `train_step`); empty: all of them.
  std::vector<std::string> entries;
  /// LLVM optimization level, 0-3.
  unsigned optLevel = 3;
};

class Session {
public:
  /// Compiles graph-dialect text. On failure returns null and sets `error`
  /// to the diagnostics, with locations.
  static std::unique_ptr<Session> compile(const std::string &graphIR,
                                          const Options &options,
                                          std::string &error);
  ~Session();

  /// The entry points: the module's public functions, with the names of
  /// their arguments and results.
  const std::vector<rt::EntrySpec> &entries() const { return entries_; }
  const rt::EntrySpec *findEntry(const std::string &name) const;

  /// Runs `entry` on `arguments` (in the entry's order, matching its specs)
  /// and writes `results` (allocated by the caller, e.g. allocateResults).
  rt::Status run(const std::string &entry,
                 std::vector<rt::HostTensor> &arguments,
                 std::vector<rt::HostTensor> &results);

private:
  Session();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<rt::EntrySpec> entries_;
};

} // namespace kiln::jit

#endif // KILN_COMPILER_TARGET_CPU_JITSESSION_H
