//===- kiln-opt.cpp - Kiln's dialects and passes behind MlirOptMain -------===//

#include "compiler/CrashGuard.h"
#include "compiler/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  return kiln::runGuarded("kiln-opt", argc, argv, [&] {
    mlir::DialectRegistry registry;
    kiln::registerAllDialects(registry);
    kiln::registerAllPasses();
    return mlir::asMainReturnCode(
        mlir::MlirOptMain(argc, argv, "Kiln optimizer driver\n", registry));
  });
}
