/// @file
/// Remote debug logging: POST /logs-combined-from-cli-and-mobile-for-simple-ai-debugging appends the CLI's and the
/// app's log lines to one file for AI-assisted debugging. Off by default; on with `modules.dev.enabled` or upstream's
/// env DANGEROUSLY_LOG_TO_SERVER_FOR_AI_AUTO_DEBUGGING (any non-empty value). Disabled, the route is a 404.
/// Upstream: packages/happy-server/sources/app/api/routes/devRoutes.ts and sources/utils/log.ts.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "core/app/module.hpp"

namespace happy::mod::dev {

class dev_module final : public module {
public:
    dev_module();
    ~dev_module() override;
    std::string_view config_schema() const override;
    std::vector<config::env_binding> env_bindings() const override;
    void setup(module_context& ctx) override;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

/// One line as upstream's pino file logger writes it (without the trailing newline):
/// {"level":30,"time":…,"localTime":"HH:MM:ss.mmm","pid":…,"hostname":…,"source":…,"platform":…,"timestamp":…,
///  "localTime":…,"msg":…}. `platform` is left out when absent; `localTime` appears twice, as upstream's does.
std::string dev_log_line(std::string_view level, std::string_view message, std::string_view source,
                         const std::string* platform, std::string_view timestamp, std::int64_t now_ms, int pid,
                         std::string_view hostname);

/// `<MM-DD-HH-mm-ss>.log` in local time, the name upstream gives the file once at start-up.
std::string dev_log_file_name(std::int64_t now_ms);

}  // namespace happy::mod::dev
