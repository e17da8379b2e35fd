// Unit tests for happy::json::v8_json_syntax_error.
//
// Every expected message in the tables below was produced by Node.js v20.20.2 (V8 11.3.244.8) running
// `JSON.parse(Buffer.from(input).toString('utf8'))` and printing `e.message` as UTF-8, i.e. Node is the ground
// truth, not our reading of the V8 sources. Inputs are written with \x escapes so that the byte sequences
// (including deliberately invalid UTF-8) are unambiguous.

#include "core/json/v8_json_error.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace {

using namespace std::string_view_literals;
using happy::json::v8_json_syntax_error;

struct error_case {
    std::string_view input;
    std::string_view expected;
};

void expect_messages(std::initializer_list<error_case> cases) {
    for (const error_case& c : cases) {
        const std::optional<std::string> actual = v8_json_syntax_error(c.input);
        ASSERT_TRUE(actual.has_value()) << "expected an error for input: " << c.input;
        EXPECT_EQ(*actual, c.expected) << "input: " << c.input;
    }
}

void expect_valid(std::initializer_list<std::string_view> inputs) {
    for (const std::string_view input : inputs) {
        const std::optional<std::string> actual = v8_json_syntax_error(input);
        EXPECT_FALSE(actual.has_value()) << "input: " << input << "\nunexpected error: " << actual.value_or("");
    }
}

std::string repeat(std::string_view piece, std::size_t count) {
    std::string out;
    out.reserve(piece.size() * count);
    for (std::size_t i = 0; i < count; ++i) out.append(piece);
    return out;
}

}  // namespace

TEST(v8_json_syntax_error, valid_inputs_return_nullopt) {
    expect_valid({
        "0"sv,
        "-0"sv,
        "1"sv,
        "-1"sv,
        "0.5"sv,
        "-0.5"sv,
        "1e5"sv,
        "1E+5"sv,
        "1e-5"sv,
        "-1.25E-10"sv,
        "123456789012345678901234567890"sv,
        "1.7976931348623157e309"sv,
        "true"sv,
        "false"sv,
        "null"sv,
        "\"\""sv,
        "\"abc\""sv,
        "\" \\\" \\\\ \\/ \\b \\f \\n \\r \\t \""sv,
        "\"\\u0041\\u00e9\\u20AC\\uD83D\\uDE00\""sv,
        "\"\\uD800\""sv,
        "\"\\udc00\""sv,
        "\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\""sv,
        "\"\x7F\""sv,
        "[]"sv,
        "{}"sv,
        "[ ]"sv,
        "{ }"sv,
        " \t\r\n[ 1 , 2 ] \t\r\n"sv,
        "[1,[2,[3,[4]]]]"sv,
        "{\"a\":{\"b\":{\"c\":[true,false,null]}}}"sv,
        "{\"a\":1,\"a\":2}"sv,
        "{\"0\":1,\"1\":2,\"10\":3}"sv,
        "{\"\\u0030\":1,\"x\\u0041\":2}"sv,
        "[{\"a\":[]},{\"b\":{}}]"sv,
        "{\"\":\"\"}"sv,
        "\"\xF0\x9F\x98\x80\""sv,
        "{\"\xC3\xA9\":\"\xE2\x82\xAC\"}"sv,
        "\"\xE4\xB8\xAD\xE6\x96\x87\""sv,
        "\"\xFF\""sv,
        "\"\xC3\""sv,
        "\"\xED\xA0\x80\""sv,
        "[\"\xF0\x9F\x98\"]"sv,
    });
}

// The examples the upstream server is known to return; these must never regress.
TEST(v8_json_syntax_error, known_upstream_examples) {
    expect_messages({
        {"{bad"sv, "Expected property name or '}' in JSON at position 1"sv},
        {"abc"sv, "Unexpected token 'a', \"abc\" is not valid JSON"sv},
        {""sv, "Unexpected end of JSON input"sv},
        {"{\"a\":"sv, "Unexpected end of JSON input"sv},
        {"{\"a\":1} x"sv, "Unexpected non-whitespace character after JSON at position 8"sv},
        {"{\"a\":1 \"b\""sv, "Expected ',' or '}' after property value in JSON at position 7"sv},
        {"{\"a\":\"unterminated"sv, "Unterminated string in JSON at position 18"sv},
        {"{\"a\":1 2}"sv, "Expected ',' or '}' after property value in JSON at position 7"sv},
        {"{\"a\":1,\"b\" 2}"sv, "Unexpected number in JSON at position 11"sv},
        {"{\"a\":1,\"b\" \"c\"}"sv, "Unexpected string in JSON at position 11"sv},
    });
}

