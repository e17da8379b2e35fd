/// @file
/// Access keys (an opaque client string per account, machine and session): GET/POST/PUT
/// /v1/access-keys/:sessionId/:machineId and the socket event access-key-get. No updates are emitted.
/// Upstream: packages/happy-server/sources/app/api/routes/accessKeysRoutes.ts and
/// sources/app/api/socket/accessKeyHandler.ts. Its table references the sessions and machines tables and is
/// emptied by their deletes through ON DELETE CASCADE.
#pragma once
#include "core/app/module.hpp"

namespace happy::mod::access_keys {

class access_keys_module final : public module {
public:
    std::vector<std::string> migrations() const override { return {"0006_access_keys"}; }
    void setup(module_context& ctx) override;
};

}  // namespace happy::mod::access_keys
