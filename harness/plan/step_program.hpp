#pragma once
// StepProgram: one decode (or prefill) step of a sharded model, per rank, as plain data.
//
// A program declares buffers (weights, KV cache, activations, staging) and an ordered list of
// ops over 2-D views of them. Both backends execute the same program; its shapes, byte and
// FLOP counts are what the unit tests check against hand-derived numbers. Every buffer that
// is read before it is written carries an Init descriptor, so that values are a pure function
// of *global* indices (layer, logical weight, row, column, ...): the TP=N shards of a weight
// hold exactly the numbers of the TP=1 weight, which is what makes --verify meaningful.
#include <cstdint>
#include <string>
#include <vector>

#include "collectives/collective_kind.hpp"
#include "harness/model/model_spec.hpp"
#include "harness/plan/step_work.hpp"

namespace tpbench {

enum class Phase { Decode, Prefill };
enum class PlanKind { TP, TPSP, WeightGather };
enum class Overlap { None, Streams, Split };
enum class StreamId { Compute = 0, Comm = 1 };
// The last four are a mixture-of-experts block's: MoeGate turns router logits into the chosen
// experts' weights, GatherRows permutes rows (tokens into expert order, into and out of the
// all-to-all buffers), GroupedGemm multiplies each expert's rows by that expert's weights, and
// MoeCombine sums each token's expert outputs weighted by its gate.
enum class OpKind { Gemm, Attention, RmsNorm, SiluMul, ResidualAdd, Collective, Copy, MoeGate, GatherRows, GroupedGemm, MoeCombine };

const char* phase_name(Phase p);
const char* plan_name(PlanKind p);
const char* overlap_name(Overlap o);
const char* op_kind_name(OpKind k);
Phase parse_phase(const std::string& s);        // throws UsageError
PlanKind parse_plan(const std::string& s);      // throws UsageError
Overlap parse_overlap(const std::string& s);    // throws UsageError

// The unsharded tensors of the model, the unit of deterministic initialisation.
// Global shapes (row-major, y = x W): Q [H, q*d], K [H, kv*d], V [H, kv*d], O [q*d, H],
// Gate [H, I], Up [H, I], Down [I, H], norms [1, H], LmHead [H, V], Embedding [V, H] (resident for
// its memory; the lookup it serves is the hidden-state input's initialisation).
// Mixture-of-experts layers: Router [H, E]; the routed experts stacked by rows, expert e's block
// at rows [e * fan_in, (e + 1) * fan_in): ExpertGate and ExpertUp [E * H, Ie], ExpertDown
// [E * Ie, H]; the shared experts as one SwiGLU of their summed width Is (a sum of SwiGLU experts
// is one SwiGLU of the concatenated width): SharedGate, SharedUp [H, Is], SharedDown [Is, H].
enum class LogicalWeight {
  Q, K, V, O, Gate, Up, Down, AttnNorm, MlpNorm, FinalNorm, LmHead, Embedding,
  Router, ExpertGate, ExpertUp, ExpertDown, SharedGate, SharedUp, SharedDown
};
struct GlobalShape { int64_t rows, cols; };
GlobalShape logical_shape(const ModelSpec& m, LogicalWeight w);
// The inputs each output of the weight sums over (its initialisation's variance is 1/fan_in):
// the rows of one matrix (one expert's, for the stacked experts).
int64_t logical_fan_in(const ModelSpec& m, LogicalWeight w);

// Copies the block [row0, row0+rows) x [col0, col0+cols) of a logical weight into a buffer
// at element offset dst_offset with leading dimension dst_ld.
struct WeightSegment {
  LogicalWeight which;
  int layer;  // -1 for the final norm and the LM head
  int64_t row0, col0, rows, cols;
  int64_t dst_offset, dst_ld;
};

enum class BufferKind { Weight, KVCache, Activation, Staging };
// Filler: random values of no meaning, so that padding rows are never read uninitialised.
enum class InitKind { None, Weights, KCache, VCache, Hidden, Filler };

// KV cache layout: [batch][kv_heads_local][positions][head_dim]. Positions [0, prior) are
// initialised; the step writes positions [prior, prior + new_tokens).
struct KVInit {
  int layer = 0;
  int64_t seq0 = 0;                  // global index of this buffer's first sequence
  std::vector<int64_t> kv_head_map;  // local KV head -> global KV head (replication)
  int64_t prior = 0;
  int64_t positions = 0;             // positions per sequence and head (the context)
};

// Hidden-state input [rows, hidden]: row i is token (seq0 + i / tokens, i % tokens) while
// i < real_rows; rows past real_rows are padding (sequence parallelism) and get filler values.
// With vocab_parts > 1 it is one rank's part of a vocab-parallel embedding lookup: a token's row
// holds its embedding on the rank whose vocabulary shard has the token's id, zeros on the others,
// so that the sum over the parts is the hidden state.
struct HiddenInit {
  int64_t seq0 = 0, tokens = 1, real_rows = 0, row0 = 0;  // row0: global row of local row 0
  int64_t vocab = 0;                                        // token ids are in [0, vocab)
  int vocab_parts = 1, vocab_part = 0;
};

struct Buffer {
  std::string name;
  BufferKind kind = BufferKind::Activation;
  int64_t elements = 0;
  DType dtype = DType::BF16;  // how the model stores it (the CPU backend computes in FP32)
  InitKind init = InitKind::None;
  std::vector<WeightSegment> weight_init;  // InitKind::Weights
  KVInit kv_init;                          // InitKind::KCache / VCache
  HiddenInit hidden_init;                  // InitKind::Hidden
};

// A strided 2-D view: element (r, c) lives at buffer[offset + r * ld + c]. `rule` says how its
// row count follows the step's work (the backends run the rows as declared; the cost model
// re-evaluates them at an engine step's work).
struct View {
  int buffer = -1;
  int64_t offset = 0, rows = 0, cols = 0, ld = 0;
  RowRule rule;
  DType dtype = DType::BF16;  // the buffer's (the plans' builder sets it)
  bool contiguous() const { return rows <= 1 || ld == cols; }
};

struct AttentionShape {
  int64_t batch = 0;       // sequences
  int64_t new_tokens = 1;  // T: 1 for decode, the chunk for prefill (causal among themselves)
  int64_t prior = 0;       // cached positions before this step; each token sees prior + t + 1
  int64_t q_heads = 0, kv_heads = 0, head_dim = 0;  // local to the rank
  int64_t cache_seq0 = 0;  // first sequence of the KV cache buffer this op covers (split chunks)
  DType kv_dtype = DType::BF16;  // the KV cache's storage (the plans' builder sets it)
};

// What a mixture-of-experts op needs beside its views. Routing is static: the plan draws each
// token's experts from the counter RNG (moe_routing.hpp), so every row map is known when the
// program is built and lives in RankProgram::moe_tables.
struct MoeOpInfo {
  int table = -1;              // RankProgram::moe_tables index
  int64_t experts = 0;         // the model's routed experts (E)
  int64_t top_k = 0;           // experts per token (k)
  int64_t groups = 0;          // GroupedGemm: the rank's experts, one weight block each
  int64_t first_expert = 0;    // GroupedGemm: global id of group 0
  int64_t weight_stride = 0;   // GroupedGemm: elements from one expert's weight block to the next
  double step_tokens = 0;      // GroupedGemm: tokens routed in the whole step (all ranks)
};

// Row maps of the mixture-of-experts ops, one per op.
struct MoeCombineTerm {
  int64_t out_row, gate_row, gate_col, source_row;
};
struct MoeTable {
  std::vector<int32_t> chosen;        // MoeGate: k global expert ids per row, in draw order
  std::vector<int64_t> source_rows;   // GatherRows: the a row each out row copies (-1: untouched)
  std::vector<int64_t> group_rows;    // GroupedGemm: rows of each group, consecutive from row 0
  std::vector<MoeCombineTerm> terms;  // MoeCombine: out[o] = sum of gate[g, c] * a[s]; rows
                                      // without terms are zero
};

struct Op {
  OpKind kind = OpKind::Gemm;
  std::string name;   // "L3.qkv", "L3.attn", "L3.ar_o", "head.lm", ...
  int layer = -1;     // -1: LM head section
  StreamId stream = StreamId::Compute;
  std::vector<int> deps;  // earlier ops (any stream) that must finish first

