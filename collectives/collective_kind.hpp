#pragma once
// The three collectives of tensor parallelism, shared by plans, the communicators, the
// bandwidth arithmetic and the performance model's time tables.
#include <string>

namespace tpbench {

enum class CollectiveKind { AllReduce, AllGather, ReduceScatter };

const char* collective_name(CollectiveKind k);  // "all_reduce", "all_gather", "reduce_scatter"
// Accepts those names, without the underscore, or with '-'; throws UsageError otherwise.
CollectiveKind parse_collective_kind(const std::string& name);

}  // namespace tpbench
