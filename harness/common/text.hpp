#pragma once
// Checks on text that ends up in JSON documents and one-line messages: JSON needs valid UTF-8
// (the library throws on anything else), and a terminal executes control characters.
#include <string>
#include <string_view>

namespace tpbench {

bool is_valid_utf8(std::string_view text);
bool has_control_characters(std::string_view text);  // bytes below 0x20, and 0x7f
// `text` with control characters and bytes that are not UTF-8 written as \xNN: printable in
// any message.
std::string escaped(std::string_view text);
// One number through a printf format with a single double conversion ("%.1f"): table cells and
// prose.
std::string format_double(const char* format, double v);

}  // namespace tpbench