TEST(v8_json_syntax_error, objects_and_arrays) {
    expect_messages({
        {"{"sv, "Expected property name or '}' in JSON at position 1"sv},
        {"{\"a\""sv, "Expected ':' after property name in JSON at position 4"sv},
        {"{\"a\" 1}"sv, "Expected ':' after property name in JSON at position 5"sv},
        {"{\"a\"::1}"sv, "Unexpected token ':', \"{\"a\"::1}\" is not valid JSON"sv},
        {"{\"a\":1"sv, "Expected ',' or '}' after property value in JSON at position 6"sv},
        {"{\"a\":1,"sv, "Expected double-quoted property name in JSON at position 7"sv},
        {"{\"a\":1,}"sv, "Expected double-quoted property name in JSON at position 7"sv},
        {"{\"a\":1,2}"sv, "Expected double-quoted property name in JSON at position 7"sv},
        {"{,}"sv, "Expected property name or '}' in JSON at position 1"sv},
        {"{\"a\":1,\"b\""sv, "Unexpected end of JSON input"sv},
        {"{\"a\":1,\"b\" x}"sv, "Unexpected token 'x', \"{\"a\":1,\"b\" x}\" is not valid JSON"sv},
        {"{\"a\":1,\"b\":}"sv, "Unexpected token '}', \"{\"a\":1,\"b\":}\" is not valid JSON"sv},
        {"{\"a\":1,\"b\":2,\"c\" 3}"sv, "Unexpected number in JSON at position 17"sv},
        {"{\"0\":1,\"1\" 2}"sv, "Unexpected number in JSON at position 11"sv},
        {"{1:2}"sv, "Expected property name or '}' in JSON at position 1"sv},
        {"{'a':1}"sv, "Expected property name or '}' in JSON at position 1"sv},
        {"{a:1}"sv, "Expected property name or '}' in JSON at position 1"sv},
        {"{\"a\":1}}"sv, "Unexpected non-whitespace character after JSON at position 7"sv},
        {"{\"a\":[1}"sv, "Expected ',' or ']' after array element in JSON at position 7"sv},
        {"{\"a\":{\"b\":1]}"sv, "Expected ',' or '}' after property value in JSON at position 11"sv},
        {"["sv, "Unexpected end of JSON input"sv},
        {"[1"sv, "Expected ',' or ']' after array element in JSON at position 2"sv},
        {"[1 2]"sv, "Expected ',' or ']' after array element in JSON at position 3"sv},
        {"[1,]"sv, "Unexpected token ']', \"[1,]\" is not valid JSON"sv},
        {"[,1]"sv, "Unexpected token ',', \"[,1]\" is not valid JSON"sv},
        {"[1,,2]"sv, "Unexpected token ',', \"[1,,2]\" is not valid JSON"sv},
        {"[}"sv, "Unexpected token '}', \"[}\" is not valid JSON"sv},
        {"]"sv, "Unexpected token ']', \"]\" is not valid JSON"sv},
        {"}"sv, "Unexpected token '}', \"}\" is not valid JSON"sv},
        {":"sv, "Unexpected token ':', \":\" is not valid JSON"sv},
        {","sv, "Unexpected token ',', \",\" is not valid JSON"sv},
        {"[1]]"sv, "Unexpected non-whitespace character after JSON at position 3"sv},
        {"[1]  ]"sv, "Unexpected non-whitespace character after JSON at position 5"sv},
        {"[1] [2]"sv, "Unexpected non-whitespace character after JSON at position 4"sv},
        {"{\"a\":1}{"sv, "Unexpected non-whitespace character after JSON at position 7"sv},
        {"[[[]]"sv, "Expected ',' or ']' after array element in JSON at position 5"sv},
        {"[[]]]"sv, "Unexpected non-whitespace character after JSON at position 4"sv},
        {"[1,2"sv, "Expected ',' or ']' after array element in JSON at position 4"sv},
        {"[1,2 "sv, "Expected ',' or ']' after array element in JSON at position 5"sv},
        {"[{\"a\":1},{\"a\":2}"sv, "Expected ',' or ']' after array element in JSON at position 16"sv},
        {"[{\"a\":1}{\"a\":2}]"sv, "Expected ',' or ']' after array element in JSON at position 8"sv},
        {" \t\r\n"sv, "Unexpected end of JSON input"sv},
        {"[1;2]"sv, "Expected ',' or ']' after array element in JSON at position 2"sv},
    });
}

