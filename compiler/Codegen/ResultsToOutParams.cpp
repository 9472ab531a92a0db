//===- ResultsToOutParams.cpp - Out-parameters, calls keep attributes -----===//

#include "compiler/Codegen/Passes.h"

#include "mlir/Dialect/Bufferization/Transforms/Passes.h"

namespace kiln {
#define GEN_PASS_DEF_KILNRESULTSTOOUTPARAMS
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct KilnResultsToOutParams
    : kiln::impl::KilnResultsToOutParamsBase<KilnResultsToOutParams> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Upstream rebuilds each call in place, in order, without its
    // discardable attributes: record them in walk order, put them back.
    SmallVector<DictionaryAttr> attributes;
    module.walk([&](func::CallOp call) {
      attributes.push_back(call->getDiscardableAttrDictionary());
    });
    bufferization::BufferResultsToOutParamsOpts options;
    options.hoistStaticAllocs = true;
    if (failed(bufferization::promoteBufferResultsToOutParams(module, options)))
      return signalPassFailure();
    size_t next = 0;
    WalkResult walk = module.walk([&](func::CallOp call) {
      if (next == attributes.size())
        return WalkResult::interrupt();
      call->setDiscardableAttrs(attributes[next++]);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted() || next != attributes.size()) {
      module.emitError("buffer-results-to-out-params changed the number of "
                       "calls");
      return signalPassFailure();
    }
  }
};

} // namespace
