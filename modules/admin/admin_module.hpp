/// @file
/// The admin console (not in upstream): a page served by the binary at /admin on the API port, and the JSON API
/// behind it under /admin/api/, protected by the admin token. It shows, live, what the server is doing (counts,
/// ids, timestamps, client versions, memory, CPU, request rates, jobs, warnings) and never user content; it can
/// disable, enable and delete accounts and approve pending registrations (auth.registration "approval").
///
/// Why the API port and not the metrics port: the metrics port is off by default and bound to loopback, and has
/// neither TLS nor authentication (Prometheus scrapes it); the console needs the operator's browser to reach it,
/// over the same HTTPS (server.tls or the reverse proxy) as the app. The token keeps it closed.
#pragma once
#include <memory>

#include "core/app/module.hpp"

namespace happy::mod::admin {

class admin_module final : public module {
public:
    admin_module();
    ~admin_module() override;
    std::string_view config_schema() const override;
    std::vector<config::env_binding> env_bindings() const override;
    /// `happy-server accounts list|disable|enable|delete|pending|approve|reject` (admin_commands.cpp).
    std::vector<command> commands() const override;
    void setup(module_context& ctx) override;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace happy::mod::admin
