#pragma once
#include <ostream>
#include <string>

#include "harness/report/table.hpp"

namespace tpbench {

struct ModelsOptions {
  std::string model_config;  // a Hugging Face config.json: shown instead of the presets
  bool json = false;         // a JSON array on stdout instead of the table
  TableFormat format = TableFormat::Text;  // how the tables are printed (--format)
};

// `tpbench models`: the presets (or one config.json) with their layer structure, total and
// active parameters per token, weight bytes and KV bytes per token.
int run_models(const ModelsOptions& o, std::ostream& out);

}  // namespace tpbench
