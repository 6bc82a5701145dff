#pragma once
// --verify's second half: the collectives themselves, checked exactly on the sweep's own
// communicator (in-process on cpu, NCCL on cuda) for every TP of the sweep. Integer-valued
// inputs (collective_input) make every correct result bit-identical to the expected one.
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/backend/backend.hpp"

namespace tpbench {

struct CollectiveCheck {
  std::map<int, bool> exact_by_tp;  // TP -> every operation and size exact
  nlohmann::json detail = nlohmann::json::array();  // {op, ranks, count, wrong} per case
};

// `backend` is "cpu" or "cuda"; TPs of 1 need no check. Throws what the communicators throw.
// gpus: the sweep's --gpus (cuda: the TP group of N uses the first N of them, as the backend
// does); empty = 0..visible-1.
CollectiveCheck check_collectives(BackendKind backend, const std::vector<int>& tps,
                                  const std::vector<int>& gpus = {});

}  // namespace tpbench