  // Gemm: out = a * w (m = a.rows, k = a.cols, n = w.cols). RmsNorm: out = norm(a) * w.
  // SiluMul: out = silu(a[:, :n]) * a[:, n:], n = out.cols. ResidualAdd: out += a. Copy: out = a.
  // Attention: a = the QKV rows (q | k | v columns), k_cache / v_cache buffers, out.
  // Collective: a = input, out = output (both contiguous).
  // MoeGate: a = router logits [rows, E], out = gate weights [rows, k]. GatherRows: out rows from
  // a rows. GroupedGemm: out = a * w_g per group g, w = group 0's weight (the others follow at
  // moe.weight_stride). MoeCombine: a = expert outputs, w = gate weights, out = the tokens' sums.
  View a, w, out;
  int k_cache = -1, v_cache = -1;
  AttentionShape attn;
  CollectiveKind collective = CollectiveKind::AllReduce;
  int group_size = 1;
  MoeOpInfo moe;

  // Cost: activations in the model's dtype, GEMM weights in w.dtype, K/V in attn.kv_dtype. What
  // the breakdown and the roofline use.
  double flops = 0;            // 2mnk for GEMMs, 4 * d per (query, key) pair for attention
  double hbm_bytes = 0;        // bytes read + written from device memory (ideal, no reuse loss)
  double weight_bytes = 0;     // of hbm_bytes: weights read
  double kv_bytes = 0;         // of hbm_bytes: KV cache read + written
  double message_bytes = 0;    // collectives: the size nccl-tests reports (see bandwidth.hpp)
  double bytes_per_rank = 0;   // collectives: bytes each rank sends into the operation
};

struct RankProgram {
  int rank = 0;
  std::vector<Buffer> buffers;
  std::vector<Op> ops;
  // Three sections, timed apart: the prologue [0, layers_begin) runs once per step (the
  // embedding lookup that writes the hidden state, the first weight gather), the layers
  // [layers_begin, head_begin) scale with the number of layers (--layers), the LM head
  // [head_begin, end) runs once. The prologue rewrites the residual stream from a read-only
  // input, so every execution of the step computes the same thing.
  int layers_begin = 0;
  int head_begin = 0;
  // Final logits of sequences [output_seq0, output_seq0 + output.rows). The vocabulary is
  // stored in output_parts slices of output.cols columns each (all-gathered vocab-parallel
  // shards), slice p at element offset output.offset + p * output_part_stride.
  View output;
  int64_t output_seq0 = 0;
  int output_parts = 1;
  int64_t output_part_stride = 0;
  std::vector<MoeTable> moe_tables;  // the row maps of the MoE ops (Op::moe.table)
};

struct StepConfig {
  PlanKind plan = PlanKind::TP;
  Overlap overlap = Overlap::None;
  Phase phase = Phase::Decode;
  int tp = 1;
  // Expert parallelism of MoE layers: the routed experts are spread over `ep` groups of tp / ep
  // ranks, each expert's matrices sharded over its group (1: every expert on every rank, sharded
  // tp ways). Attention is sharded tp ways either way.
  int ep = 1;
  int64_t batch = 1;
  int64_t context = 1024;  // positions attended after the step (prior + new tokens)
  int64_t chunk = 0;       // prefill tokens per sequence; 0 = the whole context
  int64_t layers = 0;      // layers run; 0 = all of the model's
  int split_chunks = 2;    // Overlap::Split: batch chunks per layer
  uint64_t seed = 0x7470626e;  // "tpbn"

