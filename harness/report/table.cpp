#include "harness/report/table.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <memory>
#include <ostream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace tpbench {

const std::vector<std::pair<std::string, TableFormat>>& table_format_names() {
  static const std::vector<std::pair<std::string, TableFormat>> names = {
      {"text", TableFormat::Text}, {"csv", TableFormat::Csv}, {"json", TableFormat::Json},
      {"markdown", TableFormat::Markdown}};
  return names;
}

const char* table_format_name(TableFormat f) {
  switch (f) {
    case TableFormat::Text: return "text";
    case TableFormat::Csv: return "csv";
    case TableFormat::Json: return "json";
    case TableFormat::Markdown: return "markdown";
  }
  return "?";
}

std::optional<TableFormat> parse_table_format(std::string_view name) {
  for (const auto& [n, f] : table_format_names())
    if (n == name) return f;
  return std::nullopt;
}

Cell::Cell(double v) {
  if (std::isfinite(v)) value_ = v;
}

Row& Table::add_row(std::vector<Cell> cells) {
  if (cells.size() != columns.size())
    throw std::logic_error("table '" + name + "': a row of " + std::to_string(cells.size()) + " cells for " +
                           std::to_string(columns.size()) + " columns");
  rows.push_back(Row{std::move(cells), -1, ""});
  return rows.back();
}

namespace {

std::string printf_number(const char* format, int precision, double v) {
  char b[64];
  std::snprintf(b, sizeof b, format, precision, v);
  return b;
}

std::string formatted_number(const NumberFormat& f, double v) {
  switch (f.kind) {
    case NumberFormat::Kind::Fixed: return printf_number(f.plus_sign ? "%+.*f" : "%.*f", f.precision, v);
    case NumberFormat::Kind::General: return printf_number("%.*g", f.precision, v);
    case NumberFormat::Kind::Percent: return printf_number(f.plus_sign ? "%+.*f" : "%.*f", f.precision, v) + "%";
    case NumberFormat::Kind::Integer: return printf_number("%.*f", 0, v);
  }
  return "?";
}

// The shortest decimal text that reads back as the same double (what the JSON printer writes too).
std::string shortest_number(double v) {
  char b[32];
  const auto r = std::to_chars(b, b + sizeof b, v);
  return std::string(b, r.ptr);
}

}  // namespace

std::string cell_display(const Column& c, const Cell& v) {
  if (v.display()) return *v.display();
  if (const auto* s = v.text()) return *s;
  // A count is written as one whatever the column's format (a percentage still gets its sign).
  if (const auto* i = v.integer())
    return c.number.kind == NumberFormat::Kind::Percent ? formatted_number(c.number, double(*i)) : std::to_string(*i);
  if (const auto* d = v.real()) return formatted_number(c.number, *d);
  return c.missing;
}

namespace {

// One printer per format, as benchmark libraries structure their reporters: the document's
// beginning, each table, the end.
class TablePrinter {
 public:
  virtual ~TablePrinter() = default;
  virtual void begin(std::ostream&, size_t /*tables*/) {}
  virtual void table(std::ostream& out, const Table& t, size_t index, size_t count) = 0;
  virtual void end(std::ostream&) {}
};

std::vector<int> text_widths(const Table& t) {
  std::vector<int> w;
  for (size_t i = 0; i < t.columns.size(); ++i) {
    const Column& c = t.columns[i];
    if (c.width != Column::kAutoWidth) {
      w.push_back(c.width);
      continue;
    }
    size_t widest = t.text_header ? c.header.size() : 0;
    if (t.text_header && t.text_unit_row && !c.unit.empty()) widest = std::max(widest, c.unit.size() + 2);
    for (const Row& r : t.rows)
      if (r.text_columns < 0 || int(i) < r.text_columns) widest = std::max(widest, cell_display(c, r.cells[i]).size());
    w.push_back(int(widest));
  }
  return w;
}

// The first `shown` text columns (all when negative) padded to their widths.
std::string text_line(const Table& t, const std::vector<int>& widths, const std::vector<std::string>& cells, int shown) {
  std::string s;
  bool first = true;
  for (size_t i = 0; i < t.columns.size() && (shown < 0 || int(i) < shown); ++i) {
    const Column& c = t.columns[i];
    if (!c.in_text) continue;
    if (!first) s += c.gap;
    first = false;
    const size_t pad = cells[i].size() < size_t(widths[i]) ? size_t(widths[i]) - cells[i].size() : 0;
    s += c.align == Align::Right ? std::string(pad, ' ') + cells[i] : cells[i] + std::string(pad, ' ');
  }
  return s;
}

std::string header_lines(const Table& t, const std::vector<int>& widths) {
  if (!t.text_header) return "";
  std::vector<std::string> header, units;
  for (const Column& c : t.columns) {
    header.push_back(c.header);
    units.push_back(c.unit.empty() ? "" : "(" + c.unit + ")");
  }
  std::string s = t.text_header_prefix + text_line(t, widths, header, -1) + "\n";
  // Trailing columns without a unit or a width would add only their separators to the unit row.
  int unit_columns = int(t.columns.size());
  while (unit_columns > 0 && units[size_t(unit_columns - 1)].empty() && widths[size_t(unit_columns - 1)] == 0) --unit_columns;
  if (t.text_unit_row) s += t.text_header_prefix + text_line(t, widths, units, unit_columns) + "\n";
  return s;
}

std::string row_line(const Table& t, const std::vector<int>& widths, const Row& r) {
  std::vector<std::string> cells;
  for (size_t i = 0; i < t.columns.size(); ++i) cells.push_back(cell_display(t.columns[i], r.cells[i]));
  return t.text_row_prefix + text_line(t, widths, cells, r.text_columns) + r.text_after + "\n";
}

class TextPrinter : public TablePrinter {
 public:
  void table(std::ostream& out, const Table& t, size_t index, size_t) override {
    if (index > 0) out << "\n";
    const std::vector<int> widths = text_widths(t);
    out << header_lines(t, widths);
    for (const Row& r : t.rows) out << row_line(t, widths, r);
  }
};

class CsvPrinter : public TablePrinter {
 public:
  void table(std::ostream& out, const Table& t, size_t index, size_t count) override {
    if (index > 0) out << "\r\n";
    if (count > 1) out << "# " << t.name << "\r\n";
    std::string line;
    for (size_t i = 0; i < t.columns.size(); ++i) line += (i ? "," : "") + field(t.columns[i].name);
    out << line << "\r\n";
    for (const Row& r : t.rows) {
      line.clear();
      for (size_t i = 0; i < r.cells.size(); ++i) line += (i ? "," : "") + value(r.cells[i]);
      out << line << "\r\n";
    }
  }

