/// @file
/// The caller's own account: GET /v1/account/profile, GET and POST /v1/account/settings (versioned, with the
/// `update-account` update to the apps). Upstream: packages/happy-server/sources/app/api/routes/accountRoutes.ts.
/// Needs the auth module (its `account` table and the account seq).
#pragma once
#include "core/app/module.hpp"

namespace happy::mod::account {

class account_module final : public module {
public:
    // No migration of its own: 0001_auth already has the settings, settings_version, name, username and avatar
    // columns of upstream's Account.
    void setup(module_context& ctx) override;
    /// Looks once whether the connect module's tables exist (it may be compiled out): the profile then reads the
    /// linked GitHub profile and the vendors with a stored token.
    boost::asio::awaitable<void> start() override;

private:
    db::database* db_ = nullptr;
    bool with_connect_ = false;
};

}  // namespace happy::mod::account