// Misspelled literals fail at the first mismatching character; the character's token class decides whether
// the message is "Unexpected string/number" or "Unexpected token"; a truncated literal is "end of input".
TEST(v8_json_syntax_error, literals_and_special_sources) {
    expect_messages({
        {"t"sv, "Unexpected end of JSON input"sv},
        {"tr"sv, "Unexpected end of JSON input"sv},
        {"tru"sv, "Unexpected end of JSON input"sv},
        {"trux"sv, "Unexpected token 'x', \"trux\" is not valid JSON"sv},
        {"tx"sv, "Unexpected token 'x', \"tx\" is not valid JSON"sv},
        {"tr "sv, "Unexpected token ' ', \"tr \" is not valid JSON"sv},
        {"truex"sv, "Unexpected non-whitespace character after JSON at position 4"sv},
        {"True"sv, "Unexpected token 'T', \"True\" is not valid JSON"sv},
        {"f"sv, "Unexpected end of JSON input"sv},
        {"fals"sv, "Unexpected end of JSON input"sv},
        {"falsx"sv, "Unexpected token 'x', \"falsx\" is not valid JSON"sv},
        {"falze"sv, "Unexpected token 'z', \"falze\" is not valid JSON"sv},
        {"n"sv, "Unexpected end of JSON input"sv},
        {"nul"sv, "Unexpected end of JSON input"sv},
        {"nulx"sv, "Unexpected token 'x', \"nulx\" is not valid JSON"sv},
        {"nil"sv, "Unexpected token 'i', \"nil\" is not valid JSON"sv},
        {"nUll"sv, "Unexpected token 'U', \"nUll\" is not valid JSON"sv},
        {"t\""sv, "Unexpected string in JSON at position 1"sv},
        {"n1"sv, "Unexpected number in JSON at position 1"sv},
        {"f-"sv, "Unexpected number in JSON at position 1"sv},
        {"t{"sv, "Unexpected token '{', \"t{\" is not valid JSON"sv},
        {"[tru]"sv, "Unexpected token ']', \"[tru]\" is not valid JSON"sv},
        {"[true,fa"sv, "Unexpected end of JSON input"sv},
        {"{\"a\":nul}"sv, "Unexpected token '}', \"{\"a\":nul}\" is not valid JSON"sv},
        {"{\"a\":nulll}"sv, "Expected ',' or '}' after property value in JSON at position 9"sv},
        {"undefined"sv, "\"undefined\" is not valid JSON"sv},
        {"NaN"sv, "\"NaN\" is not valid JSON"sv},
        {"Infinity"sv, "\"Infinity\" is not valid JSON"sv},
        {"-Infinity"sv, "No number after minus sign in JSON at position 1"sv},
        {"[object Object]"sv, "\"[object Object]\" is not valid JSON"sv},
        {"null null"sv, "Unexpected non-whitespace character after JSON at position 5"sv},
        {"true false"sv, "Unexpected non-whitespace character after JSON at position 5"sv},
        {"nan"sv, "Unexpected token 'a', \"nan\" is not valid JSON"sv},
        {"undefined "sv, "Unexpected token 'u', \"undefined \" is not valid JSON"sv},
    });
}

