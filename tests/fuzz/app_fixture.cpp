#include "tests/fuzz/app_fixture.hpp"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "core/app/bootstrap.hpp"
#include "core/app/module_context_impl.hpp"
#include "core/app/registry.hpp"
#include "core/auth/token_service.hpp"
#include "core/config/config.hpp"
#include "core/db/database.hpp"
#include "core/events/hub.hpp"
#include "core/files/file_store.hpp"
#include "core/log/log.hpp"
#include "core/socketio/server.hpp"
#include "core/util/resources.hpp"
#include "modules/auth/auth_store.hpp"

namespace happy::fuzz {

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

/// What the fixture changes from the default configuration: its own directory, a fixed secret, no log output,
/// no fsync, and outbound services pointed at a closed local port (a request never leaves the machine or waits).
std::string fixture_config(const fs::path& dir) {
    json::object c{
        {"data_dir", dir.string()},
        {"auth", {{"master_secret", "fuzz master secret"}}},
        {"log", {{"level", "off"}, {"requests", false}}},
        {"storage", {{"sqlite", {{"synchronous", "off"}, {"connections", 1}}}}},
        {"modules",
         {{"push", {{"expo_url", "http://127.0.0.1:9/push"}, {"timeout_ms", 100}, {"retries", 0}}},
          {"connect", {{"github", {{"oauth_url", "http://127.0.0.1:9/oauth"}, {"api_url", "http://127.0.0.1:9/api"}}}}},
          {"voice",
           {{"elevenlabs_url", "http://127.0.0.1:9/convai"}, {"revenuecat_url", "http://127.0.0.1:9/revenuecat"}}}}},
    };
    return json::serialize(c);
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
    for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
        s.replace(pos, from.size(), to);
    }
}

}  // namespace

struct app_fixture::impl {
    fs::path dir;
    asio::io_context ioc{1};
    registry reg;
    std::vector<std::pair<std::string, std::unique_ptr<module>>> modules;
    std::vector<declared_job> jobs;  ///< bound by the modules' setup(); no scheduler runs them here
    json::object cfg;
    server_settings settings;
    std::unique_ptr<auth::token_service> tokens;
    std::unique_ptr<db::database> database;
    std::unique_ptr<files::file_store> file_store;
    std::unique_ptr<bus::bus> cluster_bus;
    std::unique_ptr<socketio::server> sio;
    std::unique_ptr<events::hub> hub;
    http::router router;
    std::unique_ptr<http::pipeline> pipe;

    template <class T>
    T run(asio::awaitable<T> a) {
        std::optional<T> out;
        std::exception_ptr error;
        asio::co_spawn(ioc, std::move(a), [&](std::exception_ptr e, T v) {
            error = e;
            out = std::move(v);
        });
        while (!out && !error) {
            ioc.restart();
            ioc.run_one();
        }
        if (error) {
            std::rethrow_exception(error);
        }
        return std::move(*out);
    }
    void run(asio::awaitable<void> a) {
        bool done = false;
        std::exception_ptr error;
        asio::co_spawn(ioc, std::move(a), [&](std::exception_ptr e) {
            error = e;
            done = true;
        });
        while (!done) {
            ioc.restart();
            ioc.run_one();
        }
        if (error) {
            std::rethrow_exception(error);
        }
    }
};

app_fixture& app_fixture::get() {
    static app_fixture f;
    return f;
}

app_fixture::app_fixture() : impl_(std::make_unique<impl>()) {
    auto& m = *impl_;
    m.dir = fs::temp_directory_path() / ("happy-fuzz-" + std::to_string(::getpid()));
    fs::remove_all(m.dir);
    fs::create_directories(m.dir);

    // The parts, configuration and storage through the server's own start-up stages (core/app/bootstrap.hpp).
    app_config parts = collect_parts();
    fs::path cfg_file = m.dir / "config.json";
    std::ofstream(cfg_file) << fixture_config(m.dir);
    parts.cfg = load_declared_config(parts, {}, cfg_file.string());
    check_settings(parts);
    m.cfg = parts.cfg;
    log::configure(log::level::off, log::format::console);
    m.settings.data_dir = m.dir.string();

    m.tokens = std::make_unique<auth::token_service>(config::get_string(m.cfg, "auth.master_secret"));
    m.database = open_storage(parts, m.dir.string());
    for (auto& lm : parts.modules) {
        m.modules.emplace_back(lm.name, std::move(lm.impl));
    }
    m.reg = std::move(parts.reg);
    m.jobs = std::move(parts.jobs);
    file_store_options fo{m.dir.string(), config::at(m.cfg, "files.local").as_object()};
    m.file_store = (*m.reg.file_stores().find("local"))(fo);
    m.settings.files_public_base = m.file_store->public_base_url();
    m.cluster_bus = (*m.reg.buses().find("local"))(bus_options{});
    m.sio = std::make_unique<socketio::server>();
    m.hub = std::make_unique<events::hub>(*m.sio, *m.tokens, events::rpc_options{}, m.cluster_bus.get());
    const auto& sections = config::at(m.cfg, "modules").as_object();
    for (auto& [name, mod] : m.modules) {
        const auto& section = sections.at(name).as_object();
        if (!section.at("enabled").as_bool()) {
            continue;
        }
        module_context_impl ctx(name, section, *m.database, *m.tokens, *m.file_store, m.settings, m.router, *m.hub,
                                m.jobs);
        mod->setup(ctx);
    }
    m.hub->install();
    m.pipe = std::make_unique<http::pipeline>(m.router, *m.tokens);
    m.run(m.cluster_bus->start(m.ioc.get_executor()));
    for (auto& [name, mod] : m.modules) {
        if (sections.at(name).at("enabled").as_bool()) {
            m.run(mod->start());
        }
    }

    m.database->write_sync([&](db::tx& t) {
        account_a = mod::auth::account_upsert(t, std::string(64, 'a'), 1);
        account_b = mod::auth::account_upsert(t, std::string(64, 'b'), 1);
    });
    token_a = m.tokens->mint(account_a);
    token_b = m.tokens->mint(account_b);
    reseed();
}

