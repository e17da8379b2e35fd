/// @file
/// Push notifications: Expo push token registration (POST/DELETE/GET /v1/push-tokens) and the session-event push
/// (POST /v1/sessions/:sessionId/push-event → ephemeral `session-event` + Expo push unless an app is focused).
/// Upstream: packages/happy-server/sources/app/api/routes/pushRoutes.ts and sources/app/push/*.
/// Needs the auth and sessions tables.
#pragma once
#include <memory>

#include "core/app/module.hpp"

namespace happy::mod::push {

class push_module final : public module {
public:
    push_module();
    ~push_module() override;
    std::vector<std::string> migrations() const override { return {"0009_push"}; }
    std::string_view config_schema() const override;
    void check_config(const boost::json::object& section) const override;
    void setup(module_context& ctx) override;
    /// SIGHUP: timeout_ms, retries and retry_delay_ms (marked reloadable) take effect for the next push.
    void reload(const boost::json::object& section) override;
    boost::asio::awaitable<void> stop() override;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace happy::mod::push
