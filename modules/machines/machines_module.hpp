/// @file
/// Machines (daemons): create-or-load, list, get and delete over REST, plus the daemon's socket events
/// machine-alive, machine-update-metadata and machine-update-state.
/// Upstream: packages/happy-server/sources/app/api/routes/machinesRoutes.ts and
/// sources/app/api/socket/machineUpdateHandler.ts.
#pragma once
#include <memory>

#include "core/app/module.hpp"

namespace happy::mod::machines {

class machines_module final : public module {
public:
    std::vector<std::string> migrations() const override { return {"0003_machines"}; }
    void setup(module_context& ctx) override;
    /// Starts the inactivity sweeper (upstream presence/timeout.ts, machine half): at start-up and then every
    /// minute, machines idle for 10 minutes become inactive and the apps get `machine-activity` false.
    boost::asio::awaitable<void> start() override;
    boost::asio::awaitable<void> stop() override;

    struct sweeper;

private:
    db::database* db_ = nullptr;
    events::emitter* out_ = nullptr;
    std::shared_ptr<sweeper> sweeper_;
};

}  // namespace happy::mod::machines