TEST(v8_json_syntax_error, numbers) {
    expect_messages({
        {"-"sv, "No number after minus sign in JSON at position 1"sv},
        {"-a"sv, "No number after minus sign in JSON at position 1"sv},
        {"--1"sv, "No number after minus sign in JSON at position 1"sv},
        {"-.5"sv, "No number after minus sign in JSON at position 1"sv},
        {".5"sv, "Unexpected token '.', \".5\" is not valid JSON"sv},
        {"+1"sv, "Unexpected token '+', \"+1\" is not valid JSON"sv},
        {"01"sv, "Unexpected number in JSON at position 1"sv},
        {"-01"sv, "Unexpected number in JSON at position 2"sv},
        {"00"sv, "Unexpected number in JSON at position 1"sv},
        {"-00"sv, "Unexpected number in JSON at position 2"sv},
        {"0x10"sv, "Unexpected non-whitespace character after JSON at position 1"sv},
        {"0-"sv, "Unexpected non-whitespace character after JSON at position 1"sv},
        {"-0x"sv, "Unexpected non-whitespace character after JSON at position 2"sv},
        {"1."sv, "Unterminated fractional number in JSON at position 2"sv},
        {"-0."sv, "Unterminated fractional number in JSON at position 3"sv},
        {"1.e5"sv, "Unterminated fractional number in JSON at position 2"sv},
        {"1.5.3"sv, "Unexpected non-whitespace character after JSON at position 3"sv},
        {"1..2"sv, "Unterminated fractional number in JSON at position 2"sv},
        {"1e"sv, "Exponent part is missing a number in JSON at position 2"sv},
        {"1E"sv, "Exponent part is missing a number in JSON at position 2"sv},
        {"1e+"sv, "Exponent part is missing a number in JSON at position 3"sv},
        {"1e-"sv, "Exponent part is missing a number in JSON at position 3"sv},
        {"1e+-1"sv, "Exponent part is missing a number in JSON at position 3"sv},
        {"0.5e"sv, "Exponent part is missing a number in JSON at position 4"sv},
        {"1ea"sv, "Exponent part is missing a number in JSON at position 2"sv},
        {"[-]"sv, "No number after minus sign in JSON at position 2"sv},
        {"{\"a\":-}"sv, "No number after minus sign in JSON at position 6"sv},
        {"[01]"sv, "Unexpected number in JSON at position 2"sv},
        {"{\"a\":01}"sv, "Unexpected number in JSON at position 6"sv},
        {"[1.]"sv, "Unterminated fractional number in JSON at position 3"sv},
        {"[1e]"sv, "Exponent part is missing a number in JSON at position 3"sv},
        {"1 2"sv, "Unexpected non-whitespace character after JSON at position 2"sv},
        {"123456789012345678901234x"sv, "Unexpected non-whitespace character after JSON at position 24"sv},
        {"12345678901x"sv, "Unexpected non-whitespace character after JSON at position 11"sv},
        {"1_000"sv, "Unexpected non-whitespace character after JSON at position 1"sv},
        {"[1,2,3,4,5,6,7,8,9,10\xF0\x9F\x98\x80]"sv, "Expected ',' or ']' after array element in JSON at position 21"sv},
        {"0.0e"sv, "Exponent part is missing a number in JSON at position 4"sv},
        {"2e308x"sv, "Unexpected non-whitespace character after JSON at position 5"sv},
    });
}

