#include "harness/observations/csv.hpp"

#include <cmath>
#include <limits>
#include <set>
#include <sstream>

#include "harness/common/error.hpp"
#include "harness/common/parse_number.hpp"
#include "harness/io/input_file.hpp"

namespace tpbench {

namespace {
// Spreadsheets pad cells with blanks ("8, 60", "config, concurrency"): they are not part of a
// number or a column name.
std::string trim_blanks(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}
}  // namespace

double csv_number(const std::string& cell, const std::string& where, bool allow_empty) {
  const std::string s = trim_blanks(cell);
  if (s.empty()) {
    if (allow_empty) return std::numeric_limits<double>::quiet_NaN();
    throw UsageError(where + ": empty value");
  }
  const std::optional<double> v = parse_finite_double(s);
  if (!v) throw UsageError(where + ": '" + s + "' is not a number");
  return *v;
}

int CsvTable::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return int(i);
  return -1;
}

namespace {
// Splits one record; returns false on an unterminated quote.
bool split(const std::string& line, std::vector<std::string>& out) {
  out.clear();
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') { cur += '"'; ++i; }
      else if (c == '"') quoted = false;
      else cur += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(cur);
  return !quoted;
}
}  // namespace

CsvTable read_csv(const std::string& path) { return parse_csv(read_input_file(path, "CSV"), path); }

CsvTable parse_csv(std::string text, const std::string& path) {
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);  // a UTF-8 byte-order mark (spreadsheet exports)
  // Classic Mac exports end lines with a carriage return alone: read it as a line end.
  for (size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')) text[i] = '\n';
  std::istringstream in(text);
  CsvTable t;
  std::string line;
  std::vector<std::string> fields;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line == "\r") continue;
    if (!split(line, fields))
      throw UsageError("CSV '" + path + "' line " + std::to_string(n) +
                       ": a quote is not closed on its line (fields that span lines are not supported)");
    if (t.header.empty()) {
      // Trailing unnamed columns (a trailing comma on the header) hold nothing to read.
      while (fields.size() > 1 && trim_blanks(fields.back()).empty()) fields.pop_back();
      // A set, not a pairwise comparison: a header of a million columns must not take hours.
      std::set<std::string> names;
      for (std::string& f : fields) {
        f = trim_blanks(f);
        if (!f.empty() && !names.insert(f).second)  // unnamed columns (trailing commas) are ignored
          throw UsageError("CSV '" + path + "' line " + std::to_string(n) + ": column '" + f + "' appears twice");
      }
      t.header = fields;
      continue;
    }
    while (fields.size() > t.header.size() && trim_blanks(fields.back()).empty()) fields.pop_back();
    if (fields.size() != t.header.size())
      throw UsageError("CSV '" + path + "' line " + std::to_string(n) + ": " + std::to_string(fields.size()) +
                       " fields, header has " + std::to_string(t.header.size()));
    t.rows.push_back(fields);
    t.line_of_row.push_back(n);
  }
  if (t.header.empty()) throw UsageError("CSV '" + path + "' is empty");
  return t;
}

}  // namespace tpbench
