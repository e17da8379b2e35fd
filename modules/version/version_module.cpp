#include "modules/version/version_module.hpp"

#include <boost/json.hpp>
#include <cctype>

namespace happy::mod::version {

namespace json = boost::json;
namespace v = validate;
using http::response;

namespace {

constexpr const char* ios_url = "https://apps.apple.com/us/app/happy-claude-code-client/id6748571505";
constexpr const char* android_url = "https://play.google.com/store/apps/details?id=com.ex3ndr.happy";

/// NUMERICIDENTIFIER of node-semver: 0 or a digit string without leading zero, at most MAX_SAFE_INTEGER.
bool numeric_id(std::string_view s, std::size_t& pos, double& out) {
    std::size_t start = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
        ++pos;
    }
    std::size_t len = pos - start;
    if (len == 0 || (len > 1 && s[start] == '0')) {
        return false;
    }
    out = 0;
    for (std::size_t i = start; i < pos; ++i) {
        out = out * 10 + (s[i] - '0');
    }
    return out <= 9007199254740991.0;
}

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; }

}  // namespace

bool version_at_least(std::string_view s, int major, int minor, int patch) {
    if (s.size() > 256) {
        return false;
    }
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
        s.remove_prefix(1);
    }
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
        s.remove_suffix(1);
    }
    if (!s.empty() && (s.front() == 'v' || s.front() == '=')) {
        s.remove_prefix(1);
    }
    std::size_t pos = 0;
    double parts[3];
    for (int i = 0; i < 3; ++i) {
        if (i > 0) {
            if (pos >= s.size() || s[pos] != '.') {
                return false;
            }
            ++pos;
        }
        if (!numeric_id(s, pos, parts[i])) {
            return false;
        }
    }
    bool prerelease = false;
    if (pos < s.size() && s[pos] == '-') {
        // Dot-separated identifiers; numeric ones may not have leading zeros.
        ++pos;
        prerelease = true;
        std::size_t seg_start = pos;
        for (;; ++pos) {
            if (pos == s.size() || s[pos] == '.' || s[pos] == '+') {
                std::string_view seg = s.substr(seg_start, pos - seg_start);
                if (seg.empty()) {
                    return false;
                }
                bool all_digits = true;
                for (char c : seg) {
                    all_digits = all_digits && std::isdigit(static_cast<unsigned char>(c));
                }
                if (all_digits && seg.size() > 1 && seg[0] == '0') {
                    return false;
                }
                if (pos == s.size() || s[pos] == '+') {
                    break;
                }
                seg_start = pos + 1;
            } else if (!ident_char(s[pos])) {
                return false;
            }
        }
    }
    if (pos < s.size() && s[pos] == '+') {
        ++pos;
        std::size_t seg_start = pos;
        for (;; ++pos) {
            if (pos == s.size() || s[pos] == '.') {
                if (pos == seg_start) {
                    return false;
                }
                if (pos == s.size()) {
                    break;
                }
                seg_start = pos + 1;
            } else if (!ident_char(s[pos])) {
                return false;
            }
        }
    }
    if (pos != s.size() || prerelease) {
        return false;  // a prerelease never satisfies a range whose comparators have none
    }
    double want[3] = {static_cast<double>(major), static_cast<double>(minor), static_cast<double>(patch)};
    for (int i = 0; i < 3; ++i) {
        if (parts[i] != want[i]) {
            return parts[i] > want[i];
        }
    }
    return true;
}

std::optional<std::string> version_check(std::string_view platform, std::string_view version) {
    std::string p(platform);
    for (auto& c : p) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (p == "ios") {
        return version_at_least(version, 1, 4, 1) ? std::nullopt : std::optional<std::string>(ios_url);
    }
    if (p == "android") {
        return version_at_least(version, 1, 4, 1) ? std::nullopt : std::optional<std::string>(android_url);
    }
    return std::nullopt;
}

void version_module::setup(module_context& ctx) {
    ctx.add_route({
        .method = http::verb::post,
        .path = "/v1/version",
        .body = v::object({{"platform", v::string()}, {"version", v::string()}, {"app_id", v::string()}}),
        .fn = [](http::request& req) -> boost::asio::awaitable<response> {
            auto url = version_check(req.body.at("platform").as_string(), req.body.at("version").as_string());
            co_return response::json(json::object{{"updateUrl", url ? json::value(*url) : json::value(nullptr)}});
        },
    });
}

}  // namespace happy::mod::version