  int64_t new_tokens() const;  // 1 for decode, the chunk for prefill
  int64_t prior() const { return context - new_tokens(); }
};

struct StepProgram {
  ModelSpec model;
  StepConfig config;
  int64_t layers_run = 0;
  std::vector<RankProgram> ranks;
};

// Sums over one rank's ops (or a section of them).
struct OpTotals {
  double flops = 0, matmul_flops = 0, hbm_bytes = 0, weight_bytes = 0, kv_bytes = 0;
  double collective_bytes_per_rank = 0;
  int gemms = 0, attentions = 0, collectives = 0, elementwise = 0;
};
OpTotals totals(const RankProgram& r, int begin = 0, int end = -1);

// Memory each rank allocates for the program, by buffer kind: at each buffer's dtype, or with
// element_bytes for every buffer (a backend that stores all of them in one type).
struct MemoryFootprint {
  int64_t weight_bytes = 0, kv_bytes = 0, activation_bytes = 0, staging_bytes = 0;
  int64_t total() const { return weight_bytes + kv_bytes + activation_bytes + staging_bytes; }
};
MemoryFootprint footprint(const RankProgram& r);
MemoryFootprint footprint(const RankProgram& r, int element_bytes);

// Throws std::logic_error when an op reads outside a buffer or a dependency points forward:
// the plans' own consistency check, run by the tests on every plan.
void check_program(const StepProgram& p);

}  // namespace tpbench
