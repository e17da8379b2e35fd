/// @file
/// Machines (daemons): create-or-load, list, get and delete over REST, plus the daemon's socket events
/// machine-alive, machine-update-metadata and machine-update-state.
/// Upstream: packages/happy-server/sources/app/api/routes/machinesRoutes.ts and
/// sources/app/api/socket/machineUpdateHandler.ts.
#pragma once
#include <memory>

#include "core/app/module.hpp"

namespace happy::presence {
class activity_cache;
}

namespace happy::mod::machines {

class machines_module final : public module {
public:
    machines_module();
    ~machines_module() override;
    std::vector<std::string> migrations() const override { return {"0003_machines"}; }
    /// machine-activity-flush: batched lastActiveAt writes of machine-alive heartbeats (upstream sessionCache.ts,
    /// every 5 s); machine-inactivity-sweep: machines idle for 10 minutes become inactive and the apps get
    /// `machine-activity` false (upstream presence/timeout.ts, at start-up and then every minute).
    std::vector<job_decl> jobs() const override;
    void setup(module_context& ctx) override;
    /// Writes the heartbeats still queued (upstream activityCache.shutdown()).
    boost::asio::awaitable<void> stop() override;

private:
    db::database* db_ = nullptr;
    events::emitter* out_ = nullptr;
    std::unique_ptr<presence::activity_cache> activity_;
};

}  // namespace happy::mod::machines