TEST(v8_json_syntax_error, strings_and_escapes) {
    expect_messages({
        {"\""sv, "Unterminated string in JSON at position 1"sv},
        {"\"abc"sv, "Unterminated string in JSON at position 4"sv},
        {"\"\\"sv, "Unexpected end of JSON input"sv},
        {"\"\\\""sv, "Unterminated string in JSON at position 3"sv},
        {"[\"\\"sv, "Unexpected end of JSON input"sv},
        {"\"\\x\""sv, "Bad escaped character in JSON at position 2"sv},
        {"\"\\'\""sv, "Bad escaped character in JSON at position 2"sv},
        {"\"\\U0041\""sv, "Bad escaped character in JSON at position 2"sv},
        {"\"\\a\""sv, "Bad escaped character in JSON at position 2"sv},
        {"\"\\0\""sv, "Bad escaped character in JSON at position 2"sv},
        {"\"\\\xC3\xA9\""sv, "Bad escaped character in JSON at position 2"sv},
        {"\"\\\xE2\x82\xAC\""sv, "Unexpected token '\xE2\x82\xAC', \"\"\\\xE2\x82\xAC\"\" is not valid JSON"sv},
        {"\"\\\xF0\x9F\x98\x80\""sv, "Unexpected token '\xEF\xBF\xBD', \"\"\\\xF0\x9F\x98\x80\"\" is not valid JSON"sv},
        {"\"\\u"sv, "Bad Unicode escape in JSON at position 3"sv},
        {"\"\\u12"sv, "Bad Unicode escape in JSON at position 5"sv},
        {"\"\\u12x\""sv, "Bad Unicode escape in JSON at position 5"sv},
        {"\"\\uGGGG\""sv, "Bad Unicode escape in JSON at position 3"sv},
        {"\"\\u00e\""sv, "Bad Unicode escape in JSON at position 6"sv},
        {"{\"\\u00"sv, "Bad Unicode escape in JSON at position 6"sv},
        {"{\"\\u00g0\":1}"sv, "Bad Unicode escape in JSON at position 6"sv},
        {"{\"0\\u00g\":1}"sv, "Bad Unicode escape in JSON at position 7"sv},
        {"{\"a\\q\":1}"sv, "Bad escaped character in JSON at position 4"sv},
        {"\"a\x01\""sv, "Bad control character in string literal in JSON at position 2"sv},
        {std::string_view("[\"a\x00\"]", 6), "Bad control character in string literal in JSON at position 3"sv},
        {"\"tab\there\""sv, "Bad control character in string literal in JSON at position 4"sv},
        {"\"line\nbreak\""sv, "Bad control character in string literal in JSON at position 5"sv},
        {"\"\x1F\""sv, "Bad control character in string literal in JSON at position 1"sv},
        {"{\"a\nb\":1}"sv, "Bad control character in string literal in JSON at position 3"sv},
        {"\"abc\"x"sv, "Unexpected non-whitespace character after JSON at position 5"sv},
        {"\"abc\" \"def\""sv, "Unexpected non-whitespace character after JSON at position 6"sv},
        {"{\"a\":\"b\"c}"sv, "Expected ',' or '}' after property value in JSON at position 8"sv},
        {"[\"a\" \"b\"]"sv, "Expected ',' or ']' after array element in JSON at position 5"sv},
        {"[\"a\", \"b\""sv, "Expected ',' or ']' after array element in JSON at position 9"sv},
        {"\"\\u0041\\u\""sv, "Bad Unicode escape in JSON at position 9"sv},
    });
}

