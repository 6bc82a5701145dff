#include "harness/commands/profile_op.hpp"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "harness/common/error.hpp"
#include "harness/common/split_list.hpp"
#include "harness/perf/op_pricing.hpp"

namespace tpbench {
namespace {

constexpr double kBf16 = 2;

// A rows x cols matrix filling buffer `buffer` from its start (leading dimension = cols).
View whole_view(int buffer, int64_t rows, int64_t cols) {
  View v;
  v.buffer = buffer;
  v.rows = rows;
  v.cols = cols;
  v.ld = cols;
  return v;
}

std::vector<int64_t> three_positive(const std::string& text, const char* option) {
  const std::vector<std::string> parts = split_comma_list(text);
  std::vector<int64_t> v;
  for (const auto& p : parts) {
    const bool digits = !p.empty() && p.size() <= 10 && p.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stoll(p) < 1 || std::stoll(p) > (int64_t(1) << 31))
      throw UsageError(std::string(option) + " '" + text + "': expected three positive integers A,B,C");
    v.push_back(std::stoll(p));
  }
  if (v.size() != 3) throw UsageError(std::string(option) + " '" + text + "': expected three positive integers A,B,C");
  return v;
}

Op gemm_op(const std::string& text) {
  const auto v = three_positive(text, "--gemm");
  Op op;
  op.kind = OpKind::Gemm;
  op.a = whole_view(0, v[0], v[2]);
  op.w = whole_view(1, v[2], v[1]);
  op.out = whole_view(2, v[0], v[1]);
  set_op_cost(op, kBf16);
  return op;
}

Op collective_op(const ProfileOpOptions& o) {
  if (o.ranks < 1 || o.ranks > 1024) throw UsageError("--ranks must be in 1..1024 with --collective");
  if (o.bytes < 1 || o.bytes > (int64_t(1) << 40)) throw UsageError("--bytes must be in 1..1T with --collective");
  Op op;
  op.kind = OpKind::Collective;
  op.collective = parse_collective_kind(o.collective);
  op.group_size = o.ranks;
  // A message that does not split evenly would be priced at a size the op never moves: refuse it
  // rather than round. All-gather, reduce-scatter and all-to-all split the buffer into one part per rank.
  const CollectiveTraits& traits = collective_traits(op.collective);
  const bool split = traits.size_parts(o.ranks) > 1;
  const int64_t unit = int64_t(kBf16) * int64_t(traits.size_parts(o.ranks));
  if (o.bytes % unit != 0)
    throw UsageError("--bytes " + std::to_string(o.bytes) + " is not a multiple of " + std::to_string(unit) +
                     (split ? " (2-byte elements, one equal part per rank)" : " (2-byte elements)"));
  // Each rank's input: the buffer (all-reduce, reduce-scatter, all-to-all) or its share of the output
  // (all-gather).
  const size_t count = size_t(o.bytes / unit);
  const int64_t in = int64_t(traits.input_elems(count, o.ranks));
  op.a = whole_view(0, 1, in);
  op.out = op.a;
  set_op_cost(op, kBf16);
  return op;
}

Op attention_op(const ProfileOpOptions& o, AttentionWork& work) {
  if (o.attention != "decode" && o.attention != "prefill")
    throw UsageError("--attention must be decode or prefill (got '" + o.attention + "')");
  const auto h = three_positive(o.heads.empty() ? std::string("64,8,128") : o.heads, "--heads");
  const int64_t tokens = o.attention == "decode" ? 1 : (o.chunk > 0 ? o.chunk : o.context);
  if (o.batch < 1 || o.context < 1 || tokens > o.context)
    throw UsageError("--attention needs --batch >= 1, --context >= 1 and a --chunk no longer than the context");
  if (h[0] % h[1] != 0) throw UsageError("--heads: query heads must be a multiple of KV heads");
  Op op;
  op.kind = OpKind::Attention;
  op.attn = AttentionShape{o.batch, tokens, o.context - tokens, h[0], h[1], h[2], 0};
  op.out = whole_view(0, o.batch * tokens, h[0] * h[2]);
  work = attention_work_of(op.attn);
  set_op_cost(op, kBf16, work);
  return op;
}

std::string describe(const Op& op) {
  char s[200];
  switch (op.kind) {
    case OpKind::Gemm:
      std::snprintf(s, sizeof s, "gemm m=%lld n=%lld k=%lld (bf16)", (long long)op.a.rows, (long long)op.w.cols,
                    (long long)op.a.cols);
      break;
    case OpKind::Collective:
      std::snprintf(s, sizeof s, "%s of %.0f bytes (nccl-tests size) on %d ranks", collective_name(op.collective),
                    op.message_bytes, op.group_size);
      break;
    default:
      std::snprintf(s, sizeof s, "%s attention: %lld sequences, %lld new tokens after %lld, heads %lld/%lld x %lld",
                    op.attn.new_tokens == 1 ? "decode" : "prefill", (long long)op.attn.batch,
                    (long long)op.attn.new_tokens, (long long)op.attn.prior, (long long)op.attn.q_heads,
                    (long long)op.attn.kv_heads, (long long)op.attn.head_dim);
  }
  return s;
}

}  // namespace