app_fixture::~app_fixture() {
    // The process is ending (static destruction): only the files are worth cleaning up. Stopping the modules
    // cleanly would need the io_context to run again, which is of no use to a fuzzer.
    std::error_code ec;
    fs::remove_all(impl_->dir, ec);
    std::_Exit(0);
}

http::response app_fixture::handle(http::incoming in) {
    return impl_->run(
        [](const http::pipeline& p, http::incoming in) -> asio::awaitable<http::response> {
            try {
                co_return co_await p.handle(in);
            } catch (const std::exception&) {
                co_return http::response::internal_error();  // what server.cpp answers
            }
        }(*impl_->pipe, std::move(in)));
}

const http::router& app_fixture::router() const { return impl_->router; }
const http::pipeline& app_fixture::pipeline() const { return *impl_->pipe; }

std::string app_fixture::expand(std::string_view text) const {
    std::string s(text);
    if (s.find('@') == std::string::npos) {
        return s;
    }
    // Longest placeholders first (@TA before @A).
    replace_all(s, "@TA", token_a);
    replace_all(s, "@TB", token_b);
    replace_all(s, "@A", account_a);
    replace_all(s, "@B", account_b);
    replace_all(s, "@S", session_id);
    replace_all(s, "@M", machine_id);
    replace_all(s, "@R", artifact_id);
    return s;
}

std::string app_fixture::fill_path(const http::route& r) const {
    std::string out;
    std::string_view p = r.path;
    bool artifact = p.starts_with("/v1/artifacts/"), machine = p.starts_with("/v1/machines/"),
         user = p.starts_with("/v1/user/");
    std::size_t i = 0;
    while (i < p.size()) {
        if (p[i] == ':' && i > 0 && p[i - 1] == '/') {
            std::size_t end = p.find('/', i);
            std::string_view name = p.substr(i + 1, end == std::string_view::npos ? std::string_view::npos : end - i - 1);
            if (name == "sessionId") {
                out += session_id;
            } else if (name == "machineId" || (name == "id" && machine)) {
                out += machine_id;
            } else if (name == "id" && artifact) {
                out += artifact_id;
            } else if (name == "id" && user) {
                out += account_b;
            } else {
                out += "fuzz";  // keys, tokens, vendors, file names: any value reaches the handler
            }
            i = end == std::string_view::npos ? p.size() : end;
        } else if (p[i] == '*') {
            out += "fuzz";
            ++i;
        } else {
            out += p[i++];
        }
    }
    return out;
}

void app_fixture::reseed() {
    auto call = [&](std::string method, std::string target, std::string body) {
        http::incoming in;
        in.method = std::move(method);
        in.target = target;
        in.headers = {{"authorization", "Bearer " + token_a}, {"content-type", "application/json"}};
        in.body = std::move(body);
        in.body_declared = true;
        auto res = handle(std::move(in));
        if (res.status != 200) {
            throw std::runtime_error("fuzz fixture: seeding " + target + " answered " +
                                     std::to_string(res.status) + " " + std::string(res.text()));
        }
        return json::parse(res.text());
    };
    auto s = call("POST", "/v1/sessions", R"({"tag":"fuzz-seed","metadata":"bWV0YQ=="})");
    session_id = std::string(s.at("session").at("id").as_string());
    call("POST", "/v1/machines", R"({"id":"fuzz-machine","metadata":"bWV0YQ=="})");
    machine_id = "fuzz-machine";
    artifact_id = "f0f0f0f0-0000-4000-8000-000000000001";
    call("POST", "/v1/artifacts",
         R"({"id":")" + artifact_id + R"(","header":"aGVhZA==","body":"Ym9keQ==","dataEncryptionKey":"a2V5a2V5"})");
}

}  // namespace happy::fuzz
