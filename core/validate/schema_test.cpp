// Unit tests for happy::validate: zod 4 semantics and the exact English messages listed in
// shared/spec/http-api.md §2.6 (zod 4.4.3 locale "en").

#include "core/validate/schema.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace happy::validate {
namespace {

namespace json = boost::json;

struct outcome {
    std::optional<json::value> out;
    std::string message;  ///< format_issues(part, issues); empty on success
    std::size_t issue_count = 0;
};

outcome run(const node& schema, const json::value* in, std::string_view part = "body") {
    std::vector<issue> issues;
    outcome r;
    r.out = parse(schema, in, issues);
    r.message = format_issues(part, issues);
    r.issue_count = issues.size();
    return r;
}

outcome run_json(const node& schema, std::string_view text, std::string_view part = "body") {
    json::value v = json::parse(text);
    return run(schema, &v, part);
}

/// Validates {"<key>": <value_json>} against object({<key>: field}) and returns the message (or "" on success).
std::string field_message(const node& field, std::string_view value_json, std::string_view part = "body") {
    json::object o;
    o["v"] = json::parse(value_json);
    json::value in = o;
    return run(object({{"v", field}}), &in, part).message;
}

/// The coerced output of `number().coerce()` for one query string value.
std::string coerced(std::string_view text) {
    json::value in = json::object{{"n", text}};
    auto r = run(object({{"n", number().coerce()}}), &in, "querystring");
    if (!r.out) {
        return "error: " + r.message;
    }
    return json::serialize(r.out->at("n"));
}

std::vector<std::string> mutually_exclusive(const json::object& q) {
    if (q.contains("after_seq") && q.contains("before_seq")) {
        return {"after_seq and before_seq are mutually exclusive"};
    }
    return {};
}

/// GET /v3/sessions/:id/messages query schema.
node messages_query() {
    return object({{"after_seq", number().coerce().integer().min(0).optional()},
                   {"before_seq", number().coerce().integer().min(1).optional()},
                   {"limit", number().coerce().integer().min(1).max(500).default_value(100)}})
        .refine(&mutually_exclusive);
}

// --- missing and wrong types -----------------------------------------------------------------------------

TEST(validate_schema, missing_field_is_received_undefined) {
    auto r = run_json(object({{"name", string()}}), "{}");
    EXPECT_FALSE(r.out);
    EXPECT_EQ(r.message, "body/name Invalid input: expected string, received undefined");
}

TEST(validate_schema, received_type_names) {
    EXPECT_EQ(field_message(string(), "null"), "body/v Invalid input: expected string, received null");
    EXPECT_EQ(field_message(string(), "[1]"), "body/v Invalid input: expected string, received array");
    EXPECT_EQ(field_message(string(), "{}"), "body/v Invalid input: expected string, received object");
    EXPECT_EQ(field_message(string(), "1"), "body/v Invalid input: expected string, received number");
    EXPECT_EQ(field_message(string(), "1.5"), "body/v Invalid input: expected string, received number");
    EXPECT_EQ(field_message(string(), "true"), "body/v Invalid input: expected string, received boolean");
    EXPECT_EQ(field_message(number(), "\"1\""), "body/v Invalid input: expected number, received string");
    EXPECT_EQ(field_message(boolean(), "\"true\""), "body/v Invalid input: expected boolean, received string");
    EXPECT_EQ(field_message(boolean(), "0"), "body/v Invalid input: expected boolean, received number");
    EXPECT_EQ(field_message(object({}), "[]"), "body/v Invalid input: expected object, received array");
    EXPECT_EQ(field_message(array(string()), "{}"), "body/v Invalid input: expected array, received object");
    EXPECT_EQ(field_message(record(string()), "[]"), "body/v Invalid input: expected record, received array");
    EXPECT_EQ(field_message(record(string()), "\"x\""), "body/v Invalid input: expected record, received string");
}

TEST(validate_schema, received_type_function) {
    EXPECT_EQ(received_type(nullptr), "undefined");
    json::value nan(std::nan(""));
    EXPECT_EQ(received_type(&nan), "NaN");
    json::value inf(INFINITY);
    EXPECT_EQ(received_type(&inf), "number");
    json::value big(std::uint64_t{18446744073709551615ull});
    EXPECT_EQ(received_type(&big), "number");
    json::value null_value;
    EXPECT_EQ(received_type(&null_value), "null");
}

TEST(validate_schema, root_type_error_has_bare_slash_path) {
    json::value null_body;
    EXPECT_EQ(run(object({{"a", string()}}), &null_body).message,
              "body/ Invalid input: expected object, received null");
    json::value text("hello");
    EXPECT_EQ(run(object({{"a", string()}}), &text).message,
              "body/ Invalid input: expected object, received string");
    EXPECT_EQ(run(object({{"a", string()}}), nullptr).message,
              "body/ Invalid input: expected object, received undefined");
}

TEST(validate_schema, body_numbers_are_not_coerced) {
    EXPECT_EQ(field_message(number(), "\"1\""), "body/v Invalid input: expected number, received string");
    EXPECT_EQ(field_message(number().integer(), "\"1\""), "body/v Invalid input: expected number, received string");
}

// --- optional / nullable / nullish / default -----------------------------------------------------------

TEST(validate_schema, optional_accepts_absent_and_omits_key) {
    auto r = run_json(object({{"a", string().optional()}, {"b", string()}}), R"({"b":"x"})");
    ASSERT_TRUE(r.out);
    EXPECT_EQ(json::serialize(*r.out), R"({"b":"x"})");
}

TEST(validate_schema, optional_rejects_null) {
    EXPECT_EQ(field_message(string().optional(), "null"), "body/v Invalid input: expected string, received null");
}

TEST(validate_schema, nullable_accepts_null_but_not_absent) {
    auto ok = run_json(object({{"a", string().nullable()}}), R"({"a":null})");
    ASSERT_TRUE(ok.out);
    EXPECT_EQ(json::serialize(*ok.out), R"({"a":null})");
    auto missing = run_json(object({{"a", string().nullable()}}), "{}");
    EXPECT_FALSE(missing.out);
    EXPECT_EQ(missing.message, "body/a Invalid input: expected string, received undefined");
}

TEST(validate_schema, nullish_accepts_null_and_absent) {
    auto schema = object({{"a", number().nullish()}});
    auto with_null = run_json(schema, R"({"a":null})");
    ASSERT_TRUE(with_null.out);
    EXPECT_EQ(json::serialize(*with_null.out), R"({"a":null})");
    auto absent = run_json(schema, "{}");
    ASSERT_TRUE(absent.out);
    EXPECT_EQ(json::serialize(*absent.out), "{}");
    EXPECT_EQ(field_message(number().nullish(), "\"1\""), "body/v Invalid input: expected number, received string");
}

TEST(validate_schema, default_value_fills_absent_only) {
    auto schema = object({{"limit", number().min(1).default_value(100)}});
    auto absent = run_json(schema, "{}");
    ASSERT_TRUE(absent.out);
    EXPECT_EQ(json::serialize(*absent.out), R"({"limit":100})");
    auto given = run_json(schema, R"({"limit":7})");
    ASSERT_TRUE(given.out);
    EXPECT_EQ(json::serialize(*given.out), R"({"limit":7})");
    // A present value is still validated; null is not "absent".
    EXPECT_EQ(run_json(schema, R"({"limit":0})").message, "body/limit Too small: expected number to be >=1");
    EXPECT_EQ(run_json(schema, R"({"limit":null})").message,
              "body/limit Invalid input: expected number, received null");
}

TEST(validate_schema, default_value_is_not_validated) {
    // zod's .default() short-circuits: the default is returned as is.
    auto r = run_json(object({{"s", string().min(5).default_value("ab")}}), "{}");
    ASSERT_TRUE(r.out);
    EXPECT_EQ(json::serialize(*r.out), R"({"s":"ab"})");
}

// --- strings ------------------------------------------------------------------------------------------

TEST(validate_schema, string_min_max_messages) {
    EXPECT_EQ(field_message(string().min(1), "\"\""), "body/v Too small: expected string to have >=1 characters");
    EXPECT_EQ(field_message(string().max(3), "\"abcd\""), "body/v Too big: expected string to have <=3 characters");
    EXPECT_EQ(field_message(string().min(1).max(3), "\"abc\""), "");
    EXPECT_EQ(field_message(string().max(200), json::serialize(json::value(std::string(201, 'x')))),
              "body/v Too big: expected string to have <=200 characters");
    EXPECT_EQ(field_message(string().max(200), json::serialize(json::value(std::string(200, 'x')))), "");
}

TEST(validate_schema, string_length_counts_utf16_units) {
    // U+1F600 is one code point, four UTF-8 bytes, two UTF-16 units.
    const std::string emoji = "\"\xF0\x9F\x98\x80\"";
    EXPECT_EQ(field_message(string().max(1), emoji), "body/v Too big: expected string to have <=1 characters");
    EXPECT_EQ(field_message(string().max(2), emoji), "");
    EXPECT_EQ(field_message(string().min(3), emoji), "body/v Too small: expected string to have >=3 characters");
    // U+00E9 (2 bytes) and U+20AC (3 bytes) are one unit each.
    EXPECT_EQ(field_message(string().max(2), "\"\xC3\xA9\xE2\x82\xAC\""), "");
    EXPECT_EQ(field_message(string().max(1), "\"\xC3\xA9\xE2\x82\xAC\""),
              "body/v Too big: expected string to have <=1 characters");
}

TEST(validate_schema, string_length_check_also_runs_on_an_array) {
    // zod's length checks have a `when` guard (input has a .length), so they run after the type error.
    EXPECT_EQ(field_message(string().max(1), R"(["a","b"])", "querystring"),
              "querystring/v Invalid input: expected string, received array, "
              "querystring/v Too big: expected array to have <=1 items");
    EXPECT_EQ(field_message(string().max(5), R"(["a","b"])", "querystring"),
              "querystring/v Invalid input: expected string, received array");
    // No length, no extra issue.
    EXPECT_EQ(field_message(string().min(1), "5"), "body/v Invalid input: expected string, received number");
}

// --- numbers ------------------------------------------------------------------------------------------

TEST(validate_schema, number_bounds_messages) {
    EXPECT_EQ(field_message(number().min(1), "0"), "body/v Too small: expected number to be >=1");
    EXPECT_EQ(field_message(number().max(500), "501"), "body/v Too big: expected number to be <=500");
    EXPECT_EQ(field_message(number().max(500), "500"), "");
    EXPECT_EQ(field_message(number().min(0.5), "0.25"), "body/v Too small: expected number to be >=0.5");
    EXPECT_EQ(field_message(number().positive(), "0"), "body/v Too small: expected number to be >0");
    EXPECT_EQ(field_message(number().positive(), "-1.5"), "body/v Too small: expected number to be >0");
    EXPECT_EQ(field_message(number().positive(), "0.001"), "");
}

TEST(validate_schema, number_integer_checks) {
    EXPECT_EQ(field_message(number().integer(), "1.5"), "body/v Invalid input: expected int, received number");
    EXPECT_EQ(field_message(number().integer(), "9007199254740991"), "");
    EXPECT_EQ(field_message(number().integer(), "9007199254740992"),
              "body/v Too big: expected int to be <=9007199254740991");
    EXPECT_EQ(field_message(number().integer(), "-9007199254740992"),
              "body/v Too small: expected int to be >=-9007199254740991");
    EXPECT_EQ(field_message(number().integer(), "3.0"), "");
}

TEST(validate_schema, non_integer_stops_later_number_checks) {
    // The .int() issue aborts: min/max are not reported for 1.5.
    auto r = run_json(object({{"v", number().integer().min(5).max(0)}}), R"({"v":1.5})");
    EXPECT_EQ(r.issue_count, 1u);
    EXPECT_EQ(r.message, "body/v Invalid input: expected int, received number");
}

TEST(validate_schema, unsafe_integer_continues_to_max_check) {
    // The safe-integer issue is continuable, so .max() still runs.
    EXPECT_EQ(field_message(number().integer().max(500), "9007199254740992"),
              "body/v Too big: expected int to be <=9007199254740991, body/v Too big: expected number to be <=500");
}

TEST(validate_schema, number_output_keeps_input_value) {
    auto r = run_json(object({{"a", number()}, {"b", number()}}), R"({"b":-3,"a":1.25})");
    ASSERT_TRUE(r.out);
    EXPECT_EQ(r.out->as_object().begin()->key(), "a");
    EXPECT_EQ(r.out->at("a"), json::value(1.25));
    EXPECT_EQ(r.out->at("b"), json::value(-3));
}

// --- coerce() (z.coerce.number, JavaScript Number()) ----------------------------------------------------

TEST(validate_schema, coerce_follows_js_number) {
    EXPECT_EQ(coerced(""), "0");
    EXPECT_EQ(coerced(" "), "0");
    EXPECT_EQ(coerced("1e2"), "100");
    EXPECT_EQ(coerced("0x10"), "16");
    EXPECT_EQ(coerced(" 42\t"), "42");
    EXPECT_EQ(coerced("-7"), "-7");
}

TEST(validate_schema, coerce_keeps_fractions_as_doubles) {
    json::value in = json::object{{"n", "1.5"}};
    auto r = run(object({{"n", number().coerce()}}), &in, "querystring");
    ASSERT_TRUE(r.out);
    ASSERT_TRUE(r.out->at("n").is_double());
    EXPECT_EQ(r.out->at("n").get_double(), 1.5);
}

TEST(validate_schema, coerce_nan_and_infinity_messages) {
    EXPECT_EQ(coerced("abc"), "error: querystring/n Invalid input: expected number, received NaN");
    EXPECT_EQ(coerced("1x"), "error: querystring/n Invalid input: expected number, received NaN");
    EXPECT_EQ(coerced("Infinity"), "error: querystring/n Invalid input: expected number, received number");
    EXPECT_EQ(coerced("-Infinity"), "error: querystring/n Invalid input: expected number, received number");
}

TEST(validate_schema, coerce_absent_required_is_nan) {
    // Number(undefined) is NaN.
    auto r = run_json(object({{"n", number().coerce()}}), "{}", "querystring");
    EXPECT_EQ(r.message, "querystring/n Invalid input: expected number, received NaN");
}

TEST(validate_schema, coerce_repeated_query_key_is_nan) {
    // ?limit=1&limit=2 → ["1","2"] → Number(["1","2"]) is NaN.
    EXPECT_EQ(field_message(number().coerce(), R"(["1","2"])", "querystring"),
              "querystring/v Invalid input: expected number, received NaN");
}

TEST(validate_schema, coerce_then_integer_and_bounds) {
    EXPECT_EQ(field_message(number().coerce().integer(), "\"1.5\"", "querystring"),
              "querystring/v Invalid input: expected int, received number");
    EXPECT_EQ(field_message(number().coerce().integer().min(1), "\"\"", "querystring"),
              "querystring/v Too small: expected number to be >=1");
    EXPECT_EQ(field_message(number().coerce().integer().min(1).max(500), "\"0\"", "querystring"),
              "querystring/v Too small: expected number to be >=1");
    EXPECT_EQ(field_message(number().coerce().integer().min(1).max(500), "\"5e2\"", "querystring"), "");
    EXPECT_EQ(field_message(number().coerce().integer().min(1).max(500), "\"501\"", "querystring"),
              "querystring/v Too big: expected number to be <=500");
}

TEST(validate_schema, js_number_semantics) {
    EXPECT_EQ(js_number(""), 0);
    EXPECT_EQ(js_number(" \t\r\n"), 0);
    EXPECT_EQ(js_number("1e2"), 100);
    EXPECT_EQ(js_number("1E+2"), 100);
    EXPECT_EQ(js_number("1e-2"), 0.01);
    EXPECT_EQ(js_number("0x10"), 16);
    EXPECT_EQ(js_number("0XfF"), 255);
    EXPECT_EQ(js_number("0o17"), 15);
    EXPECT_EQ(js_number("0b101"), 5);
    EXPECT_EQ(js_number("+1.5"), 1.5);
    EXPECT_EQ(js_number("-.5"), -0.5);
    EXPECT_EQ(js_number("5."), 5);
    EXPECT_EQ(js_number("007"), 7);
    EXPECT_EQ(js_number("\xC2\xA0" "12" "\xEF\xBB\xBF"), 12);  // NBSP and BOM are trimmed
    EXPECT_EQ(js_number("Infinity"), INFINITY);
    EXPECT_EQ(js_number("-Infinity"), -INFINITY);
    EXPECT_EQ(js_number("1e400"), INFINITY);
    EXPECT_TRUE(std::isnan(js_number("abc")));
    EXPECT_TRUE(std::isnan(js_number("infinity")));
    EXPECT_TRUE(std::isnan(js_number("-0x10")));
    EXPECT_TRUE(std::isnan(js_number("0x")));
    EXPECT_TRUE(std::isnan(js_number("0b2")));
    EXPECT_TRUE(std::isnan(js_number("0xg")));
    EXPECT_TRUE(std::isnan(js_number(".")));
    EXPECT_TRUE(std::isnan(js_number("1e")));
    EXPECT_TRUE(std::isnan(js_number("1_000")));
    EXPECT_TRUE(std::isnan(js_number("1 2")));
    EXPECT_TRUE(std::isnan(js_number("12px")));
}

// --- enumerations -------------------------------------------------------------------------------------

TEST(validate_schema, enumeration_message_format) {
    auto vendor = enumeration({"openai", "anthropic", "gemini"});
    EXPECT_EQ(field_message(vendor, "\"foo\"", "params"),
              R"(params/v Invalid option: expected one of "openai"|"anthropic"|"gemini")");
    EXPECT_EQ(field_message(vendor, "1", "params"),
              R"(params/v Invalid option: expected one of "openai"|"anthropic"|"gemini")");
    auto missing = run_json(object({{"vendor", vendor}}), "{}", "params");
    EXPECT_EQ(missing.message, R"(params/vendor Invalid option: expected one of "openai"|"anthropic"|"gemini")");
    EXPECT_EQ(field_message(vendor, "\"gemini\"", "params"), "");
}

TEST(validate_schema, enumeration_with_one_option) {
    // zod's English locale: a single allowed value reads "Invalid input: expected <value>".
    EXPECT_EQ(field_message(enumeration({"github"}), "\"gitlab\"", "params"),
              R"(params/v Invalid input: expected "github")");
}

TEST(validate_schema, enumeration_is_case_sensitive) {
    EXPECT_EQ(field_message(enumeration({"a", "b"}), "\"A\""), R"(body/v Invalid option: expected one of "a"|"b")");
}

// --- uuid ---------------------------------------------------------------------------------------------

TEST(validate_schema, uuid_accepts_valid_forms) {
    EXPECT_EQ(field_message(uuid(), "\"0e2b8a4c-3f1d-4c5e-9a7b-1d2e3f4a5b6c\""), "");
    EXPECT_EQ(field_message(uuid(), "\"0E2B8A4C-3F1D-4C5E-BA7B-1D2E3F4A5B6C\""), "");  // upper case
    EXPECT_EQ(field_message(uuid(), "\"00000000-0000-0000-0000-000000000000\""), "");  // nil
    EXPECT_EQ(field_message(uuid(), "\"ffffffff-ffff-ffff-ffff-ffffffffffff\""), "");  // max
    EXPECT_EQ(field_message(uuid(), "\"0e2b8a4c-3f1d-1c5e-8a7b-1d2e3f4a5b6c\""), "");  // v1
    EXPECT_EQ(field_message(uuid(), "\"0e2b8a4c-3f1d-8c5e-8a7b-1d2e3f4a5b6c\""), "");  // v8
}

TEST(validate_schema, uuid_rejects_invalid_forms) {
    EXPECT_EQ(field_message(uuid(), "\"0e2b8a4c-3f1d-4c5e-ca7b-1d2e3f4a5b6c\""), "body/v Invalid UUID");  // variant c
    EXPECT_EQ(field_message(uuid(), "\"0e2b8a4c-3f1d-0c5e-8a7b-1d2e3f4a5b6c\""), "body/v Invalid UUID");  // version 0
    EXPECT_EQ(field_message(uuid(), "\"0e2b8a4c-3f1d-9c5e-8a7b-1d2e3f4a5b6c\""), "body/v Invalid UUID");  // version 9
    EXPECT_EQ(field_message(uuid(), "\"0e2b8a4c3f1d4c5e8a7b1d2e3f4a5b6c\""), "body/v Invalid UUID");      // no dashes
    EXPECT_EQ(field_message(uuid(), "\"0e2b8a4c-3f1d-4c5e-8a7b-1d2e3f4a5b6\""), "body/v Invalid UUID");   // short
    EXPECT_EQ(field_message(uuid(), "\"0e2b8a4c-3f1d-4c5e-8a7b-1d2e3f4a5b6g\""), "body/v Invalid UUID");  // not hex
    // The max UUID is only accepted in lower case (zod's regex spells it out).
    EXPECT_EQ(field_message(uuid(), "\"FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF\""), "body/v Invalid UUID");
    EXPECT_EQ(field_message(uuid(), "\"\""), "body/v Invalid UUID");
    EXPECT_EQ(field_message(uuid(), "7"), "body/v Invalid input: expected string, received number");
}

// --- arrays and records -------------------------------------------------------------------------------

TEST(validate_schema, array_item_paths) {
    auto schema = object({{"items", array(object({{"x", string()}}))}});
    auto r = run_json(schema, R"({"items":[{"x":1},{"x":"ok"},{}]})");
    EXPECT_FALSE(r.out);
    EXPECT_EQ(r.message,
              "body/items/0/x Invalid input: expected string, received number, "
              "body/items/2/x Invalid input: expected string, received undefined");
}

TEST(validate_schema, array_min_max_items) {
    auto schema = array(string()).min(1).max(2);
    EXPECT_EQ(field_message(schema, "[]"), "body/v Too small: expected array to have >=1 items");
    EXPECT_EQ(field_message(schema, R"(["a","b","c"])"), "body/v Too big: expected array to have <=2 items");
    EXPECT_EQ(field_message(schema, R"(["a","b"])"), "");
}

TEST(validate_schema, array_item_issues_come_before_size_issue) {
    EXPECT_EQ(field_message(array(string()).max(1), "[1,2]"),
              "body/v/0 Invalid input: expected string, received number, "
              "body/v/1 Invalid input: expected string, received number, "
              "body/v Too big: expected array to have <=1 items");
}

TEST(validate_schema, array_output_strips_item_keys) {
    auto r = run_json(object({{"items", array(object({{"a", number()}}))}}), R"({"items":[{"a":1,"z":2}]})");
    ASSERT_TRUE(r.out);
    EXPECT_EQ(json::serialize(*r.out), R"({"items":[{"a":1}]})");
}

TEST(validate_schema, record_values_validated_with_key_paths) {
    auto schema = object({{"m", record(string())}});
    auto bad = run_json(schema, R"({"m":{"a":"x","b":1,"c":null}})");
    EXPECT_EQ(bad.message,
              "body/m/b Invalid input: expected string, received number, "
              "body/m/c Invalid input: expected string, received null");
    auto ok = run_json(schema, R"({"m":{"z":"1","a":"2"}})");
    ASSERT_TRUE(ok.out);
    EXPECT_EQ(json::serialize(*ok.out), R"({"m":{"z":"1","a":"2"}})");
}

// --- objects ------------------------------------------------------------------------------------------

TEST(validate_schema, object_strips_unknown_keys_and_uses_schema_order) {
    auto schema = object({{"a", number()}, {"b", string()}, {"c", boolean().optional()}});
    auto r = run_json(schema, R"({"extra":1,"b":"x","__proto__":{"p":1},"a":2})");
    ASSERT_TRUE(r.out);
    EXPECT_EQ(json::serialize(*r.out), R"({"a":2,"b":"x"})");
}

TEST(validate_schema, nested_object_paths) {
    auto schema = object({{"outer", object({{"inner", object({{"leaf", number()}})}})}});
    EXPECT_EQ(run_json(schema, R"({"outer":{"inner":{}}})").message,
              "body/outer/inner/leaf Invalid input: expected number, received undefined");
    EXPECT_EQ(run_json(schema, R"({"outer":{"inner":[]}})").message,
              "body/outer/inner Invalid input: expected object, received array");
}

TEST(validate_schema, issues_joined_in_schema_order) {
    // POST /v1/auth with {} (spec example).
    auto schema = object({{"publicKey", string()}, {"challenge", string()}, {"signature", string()}});
    json::value in = json::object{{"signature", 5}};
    EXPECT_EQ(run(schema, &in).message,
              "body/publicKey Invalid input: expected string, received undefined, "
              "body/challenge Invalid input: expected string, received undefined, "
              "body/signature Invalid input: expected string, received number");
    EXPECT_EQ(run_json(schema, "{}").message,
              "body/publicKey Invalid input: expected string, received undefined, "
              "body/challenge Invalid input: expected string, received undefined, "
              "body/signature Invalid input: expected string, received undefined");
}

TEST(validate_schema, headers_example_from_spec) {
    auto schema = object({{"x-hub-signature-256", string()}, {"x-github-event", string()}});
    EXPECT_EQ(run_json(schema, R"({"host":"x"})", "headers").message,
              "headers/x-hub-signature-256 Invalid input: expected string, received undefined, "
              "headers/x-github-event Invalid input: expected string, received undefined");
}

TEST(validate_schema, any_passes_values_through) {
    auto r = run_json(object({{"a", any()}}), R"({"a":[1,{"b":null}]})");
    ASSERT_TRUE(r.out);
    EXPECT_EQ(json::serialize(*r.out), R"({"a":[1,{"b":null}]})");
}

// --- refinements --------------------------------------------------------------------------------------

TEST(validate_schema, refinement_issue_at_root) {
    auto r = run_json(messages_query(), R"({"after_seq":"1","before_seq":"5"})", "querystring");
    EXPECT_FALSE(r.out);
    EXPECT_EQ(r.message, "querystring/ after_seq and before_seq are mutually exclusive");
}

TEST(validate_schema, refinement_passes_and_output_is_coerced) {
    auto r = run_json(messages_query(), R"({"before_seq":"5","junk":"x"})", "querystring");
    ASSERT_TRUE(r.out);
    EXPECT_EQ(json::serialize(*r.out), R"({"before_seq":5,"limit":100})");
}

TEST(validate_schema, refinement_runs_after_bounds_issues) {
    // A too-small limit does not abort zod's refinement: its issue is appended after the field issues.
    auto r = run_json(messages_query(), R"({"after_seq":"1","before_seq":"5","limit":"0"})", "querystring");
    EXPECT_EQ(r.message,
              "querystring/limit Too small: expected number to be >=1, "
              "querystring/ after_seq and before_seq are mutually exclusive");
}

TEST(validate_schema, refinement_skipped_after_type_error) {
    auto nan = run_json(messages_query(), R"({"after_seq":"abc","before_seq":"5"})", "querystring");
    EXPECT_EQ(nan.message, "querystring/after_seq Invalid input: expected number, received NaN");
    auto non_int = run_json(messages_query(), R"({"after_seq":"1.5","before_seq":"5"})", "querystring");
    EXPECT_EQ(non_int.message, "querystring/after_seq Invalid input: expected int, received number");
}

TEST(validate_schema, refinement_runs_with_earlier_issues_in_the_vector) {
    std::vector<issue> issues{{{"x"}, "earlier"}};
    json::value in = json::object{{"after_seq", "1"}, {"before_seq", "5"}};
    EXPECT_FALSE(parse(messages_query(), &in, issues));
    ASSERT_EQ(issues.size(), 2u);
    EXPECT_EQ(issues[1].message, "after_seq and before_seq are mutually exclusive");
    EXPECT_TRUE(issues[1].path.empty());
}

// --- format_issues ------------------------------------------------------------------------------------

TEST(validate_schema, format_issues_layout) {
    EXPECT_EQ(format_issues("body", {}), "");
    EXPECT_EQ(format_issues("querystring", {{{}, "after_seq and before_seq are mutually exclusive"}}),
              "querystring/ after_seq and before_seq are mutually exclusive");
    EXPECT_EQ(format_issues("body", {{{"messages", "0", "localId"}, "m1"}, {{"a"}, "m2"}}),
              "body/messages/0/localId m1, body/a m2");
}

TEST(validate_schema, parse_success_leaves_issues_empty) {
    std::vector<issue> issues;
    json::value in = json::object{{"a", "x"}};
    auto out = parse(object({{"a", string().min(1)}}), &in, issues);
    ASSERT_TRUE(out);
    EXPECT_TRUE(issues.empty());
    EXPECT_EQ(json::serialize(*out), R"({"a":"x"})");
}

}  // namespace
}  // namespace happy::validate
