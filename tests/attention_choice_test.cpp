// Which attention kernel the cuda backend may use: prefill only on the library (else the point is
// not runnable, with the library's reason), decode on the faster of the project's and the library's.
#include <gtest/gtest.h>

#include "harness/backend/attention_choice.hpp"
#include "harness/plan/plan.hpp"

using namespace tpbench;

namespace {

StepProgram program(Phase ph, const char* model = "llama-3.1-8b", DType kv = DType::BF16) {
  StepConfig c;
  c.tp = 2;
  c.batch = 4;
  c.context = 2048;
  c.phase = ph;
  c.chunk = ph == Phase::Prefill ? 512 : 0;
  c.layers = 2;
  ModelSpec m = preset_model(model);
  m.kv_dtype = kv;
  return build_program(m, c);
}

}  // namespace

TEST(AttentionChoice, PrefillWithoutTheLibraryIsNotRunnableWithItsReason) {
  const StepProgram p = program(Phase::Prefill);
  const auto why = attention_not_runnable(p.ranks[0], false, "built without cuDNN's SDPA");
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("512 query tokens"), std::string::npos) << *why;
  EXPECT_NE(why->find("built without cuDNN's SDPA"), std::string::npos) << *why;
  EXPECT_FALSE(attention_not_runnable(p.ranks[0], true, "").has_value());
}

// cuDNN's SDPA takes head_dim 8, 16, ..., 256 (frontend check and support matrix): 32 (tiny's)
// and 128 (Llama's) run, 36, 4 and 264 are not runnable with the reason, and decode (the
// project's kernels) is not affected.
TEST(AttentionChoice, PrefillHeadDimTheLibraryDoesNotTakeIsNotRunnable) {
  EXPECT_TRUE(library_supports_head_dim(32));
  EXPECT_TRUE(library_supports_head_dim(8));
  EXPECT_TRUE(library_supports_head_dim(256));
  EXPECT_FALSE(library_supports_head_dim(36));
  EXPECT_FALSE(library_supports_head_dim(4));
  EXPECT_FALSE(library_supports_head_dim(264));
  StepProgram p = program(Phase::Prefill, "tiny");
  EXPECT_FALSE(attention_not_runnable(p.ranks[0], true, "").has_value());  // tiny: head_dim 32
  for (Op& op : p.ranks[0].ops)
    if (op.kind == OpKind::Attention) op.attn.head_dim = 36;
  const auto why = attention_not_runnable(p.ranks[0], true, "");
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("multiples of 8 up to 256, not 36"), std::string::npos) << *why;
  StepProgram d = program(Phase::Decode, "tiny");
  for (Op& op : d.ranks[0].ops)
    if (op.kind == OpKind::Attention) op.attn.head_dim = 36;
  EXPECT_FALSE(attention_not_runnable(d.ranks[0], true, "").has_value());
}

TEST(AttentionChoice, DecodeRunsWithOrWithoutTheLibrary) {
  const StepProgram p = program(Phase::Decode);
  EXPECT_FALSE(attention_not_runnable(p.ranks[0], false, "absent").has_value());
  for (const Op& op : p.ranks[0].ops)
    if (op.kind == OpKind::Attention) {
      EXPECT_EQ(own_attention_kernel(op.attn), AttentionKernel::Split);  // head_dim 128, 4 q per KV head
      return;
    }
  FAIL() << "no attention op";
}

TEST(AttentionChoice, OwnKernelByShape) {
  AttentionShape s{4, 1, 100, 8, 2, 32, 0};  // head_dim 32: not the split path
  EXPECT_EQ(own_attention_kernel(s), AttentionKernel::Simple);
  s.head_dim = 128;
  EXPECT_EQ(own_attention_kernel(s), AttentionKernel::Split);
  s.new_tokens = 16;  // prefill: none of the project's kernels
  EXPECT_EQ(own_attention_kernel(s), AttentionKernel::None);
}

TEST(AttentionChoice, DecodeTakesTheFasterKernel) {
  EXPECT_EQ(faster_decode_kernel(AttentionKernel::Split, 10e-6, 8e-6), AttentionKernel::Library);
  EXPECT_EQ(faster_decode_kernel(AttentionKernel::Split, 10e-6, 12e-6), AttentionKernel::Split);
  EXPECT_EQ(faster_decode_kernel(AttentionKernel::Simple, 10e-6, 10e-6), AttentionKernel::Simple);  // tie: ours
  EXPECT_EQ(faster_decode_kernel(AttentionKernel::Split, 10e-6, std::nullopt), AttentionKernel::Split);
  EXPECT_STREQ(attention_kernel_name(AttentionKernel::Library), "cudnn-sdpa");
  EXPECT_STREQ(attention_kernel_name(AttentionKernel::Split), "tpbench-split");
}

// An FP8 KV cache: decode on the project's simple kernel (the split kernel's tiles are BF16) with
// the library ruled out by name; prefill refused even where the library is usable.
TEST(AttentionChoice, Fp8KvCacheDecodesOnTheSimpleKernelAndRefusesPrefill) {
  const StepProgram d = program(Phase::Decode, "llama-3.1-8b", DType::FP8E4M3);
  EXPECT_FALSE(attention_not_runnable(d.ranks[0], true, "").has_value());
  int attentions = 0;
  for (const Op& op : d.ranks[0].ops)
    if (op.kind == OpKind::Attention) {
      ++attentions;
      ASSERT_EQ(op.attn.kv_dtype, DType::FP8E4M3);
      EXPECT_EQ(own_attention_kernel(op.attn), AttentionKernel::Simple);  // Split in BF16 (test above)
      const auto why = library_cannot_run(op.attn);
      ASSERT_TRUE(why.has_value());
      EXPECT_NE(why->find("FP8"), std::string::npos) << *why;
    }
  EXPECT_EQ(attentions, 2);
  const StepProgram p = program(Phase::Prefill, "llama-3.1-8b", DType::FP8E4M3);
  const auto why = attention_not_runnable(p.ranks[0], true, "");
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("512 query tokens"), std::string::npos) << *why;
  EXPECT_NE(why->find("FP8"), std::string::npos) << *why;
  const StepProgram b = program(Phase::Prefill);  // BF16: the library takes it
  for (const Op& op : b.ranks[0].ops)
    if (op.kind == OpKind::Attention) EXPECT_FALSE(library_cannot_run(op.attn).has_value());
}
