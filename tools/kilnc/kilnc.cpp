//===- kilnc.cpp - The Kiln compiler: the built-in models behind the driver ===//

#include "compiler/CrashGuard.h"
#include "frontends/models/Zoo.h"
#include "kiln/Driver.h"

int main(int argc, char **argv) {
  return kiln::runGuarded("kilnc", argc, argv, [&] {
    return kiln::driver::kilncMain(argc, argv, kiln::zoo::models());
  });
}
