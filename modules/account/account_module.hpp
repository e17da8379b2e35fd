/// @file
/// The caller's own account: GET /v1/account/profile, GET and POST /v1/account/settings (versioned, with the
/// `update-account` update to the apps). Upstream: packages/happy-server/sources/app/api/routes/accountRoutes.ts.
/// Needs the auth module (its `account` table and the account seq). The profile also reads the connect module's
/// github_user and service_account_token tables (0012_connect, applied even when connect is disabled).
#pragma once
#include "core/app/module.hpp"

namespace happy::mod::account {

class account_module final : public module {
public:
    // No migration of its own: 0001_auth already has the settings, settings_version, name, username and avatar
    // columns of upstream's Account.
    void setup(module_context& ctx) override;
};

}  // namespace happy::mod::account
