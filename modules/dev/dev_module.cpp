#include "modules/dev/dev_module.hpp"

#include <unistd.h>

#include <boost/json.hpp>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <mutex>

#include "core/log/log.hpp"
#include "core/util/time.hpp"

namespace happy::mod::dev {

namespace json = boost::json;
namespace v = validate;
using http::response;

struct dev_module::impl {
    std::mutex mu;
    std::FILE* file = nullptr;
    std::string path;
    int pid = 0;
    std::string hostname;
    ~impl() {
        if (file) {
            std::fclose(file);
        }
    }
};

namespace {

std::tm local_tm(std::int64_t ms) {
    std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    ::localtime_r(&t, &tm);
    return tm;
}

/// log.ts formatLocalTime: HH:MM:ss.mmm in local time.
std::string local_time(std::int64_t ms) {
    auto tm = local_tm(ms);
    return fmt::format("{:02}:{:02}:{:02}.{:03}", tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

/// pino level numbers; devRoutes.ts maps the client's level with `level.toLowerCase()`.
int level_number(std::string_view level) {
    std::string l(level);
    for (auto& c : l) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (l == "error") {
        return 50;
    }
    if (l == "warn" || l == "warning") {
        return 40;
    }
    if (l == "debug") {
        return 20;
    }
    return 30;
}

boost::asio::awaitable<response> post_log(dev_module::impl& m, http::request& req) {
    const auto& b = req.body.as_object();
    std::string platform;
    const auto* p = b.if_contains("platform");
    if (p && p->is_string()) {
        platform = std::string(p->get_string());
    }
    std::string line = dev_log_line(b.at("level").as_string(), b.at("message").as_string(), b.at("source").as_string(),
                                    p && p->is_string() ? &platform : nullptr, b.at("timestamp").as_string(), now_ms(),
                                    m.pid, m.hostname);
    line += '\n';
    {
        // A few hundred bytes per call to a local file: appended inline, serialised so lines never interleave.
        std::lock_guard lock(m.mu);
        if (m.file) {
            std::fwrite(line.data(), 1, line.size(), m.file);
            std::fflush(m.file);
        }
    }
    co_return response::json(json::object{{"success", true}});
}

}  // namespace

std::string dev_log_line(std::string_view level, std::string_view message, std::string_view source,
                         const std::string* platform, std::string_view timestamp, std::int64_t now_ms, int pid,
                         std::string_view hostname) {
    std::string lt = json::serialize(json::string(local_time(now_ms)));
    std::string out = fmt::format(R"({{"level":{},"time":{},"localTime":{},"pid":{},"hostname":{},"source":{})",
                                  level_number(level), now_ms, lt, pid, json::serialize(json::string(hostname)),
                                  json::serialize(json::string(source)));
    if (platform) {
        out += R"(,"platform":)" + json::serialize(json::string(*platform));
    }
    out += R"(,"timestamp":)" + json::serialize(json::string(timestamp));
    out += R"(,"localTime":)" + lt;
    out += R"(,"msg":)" + json::serialize(json::string(message)) + "}";
    return out;
}

std::string dev_log_file_name(std::int64_t now_ms) {
    auto tm = local_tm(now_ms);
    return fmt::format("{:02}-{:02}-{:02}-{:02}-{:02}.log", tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                       tm.tm_sec);
}

dev_module::dev_module() : impl_(std::make_unique<impl>()) {}
dev_module::~dev_module() = default;

std::string_view dev_module::config_schema() const {
    return R"({"type": "object", "additionalProperties": false, "properties": {
        "enabled": {"type": "boolean", "default": false,
                    "description": "Serve the dev logging route (env DANGEROUSLY_LOG_TO_SERVER_FOR_AI_AUTO_DEBUGGING)."},
        "log_dir": {"type": "string", "minLength": 1, "default": ".logs",
                    "description": "Directory of the log file, relative to data_dir unless absolute (upstream: ./.logs in its working directory)."}
    }})";
}

std::vector<config::env_binding> dev_module::env_bindings() const {
    // Upstream devRoutes.ts/log.ts: any non-empty value turns the dev logging route on.
    return {{"DANGEROUSLY_LOG_TO_SERVER_FOR_AI_AUTO_DEBUGGING", "modules.dev.enabled", "flag"}};
}

void dev_module::setup(module_context& ctx) {
    auto& m = *impl_;
    m.pid = static_cast<int>(::getpid());
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0) {
        m.hostname = host;
    }
    // log.ts: the directory and the file name are fixed once at start-up; a failure leaves the route answering
    // success without writing (upstream's "file logger unavailable" branch).
    // Under data_dir unless absolute: upstream's ./.logs is relative to the working directory, which is / under
    // systemd and in the Docker image (not writable there, or not where anyone would look).
    std::filesystem::path dir(std::string(ctx.config().at("log_dir").as_string()));
    if (dir.is_relative()) {
        dir = std::filesystem::path(ctx.settings().data_dir) / dir;
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    m.path = (dir / dev_log_file_name(now_ms())).string();
    m.file = ec ? nullptr : std::fopen(m.path.c_str(), "a");
    if (m.file) {
        log::warn("remote debugging logs enabled", {{"file", m.path}});
    } else {
        log::error("remote debugging log file cannot be opened", {{"file", m.path}});
    }

    ctx.add_route({
        .method = http::verb::post,
        .path = "/logs-combined-from-cli-and-mobile-for-simple-ai-debugging",
        .auth = http::auth_mode::none,
        .body = v::object({{"timestamp", v::string()},
                           {"level", v::string()},
                           {"message", v::string()},
                           {"messageRawObject", v::any().optional()},
                           {"source", v::enumeration({"mobile", "cli"})},
                           {"platform", v::string().optional()}}),
        .fn = [&m](http::request& req) { return post_log(m, req); },
    });
}

}  // namespace happy::mod::dev
