#include "harness/backend/detail/cpu_ops.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "harness/common/interrupt.hpp"
#include "kernels/detail/fp8_e4m3.hpp"
#include "kernels/detail/init_values.hpp"

namespace tpbench::detail {
namespace {

int64_t fan_in(const ModelSpec& m, LogicalWeight w) { return logical_fan_in(m, w); }

bool is_norm(LogicalWeight w) {
  return w == LogicalWeight::AttnNorm || w == LogicalWeight::MlpNorm || w == LogicalWeight::FinalNorm;
}

float* at(HostBuffers& mem, const View& v) { return mem[v.buffer].data() + v.offset; }

}  // namespace

// Filling a large model's buffers takes seconds per rank: a stop request is honoured between
// rows (and every million filler elements) rather than after the whole fill.
static void fill_filler(std::vector<float>& v, uint64_t seed, size_t bi) {
  for (int64_t i = 0; i < int64_t(v.size()); ++i) {
    if ((i & 0xfffff) == 0) throw_if_interrupted();
    v[i] = init::filler(seed, int64_t(bi), i);
  }
}

void init_buffers(const ModelSpec& m, const RankProgram& r, uint64_t seed, HostBuffers& mem) {
  mem.assign(r.buffers.size(), {});
  for (size_t bi = 0; bi < r.buffers.size(); ++bi) {
    throw_if_interrupted();
    const Buffer& b = r.buffers[bi];
    std::vector<float>& v = mem[bi];
    v.resize(b.elements);
    switch (b.init) {
      case InitKind::None: break;
      case InitKind::Filler:
        fill_filler(v, seed, bi);
        break;
      case InitKind::Weights:
        // Elements no segment covers (the weight-gather shard's padding) get filler values.
        fill_filler(v, seed, bi);
        for (const WeightSegment& s : b.weight_init) {
          const GlobalShape g = logical_shape(m, s.which);
          const int64_t fi = fan_in(m, s.which);
          // An FP8 buffer holds what the GPU stores: each value rounded at its logical tensor's scale.
          const bool fp8 = b.dtype == DType::FP8E4M3;
          const float scale = fp8 ? fp8::weight_scale(fi) : 1.0f;
          for (int64_t i = 0; i < s.rows; ++i, throw_if_interrupted())
            for (int64_t j = 0; j < s.cols; ++j) {
              const float w = init::weight(seed, int(s.which), s.layer, s.row0 + i, s.col0 + j, g.cols, fi, is_norm(s.which));
              v[s.dst_offset + i * s.dst_ld + j] = fp8 ? fp8::quantize(w, scale) : w;
            }
        }
        break;
      case InitKind::KCache:
      case InitKind::VCache: {
        // Layout [seq][local kv head][position][dim]; positions from `prior` on are written by
        // the step itself and start as filler.
        const KVInit& k = b.kv_init;
        const int64_t heads = int64_t(k.kv_head_map.size()), d = m.head_dim, S = k.positions;
        const int64_t seqs = b.elements / (heads * S * d);
        const bool is_v = b.init == InitKind::VCache;
        int64_t i = 0;
        for (int64_t s = 0; s < seqs; ++s)
          for (int64_t h = 0; h < heads; ++h, throw_if_interrupted())
            for (int64_t p = 0; p < S; ++p)
              for (int64_t c = 0; c < d; ++c, ++i)
                v[i] = p < k.prior ? init::kv(seed, is_v, k.layer, k.seq0 + s, k.kv_head_map[h], p, c)
                                   : init::filler(seed, int64_t(bi), i);
        if (b.dtype == DType::FP8E4M3)
          for (float& x : v) x = fp8::quantize(x, fp8::kActivationScale);
        break;
      }
      case InitKind::Hidden: {
        const HiddenInit& h = b.hidden_init;
        const int64_t H = m.hidden, rows = b.elements / H;
        for (int64_t i = 0; i < rows; ++i) {
          const int64_t g = h.row0 + i;
          for (int64_t c = 0; c < H; ++c)
            v[i * H + c] = g < h.real_rows ? init::embedding_part(seed, h.seq0 + g / h.tokens, g % h.tokens, c,
                                                                  h.vocab, h.vocab_parts, h.vocab_part)
                                           : init::filler(seed, int64_t(bi), i * H + c);
        }
        break;
      }
    }
  }
}

void attention_reference(const Op& op, HostBuffers& mem) {
  const AttentionShape& s = op.attn;
  const int64_t d = s.head_dim, qh = s.q_heads, kvh = s.kv_heads, T = s.new_tokens, P = s.prior;
  const int64_t S = P + T, group = qh / kvh;
  const float* qkv = at(mem, op.a);
  float* kc = mem[op.k_cache].data();
  float* vc = mem[op.v_cache].data();
  float* out = at(mem, op.out);
  auto cache_at = [&](float* c, int64_t seq, int64_t h, int64_t p) {
    return c + (((s.cache_seq0 + seq) * kvh + h) * S + p) * d;
  };
  // Append this step's K and V (columns after the queries) to the caches, rounded to E4M3 when
  // the cache is FP8.
  const bool fp8_cache = s.kv_dtype == DType::FP8E4M3;
  auto store = [&](const float* src, float* dst) {
    for (int64_t c = 0; c < d; ++c) dst[c] = fp8_cache ? fp8::quantize(src[c], fp8::kActivationScale) : src[c];
  };
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t t = 0; t < T; ++t) {
      const float* row = qkv + (b * T + t) * op.a.ld;
      for (int64_t h = 0; h < kvh; ++h) {
        store(row + qh * d + h * d, cache_at(kc, b, h, P + t));
        store(row + (qh + kvh) * d + h * d, cache_at(vc, b, h, P + t));
      }
    }
  const float scale = 1.0f / std::sqrt(float(d));
  std::vector<float> score(S);
  std::vector<double> acc(d);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t t = 0; t < T; ++t) {
      const int64_t visible = P + t + 1;  // causal
      for (int64_t h = 0; h < qh; ++h) {
        const float* q = qkv + (b * T + t) * op.a.ld + h * d;
        const int64_t kh = h / group;
        float mx = -INFINITY;
        for (int64_t p = 0; p < visible; ++p) {
          const float* k = cache_at(kc, b, kh, p);
          double dot = 0;
          for (int64_t c = 0; c < d; ++c) dot += double(q[c]) * k[c];
          score[p] = float(dot) * scale;
          mx = std::max(mx, score[p]);
        }
        double denom = 0;
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t p = 0; p < visible; ++p) {
          const double w = std::exp(double(score[p] - mx));
          denom += w;
          const float* v = cache_at(vc, b, kh, p);
          for (int64_t c = 0; c < d; ++c) acc[c] += w * v[c];
        }
        float* o = out + (b * T + t) * op.out.ld + h * d;
        for (int64_t c = 0; c < d; ++c) o[c] = float(acc[c] / denom);
      }
    }
}

