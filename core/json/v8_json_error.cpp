#include "core/json/v8_json_error.hpp"

#include "core/util/utf8.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

// This file is a behavioural port of the error paths of V8 11.3's src/json/json-parser.cc (the version in
// Node.js 20). It does not build any values; it walks the input exactly the way V8's iterative JsonParser
// does, so that the first error is detected at the same cursor position and reported with the same message
// template. The structure (peek/check/expect, the two nested loops of ParseJsonValue, ScanLiteral,
// ParseJsonNumber, ScanJsonString) deliberately mirrors V8 so that it can be compared side by side.

namespace happy::json {
namespace {

// V8 returns this from CurrentCharacter() when the cursor is at the end of the source.
constexpr std::int32_t k_end_of_string = -1;

// JsonParser::kMaxContextCharacters and kMinOriginalSourceLengthForContext.
constexpr std::size_t k_max_context_characters = 10;
constexpr std::size_t k_min_original_source_length_for_context = k_max_context_characters * 2 + 1;

// MessageTemplate texts from V8 11.3 src/common/message-template.h. Each '%' is replaced by one argument.
constexpr std::string_view k_unexpected_eos = "Unexpected end of JSON input";
constexpr std::string_view k_unexpected_token_number = "Unexpected number in JSON at position %";
constexpr std::string_view k_unexpected_token_string = "Unexpected string in JSON at position %";
constexpr std::string_view k_unterminated_string = "Unterminated string in JSON at position %";
constexpr std::string_view k_expected_prop_name_or_rbrace =
    "Expected property name or '}' in JSON at position %";
constexpr std::string_view k_expected_comma_or_rbrack =
    "Expected ',' or ']' after array element in JSON at position %";
constexpr std::string_view k_expected_comma_or_rbrace =
    "Expected ',' or '}' after property value in JSON at position %";
constexpr std::string_view k_unexpected_non_whitespace_character =
    "Unexpected non-whitespace character after JSON at position %";
constexpr std::string_view k_bad_escaped_character = "Bad escaped character in JSON at position %";
constexpr std::string_view k_bad_control_character =
    "Bad control character in string literal in JSON at position %";
constexpr std::string_view k_bad_unicode_escape = "Bad Unicode escape in JSON at position %";
constexpr std::string_view k_no_number_after_minus_sign = "No number after minus sign in JSON at position %";
constexpr std::string_view k_short_string = "\"%\" is not valid JSON";
constexpr std::string_view k_unexpected_token_short_string = "Unexpected token '%', \"%\" is not valid JSON";
constexpr std::string_view k_unexpected_token_surround_string_with_context =
    "Unexpected token '%', ...\"%\"... is not valid JSON";
constexpr std::string_view k_unexpected_token_start_string_with_context =
    "Unexpected token '%', \"%\"... is not valid JSON";
constexpr std::string_view k_unexpected_token_end_string_with_context =
    "Unexpected token '%', ...\"%\" is not valid JSON";
constexpr std::string_view k_expected_colon_after_property_name =
    "Expected ':' after property name in JSON at position %";
constexpr std::string_view k_expected_double_quoted_property_name =
    "Expected double-quoted property name in JSON at position %";
constexpr std::string_view k_exponent_part_missing_number = "Exponent part is missing a number in JSON at position %";
constexpr std::string_view k_unterminated_fractional_number =
    "Unterminated fractional number in JSON at position %";

// V8's JsonToken. Which token the *current character* maps to decides the generic message
// ("Unexpected number/string/end/token"), so the classification must match one_char_json_tokens exactly.
enum class json_token : std::uint8_t {
    number,
    string,
    lbrace,
    rbrace,
    lbrack,
    rbrack,
    true_literal,
    false_literal,
    null_literal,
    whitespace,
    colon,
    comma,
    illegal,
    eos,
};

constexpr json_token one_char_json_token(std::int32_t c) {
    if (c == k_end_of_string) return json_token::eos;
    // Only Latin-1 characters have a table entry in V8; everything above is ILLEGAL.
    if (c < 0 || c > 0xFF) return json_token::illegal;
    switch (c) {
        case '"': return json_token::string;
        case '-':
        case '0': case '1': case '2': case '3': case '4':
        case '5': case '6': case '7': case '8': case '9': return json_token::number;
        case '{': return json_token::lbrace;
        case '}': return json_token::rbrace;
        case '[': return json_token::lbrack;
        case ']': return json_token::rbrack;
        case 't': return json_token::true_literal;
        case 'f': return json_token::false_literal;
        case 'n': return json_token::null_literal;
        case ' ':
        case '\t':
        case '\r':
        case '\n': return json_token::whitespace;
        case ':': return json_token::colon;
        case ',': return json_token::comma;
        default: return json_token::illegal;
    }
}

constexpr bool is_decimal_digit(std::int32_t c) { return c >= '0' && c <= '9'; }

constexpr bool is_hex_digit(std::int32_t c) {
    return is_decimal_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// V8's JsonCharacterFlags "NumberPart": characters that may continue a number literal.
constexpr bool is_number_part(std::int32_t c) {
    return is_decimal_digit(c) || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+';
}

void append_code_point(std::u16string& out, std::uint32_t cp) {
    if (cp >= 0x10000) {
        cp -= 0x10000;
        out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
        out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
        out.push_back(static_cast<char16_t>(cp));
    }
}

// WHATWG UTF-8 decode (what Node's Buffer/StringDecoder 'utf8' do): each maximal subpart of an ill-formed
// sequence becomes one U+FFFD, and the byte that broke the sequence is decoded again from scratch. Getting this
// right matters because every replacement shifts the UTF-16 positions V8 reports.
std::u16string decode_utf8(std::string_view text) {
    std::u16string out;
    out.reserve(text.size());
    const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t size = text.size();
    std::size_t i = 0;
    while (i < size) {
        const unsigned char lead = bytes[i];
        if (lead < 0x80) {
            out.push_back(lead);
            ++i;
            continue;
        }
        int needed = 0;
        std::uint32_t cp = 0;
        unsigned char lower = 0x80;
        unsigned char upper = 0xBF;
        if (lead >= 0xC2 && lead <= 0xDF) {
            needed = 1;
            cp = lead & 0x1Fu;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            needed = 2;
            cp = lead & 0x0Fu;
            if (lead == 0xE0) lower = 0xA0;  // reject overlong forms
            if (lead == 0xED) upper = 0x9F;  // reject encoded surrogates
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            needed = 3;
            cp = lead & 0x07u;
            if (lead == 0xF0) lower = 0x90;  // reject overlong forms
            if (lead == 0xF4) upper = 0x8F;  // reject code points above U+10FFFF
        } else {
            out.push_back(0xFFFD);
            ++i;
            continue;
        }
        std::size_t j = i + 1;
        bool complete = true;
        for (int k = 0; k < needed; ++k) {
            if (j >= size || bytes[j] < lower || bytes[j] > upper) {
                complete = false;
                break;
            }
            cp = (cp << 6) | (bytes[j] & 0x3Fu);
            ++j;
            lower = 0x80;
            upper = 0xBF;
        }
        if (complete) {
            append_code_point(out, cp);
        } else {
            out.push_back(0xFFFD);
        }
        i = j;
    }
    return out;
}

// UTF-16 -> UTF-8; unpaired surrogates become U+FFFD like V8's String::WriteUtf8(REPLACE_INVALID_UTF8).
void append_utf8(std::string& out, std::u16string_view units) {
    auto put = [&out](std::uint32_t cp) { util::append_utf8(out, cp); };
    for (std::size_t i = 0; i < units.size(); ++i) {
        const char16_t unit = units[i];
        if (unit >= 0xD800 && unit <= 0xDBFF && i + 1 < units.size() && units[i + 1] >= 0xDC00 &&
            units[i + 1] <= 0xDFFF) {
            put(0x10000 + ((static_cast<std::uint32_t>(unit) - 0xD800) << 10) + (units[i + 1] - 0xDC00));
            ++i;
        } else if (unit >= 0xD800 && unit <= 0xDFFF) {
            put(0xFFFD);
        } else {
            put(unit);
        }
    }
}

std::string to_utf8(std::u16string_view units) {
    std::string out;
    out.reserve(units.size());
    append_utf8(out, units);
    return out;
}

// V8's MessageFormatter::Format: replaces each '%' with the next argument, in order.
std::string format_message(std::string_view message_template, std::initializer_list<std::string_view> args) {
    std::string out;
    auto arg = args.begin();
    for (const char c : message_template) {
        if (c == '%' && arg != args.end()) {
            out.append(*arg);
            ++arg;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

class v8_json_error_scanner {
public:
    explicit v8_json_error_scanner(std::u16string_view source) : source_(source) {}

    std::optional<std::string> run() {
        if (parse_json_value()) {
            // JsonParser::ParseJson: after the value only whitespace may follow.
            if (!check(json_token::eos)) {
                report_unexpected_token(next_, k_unexpected_non_whitespace_character);
            }
        }
        return std::move(error_);
    }

private:
    enum class container : std::uint8_t { array, object };

    bool is_at_end() const { return cursor_ >= source_.size(); }

    std::int32_t current_character() const { return is_at_end() ? k_end_of_string : source_[cursor_]; }

    std::int32_t next_character() {
        ++cursor_;
        return current_character();
    }

    void skip_whitespace() {
        while (cursor_ < source_.size()) {
            const json_token token = one_char_json_token(source_[cursor_]);
            if (token != json_token::whitespace) {
                next_ = token;
                return;
            }
            ++cursor_;
        }
        next_ = json_token::eos;
    }

    bool check(json_token token) {
        skip_whitespace();
        if (next_ != token) return false;
        ++cursor_;
        return true;
    }

    // V8's Expect(): the explicit message (when given) wins even for EOS, e.g. `{` reports
    // "Expected property name or '}' ... position 1", not "Unexpected end of JSON input".
    bool expect(json_token token, std::optional<std::string_view> message_template = std::nullopt) {
        if (next_ == token) {
            ++cursor_;
            return true;
        }
        report_unexpected_token(next_, message_template);
        return false;
    }

    bool expect_next(json_token token, std::optional<std::string_view> message_template = std::nullopt) {
        skip_whitespace();
        return expect(token, message_template);
    }

    bool is_special_string() const {
        // JSON.parse(undefined), JSON.parse(NaN), JSON.parse({}) ... stringify to these; V8 special-cases them.
        return source_ == u"[object Object]" || source_ == u"undefined" || source_ == u"Infinity" ||
               source_ == u"NaN";
    }

    void report_unexpected_character(std::int32_t c) { report_unexpected_token(one_char_json_token(c)); }

    // JsonParser::ReportUnexpectedToken + LookUpErrorMessageForJsonToken. The position is always the cursor.
    void report_unexpected_token(json_token token, std::optional<std::string_view> message_template = std::nullopt) {
        if (error_) return;  // only the first error counts, like a pending exception in V8
        const std::size_t pos = cursor_;
        const std::string pos_text = std::to_string(pos);
        if (message_template) {
            error_ = format_message(*message_template, {pos_text});
            return;
        }
        switch (token) {
            case json_token::eos:
                error_ = std::string(k_unexpected_eos);
                return;
            case json_token::number:
                error_ = format_message(k_unexpected_token_number, {pos_text});
                return;
            case json_token::string:
                error_ = format_message(k_unexpected_token_string, {pos_text});
                return;
            default:
                break;
        }
        if (is_special_string()) {
            error_ = format_message(k_short_string, {to_utf8(source_)});
            return;
        }
        // The "token" is the single UTF-16 unit under the cursor (half a surrogate pair for astral chars).
        const std::string token_text = to_utf8(source_.substr(pos, 1));
        const std::size_t length = source_.size();
        if (length < k_min_original_source_length_for_context) {
            error_ = format_message(k_unexpected_token_short_string, {token_text, to_utf8(source_)});
            return;
        }
        std::string_view message_template_for_context;
        std::size_t substring_start = 0;
        std::size_t substring_end = length;
        if (pos < k_max_context_characters) {
            message_template_for_context = k_unexpected_token_start_string_with_context;
            substring_end = pos + k_max_context_characters;
        } else if (pos < length - k_max_context_characters) {
            message_template_for_context = k_unexpected_token_surround_string_with_context;
            substring_start = pos - k_max_context_characters;
            substring_end = pos + k_max_context_characters;
        } else {
            message_template_for_context = k_unexpected_token_end_string_with_context;
            substring_start = pos - k_max_context_characters;
        }
        error_ = format_message(
            message_template_for_context,
            {token_text, to_utf8(source_.substr(substring_start, substring_end - substring_start))});
    }

    // JsonParser::ScanLiteral. The first character was already classified by the caller.
    bool scan_literal(std::u16string_view literal) {
        const std::size_t remaining = source_.size() - cursor_;
        if (remaining >= literal.size() && source_.substr(cursor_, literal.size()) == literal) {
            cursor_ += literal.size();
            return true;
        }
        // Report at the first mismatching character, or EOS if the input is a truncated prefix.
        ++cursor_;
        const std::size_t to_compare = std::min(literal.size() - 1, remaining - 1);
        for (std::size_t i = 0; i < to_compare; ++i) {
            if (literal[1 + i] != source_[cursor_]) {
                report_unexpected_character(source_[cursor_]);
                return false;
            }
            ++cursor_;
        }
        report_unexpected_token(json_token::eos);
        return false;
    }

    void advance_to_non_decimal() {
        while (cursor_ < source_.size() && is_decimal_digit(source_[cursor_])) ++cursor_;
    }

    // JsonParser::ParseJsonNumber, error paths only. Note that V8 stops after a leading `0` unless a number
    // part follows; a digit after it ("01") is "Unexpected number" at the digit, anything else ends the number.
    bool scan_number() {
        int sign = 1;
        std::int32_t c = current_character();
        if (c == '-') {
            sign = -1;
            c = next_character();
        }
        if (c == '0') {
            c = next_character();
            if (is_number_part(c)) {
                if (is_decimal_digit(c)) {
                    report_unexpected_token(json_token::number);
                    return false;
                }
            } else if (sign > 0) {
                return true;
            }
        } else {
            // V8 first tries a Smi fast path of at most 9 digits; only "no digit at all" is an error here.
            const std::size_t smi_start = cursor_;
            const std::size_t stop = std::min(cursor_ + 9, source_.size());
            while (cursor_ < stop && is_decimal_digit(source_[cursor_])) ++cursor_;
            if (cursor_ == smi_start) {
                report_unexpected_token(json_token::illegal, k_no_number_after_minus_sign);
                return false;
            }
            if (!is_number_part(current_character())) return true;
            advance_to_non_decimal();
        }
        if (current_character() == '.') {
            c = next_character();
            if (!is_decimal_digit(c)) {
                report_unexpected_token(json_token::illegal, k_unterminated_fractional_number);
                return false;
            }
            advance_to_non_decimal();
        }
        c = current_character();
        if (c == 'e' || c == 'E') {
            c = next_character();
            if (c == '-' || c == '+') c = next_character();
            if (!is_decimal_digit(c)) {
                report_unexpected_token(json_token::illegal, k_exponent_part_missing_number);
                return false;
            }
            advance_to_non_decimal();
        }
        return true;
    }

    // JsonParser::ScanJsonString; the cursor is just past the opening quote. Property keys go through the
    // same routine: V8's index-key fast path rewinds and rescans on anything unusual, so errors are identical.
    bool scan_string() {
        while (true) {
            while (cursor_ < source_.size()) {
                const char16_t c = source_[cursor_];
                if (c == '"' || c == '\\' || c < 0x20) break;
                ++cursor_;
            }
            if (is_at_end()) {
                report_unexpected_token(json_token::illegal, k_unterminated_string);
                return false;
            }
            const char16_t c = source_[cursor_];
            if (c == '"') {
                ++cursor_;
                return true;
            }
            if (c == '\\') {
                const std::int32_t escaped = next_character();
                if (escaped < 0 || escaped > 0xFF) {
                    // V8 falls back to the generic report: EOS -> "Unexpected end", non-Latin-1 -> "Unexpected token".
                    report_unexpected_character(escaped);
                    return false;
                }
                switch (escaped) {
                    case '"':
                    case '\\':
                    case '/':
                    case 'b':
                    case 'f':
                    case 'n':
                    case 'r':
                    case 't':
                        break;
                    case 'u':
                        for (int i = 0; i < 4; ++i) {
                            if (!is_hex_digit(next_character())) {
                                report_unexpected_token(json_token::illegal, k_bad_unicode_escape);
                                return false;
                            }
                        }
                        break;
                    default:
                        report_unexpected_token(json_token::illegal, k_bad_escaped_character);
                        return false;
                }
                ++cursor_;
                continue;
            }
            report_unexpected_token(json_token::illegal, k_bad_control_character);
            return false;
        }
    }

    // Parses `"key" :` after the opening quote of the key has been consumed.
    bool scan_property_key_and_colon(std::optional<std::string_view> colon_message) {
        if (!scan_string()) return false;
        return expect_next(json_token::colon, colon_message);
    }

    // JsonParser::ParseJsonValue: the iterative two-loop structure with an explicit continuation stack.
    bool parse_json_value() {
        std::vector<container> stack;
        while (true) {
            // Produce a value; opening a non-empty object/array pushes a continuation and loops.
            while (true) {
                skip_whitespace();
                bool produced = true;
                switch (next_) {
                    case json_token::string:
                        ++cursor_;
                        if (!scan_string()) return false;
                        break;
                    case json_token::number:
                        if (!scan_number()) return false;
                        break;
                    case json_token::lbrace:
                        ++cursor_;
                        if (check(json_token::rbrace)) break;
                        stack.push_back(container::object);
                        // The first key has its own messages; later keys use different ones (see below).
                        if (!expect_next(json_token::string, k_expected_prop_name_or_rbrace)) return false;
                        if (!scan_property_key_and_colon(k_expected_colon_after_property_name)) return false;
                        produced = false;
                        break;
                    case json_token::lbrack:
                        ++cursor_;
                        if (check(json_token::rbrack)) break;
                        stack.push_back(container::array);
                        produced = false;
                        break;
                    case json_token::true_literal:
                        if (!scan_literal(u"true")) return false;
                        break;
                    case json_token::false_literal:
                        if (!scan_literal(u"false")) return false;
                        break;
                    case json_token::null_literal:
                        if (!scan_literal(u"null")) return false;
                        break;
                    default:
                        report_unexpected_character(current_character());
                        return false;
                }
                if (produced) break;
            }

            // Consume the produced value; closing containers may produce further values for their parents.
            while (true) {
                if (stack.empty()) return true;
                if (stack.back() == container::object) {
                    if (check(json_token::comma)) {
                        if (!expect_next(json_token::string, k_expected_double_quoted_property_name)) return false;
                        // V8 passes no message for the ':' after a non-first key, so the generic lookup applies
                        // ("Unexpected string/number/token ...").
                        if (!scan_property_key_and_colon(std::nullopt)) return false;
                        break;
                    }
                    if (!expect(json_token::rbrace, k_expected_comma_or_rbrace)) return false;
                    stack.pop_back();
                    continue;
                }
                if (check(json_token::comma)) break;
                if (!expect(json_token::rbrack, k_expected_comma_or_rbrack)) return false;
                stack.pop_back();
            }
        }
    }

    std::u16string_view source_;
    std::size_t cursor_ = 0;
    json_token next_ = json_token::eos;
    std::optional<std::string> error_;
};

}  // namespace

std::optional<std::string> v8_json_syntax_error(std::string_view text) {
    const std::u16string source = decode_utf8(text);
    return v8_json_error_scanner(source).run();
}

std::string utf8_decode_lossy(std::string_view text) {
    if (std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
        return std::string(text);
    }
    const std::u16string units = decode_utf8(text);  // never holds a lone surrogate (ill-formed input is U+FFFD)
    std::string out;
    out.reserve(text.size() + 16);
    for (std::size_t i = 0; i < units.size(); ++i) {
        std::uint32_t cp = units[i];
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < units.size()) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (units[i + 1] - 0xDC00);
            ++i;
        }
        util::append_utf8(out, cp);
    }
    return out;
}

}  // namespace happy::json