 private:
  // RFC 4180: a field holding a comma, a double quote or a line break is enclosed in double
  // quotes, and each double quote inside is doubled.
  static std::string field(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return q + "\"";
  }
  static std::string value(const Cell& c) {
    if (const auto* s = c.text()) return field(*s);
    if (const auto* i = c.integer()) return std::to_string(*i);
    if (const auto* d = c.real()) return shortest_number(*d);
    return "";
  }
};

class JsonPrinter : public TablePrinter {
 public:
  void begin(std::ostream&, size_t) override { doc_ = {{"tables", nlohmann::ordered_json::array()}}; }
  void table(std::ostream&, const Table& t, size_t, size_t) override {
    nlohmann::ordered_json j = {{"name", t.name}, {"title", t.title}};
    j["columns"] = nlohmann::ordered_json::array();
    for (const Column& c : t.columns) j["columns"].push_back({{"name", c.name}, {"header", c.header}, {"unit", c.unit}});
    j["rows"] = nlohmann::ordered_json::array();
    for (const Row& r : t.rows) {
      nlohmann::ordered_json row = nlohmann::ordered_json::object();
      for (size_t i = 0; i < t.columns.size(); ++i) row[t.columns[i].name] = value(r.cells[i]);
      j["rows"].push_back(std::move(row));
    }
    doc_["tables"].push_back(std::move(j));
  }
  void end(std::ostream& out) override { out << doc_.dump(2) << "\n"; }

 private:
  static nlohmann::ordered_json value(const Cell& c) {
    if (const auto* s = c.text()) return *s;
    if (const auto* i = c.integer()) return *i;
    if (const auto* d = c.real()) return *d;
    return nullptr;
  }
  nlohmann::ordered_json doc_;
};

class MarkdownPrinter : public TablePrinter {
 public:
  void table(std::ostream& out, const Table& t, size_t index, size_t) override {
    if (index > 0) out << "\n";
    if (!t.title.empty()) out << escaped(t.title) << "\n\n";
    std::string header = "|", rule = "|";
    for (const Column& c : t.columns) {
      header += " " + escaped(c.unit.empty() || !t.text_unit_row ? c.header : c.header + " (" + c.unit + ")") + " |";
      rule += c.align == Align::Right ? " ---: |" : " :--- |";
    }
    out << header << "\n" << rule << "\n";
    for (const Row& r : t.rows) {
      std::string line = "|";
      for (size_t i = 0; i < t.columns.size(); ++i) line += " " + escaped(cell_display(t.columns[i], r.cells[i])) + " |";
      out << line << "\n";
    }
  }

 private:
  // A pipe would end the cell and a line break the row: escaped and replaced.
  static std::string escaped(const std::string& s) {
    std::string e;
    for (char ch : s) {
      if (ch == '|') e += "\\|";
      else if (ch == '\n' || ch == '\r') e += ' ';
      else e += ch;
    }
    return e;
  }
};

std::unique_ptr<TablePrinter> make_printer(TableFormat f) {
  switch (f) {
    case TableFormat::Text: return std::make_unique<TextPrinter>();
    case TableFormat::Csv: return std::make_unique<CsvPrinter>();
    case TableFormat::Json: return std::make_unique<JsonPrinter>();
    case TableFormat::Markdown: return std::make_unique<MarkdownPrinter>();
  }
  throw std::logic_error("unknown table format");
}

}  // namespace

std::string text_header_lines(const Table& t) { return header_lines(t, text_widths(t)); }
std::string text_row_line(const Table& t, const Row& r) { return row_line(t, text_widths(t), r); }

void print_tables(std::ostream& out, TableFormat f, const std::vector<const Table*>& tables) {
  const auto printer = make_printer(f);
  printer->begin(out, tables.size());
  for (size_t i = 0; i < tables.size(); ++i) printer->table(out, *tables[i], i, tables.size());
  printer->end(out);
}

void print_table(std::ostream& out, TableFormat f, const Table& t) { print_tables(out, f, {&t}); }

}  // namespace tpbench
