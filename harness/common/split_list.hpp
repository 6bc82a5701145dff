#pragma once
// Comma lists on the command line ("1R-TP2,1R-TP4", "a.json,b.json"): the items in order, empty
// items dropped (a trailing comma is not an item). Header-only.
#include <sstream>
#include <string>
#include <vector>

namespace tpbench {

inline std::vector<std::string> split_comma_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace tpbench
