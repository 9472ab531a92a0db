//===- DSL.h - Everything a model written with the Kiln DSL needs ---------===//

#ifndef KILN_DSL_DSL_H
#define KILN_DSL_DSL_H

#include "kiln/Init.h"
#include "kiln/Layers.h"
#include "kiln/Model.h"
#include "kiln/Module.h"
#include "kiln/Ops.h"
#include "kiln/Program.h"
#include "kiln/Tensor.h"

#endif // KILN_DSL_DSL_H
