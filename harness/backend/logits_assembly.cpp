#include "harness/backend/logits_assembly.hpp"

#include <stdexcept>
#include <string>

namespace tpbench {

std::vector<float> assemble_logits(const StepProgram& p, const std::vector<std::vector<float>>& outputs,
                                   bool allow_missing) {
  const int64_t B = p.config.batch, V = p.model.vocab;
  std::vector<float> full(B * V);
  std::vector<char> seen(B * V, 0);
  for (size_t rank = 0; rank < p.ranks.size() && rank < outputs.size(); ++rank) {
    const RankProgram& r = p.ranks[rank];
    const std::vector<float>& buf = outputs[rank];
    for (int part = 0; part < r.output_parts; ++part)
      for (int64_t i = 0; i < r.output.rows; ++i)
        for (int64_t c = 0; c < r.output.cols; ++c) {
          const float v = buf.at(r.output.offset + part * r.output_part_stride + i * r.output.ld + c);
          const int64_t at = (r.output_seq0 + i) * V + part * r.output.cols + c;
          if (seen[at] && full[at] != v)
            throw std::logic_error("ranks disagree on the logits of sequence " + std::to_string(r.output_seq0 + i));
          full[at] = v;
          seen[at] = 1;
        }
  }
  if (!allow_missing)
    for (char s : seen)
      if (!s) throw std::logic_error("some logits were produced by no rank");
  return full;
}

}  // namespace tpbench
