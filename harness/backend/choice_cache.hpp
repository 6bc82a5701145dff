#pragma once
// A process-wide, thread-safe memo of kernel choices: the cuda backend times a choice (skinny
// GEMM or cuBLASLt, the attention kernel) once per device and shape in a process, and every
// later rank or point with that key reuses it. Ranks that share a GPU (device-local
// verification, oversubscription) and the points of a sweep that repeat a shape therefore do
// not time it again. The lock is not held while a value is made (a timing takes milliseconds
// and ranks on other GPUs time theirs side by side): two threads that miss the same key both
// make a value and the first one stored is what both get. A make() that throws stores nothing.
// Host-only: unit-tested without a GPU (tests/kernel_choice_test.cpp).
#include <map>
#include <mutex>
#include <optional>

namespace tpbench {

template <typename Key, typename Value>
class ChoiceCache {
 public:
  std::optional<Value> find(const Key& k) const {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = values_.find(k);
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }
  // The stored value for `k`, made by `make()` when there is none.
  template <typename Make>
  Value get_or_make(const Key& k, Make&& make) {
    if (auto v = find(k)) return *v;
    Value made = make();
    std::lock_guard<std::mutex> lock(mu_);
    return values_.emplace(k, std::move(made)).first->second;
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return values_.size();
  }

 private:
  mutable std::mutex mu_;
  std::map<Key, Value> values_;
};

}  // namespace tpbench
