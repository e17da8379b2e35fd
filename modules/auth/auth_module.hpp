/// @file
/// Authentication: Ed25519 challenge login, terminal (CLI) pairing and account (device-linking) pairing.
/// Upstream: packages/happy-server/sources/app/api/routes/authRoutes.ts.
#pragma once
#include "core/app/module.hpp"
#include "core/events/types.hpp"

namespace happy::mod::auth {

class auth_module final : public module {
public:
    std::vector<std::string> migrations() const override { return {"0001_auth", "0016_account_admin"}; }
    std::vector<job_decl> jobs() const override;
    void setup(module_context& ctx) override;
    /// Loads the disabled and deleted accounts before the first request is served.
    boost::asio::awaitable<void> start() override;

private:
    db::database* db_ = nullptr;
    happy::auth::token_service* tokens_ = nullptr;
    events::emitter* events_ = nullptr;
};

}  // namespace happy::mod::auth
