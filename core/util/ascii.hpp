/// @file
/// ASCII-only text helpers for protocol tokens (header names, schemes, content codings), which are
/// case-insensitive in ASCII only: no locale.
#pragma once
#include <cstddef>
#include <string_view>

namespace happy::util {

constexpr char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

/// `a` and `b` are equal ignoring ASCII case.
constexpr bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) {
            return false;
        }
    }
    return true;
}

}  // namespace happy::util
