/// @file
/// The banner the apps probe (`GET /`) and the health check (`GET /health`).
/// Upstream: sources/app/api/api.ts, sources/app/api/utils/enableMonitoring.ts.
#pragma once
#include "core/app/module.hpp"

namespace happy::mod::system {

class system_module final : public module {
public:
    void setup(module_context& ctx) override;
};

}  // namespace happy::mod::system
