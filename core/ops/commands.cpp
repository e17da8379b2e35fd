#include "core/ops/commands.hpp"

#include <charconv>
#include <fmt/format.h>

namespace happy::ops {

namespace {
bool is_help(std::string_view a) { return a == "--help" || a == "-h"; }
}  // namespace

parsed<backup_options> parse_backup_args(std::span<const std::string_view> args, bool json) {
    backup_options o;
    o.json = json;
    for (auto a : args) {
        if (is_help(a)) {
            return std::monostate{};
        } else if (a == "--include-secret") {
            o.include_secret = true;
        } else if (a == "--force") {
            o.force = true;
        } else if (a == "--json") {
            o.json = true;
        } else if (a.starts_with("-")) {
            return fmt::format("backup: unknown flag {}", a);
        } else if (o.file.empty()) {
            o.file = std::string(a);
        } else {
            return fmt::format("backup: one FILE only (got {} and {})", o.file, a);
        }
    }
    if (o.file.empty()) {
        return std::string("backup: FILE is missing");
    }
    return o;
}

parsed<restore_options> parse_restore_args(std::span<const std::string_view> args, bool json) {
    restore_options o;
    o.json = json;
    for (auto a : args) {
        if (is_help(a)) {
            return std::monostate{};
        } else if (a == "--json") {
            o.json = true;
        } else if (a.starts_with("-")) {
            return fmt::format("restore: unknown flag {}", a);
        } else if (o.file.empty()) {
            o.file = std::string(a);
        } else {
            return fmt::format("restore: one FILE only (got {} and {})", o.file, a);
        }
    }
    if (o.file.empty()) {
        return std::string("restore: FILE is missing");
    }
    return o;
}

parsed<doctor_options> parse_doctor_args(std::span<const std::string_view> args, bool json) {
    doctor_options o;
    o.json = json;
    for (std::size_t i = 0; i < args.size(); ++i) {
        auto a = args[i];
        if (is_help(a)) {
            return std::monostate{};
        } else if (a == "--json") {
            o.json = true;
        } else if (a == "--timeout-ms" || a.starts_with("--timeout-ms=")) {
            std::string_view v;
            if (a.starts_with("--timeout-ms=")) {
                v = a.substr(13);
            } else if (i + 1 < args.size()) {
                v = args[++i];
            }
            long ms = 0;
            auto r = std::from_chars(v.data(), v.data() + v.size(), ms);
            if (r.ec != std::errc() || r.ptr != v.data() + v.size() || ms < 1 || ms > 600000) {
                return fmt::format("doctor: --timeout-ms: expected milliseconds between 1 and 600000, got \"{}\"", v);
            }
            o.timeout = std::chrono::milliseconds(ms);
        } else {
            return fmt::format("doctor: unexpected argument {}", a);
        }
    }
    return o;
}

}  // namespace happy::ops
