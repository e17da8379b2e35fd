/// @file
/// `backup`, `restore` and `doctor`: the command-line entries of core/ops.

#include <iostream>
#include <vector>

#include "core/app/bootstrap.hpp"
#include "core/app/command.hpp"
#include "core/log/log.hpp"
#include "core/ops/commands.hpp"

namespace happy {

namespace {

/// The command's own options, or the exit code when parsing ended it (help, usage error).
template <class Options>
std::variant<Options, int> own_options(const ops::parsed<Options>& p, std::string_view command,
                                       std::string_view usage) {
    if (const auto* e = std::get_if<std::string>(&p)) {
        return report_failure(fmt::format("{} (see happy-server {} --help)", *e, command), exit_usage);
    }
    if (std::holds_alternative<std::monostate>(p)) {
        std::cout << usage;
        return int(exit_ok);
    }
    return std::get<Options>(p);
}

std::vector<std::string_view> views(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

}  // namespace

int command_backup(command_args& args) {
    auto rest = views(args.rest);
    auto o = own_options(ops::parse_backup_args(rest, args.json), "backup", ops::backup_usage);
    if (const int* code = std::get_if<int>(&o)) {
        return *code;
    }
    return run_stages([&] {
        auto parts = load_for_tool(args);
        return ops::run_backup(parts.cfg, parts.reg, std::get<ops::backup_options>(o), std::cout, std::cerr);
    });
}

int command_restore(command_args& args) {
    auto rest = views(args.rest);
    auto o = own_options(ops::parse_restore_args(rest, args.json), "restore", ops::restore_usage);
    if (const int* code = std::get_if<int>(&o)) {
        return *code;
    }
    return run_stages([&] {
        auto parts = load_for_tool(args);
        return ops::run_restore(parts.cfg, parts.reg, std::get<ops::restore_options>(o), std::cout, std::cerr);
    });
}

int command_doctor(command_args& args) {
    auto rest = views(args.rest);
    auto o = own_options(ops::parse_doctor_args(rest, args.json), "doctor", ops::doctor_usage);
    if (const int* code = std::get_if<int>(&o)) {
        return *code;
    }
    return run_stages([&] {
        auto parts = collect_parts();
        ops::doctor_input in;
        in.source = args.config_file ? "file " + *args.config_file : "defaults and environment";
        try {
            // An invalid configuration is the doctor's first finding, not the end of the command.
            load_configuration(parts, args);
            in.cfg = parts.cfg;
        } catch (const config::error& e) {
            in.error = e.what();
        }
        return ops::run_doctor(in, parts.reg, std::get<ops::doctor_options>(o), std::cout);
    });
}

}  // namespace happy
