/// @file
/// Token/cost usage: the CLI's `usage-report` socket event (upsert per account/session/key, `usage` ephemeral to
/// the apps) and POST /v1/usage/query (per-hour/day sums). Upstream: packages/happy-server/sources/app/api/socket/
/// usageHandler.ts and sources/app/api/routes/accountRoutes.ts. Needs the auth and sessions tables.
#pragma once
#include <memory>

#include "core/app/module.hpp"

namespace happy::mod::usage {

class usage_module final : public module {
public:
    usage_module();
    ~usage_module() override;
    std::vector<std::string> migrations() const override { return {"0008_usage"}; }
    void setup(module_context& ctx) override;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace happy::mod::usage
