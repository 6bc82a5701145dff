#pragma once
// One table model for every command that prints rows of results, and one printer per output
// format. A command fills a Table (plain data: columns, then rows of cells); the printer chosen by
// --format renders it as aligned text, CSV (RFC 4180), JSON or a GitHub markdown table. Numbers
// stay numbers until a printer formats them, so the machine formats carry full precision and a
// missing value is printed as the format's "no value" (text "n/a", CSV empty, JSON null), never
// as nan.
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace tpbench {

enum class TableFormat { Text, Csv, Json, Markdown };

// Every format with its option spelling, in the order --help lists them.
const std::vector<std::pair<std::string, TableFormat>>& table_format_names();
const char* table_format_name(TableFormat f);
// nullopt for a name that is no format.
std::optional<TableFormat> parse_table_format(std::string_view name);

enum class Align { Left, Right };

// How a column's numbers are written in text and markdown (CSV and JSON carry the value).
struct NumberFormat {
  enum class Kind { Fixed, General, Percent, Integer };
  Kind kind = Kind::Fixed;
  int precision = 2;  // digits after the point (Fixed, Percent) or significant digits (General)
  bool plus_sign = false;  // Fixed, Percent: "+" before a positive number

  static NumberFormat fixed(int digits) { return {Kind::Fixed, digits}; }
  static NumberFormat general(int digits) { return {Kind::General, digits}; }
  static NumberFormat percent(int digits) { return {Kind::Percent, digits}; }  // 12.5 -> "12.5%"
  static NumberFormat signed_percent(int digits) { return {Kind::Percent, digits, true}; }  // "+12.5%"
  static NumberFormat integer() { return {Kind::Integer, 0}; }
};

struct Column {
  static constexpr int kAutoWidth = -1;

  std::string name;    // CSV header and JSON key: a stable identifier such as "step_ms"
  std::string header;  // text and markdown header, e.g. "step ms"
  std::string unit;    // JSON column unit; text shows it on the unit row when the table has one
  Align align = Align::Right;
  NumberFormat number = NumberFormat::fixed(2);
  int width = kAutoWidth;     // text: padded to this (no truncation); kAutoWidth: the widest cell; 0: none
  std::string gap = " ";      // text: what separates this column from the one before
  std::string missing = "n/a";  // text and markdown: a cell without a value
  bool in_text = true;        // false: a column the text form says another way (a row's text_after)

  // A column of words (left-aligned unless told) and one of numbers (right-aligned).
  static Column words(std::string name, std::string header, int width = kAutoWidth, Align align = Align::Left) {
    Column c;
    c.name = std::move(name);
    c.header = std::move(header);
    c.width = width;
    c.align = align;
    return c;
  }
  static Column numbers(std::string name, std::string header, NumberFormat f, int width = kAutoWidth) {
    Column c = words(std::move(name), std::move(header), width, Align::Right);
    c.number = f;
    return c;
  }
  Column with_unit(std::string u) && { unit = std::move(u); return std::move(*this); }
  Column with_gap(std::string g) && { gap = std::move(g); return std::move(*this); }
  Column with_missing(std::string m) && { missing = std::move(m); return std::move(*this); }
  Column hidden_in_text() && { in_text = false; return std::move(*this); }
};

// A number, a string, or no value ("n/a"). A non-finite double counts as no value.
class Cell {
 public:
  Cell() = default;
  Cell(double v);
  Cell(int v) : value_(int64_t(v)) {}
  Cell(long v) : value_(int64_t(v)) {}
  Cell(long long v) : value_(int64_t(v)) {}
  Cell(unsigned long v) : value_(int64_t(v)) {}
  Cell(unsigned long long v) : value_(int64_t(v)) {}
  Cell(std::string v) : value_(std::move(v)) {}
  Cell(const char* v) : value_(std::string(v)) {}
  static Cell na() { return Cell(); }
  // The same value, written as `text` in the text and markdown forms (a layer count shown as
  // "61(58M)" stays the number 61 in CSV and JSON).
  Cell shown_as(std::string text) const {
    Cell c = *this;
    c.display_ = std::move(text);
    return c;
  }
  const std::optional<std::string>& display() const { return display_; }

  bool missing() const { return std::holds_alternative<std::monostate>(value_); }
  const double* real() const { return std::get_if<double>(&value_); }
  const int64_t* integer() const { return std::get_if<int64_t>(&value_); }
  const std::string* text() const { return std::get_if<std::string>(&value_); }

 private:
  std::variant<std::monostate, double, int64_t, std::string> value_;
  std::optional<std::string> display_;
};

struct Row {
  std::vector<Cell> cells;  // one per column
  // Text form only: show the first `text_columns` columns (all when negative), then `text_after`
  // verbatim; a row that is a sentence rather than numbers (a point that cannot run) says so
  // here while the other formats keep its cells.
  int text_columns = -1;
  std::string text_after;
};

struct Table {
  std::string name;   // identifies the table in a document of several (JSON "name", CSV "# name")
  std::string title;  // a sentence for the reader (markdown and JSON; the text form prints none)
  std::vector<Column> columns;
  std::vector<Row> rows;
  // Text form: a second header line of units in parentheses, the first line's and the rows'
  // leading characters (nccl-tests marks its header lines with '#'), and whether to show a
  // header at all (a list of name/value lines has none).
  bool text_unit_row = false;
  bool text_header = true;
  std::string text_header_prefix;
  std::string text_row_prefix;

  // Appends a row; its cell count must match the columns (std::logic_error otherwise).
  Row& add_row(std::vector<Cell> cells);
};

// The text of one cell as text and markdown show it (no padding).
std::string cell_display(const Column& c, const Cell& v);

// The text form a line at a time, for a command that prints each row as it is measured: the
// header line(s), then one row (widths as the table's columns give them; an automatic width
// counts the rows the table holds when called).
std::string text_header_lines(const Table& t);
std::string text_row_line(const Table& t, const Row& r);

// Prints one table, or several as one document: text and markdown separate them by an empty line,
// CSV by an empty line after which each starts with a "# name" line (only when there are several),
// JSON as {"tables": [...]} whatever the count.
void print_table(std::ostream& out, TableFormat f, const Table& t);
void print_tables(std::ostream& out, TableFormat f, const std::vector<const Table*>& tables);

}  // namespace tpbench
