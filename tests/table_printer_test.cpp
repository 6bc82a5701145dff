// The table printers against hand-written output for small hand-built tables: alignment and
// widths (text), RFC 4180 quoting (CSV), numbers and nulls (JSON), pipes and line breaks
// (markdown), and missing values in each.
#include <cmath>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/report/table.hpp"

namespace tpbench {
namespace {

Column column(std::string name, std::string header, Align align, NumberFormat number, int width = Column::kAutoWidth) {
  Column c;
  c.name = std::move(name);
  c.header = std::move(header);
  c.align = align;
  c.number = number;
  c.width = width;
  return c;
}

// Five columns of each kind; a string with a comma and quotes, a NaN and an absent value, a pipe,
// a line break, and a row whose text form is a sentence after its first column.
Table demo_table() {
  Table t;
  t.name = "demo";
  t.title = "Demo | table";
  t.columns = {column("config", "config", Align::Left, NumberFormat::fixed(2)),
               column("conc", "conc", Align::Right, NumberFormat::integer()),
               column("rate", "tok/s", Align::Right, NumberFormat::fixed(2), 8),
               column("err_pct", "err", Align::Right, NumberFormat::percent(1)),
               column("note", "note", Align::Left, NumberFormat::fixed(2), 0)};
  t.columns[2].unit = "tok/s";
  t.add_row({"1R-TP4", 8, 1234.5678, 3.26, "say \"hi\", ok"});
  t.add_row({"2R-TP2, PD", 16, std::nan(""), Cell::na(), "a|b"});
  Row& r = t.add_row({"x", 1, Cell::na(), Cell::na(), "line\nbreak"});
  r.text_columns = 1;
  r.text_after = "  not runnable: too big";
  return t;
}

std::string printed(TableFormat f, const Table& t) {
  std::ostringstream s;
  print_table(s, f, t);
  return s.str();
}

TEST(TablePrinter, TextPadsToWidthsAndAlignsEachColumn) {
  // config: auto width 10 ("2R-TP2, PD"); conc: auto 4 (the header); tok/s: fixed 8; err: auto 4
  // ("3.3%"); note: no padding. Row 3 shows its first column, then its sentence.
  const std::string expected =
      "config     conc    tok/s  err note\n"
      "1R-TP4        8  1234.57 3.3% say \"hi\", ok\n"
      "2R-TP2, PD   16      n/a  n/a a|b\n"
      "x           not runnable: too big\n";
  EXPECT_EQ(printed(TableFormat::Text, demo_table()), expected);
}

// The unit row leaves out a last column with neither unit nor width (it would add only its
// separator), and a table printed a line at a time reads as the whole table printed at once.
TEST(TablePrinter, TextUnitRowAndPrefixesAsNcclTestsPrintsThem) {
  Table t;
  t.columns = {column("size_bytes", "size", Align::Right, NumberFormat::integer(), 6),
               column("time_us", "time", Align::Right, NumberFormat::fixed(2), 8),
               column("gpu", "gpu", Align::Left, NumberFormat::fixed(2), 0)};
  t.columns[0].unit = "B";
  t.columns[1].unit = "us";
  t.text_unit_row = true;
  t.text_header_prefix = "#";
  t.text_row_prefix = " ";
  t.add_row({1024, 12.5, "H100"});
  const std::string expected =
      "#  size     time gpu\n"
      "#   (B)     (us)\n"
      "   1024    12.50 H100\n";
  EXPECT_EQ(printed(TableFormat::Text, t), expected);
  EXPECT_EQ(text_header_lines(t) + text_row_line(t, t.rows[0]), expected);
}

TEST(TablePrinter, TextLeavesOutColumnsHiddenFromIt) {
  Table t;
  t.columns = {column("a", "a", Align::Right, NumberFormat::integer()),
               column("status", "status", Align::Left, NumberFormat::fixed(2)),
               column("b", "b", Align::Right, NumberFormat::integer())};
  t.columns[1].in_text = false;
  t.add_row({1, "ok", 22});
  EXPECT_EQ(printed(TableFormat::Text, t), "a  b\n1 22\n");
}

TEST(TablePrinter, CsvQuotesPerRfc4180AndLeavesMissingValuesEmpty) {
  // Numbers keep full precision (the shortest text that reads back the same); n/a is an empty field.
  const std::string expected =
      "config,conc,rate,err_pct,note\r\n"
      "1R-TP4,8,1234.5678,3.26,\"say \"\"hi\"\", ok\"\r\n"
      "\"2R-TP2, PD\",16,,,a|b\r\n"
      "x,1,,,\"line\nbreak\"\r\n";
  EXPECT_EQ(printed(TableFormat::Csv, demo_table()), expected);
}

TEST(TablePrinter, CsvDocumentOfSeveralTablesNamesEach) {
  Table a, b;
  a.name = "first";
  a.columns = {column("x", "x", Align::Right, NumberFormat::integer())};
  a.add_row({1});
  b.name = "second";
  b.columns = {column("y", "y", Align::Left, NumberFormat::fixed(1))};
  b.add_row({"q"});
  std::ostringstream s;
  print_tables(s, TableFormat::Csv, {&a, &b});
  EXPECT_EQ(s.str(), "# first\r\nx\r\n1\r\n\r\n# second\r\ny\r\nq\r\n");
}

TEST(TablePrinter, JsonKeepsNumbersAsNumbersAndMissingAsNull) {
  const nlohmann::json got = nlohmann::json::parse(printed(TableFormat::Json, demo_table()));
  const nlohmann::json expected = nlohmann::json::parse(R"({"tables": [{
    "name": "demo", "title": "Demo | table",
    "columns": [{"name": "config", "header": "config", "unit": ""},
                {"name": "conc", "header": "conc", "unit": ""},
                {"name": "rate", "header": "tok/s", "unit": "tok/s"},
                {"name": "err_pct", "header": "err", "unit": ""},
                {"name": "note", "header": "note", "unit": ""}],
    "rows": [{"config": "1R-TP4", "conc": 8, "rate": 1234.5678, "err_pct": 3.26, "note": "say \"hi\", ok"},
             {"config": "2R-TP2, PD", "conc": 16, "rate": null, "err_pct": null, "note": "a|b"},
             {"config": "x", "conc": 1, "rate": null, "err_pct": null, "note": "line\nbreak"}]}]})");
  EXPECT_EQ(got, expected);
  EXPECT_TRUE(got["tables"][0]["rows"][0]["conc"].is_number_integer());
  // The column order of the table is the key order of each row.
  const auto ordered = nlohmann::ordered_json::parse(printed(TableFormat::Json, demo_table()));
  EXPECT_EQ(ordered["tables"][0]["rows"][0].begin().key(), "config");
}