// Sources of 21+ UTF-16 units get a 10-unit context window instead of the whole source.
TEST(v8_json_syntax_error, unexpected_token_context_windows) {
    expect_messages({
        {"x"sv, "Unexpected token 'x', \"x\" is not valid JSON"sv},
        {"abcdefghijklmnopqrst"sv, "Unexpected token 'a', \"abcdefghijklmnopqrst\" is not valid JSON"sv},
        {"abcdefghijklmnopqrstu"sv, "Unexpected token 'a', \"abcdefghij\"... is not valid JSON"sv},
        {"x23456789012345678901234"sv, "Unexpected token 'x', \"x234567890\"... is not valid JSON"sv},
        {"[1,2,3,4,5,6,7,8,9,10,11,x]"sv, "Unexpected token 'x', ...\"8,9,10,11,x]\" is not valid JSON"sv},
        {"[1,2,3,4,5,6,7,8,9,x,1,2,3,4,5,6,7,8,9]"sv, "Unexpected token 'x', ...\"5,6,7,8,9,x,1,2,3,4,\"... is not valid JSON"sv},
        {"[1,2,3,4,x,1,2,3,4,5,6,7,8,9]"sv, "Unexpected token 'x', \"[1,2,3,4,x,1,2,3,4,\"... is not valid JSON"sv},
        {"[1,2,3,4,5,6,7,8,9,x,1,2,3,4,5,6,7,8]"sv, "Unexpected token 'x', ...\"5,6,7,8,9,x,1,2,3,4,\"... is not valid JSON"sv},
        {"[1,2,3,4,5,6,7,8,9,1,x,1,2,3,4,5,6,7,8,9]"sv, "Unexpected token 'x', ...\"6,7,8,9,1,x,1,2,3,4,\"... is not valid JSON"sv},
        {"[1,2,3,4,5,6,7,8,9,10,x]"sv, "Unexpected token 'x', ...\",7,8,9,10,x]\" is not valid JSON"sv},
        {"{\"key\":\"value\",\"other\":tru}"sv, "Unexpected token '}', ...\"other\":tru}\" is not valid JSON"sv},
        {"{\"user\":{\"name\":\"bob\",\"age\":42,\"tags\":[\"a\",\"b\",]}}"sv, "Unexpected token ']', ...\":[\"a\",\"b\",]}}\" is not valid JSON"sv},
        {"[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,]"sv, "Unexpected token ']', ...\",18,19,20,]\" is not valid JSON"sv},
        {"{\"aaaaaaaaaaaaaaaaaaaaaaaa\":1,\"b\":tru}"sv, "Unexpected token '}', ...\":1,\"b\":tru}\" is not valid JSON"sv},
        {"{'single':'quotes','are':'bad'}"sv, "Expected property name or '}' in JSON at position 1"sv},
        {"[NaN,1,2,3,4,5,6,7,8,9,10]"sv, "Unexpected token 'N', \"[NaN,1,2,3,\"... is not valid JSON"sv},
        {"[\"abc\",\"def\",\"ghi\",\"jkl\",undefined]"sv, "Unexpected token 'u', ...\"hi\",\"jkl\",undefined]\" is not valid JSON"sv},
        {"['a']"sv, "Unexpected token ''', \"['a']\" is not valid JSON"sv},
    });
}

