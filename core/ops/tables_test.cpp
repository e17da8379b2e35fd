#include "core/ops/tables.hpp"

#include <gtest/gtest.h>

namespace happy::ops {
namespace {

TEST(CanonicalJson, SortsKeysDropsSpacingAndKeepsValues) {
    // What PostgreSQL's JSONB gives back for a document stored as SQLite text: other key order, spacing.
    EXPECT_EQ(canonical_json(R"({"t":"encrypted","c":"abc"})"), R"({"c":"abc","t":"encrypted"})");
    EXPECT_EQ(canonical_json(R"({"c": "abc", "t": "encrypted"})"), R"({"c":"abc","t":"encrypted"})");
    EXPECT_EQ(canonical_json(R"({"b":{"y":1,"x":[3,{"q":null,"p":true}]},"a":"\u00e9"})"),
              "{\"a\":\"\xc3\xa9\",\"b\":{\"x\":[3,{\"p\":true,\"q\":null}],\"y\":1}}");
}

TEST(CanonicalJson, IntegralNumbersPrintAsJsonbKeepsThem) {
    // JSONB stores 1e2 as the number 100 and prints "100"; 0.5 stays 0.5.
    EXPECT_EQ(canonical_json("[1e2,100,0.5,-3]"), canonical_json("[100,100,0.5,-3.0]"));
    EXPECT_EQ(canonical_json("[0.25]"), "[2.5E-1]");
}

TEST(CanonicalJson, TextThatIsNotJsonIsKept) { EXPECT_EQ(canonical_json("not json {"), "not json {"); }

TEST(TableChecksum, IndependentOfRowOrder) {
    std::vector<column_kind> kinds = {column_kind::text, column_kind::integer, column_kind::blob};
    row r1 = {value::text("a"), value::integer(1), value::bytes(std::string("\0\1", 2))};
    row r2 = {value::text("b"), value::null(), value::bytes("")};
    table_checksum x, y;
    x.add(r1, kinds);
    x.add(r2, kinds);
    y.add(r2, kinds);
    y.add(r1, kinds);
    EXPECT_EQ(x, y);
    EXPECT_EQ(x.hex(), y.hex());
    EXPECT_EQ(x.rows(), 2);
    EXPECT_EQ(x.hex().size(), 32u);
}

TEST(TableChecksum, TellsValuesTypesAndNullsApart) {
    std::vector<column_kind> kinds = {column_kind::text};
    auto sum = [&](const value& v) {
        table_checksum c;
        c.add({v}, kinds);
        return c.hex();
    };
    EXPECT_NE(sum(value::text("1")), sum(value::integer(1)));
    EXPECT_NE(sum(value::text("")), sum(value::null()));
    EXPECT_NE(sum(value::text("")), sum(value::bytes("")));
    EXPECT_NE(sum(value::text("a")), sum(value::text("b")));
    // A row with one more row of the same content differs too (the count is part of the comparison).
    table_checksum one, two;
    one.add({value::text("a")}, kinds);
    two.add({value::text("a")}, kinds);
    two.add({value::text("a")}, kinds);
    EXPECT_FALSE(one == two);
}

TEST(TableChecksum, JsonColumnsCompareByContent) {
    std::vector<column_kind> json_kind = {column_kind::json};
    std::vector<column_kind> text_kind = {column_kind::text};
    table_checksum a, b, c, d;
    a.add({value::text(R"({"t":"encrypted","c":"x"})")}, json_kind);
    b.add({value::text(R"({"c": "x", "t": "encrypted"})")}, json_kind);
    EXPECT_EQ(a, b);
    c.add({value::text(R"({"t":"encrypted","c":"x"})")}, text_kind);
    d.add({value::text(R"({"c": "x", "t": "encrypted"})")}, text_kind);
    EXPECT_FALSE(c == d);
}

TEST(DependencyOrder, ReferencedTablesFirstTiesByName) {
    std::vector<table_info> tables = {
        {"session_message", {}, {"id"}, {"session"}},
        {"access_key", {}, {"id"}, {"account", "machine", "session"}},
        {"session", {}, {"id"}, {"account"}},
        {"machine", {}, {"id"}, {"account"}},
        {"account", {}, {"id"}, {}},
        {"github_user", {}, {"id"}, {"outside_the_set"}},
    };
    std::vector<std::string> names;
    for (const auto& t : dependency_order(tables)) {
        names.push_back(t.name);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"account", "github_user", "machine", "session", "access_key",
                                               "session_message"}));
}

TEST(DependencyOrder, CycleIsRefused) {
    std::vector<table_info> tables = {{"a", {}, {"id"}, {"b"}}, {"b", {}, {"id"}, {"a"}}, {"c", {}, {"id"}, {}}};
    try {
        dependency_order(tables);
        FAIL() << "a cycle was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "foreign keys form a cycle between tables a, b");
    }
}

TEST(QuoteIdent, DoublesQuotes) {
    EXPECT_EQ(quote_ident("Account"), "\"Account\"");
    EXPECT_EQ(quote_ident("a\"b"), "\"a\"\"b\"");
}

}  // namespace
}  // namespace happy::ops