int run_profile_op(const ProfileOpOptions& o, std::ostream& out) {
  const int kinds = int(!o.gemm.empty()) + int(!o.collective.empty()) + int(!o.attention.empty());
  if (kinds != 1) throw UsageError("profile op: give exactly one of --gemm M,N,K, --collective KIND or --attention decode|prefill");
  const SystemProfile prof = resolve_profile(o.profile);
  const PerfParams par;
  AttentionWork work;
  const Op op = !o.gemm.empty() ? gemm_op(o.gemm) : !o.collective.empty() ? collective_op(o) : attention_op(o, work);
  const PricingContext ctx{&prof, &par, o.tp, kBf16};
  const OpPrice p = price_op(op, work, ctx);
  const double moved = op.kind == OpKind::Collective ? op.message_bytes : op.hbm_bytes;
  if (o.json) {
    nlohmann::json j = {{"profile", prof.name},     {"op", describe(op)},          {"seconds", p.seconds},
                        {"bound", op_bound_name(p.bound)}, {"memory_s", p.memory_s}, {"compute_s", p.compute_s},
                        {"kernel_s", p.fixed_s},    {"flops", op.flops},           {"hbm_bytes", op.hbm_bytes},
                        {"weight_bytes", op.weight_bytes}, {"kv_bytes", op.kv_bytes}, {"message_bytes", op.message_bytes}};
    out << j.dump(2) << "\n";
    return 0;
  }
  char line[256];
  out << describe(op) << " on " << prof.name << "\n";
  std::snprintf(line, sizeof line, "  predicted %.3f us, bound: %s\n", p.seconds * 1e6, op_bound_name(p.bound));
  out << line;
  if (op.kind != OpKind::Collective) {
    std::snprintf(line, sizeof line, "  memory %.3f us (%.3f MB), compute %.3f us (%.3f GFLOP), kernel %.3f us\n",
                  p.memory_s * 1e6, op.hbm_bytes / 1e6, p.compute_s * 1e6, op.flops / 1e9, p.fixed_s * 1e6);
    out << line;
    std::snprintf(line, sizeof line, "  effective %.1f GB/s of device memory traffic, %.2f TFLOP/s\n",
                  moved / p.seconds / 1e9, op.flops / p.seconds / 1e12);
  } else {
    std::snprintf(line, sizeof line, "  algbw %.2f GB/s, busbw %.2f GB/s\n", moved / p.seconds / 1e9,
                  moved / p.seconds * busbw_factor(op.collective, op.group_size) / 1e9);
  }
  out << line;
  return 0;
}

}  // namespace tpbench
