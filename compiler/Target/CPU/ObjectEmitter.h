//===- ObjectEmitter.h - Ahead-of-time artefacts for the CPU --------------===//
//
// From a module in the LLVM dialect to assembly, an object file or static
// archive with its C header, a shared library or an executable (linked with
// Kiln's runtime).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_TARGET_CPU_OBJECTEMITTER_H
#define KILN_COMPILER_TARGET_CPU_OBJECTEMITTER_H

#include "kiln/runtime/Manifest.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace llvm {
class TargetMachine;
} // namespace llvm

namespace kiln::aot {

struct TargetOptions {
  /// "host" (this machine's CPU and features) or an LLVM CPU name such as
  /// "x86-64-v3" or "skylake-avx512".
  std::string cpu = "host";
  /// Extra LLVM target features, e.g. "+avx512f,-avx512vnni".
  std::string features;
};

/// An LLVM target machine for `options` on this machine's triple: the CPU's
/// features are the host's for "host".
llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const TargetOptions &options);

/// Whether the CPU of `options` has the LLVM feature `feature` ("avx512f");
/// false if no target machine can be made for it.
bool targetHasFeature(const TargetOptions &options, const std::string &feature);

/// Library is a static archive of the model's objects, for other programs to
/// link with the runtime.
enum class Artefact { Assembly, Object, Library, SharedLibrary, Executable };

/// Writes `module` (LLVM dialect) as `kind` to `path`, optimized for the
/// target. Shared libraries and executables link the runtime. Beside an
/// object or archive goes a C header declaring the entry points (`path` with
/// a .h extension, without an archive's "lib": libmlp.a, mlp.h); their
/// manifest accessor is <model>_kiln_manifest, so models link side by side.
llvm::Error emitArtefact(mlir::ModuleOp module, Artefact kind,
                         const TargetOptions &target, const std::string &path,
                         const std::string &model,
                         const std::vector<rt::EntrySpec> &entries);

/// Where linking finds the runtime's archives (libKilnRuntime.a,
/// libKilnArtefactMain.a): `dir` when it holds them, else <prefix>/lib
/// beside an installed kilnc (<prefix>/bin), else the build tree's.
void setRuntimeLibraryDir(const std::string &dir);

/// The C header of an object: one prototype per entry point, documenting
/// each pointer's tensor name, dtype and shape.
std::string cHeader(const std::string &model,
                    const std::vector<rt::EntrySpec> &entries);

} // namespace kiln::aot

#endif // KILN_COMPILER_TARGET_CPU_OBJECTEMITTER_H
