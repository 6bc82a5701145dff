#include "harness/backend/cuda/moe_runner.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "harness/backend/device_memory_plan.hpp"
#include "kernels/detail/cublas_check.hpp"
#include "kernels/detail/cuda_check.hpp"
#include "kernels/moe.cuh"

namespace tpbench::cuda {

MoeRunner::MoeRunner(const RankProgram& r, const std::vector<__nv_bfloat16*>& buffers, cudaStream_t s)
    : tables_(pack_moe_tables(r)) {
  grouped_.resize(tables_.tables.size());
  pointer_values_.assign(size_t(tables_.pointer_slots), nullptr);
  bool any_grouped = false;
  for (const Op& op : r.ops)
    if (op.kind == OpKind::GroupedGemm) {
      prepare_grouped(op, buffers);
      any_grouped = true;
    }
  const size_t index_bytes = tables_.indices.size() * sizeof(int32_t);
  indices_ = DeviceBuffer(std::max<size_t>(index_bytes, sizeof(int32_t)));
  if (index_bytes > 0)
    TPBENCH_CUDA_CHECK(cudaMemcpyAsync(indices_.get(), tables_.indices.data(), index_bytes, cudaMemcpyHostToDevice, s));
  const size_t pointer_bytes = pointer_values_.size() * sizeof(void*);
  if (pointer_bytes > 0) {
    pointers_ = DeviceBuffer(pointer_bytes);
    TPBENCH_CUDA_CHECK(cudaMemcpyAsync(pointers_.get(), pointer_values_.data(), pointer_bytes, cudaMemcpyHostToDevice, s));
  }
  if (any_grouped) {
    // A workspace of our own: without one cuBLAS may allocate during a graph capture.
    workspace_ = DeviceBuffer(size_t(kGroupedGemmWorkspaceBytes));
    TPBENCH_CUBLAS_CHECK(cublasCreate(&handle_));
  }
}

MoeRunner::~MoeRunner() {
  if (handle_) cublasDestroy(handle_);
}

void MoeRunner::leak() noexcept {
  (void)indices_.release();
  (void)pointers_.release();
  (void)workspace_.release();
  handle_ = nullptr;  // destroying it would synchronise with the device
}

// Row-major out = a * w_g is column-major out^T = w_g^T * a^T (as in GemmRunner): cuBLAS's A is
// the expert's weight (n x k, ld w.ld), its B the group's rows (k x rows, ld a.ld), its C the
// group's output rows (n x rows, ld out.ld).
void MoeRunner::prepare_grouped(const Op& op, const std::vector<__nv_bfloat16*>& buffers) {
  if (op.w.dtype != DType::BF16)
    throw std::logic_error("grouped GEMM '" + op.name + "': " + dtype_name(op.w.dtype) +
                           " expert weights are not run on the cuda backend");
  for (int64_t v : {op.w.cols, op.a.cols, op.w.ld, op.a.ld, op.out.ld})
    if (v <= 0 || v > std::numeric_limits<int>::max())
      throw std::logic_error("grouped GEMM '" + op.name + "': a dimension outside cuBLAS's int range");
  const MoeTableLayout& l = tables_.tables.at(size_t(op.moe.table));
  GroupedCall& c = grouped_[size_t(op.moe.table)];
  c.pointer_slot = l.pointer_slot;
  const size_t groups = l.groups.size();
  const __nv_bfloat16* w = buffers.at(size_t(op.w.buffer)) + op.w.offset;
  const __nv_bfloat16* a = buffers.at(size_t(op.a.buffer)) + op.a.offset;
  __nv_bfloat16* out = buffers.at(size_t(op.out.buffer)) + op.out.offset;
  for (size_t i = 0; i < groups; ++i) {
    const MoeGroupRun& g = l.groups[i];
    c.trans.push_back(CUBLAS_OP_N);
    c.m.push_back(int(op.w.cols));
    c.n.push_back(int(g.rows));
    c.k.push_back(int(op.a.cols));
    c.lda.push_back(int(op.w.ld));
    c.ldb.push_back(int(op.a.ld));
    c.ldc.push_back(int(op.out.ld));
    c.group_size.push_back(1);
    c.alpha.push_back(1.0f);
    c.beta.push_back(0.0f);
    const size_t slot = size_t(l.pointer_slot);
    pointer_values_[slot + i] = w + g.group * op.moe.weight_stride;
    pointer_values_[slot + groups + i] = a + g.row0 * op.a.ld;
    pointer_values_[slot + 2 * groups + i] = out + g.row0 * op.out.ld;
  }
}

void MoeRunner::run_grouped(const Op& op, cudaStream_t s) {
  const GroupedCall& c = grouped_.at(size_t(op.moe.table));
  const int groups = int(c.group_size.size());
  if (groups == 0) return;  // no expert of this rank received a row
  void** slots = pointers_.get<void*>() + c.pointer_slot;
  // cublasSetStream resets the handle's workspace to cuBLAS's own pool: set ours after it.
  TPBENCH_CUBLAS_CHECK(cublasSetStream(handle_, s));
  TPBENCH_CUBLAS_CHECK(cublasSetWorkspace(handle_, workspace_.get(), workspace_.bytes()));
  TPBENCH_CUBLAS_CHECK(cublasGemmGroupedBatchedEx(
      handle_, c.trans.data(), c.trans.data(), c.m.data(), c.n.data(), c.k.data(), c.alpha.data(), slots, CUDA_R_16BF,
      c.lda.data(), slots + groups, CUDA_R_16BF, c.ldb.data(), c.beta.data(), slots + 2 * groups, CUDA_R_16BF,
      c.ldc.data(), groups, c.group_size.data(), CUBLAS_COMPUTE_32F));
}

void MoeRunner::launch(const Op& op, const std::vector<__nv_bfloat16*>& buffers, cudaStream_t s) {
  if (op.moe.table < 0 || size_t(op.moe.table) >= tables_.tables.size())
    throw std::logic_error("mixture-of-experts op '" + op.name + "' has no row map");
  const MoeTableLayout& l = tables_.tables[size_t(op.moe.table)];
  auto ptr = [&](const View& v) { return buffers.at(size_t(v.buffer)) + v.offset; };
  switch (op.kind) {
    case OpKind::MoeGate:
      TPBENCH_CUDA_CHECK(kernels::moe_gate_bf16(ptr(op.a), op.a.ld, indices(l.chosen), op.moe.top_k, ptr(op.out),
                                                op.out.ld, op.a.rows, s));
      return;
    case OpKind::GatherRows:
      TPBENCH_CUDA_CHECK(kernels::gather_rows_bf16(ptr(op.a), op.a.ld, indices(l.source_rows), ptr(op.out), op.out.ld,
                                                   op.out.rows, op.out.cols, s));
      return;
    case OpKind::MoeCombine:
      TPBENCH_CUDA_CHECK(kernels::moe_combine_bf16(ptr(op.a), op.a.ld, ptr(op.w), indices(l.csr_start),
                                                   indices(l.csr_gate), indices(l.csr_source), ptr(op.out), op.out.ld,
                                                   op.out.rows, op.out.cols, s));
      return;
    case OpKind::GroupedGemm: return run_grouped(op, s);
    default: break;
  }
  throw std::logic_error("MoeRunner: '" + op.name + "' is not a mixture-of-experts op");
}

}  // namespace tpbench::cuda