TEST(TablePrinter, MarkdownIsAGithubTableWithPipesEscaped) {
  const std::string expected =
      "Demo \\| table\n"
      "\n"
      "| config | conc | tok/s | err | note |\n"
      "| :--- | ---: | ---: | ---: | :--- |\n"
      "| 1R-TP4 | 8 | 1234.57 | 3.3% | say \"hi\", ok |\n"
      "| 2R-TP2, PD | 16 | n/a | n/a | a\\|b |\n"
      "| x | 1 | n/a | n/a | line break |\n";
  EXPECT_EQ(printed(TableFormat::Markdown, demo_table()), expected);
}

TEST(TablePrinter, FormatNamesParseBothWaysAndRefuseOthers) {
  for (const auto& [name, f] : table_format_names()) {
    EXPECT_EQ(parse_table_format(name), f);
    EXPECT_EQ(table_format_name(f), name);
  }
  EXPECT_EQ(table_format_names().size(), 4u);
  EXPECT_EQ(parse_table_format("xml"), std::nullopt);
  EXPECT_EQ(parse_table_format(""), std::nullopt);
}

TEST(TablePrinter, ADisplayedFormIsTextOnly) {
  Table t;
  t.columns = {column("layers", "layers", Align::Right, NumberFormat::integer(), 7)};
  t.add_row({Cell(61).shown_as("61(58M)")});
  EXPECT_EQ(printed(TableFormat::Text, t), " layers\n61(58M)\n");
  EXPECT_EQ(printed(TableFormat::Csv, t), "layers\r\n61\r\n");
  EXPECT_EQ(nlohmann::json::parse(printed(TableFormat::Json, t))["tables"][0]["rows"][0]["layers"], 61);
}

TEST(TablePrinter, RowOfTheWrongWidthIsRefused) {
  Table t;
  t.name = "t";
  t.columns = {column("a", "a", Align::Right, NumberFormat::integer())};
  EXPECT_THROW(t.add_row({1, 2}), std::logic_error);
}

}  // namespace
}  // namespace tpbench
