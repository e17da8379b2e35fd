/// @file
/// Authentication: Ed25519 challenge login, terminal (CLI) pairing and account (device-linking) pairing.
/// Upstream: packages/happy-server/sources/app/api/routes/authRoutes.ts.
#pragma once
#include "core/app/module.hpp"

namespace happy::mod::auth {

class auth_module final : public module {
public:
    std::vector<std::string> migrations() const override { return {"0001_auth"}; }
    void setup(module_context& ctx) override;
};

}  // namespace happy::mod::auth