namespace {

// A GEMM's input as the GEMM reads it. An FP8 GEMM multiplies FP8 inputs by FP8 weights with
// FP32 accumulation: the input is rounded to E4M3 at its static scale first (the weights already
// are), into `rounded`.
struct GemmInput {
  const float* rows = nullptr;
  int64_t ld = 0;
  std::vector<float> rounded;
};
GemmInput gemm_input(const Op& op, HostBuffers& mem) {
  GemmInput in;
  in.rows = at(mem, op.a);
  in.ld = op.a.ld;
  if (op.w.dtype != DType::FP8E4M3) return in;
  in.rounded.resize(size_t(op.a.rows * op.a.cols));
  for (int64_t r = 0; r < op.a.rows; ++r)
    for (int64_t c = 0; c < op.a.cols; ++c)
      in.rounded[size_t(r * op.a.cols + c)] = fp8::quantize(in.rows[r * op.a.ld + c], fp8::kActivationScale);
  in.rows = in.rounded.data();
  in.ld = op.a.cols;
  return in;
}

void gemm_rows(const Op& op, const float* a, int64_t lda, int64_t rows, const float* w, float* out) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(op.w.cols), int(op.a.cols), 1.0f, a, int(lda),
              w, int(op.w.ld), 0.0f, out, int(op.out.ld));
}

// Softmax over each row's chosen experts' logits.
void moe_gate(const Op& op, const MoeTable& t, HostBuffers& mem) {
  const int64_t k = op.moe.top_k;
  for (int64_t r = 0; r < op.a.rows; ++r) {
    const float* logits = at(mem, op.a) + r * op.a.ld;
    float* gate = at(mem, op.out) + r * op.out.ld;
    float mx = -INFINITY;
    for (int64_t j = 0; j < k; ++j) mx = std::max(mx, logits[t.chosen[size_t(r * k + j)]]);
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += std::exp(double(logits[t.chosen[size_t(r * k + j)]] - mx));
    for (int64_t j = 0; j < k; ++j)
      gate[j] = float(std::exp(double(logits[t.chosen[size_t(r * k + j)]] - mx)) / sum);
  }
}

