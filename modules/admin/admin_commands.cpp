/// @file
/// `happy-server accounts …`: the admin console's account actions for scripts. They work on the database the
/// configuration names, with or without a server running on it: a running server applies a disable or delete within
/// one `accounts-refresh` period (5 s). SQLite's default `storage.sqlite.exclusive` keeps other processes out of a
/// live database; then use the console, or stop the server first.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <iostream>

#include "core/app/bootstrap.hpp"
#include "core/auth/registration.hpp"
#include "core/files/file_store.hpp"
#include "core/log/log.hpp"
#include "core/util/time.hpp"
#include "modules/admin/admin_module.hpp"
#include "modules/auth/account_admin.hpp"

namespace happy::mod::admin {

namespace json = boost::json;

namespace {

constexpr std::string_view accounts_usage =
    "Usage: happy-server accounts <action> [arguments] [flags]\n"
    "\n"
    "  list [--limit N]     accounts, newest first: id, public key, created, sessions, machines, state\n"
    "  disable ID           refuse the account's tokens and close its connections\n"
    "  enable ID            undo disable\n"
    "  delete ID --yes      delete the account and everything it owns (sessions, messages, machines, files, ...);\n"
    "                       its tokens stay refused. --yes is required: there is no undo\n"
    "  pending              registrations waiting for approval (auth.registration.mode \"approval\")\n"
    "  approve KEY          let KEY (64 hex digits, or base64) create its account at its next sign-in\n"
    "  reject KEY           forget KEY's request\n"
    "\n"
    "A running server applies disable and delete within 5 s (the accounts-refresh job). With SQLite the server\n"
    "keeps other processes out of its database unless storage.sqlite.exclusive is false: use the admin console\n"
    "(/admin) then, or stop the server first. Exit codes: 0 done, 1 not found or failed, 2 bad arguments.\n";

std::string iso(std::int64_t ms) { return ms ? iso8601_ms(ms) : std::string("-"); }

/// The file store the configuration names (delete removes the account's session blobs).
std::unique_ptr<files::file_store> open_files(const app_config& parts, const std::string& data_dir) {
    std::string kind = config::get_string(parts.cfg, "files.kind");
    file_store_options fo;
    fo.data_dir = data_dir;
    if (auto* sec = config::at(parts.cfg, "files").as_object().if_contains(kind); sec && sec->is_object()) {
        fo.config = sec->as_object();
    }
    try {
        return (*parts.reg.file_stores().find(kind))(fo);
    } catch (const std::exception& e) {
        throw startup_error(fmt::format("files: {}", e.what()));
    }
}

int list(db::database& db, const command_args& args, std::int64_t limit) {
    std::vector<auth::account_summary> rows;
    std::int64_t total = 0;
    db.read_sync([&](db::tx& t) {
        rows = auth::account_list(t, limit);
        total = auth::account_count(t);
    });
    if (args.json) {
        json::array out;
        for (const auto& a : rows) {
            out.push_back(json::object{{"id", a.id},
                                       {"publicKey", a.public_key},
                                       {"createdAt", a.created_at},
                                       {"updatedAt", a.updated_at},
                                       {"disabledAt", a.disabled_at ? json::value(*a.disabled_at) : json::value(nullptr)},
                                       {"sessions", a.sessions},
                                       {"machines", a.machines}});
        }
        std::cout << json::serialize(json::object{{"total", total}, {"accounts", std::move(out)}}) << "\n";
        return exit_ok;
    }
    std::cout << fmt::format("{:<26} {:<17} {:<25} {:>8} {:>8}  {}\n", "ID", "PUBLIC KEY", "CREATED", "SESSIONS",
                             "MACHINES", "STATE");
    for (const auto& a : rows) {
        std::cout << fmt::format("{:<26} {:<17} {:<25} {:>8} {:>8}  {}\n", a.id, a.public_key.substr(0, 16) + "…",
                                 iso(a.created_at), a.sessions, a.machines, a.disabled_at ? "disabled" : "active");
    }
    std::cout << fmt::format("{} of {} account(s)\n", rows.size(), total);
    return exit_ok;
}

int pending(db::database& db, const command_args& args) {
    std::vector<auth::registration_request> rows;
    db.read_sync([&](db::tx& t) { rows = auth::registration_request_list(t); });
    if (args.json) {
        json::array out;
        for (const auto& r : rows) {
            out.push_back(json::object{{"publicKey", r.public_key},
                                       {"attempts", r.attempts},
                                       {"createdAt", r.created_at},
                                       {"updatedAt", r.updated_at},
                                       {"approvedAt", r.approved_at ? json::value(*r.approved_at) : json::value(nullptr)}});
        }
        std::cout << json::serialize(json::object{{"requests", std::move(out)}}) << "\n";
        return exit_ok;
    }
    std::cout << fmt::format("{:<64}  {:<25} {:>8}  {}\n", "PUBLIC KEY", "LAST TRY", "ATTEMPTS", "STATE");
    for (const auto& r : rows) {
        std::cout << fmt::format("{:<64}  {:<25} {:>8}  {}\n", r.public_key, iso(r.updated_at), r.attempts,
                                 r.approved_at ? "approved" : "pending");
    }
    return exit_ok;
}

/// Prints the outcome of one action (`{"success":…}` with --json).
int outcome(const command_args& args, bool ok, std::string_view done, std::string_view failed) {
    if (args.json) {
        json::object o{{"success", ok}};
        if (!ok) {
            o["error"] = failed;
        }
        std::cout << json::serialize(o) << "\n";
    } else if (ok) {
        std::cout << done << "\n";
    } else {
        std::cerr << "happy-server: " << failed << "\n";
    }
    return ok ? exit_ok : exit_failed;
}

int command_accounts(command_args& args) {
    auto& rest = args.rest;
    if (rest.empty()) {
        std::cerr << accounts_usage;
        return exit_usage;
    }
    std::string action = rest[0];
    std::int64_t limit = 1000;
    bool yes = false;
    std::vector<std::string> operands;
    for (std::size_t i = 1; i < rest.size(); ++i) {
        if (rest[i] == "--yes") {
            yes = true;
        } else if (rest[i] == "--limit" && i + 1 < rest.size()) {
            limit = std::atoll(rest[++i].c_str());
        } else if (rest[i].starts_with("--")) {
            return report_failure(fmt::format("unknown flag {} (see happy-server accounts --help)", rest[i]), exit_usage);
        } else {
            operands.push_back(rest[i]);
        }
    }
    bool needs_operand = action != "list" && action != "pending";
    bool known = action == "list" || action == "pending" || action == "disable" || action == "enable" ||
                 action == "delete" || action == "approve" || action == "reject";
    if (!known || operands.size() != (needs_operand ? 1u : 0u) || limit <= 0) {
        std::cerr << accounts_usage;
        return exit_usage;
    }
    if (action == "delete" && !yes) {
        return report_failure("delete removes the account and all its data for good; add --yes to confirm", exit_usage);
    }
    std::optional<std::string> key;
    if (action == "approve" || action == "reject") {
        key = happy::auth::public_key_hex_parse(operands[0]);
        if (!key) {
            return report_failure(fmt::format("{}: not a 32-byte public key (64 hex digits or base64)", operands[0]),
                                  exit_usage);
        }
    }
    return run_stages([&] {
        auto parts = load_for_tool(args);
        auto dir = prepare_data_dir(parts.cfg);
        auto database = open_storage(parts, dir);
        int code = exit_ok;
        const std::string id = operands.empty() ? std::string() : operands[0];
        if (action == "list") {
            code = list(*database, args, limit);
        } else if (action == "pending") {
            code = pending(*database, args);
        } else if (action == "disable" || action == "enable") {
            bool found = false;
            database->write_sync([&](db::tx& t) {
                found = action == "disable" ? auth::account_disable(t, id, now_ms()) : auth::account_enable(t, id);
            });
            code = outcome(args, found, fmt::format("account {} {}d", id, action), fmt::format("no account {}", id));
        } else if (action == "delete") {
            auto files = open_files(parts, dir);
            bool found = false;
            std::vector<std::string> sessions;
            database->write_sync([&](db::tx& t) {
                sessions = auth::account_session_ids(t, id);
                found = auth::account_delete(t, id, now_ms());
            });
            if (found) {
                boost::asio::io_context io;
                boost::asio::co_spawn(io, auth::account_files_remove(*files, sessions), boost::asio::detached);
                io.run();
            }
            code = outcome(args, found, fmt::format("account {} deleted ({} sessions)", id, sessions.size()),
                           fmt::format("no account {}", id));
        } else {
            bool done = false;
            database->write_sync([&](db::tx& t) {
                done = action == "approve" ? auth::registration_request_approve(t, *key, now_ms())
                                           : auth::registration_request_delete(t, *key);
            });
            code = outcome(args, done, fmt::format("{} {}d", *key, action),
                           action == "approve" ? fmt::format("{} already has an account", *key)
                                               : fmt::format("no registration request for {}", *key));
        }
        database->close();
        return code;
    });
}

}  // namespace

std::vector<command> admin_module::commands() const {
    return {{"accounts", "list, disable, enable or delete accounts; approve pending registrations", accounts_usage,
             &command_accounts}};
}

}  // namespace happy::mod::admin
