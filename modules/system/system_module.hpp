/// @file
/// The banner the apps probe (`GET /`), the health check (`GET /health`), and, when `static_dir` is set, the Happy
/// web app served from that directory (modules/system/webapp.hpp) with `GET /` answering by content negotiation.
/// Upstream: sources/app/api/api.ts, sources/app/api/utils/enableMonitoring.ts, sources/standalone.ts.
#pragma once
#include <chrono>
#include <memory>

#include "core/app/module.hpp"

namespace happy::mod::system {

class webapp;

class system_module final : public module {
public:
    system_module();
    ~system_module() override;
    std::string_view config_schema() const override;
    std::vector<config::env_binding> env_bindings() const override;
    void check_config(const boost::json::object& section) const override;
    void setup(module_context& ctx) override;

private:
    std::shared_ptr<webapp> webapp_;
};

}  // namespace happy::mod::system
