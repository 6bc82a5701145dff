// cuDNN SDPA over the project's attention layout (kernels/cudnn_attention.hpp). Compiled with
// TPBENCH_HAVE_CUDNN=1 only where cmake/TpbenchCudnn.cmake found cuDNN and cudnn-frontend;
// otherwise the stubs at the end say why.
//
// The calls follow cudnn-frontend's graph API (cudnn_frontend/graph_interface.h and the
// SDPA_attributes of graph_properties.h, release 1.32): Q/O as [b, h, s_q, d] and K/V as
// [b, h_kv, s_kv, d] with explicit strides, so the interleaved qkv rows and the per-sequence
// caches are read in place (no copies), h_q a multiple of h_kv (grouped-query attention), and
// causal masking over a KV cache longer than the query as a diagonal band anchored bottom-right.
#include "kernels/cudnn_attention.hpp"

#include <stdexcept>

#if TPBENCH_HAVE_CUDNN
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <unordered_map>

// JSON (de)serialisation of graphs is not used; skipping it keeps nlohmann's 1 MB header (the
// frontend's own copy, which would clash with the project's) out of this translation unit.
#define CUDNN_FRONTEND_SKIP_JSON_LIB 1
#include <cudnn_frontend.h>

namespace tpbench::kernels {
namespace {

namespace fe = cudnn_frontend;

std::string version_text(size_t v) {
  // cuDNN 9 encodes major*10000 + minor*100 + patch.
  return std::to_string(v / 10000) + "." + std::to_string(v % 10000 / 100) + "." + std::to_string(v % 100);
}

void check(fe::error_t e, const char* what) {
  if (e.is_bad()) throw std::runtime_error(std::string("cuDNN SDPA ") + what + ": " + e.get_message());
}

void check(cudnnStatus_t s, const char* what) {
  if (s != CUDNN_STATUS_SUCCESS) throw std::runtime_error(std::string(what) + " failed: " + cudnnGetErrorString(s));
}

// Everything a built plan depends on: dims, leading dimensions and the cache's position stride.
struct Key {
  int64_t batch, t, prior, qh, kvh, d, ld_qkv, ld_out, stride;
  bool operator<(const Key& o) const {
    return std::tie(batch, t, prior, qh, kvh, d, ld_qkv, ld_out, stride) <
           std::tie(o.batch, o.t, o.prior, o.qh, o.kvh, o.d, o.ld_qkv, o.ld_out, o.stride);
  }
};

Key key_of(const DecodeAttentionArgs& a) {
  const AttentionDims& d = a.dims;
  const int64_t stride = a.cache_positions > 0 ? a.cache_positions : d.context();
  return {d.batch, d.new_tokens, d.prior, d.q_heads, d.kv_heads, d.head_dim, a.ld_qkv, a.ld_out, stride};
}

using TensorPtr = std::shared_ptr<fe::graph::Tensor_attributes>;

struct Built {
  std::shared_ptr<fe::graph::Graph> graph;
  TensorPtr q, k, v, o;
  int64_t workspace = 0;
};

TensorPtr tensor(fe::graph::Graph& g, const char* name, std::vector<int64_t> dim, std::vector<int64_t> stride) {
  return g.tensor(fe::graph::Tensor_attributes().set_name(name).set_dim(dim).set_stride(stride));
}

Built build(cudnnHandle_t handle, const Key& k) {
  Built b;
  b.graph = std::make_shared<fe::graph::Graph>();
  fe::graph::Graph& g = *b.graph;
  g.set_io_data_type(fe::DataType_t::BFLOAT16)
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  const int64_t s_kv = k.prior + k.t;
  // qkv row b*T + t holds q head h at column h*d: [b, h, t, d] strides (T*ld, d, ld, 1).
  b.q = tensor(g, "Q", {k.batch, k.qh, k.t, k.d}, {k.t * k.ld_qkv, k.d, k.ld_qkv, 1});
  const std::vector<int64_t> cache_stride = {k.kvh * k.stride * k.d, k.stride * k.d, k.d, 1};
  b.k = tensor(g, "K", {k.batch, k.kvh, s_kv, k.d}, cache_stride);
  b.v = tensor(g, "V", {k.batch, k.kvh, s_kv, k.d}, cache_stride);
  auto attrs = fe::graph::SDPA_attributes().set_name("attention").set_generate_stats(false).set_attn_scale(
      1.0f / std::sqrt(float(k.d)));
  // Token t of the chunk sees positions 0 .. prior + t: the causal diagonal anchored at the
  // bottom right of the [T x prior+T] score matrix. A single token sees everything.
  if (k.t > 1) attrs.set_diagonal_alignment(fe::DiagonalAlignment_t::BOTTOM_RIGHT).set_diagonal_band_right_bound(0);
  auto outputs = g.sdpa(b.q, b.k, b.v, attrs);
  b.o = outputs[0];
  b.o->set_output(true).set_dim({k.batch, k.qh, k.t, k.d}).set_stride({k.t * k.ld_out, k.d, k.ld_out, 1});
  check(g.validate(), "validate");
  check(g.build_operation_graph(handle), "build_operation_graph");
  check(g.create_execution_plans({fe::HeurMode_t::A}), "create_execution_plans");
  check(g.check_support(handle), "check_support");
  check(g.build_plans(handle), "build_plans");
  check(g.get_workspace_size(b.workspace), "get_workspace_size");
  return b;
}

// One per device, for the whole process: the handle and every plan built on it. A plan costs
// tens to hundreds of milliseconds to build (heuristics, and NVRTC for run-time compiled
// engines), and each point of a sweep, each rank and each verification step would otherwise
// build its own. The mutex orders the handle's users: cudnnSetStream and execute are one
// critical section (ranks sharing a GPU run on their own threads), and plans are built under it.
// Never destroyed: a handle released after the CUDA runtime has shut down at exit can crash.
struct DeviceLibrary {
  std::mutex mu;
  cudnnHandle_t handle = nullptr;
  std::map<Key, std::shared_ptr<const Built>> plans;
};

// The current device's library, its handle created on first use. Throws std::runtime_error
// when cudnnCreate fails (no usable libcudnn for this driver or device); a later call tries again.
DeviceLibrary& device_library() {
  static std::mutex registry_mu;
  static std::map<int, DeviceLibrary*> registry;
  int device = 0;
  if (const cudaError_t e = cudaGetDevice(&device); e != cudaSuccess)
    throw std::runtime_error(std::string("cuDNN SDPA: no current CUDA device: ") + cudaGetErrorString(e));
  std::lock_guard<std::mutex> lock(registry_mu);
  DeviceLibrary*& lib = registry[device];
  if (lib == nullptr) {
    cudnnHandle_t h = nullptr;
    check(cudnnCreate(&h), "cudnnCreate");
    lib = new DeviceLibrary;
    lib->handle = h;
  }
  return *lib;
}

}  // namespace

struct CudnnAttention::Impl {
  DeviceLibrary* library = nullptr;
  std::map<Key, std::shared_ptr<const Built>> plans;  // this object's view of the shared cache
};

LibraryStatus cudnn_attention_status() {
  const size_t v = cudnnGetVersion();
  if (v < 90000) return {false, "cuDNN " + version_text(v) + " is older than 9.0 (SDPA needs cuDNN 9)"};
  return {true, "cuDNN " + version_text(v) + ", cudnn-frontend " + std::to_string(CUDNN_FRONTEND_MAJOR_VERSION) + "." +
                    std::to_string(CUDNN_FRONTEND_MINOR_VERSION) + "." + std::to_string(CUDNN_FRONTEND_PATCH_VERSION)};
}

CudnnAttention::CudnnAttention() : impl_(std::make_unique<Impl>()) {
  const LibraryStatus st = cudnn_attention_status();
  if (!st.usable) throw std::runtime_error(st.description);
  impl_->library = &device_library();
}

CudnnAttention::~CudnnAttention() = default;

size_t CudnnAttention::prepare(const DecodeAttentionArgs& layout) {
  const Key k = key_of(layout);
  auto mine = impl_->plans.find(k);
  if (mine == impl_->plans.end()) {
    DeviceLibrary& lib = *impl_->library;
    std::lock_guard<std::mutex> lock(lib.mu);
    auto it = lib.plans.find(k);
    if (it == lib.plans.end()) it = lib.plans.emplace(k, std::make_shared<const Built>(build(lib.handle, k))).first;
    mine = impl_->plans.emplace(k, it->second).first;
  }
  return size_t(mine->second->workspace);
}

size_t CudnnAttention::plans_built_on_this_device() {
  DeviceLibrary& lib = device_library();
  std::lock_guard<std::mutex> lock(lib.mu);
  return lib.plans.size();
}

void CudnnAttention::run(const DecodeAttentionArgs& a, void* workspace, size_t workspace_bytes, cudaStream_t s) {
  const Key k = key_of(a);
  const auto it = impl_->plans.find(k);
  if (it == impl_->plans.end()) throw std::logic_error("CudnnAttention::run: shape not prepared");
  const Built& b = *it->second;
  if (workspace_bytes < size_t(b.workspace)) throw std::runtime_error("cuDNN SDPA: workspace too small");
  const int64_t seq_elems = k.kvh * k.stride * k.d;  // one sequence's cache
  std::unordered_map<TensorPtr, void*> pointers = {
      {b.q, const_cast<__nv_bfloat16*>(a.qkv)},
      {b.k, a.k_cache + a.cache_seq0 * seq_elems},
      {b.v, a.v_cache + a.cache_seq0 * seq_elems},
      {b.o, a.out}};
  DeviceLibrary& lib = *impl_->library;
  std::lock_guard<std::mutex> lock(lib.mu);
  check(cudnnSetStream(lib.handle, s), "cudnnSetStream");
  check(b.graph->execute(lib.handle, pointers, workspace), "execute");
}

}  // namespace tpbench::kernels

#else  // built without cuDNN

namespace tpbench::kernels {

struct CudnnAttention::Impl {};

LibraryStatus cudnn_attention_status() {
#ifdef TPBENCH_CUDNN_ABSENT_REASON
  return {false, TPBENCH_CUDNN_ABSENT_REASON};
#else
  return {false, "built without cuDNN's SDPA (cuDNN and the cudnn-frontend headers were not found at configure time)"};
#endif
}

CudnnAttention::CudnnAttention() { throw std::runtime_error(cudnn_attention_status().description); }
CudnnAttention::~CudnnAttention() = default;
size_t CudnnAttention::prepare(const DecodeAttentionArgs&) { throw std::runtime_error(cudnn_attention_status().description); }
size_t CudnnAttention::plans_built_on_this_device() { return 0; }
void CudnnAttention::run(const DecodeAttentionArgs&, void*, size_t, cudaStream_t) {
  throw std::runtime_error(cudnn_attention_status().description);
}

}  // namespace tpbench::kernels

#endif