// Positions count UTF-16 units of the decoded body: astral characters count 2, and each ill-formed UTF-8
// subsequence becomes one U+FFFD. An astral "unexpected token" is half a surrogate pair, which Node prints
// as U+FFFD (EF BF BD); the context window can also cut a pair in half.
TEST(v8_json_syntax_error, utf8_and_utf16_positions) {
    expect_messages({
        {"\xE2\x82\xAC"sv, "Unexpected token '\xE2\x82\xAC', \"\xE2\x82\xAC\" is not valid JSON"sv},
        {"\xF0\x9F\x98\x80"sv, "Unexpected token '\xEF\xBF\xBD', \"\xF0\x9F\x98\x80\" is not valid JSON"sv},
        {"[\xF0\x9F\x98\x80]"sv, "Unexpected token '\xEF\xBF\xBD', \"[\xF0\x9F\x98\x80]\" is not valid JSON"sv},
        {"\xC2\xA0"sv, "Unexpected token '\xC2\xA0', \"\xC2\xA0\" is not valid JSON"sv},
        {"[1,\xE2\x80\xA8 2]"sv, "Unexpected token '\xE2\x80\xA8', \"[1,\xE2\x80\xA8 2]\" is not valid JSON"sv},
        {"\xC2\xA0{\"a\":1}\xC2\xA0\xC2\xA0\xC2\xA0\xC2\xA0\xC2\xA0\xC2\xA0\xC2\xA0\xC2\xA0\xC2\xA0\xC2\xA0\xC2\xA0\xC2\xA0\xC2\xA0\xC2\xA0\xC2\xA0"sv, "Unexpected token '\xC2\xA0', \"\xC2\xA0{\"a\":1}\xC2\xA0\xC2\xA0\"... is not valid JSON"sv},
        {"\xEF\xBB\xBF{}"sv, "Unexpected token '\xEF\xBB\xBF', \"\xEF\xBB\xBF{}\" is not valid JSON"sv},
        {"\xEF\xBB\xBF"sv, "Unexpected token '\xEF\xBB\xBF', \"\xEF\xBB\xBF\" is not valid JSON"sv},
        {"[\"\xC3\xA9\"]x"sv, "Unexpected non-whitespace character after JSON at position 5"sv},
        {"[\"\xC3\xA9\",x]"sv, "Unexpected token 'x', \"[\"\xC3\xA9\",x]\" is not valid JSON"sv},
        {"{\"\xE2\x82\xAC\":1,\"\xF0\x9F\x98\x80\" 2}"sv, "Unexpected number in JSON at position 12"sv},
        {"[\"\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\",1 2]"sv, "Expected ',' or ']' after array element in JSON at position 12"sv},
        {"\"\xF0\x9F\x98\x80"sv, "Unterminated string in JSON at position 3"sv},
        {"\"\xF0\x9F\x98\x80\\x\""sv, "Bad escaped character in JSON at position 4"sv},
        {"\"\xF0\x9F\x98\x80\x01\""sv, "Bad control character in string literal in JSON at position 3"sv},
        {"['\xF0\x9F\x98\x80']"sv, "Unexpected token ''', \"['\xF0\x9F\x98\x80']\" is not valid JSON"sv},
        {"[\"\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\",x]"sv, "Unexpected token 'x', ...\"\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\",x]\" is not valid JSON"sv},
        {"[1,2,3,4,5,6,7,8,\xF0\x9F\x98\x80,1,2,3,4,5,6,7,8,9,0]"sv, "Unexpected token '\xEF\xBF\xBD', ...\"4,5,6,7,8,\xF0\x9F\x98\x80,1,2,3,4\"... is not valid JSON"sv},
        {"[1,2,3,4,5,6,7,8,9\xF0\x9F\x98\x80,1,2,3,4,5,6,7,8,9,0]"sv, "Expected ',' or ']' after array element in JSON at position 18"sv},
        {"[1,2,3,4,5,6,7,8,9,\xF0\x9F\x98\x80" "1,2,3,4,5,6,7,8,9,0]"sv, "Unexpected token '\xEF\xBF\xBD', ...\"5,6,7,8,9,\xF0\x9F\x98\x80" "1,2,3,4,\"... is not valid JSON"sv},
        {"[1,2,3,4,5,6,7,8,9,10,11,12,1\xF0\x9F\x98\x80]"sv, "Expected ',' or ']' after array element in JSON at position 29"sv},
        {"[\"\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\",\xF0\x9F\x98\x80]"sv, "Unexpected token '\xEF\xBF\xBD', \"[\"\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\",\xF0\x9F\x98\x80]\" is not valid JSON"sv},
        {"\xC3\xA9"sv, "Unexpected token '\xC3\xA9', \"\xC3\xA9\" is not valid JSON"sv},
        {"\xC3\xA9\xC3\xA9"sv, "Unexpected token '\xC3\xA9', \"\xC3\xA9\xC3\xA9\" is not valid JSON"sv},
        {"{\"a\":\"\xE2\x82\xAC\"}\xE2\x82\xAC"sv, "Unexpected non-whitespace character after JSON at position 9"sv},
        {"{\"\xE5\x90\x8D\xE5\x89\x8D\":\"\xE5\x80\xA4\"} x"sv, "Unexpected non-whitespace character after JSON at position 11"sv},
        {"\xFF"sv, "Unexpected token '\xEF\xBF\xBD', \"\xEF\xBF\xBD\" is not valid JSON"sv},
        {"\"\xFF\"x"sv, "Unexpected non-whitespace character after JSON at position 3"sv},
        {"[\"\xC3\",x]"sv, "Unexpected token 'x', \"[\"\xEF\xBF\xBD\",x]\" is not valid JSON"sv},
        {"[\"\xE2\x82\",x]"sv, "Unexpected token 'x', \"[\"\xEF\xBF\xBD\",x]\" is not valid JSON"sv},
        {"[\"\xF0\x9F\x98\",x]"sv, "Unexpected token 'x', \"[\"\xEF\xBF\xBD\",x]\" is not valid JSON"sv},
        {"[\"\xED\xA0\x80\",x]"sv, "Unexpected token 'x', \"[\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\",x]\" is not valid JSON"sv},
        {"[\"\xC0\xAF\",x]"sv, "Unexpected token 'x', \"[\"\xEF\xBF\xBD\xEF\xBF\xBD\",x]\" is not valid JSON"sv},
        {"[\"\xF4\x90\x80\x80\",x]"sv, "Unexpected token 'x', \"[\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\",x]\" is not valid JSON"sv},
        {"[\"\xF8\x88\x80\x80\x80\",x]"sv, "Unexpected token 'x', \"[\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\",x]\" is not valid JSON"sv},
        {"[\"\x80\x80\",x]"sv, "Unexpected token 'x', \"[\"\xEF\xBF\xBD\xEF\xBF\xBD\",x]\" is not valid JSON"sv},
        {"\xC3"sv, "Unexpected token '\xEF\xBF\xBD', \"\xEF\xBF\xBD\" is not valid JSON"sv},
        {"[1,\xE2\x82]"sv, "Unexpected token '\xEF\xBF\xBD', \"[1,\xEF\xBF\xBD]\" is not valid JSON"sv},
        {"{\"a\":\"\xFF\xFE\"} 1"sv, "Unexpected non-whitespace character after JSON at position 11"sv},
        {"\"ok\xE2\x82\xAC\xE2\x82\"1"sv, "Unexpected non-whitespace character after JSON at position 6"sv},
    });
}

