/// @file
/// Sessions and their messages: REST (upstream routes/sessionRoutes.ts, routes/v3SessionRoutes.ts) and the
/// session socket events (upstream api/socket/sessionUpdateHandler.ts). Needs the auth module (account seq).
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/app/module.hpp"

namespace happy::mod::sessions {

class sessions_module final : public module {
public:
    sessions_module();
    ~sessions_module() override;
    std::vector<std::string> migrations() const override {
        return {"0002_sessions", "0015_sessions_list_index", "0017_session_list_version"};
    }
    std::string_view config_schema() const override;
    /// session-activity-flush: batched lastActiveAt writes of session heartbeats (upstream sessionCache.ts, every
    /// 5 s); session-inactivity-sweep: sessions idle for 10 minutes become inactive (upstream presence/timeout.ts,
    /// at start-up and then every minute).
    std::vector<job_decl> jobs() const override;
    void setup(module_context& ctx) override;
    /// Writes the heartbeats still queued (upstream activityCache.shutdown()).
    boost::asio::awaitable<void> stop() override;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace happy::mod::sessions
