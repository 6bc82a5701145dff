#include "harness/backend/kernel_tuning.hpp"

#include "kernels/reference_ops.hpp"

namespace tpbench {

TuningOps ops_to_tune(const RankProgram& r) {
  TuningOps t;
  for (size_t i = 0; i < r.ops.size(); ++i) {
    const Op& op = r.ops[i];
    // A GEMM on an FP8 weight has one kernel (cuBLASLt's FP8 GEMM): nothing to choose.
    if (op.kind == OpKind::Gemm && op.w.dtype != DType::FP8E4M3 && op.a.rows >= 1 &&
        op.a.rows <= kernels::kSkinnyMaxM)
      t.gemms.push_back(int(i));
    if (op.kind == OpKind::Attention) t.attentions.push_back(int(i));
  }
  return t;
}

}  // namespace tpbench