// Each group's rows times its own expert's weights (FP8 weights: the input rounded to E4M3 first).
void grouped_gemm(const Op& op, const MoeTable& t, HostBuffers& mem) {
  const GemmInput in = gemm_input(op, mem);
  const float* a = in.rows;
  const int64_t lda = in.ld;
  int64_t row = 0;
  for (size_t g = 0; g < t.group_rows.size(); ++g) {
    const int64_t n = t.group_rows[g];
    if (n > 0)
      gemm_rows(op, a + row * lda, lda, n, at(mem, op.w) + int64_t(g) * op.moe.weight_stride,
                at(mem, op.out) + row * op.out.ld);
    row += n;
  }
}

// out = the sum of each token's expert rows weighted by its gates; a token without terms is zero.
void moe_combine(const Op& op, const MoeTable& t, HostBuffers& mem) {
  const int64_t H = op.out.cols;
  std::vector<double> acc(size_t(op.out.rows * H), 0.0);
  for (const MoeCombineTerm& c : t.terms) {
    const float g = at(mem, op.w)[c.gate_row * op.w.ld + c.gate_col];
    const float* src = at(mem, op.a) + c.source_row * op.a.ld;
    double* dst = acc.data() + c.out_row * H;
    for (int64_t i = 0; i < H; ++i) dst[i] += double(g) * src[i];
  }
  for (int64_t r = 0; r < op.out.rows; ++r)
    for (int64_t i = 0; i < H; ++i) at(mem, op.out)[r * op.out.ld + i] = float(acc[size_t(r * H + i)]);
}

}  // namespace

void run_moe_op(const Op& op, const MoeTable& t, HostBuffers& mem) {
  switch (op.kind) {
    case OpKind::MoeGate: return moe_gate(op, t, mem);
    case OpKind::GroupedGemm: return grouped_gemm(op, t, mem);
    case OpKind::MoeCombine: return moe_combine(op, t, mem);
    case OpKind::GatherRows:
      for (int64_t r = 0; r < op.out.rows; ++r) {
        const int64_t src = t.source_rows[size_t(r)];
        if (src >= 0) std::copy_n(at(mem, op.a) + src * op.a.ld, op.out.cols, at(mem, op.out) + r * op.out.ld);
      }
      return;
    default: throw std::logic_error("run_moe_op: '" + op.name + "' is not a mixture-of-experts op");
  }
}

void run_compute_op(const Op& op, HostBuffers& mem, const std::vector<MoeTable>& tables) {
  switch (op.kind) {
    case OpKind::Gemm: {
      if (op.a.rows == 0) return;
      const GemmInput in = gemm_input(op, mem);
      gemm_rows(op, in.rows, in.ld, op.a.rows, at(mem, op.w), at(mem, op.out));
      return;
    }
    case OpKind::RmsNorm: {
      const float* w = at(mem, op.w);
      for (int64_t r = 0; r < op.a.rows; ++r) {
        const float* x = at(mem, op.a) + r * op.a.ld;
        float* y = at(mem, op.out) + r * op.out.ld;
        double ss = 0;
        for (int64_t c = 0; c < op.a.cols; ++c) ss += double(x[c]) * x[c];
        const float inv = float(1.0 / std::sqrt(ss / double(op.a.cols) + 1e-5));
        for (int64_t c = 0; c < op.a.cols; ++c) y[c] = x[c] * inv * w[c];
      }
      return;
    }
    case OpKind::SiluMul: {
      const int64_t n = op.out.cols;
      for (int64_t r = 0; r < op.out.rows; ++r) {
        const float* g = at(mem, op.a) + r * op.a.ld;
        float* y = at(mem, op.out) + r * op.out.ld;
        for (int64_t c = 0; c < n; ++c) y[c] = g[c] / (1.0f + std::exp(-g[c])) * g[n + c];
      }
      return;
    }
    case OpKind::ResidualAdd: {
      for (int64_t r = 0; r < op.out.rows; ++r) {
        const float* x = at(mem, op.a) + r * op.a.ld;
        float* y = at(mem, op.out) + r * op.out.ld;
        for (int64_t c = 0; c < op.out.cols; ++c) y[c] += x[c];
      }
      return;
    }
    case OpKind::Attention: attention_reference(op, mem); return;
    case OpKind::Copy:
      for (int64_t r = 0; r < op.out.rows; ++r)
        std::copy_n(at(mem, op.a) + r * op.a.ld, op.out.cols, at(mem, op.out) + r * op.out.ld);
      return;
    case OpKind::MoeGate:
    case OpKind::GatherRows:
    case OpKind::GroupedGemm:
    case OpKind::MoeCombine:
      if (op.moe.table < 0 || size_t(op.moe.table) >= tables.size())
        throw std::logic_error("run_compute_op: '" + op.name + "' has no row map");
      return run_moe_op(op, tables[size_t(op.moe.table)], mem);
    case OpKind::Collective: break;
  }
  throw std::logic_error("run_compute_op: '" + op.name + "' is not a compute op");
}

}  // namespace tpbench::detail
