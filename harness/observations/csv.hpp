#pragma once
// Minimal RFC-4180 CSV reading (quoted fields, doubled quotes) for the reference data.
#include <string>
#include <vector>

namespace tpbench {

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<int> line_of_row;  // 1-based line numbers, for error messages
  int column(const std::string& name) const;  // -1 when absent
};

// Throws UsageError (naming the file and line) on unreadable files, unterminated quotes or
// rows whose field count differs from the header's.
CsvTable read_csv(const std::string& path);
// The same from text already read (`path` names it in messages).
CsvTable parse_csv(std::string text, const std::string& path);

// A finite number in a field; an empty field gives NaN when allow_empty, else an error. Throws
// UsageError("<where>: ...") otherwise.
double csv_number(const std::string& field, const std::string& where, bool allow_empty);

}  // namespace tpbench
