/// @file
/// Connecting external accounts: GitHub (OAuth params and callback, App webhook, disconnect) and vendor API
/// tokens (OpenAI, Anthropic, Gemini) stored encrypted at rest with upstream's key tree, so that a database
/// shared with upstream (same HANDY_MASTER_SECRET) reads the same. Needs the auth module (account, seq).
/// Upstream: sources/app/api/routes/connectRoutes.ts, sources/app/github/*, sources/modules/github.ts,
/// sources/modules/encrypt.ts.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/app/module.hpp"

namespace happy::mod::connect {

struct connect_state;

class connect_module final : public module {
public:
    connect_module();
    ~connect_module() override;
    std::vector<std::string> migrations() const override { return {"0012_connect"}; }
    std::string_view config_schema() const override;
    std::vector<config::env_binding> env_bindings() const override;
    void check_config(const boost::json::object& section) const override;
    void setup(module_context& ctx) override;

private:
    std::unique_ptr<connect_state> state_;
};

}  // namespace happy::mod::connect