TEST(v8_json_syntax_error, deep_nesting_is_iterative) {
    constexpr std::size_t depth = 200000;
    const std::string open_arrays = repeat("[", depth);
    const std::string close_arrays = repeat("]", depth);

    EXPECT_EQ(v8_json_syntax_error(open_arrays), "Unexpected end of JSON input");
    EXPECT_EQ(v8_json_syntax_error(open_arrays + close_arrays), std::nullopt);
    EXPECT_EQ(v8_json_syntax_error(repeat("{\"a\":", depth) + "1" + repeat("}", depth)), std::nullopt);
    EXPECT_EQ(v8_json_syntax_error(repeat("{\"a\":[", depth) + repeat("]}", depth)), std::nullopt);
    EXPECT_EQ(v8_json_syntax_error(open_arrays + repeat("]", depth - 1)),
              "Expected ',' or ']' after array element in JSON at position 399999");
    EXPECT_EQ(v8_json_syntax_error(open_arrays + close_arrays + "]"),
              "Unexpected non-whitespace character after JSON at position 400000");
    EXPECT_EQ(v8_json_syntax_error(open_arrays + "x" + close_arrays),
              "Unexpected token 'x', ...\"[[[[[[[[[[x]]]]]]]]]\"... is not valid JSON");
}

TEST(v8_json_syntax_error, one_megabyte_inputs_are_fast) {
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(v8_json_syntax_error(repeat("[", 1 << 20)), "Unexpected end of JSON input");
    EXPECT_EQ(v8_json_syntax_error(repeat("{", 1 << 20)), "Expected property name or '}' in JSON at position 1");
    EXPECT_EQ(v8_json_syntax_error("[" + repeat("\"\xF0\x9F\x98\x80\",", 1 << 16) + "1]"), std::nullopt);
    EXPECT_EQ(v8_json_syntax_error("\"" + repeat("a", 1 << 20)),
              "Unterminated string in JSON at position " + std::to_string((1 << 20) + 1));
    const auto elapsed = std::chrono::steady_clock::now() - start;
    // Generous bound: a quadratic implementation would take minutes here, a linear one milliseconds.
    EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(utf8_decode_lossy, replaces_ill_formed_sequences_as_node_does) {
    using happy::json::utf8_decode_lossy;
    EXPECT_EQ(utf8_decode_lossy("plain ascii"), "plain ascii");
    EXPECT_EQ(utf8_decode_lossy("caf\xC3\xA9 \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xF0\x9F\x98\x80");  // well-formed: unchanged
    // A lone continuation byte and a stray lead byte: one U+FFFD each (Buffer.from([0x86]).toString()).
    EXPECT_EQ(utf8_decode_lossy("{\"tag\":\"\x86" "eed\"}"), "{\"tag\":\"\xEF\xBF\xBD" "eed\"}");
    // A truncated 3-byte sequence is one maximal subpart: one U+FFFD, then the next byte decoded afresh.
    EXPECT_EQ(utf8_decode_lossy("\xE2\x82" "A"), "\xEF\xBF\xBD" "A");
    // Encoded surrogates are ill-formed: each byte not part of a valid prefix is its own U+FFFD.
    EXPECT_EQ(utf8_decode_lossy("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}
