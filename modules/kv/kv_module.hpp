/// @file
/// Per-account key-value store: GET /v1/kv/:key, GET /v1/kv (prefix, limit), POST /v1/kv/bulk and the atomic,
/// versioned batch mutation POST /v1/kv, which emits one `kv-batch-update` to the account's apps. Needs the auth
/// module (seq). Upstream: packages/happy-server/sources/app/api/routes/kvRoutes.ts and sources/app/kv/*.
#pragma once
#include "core/app/module.hpp"

namespace happy::mod::kv {

class kv_module final : public module {
public:
    std::vector<std::string> migrations() const override { return {"0005_kv"}; }
    void setup(module_context& ctx) override;
};

}  // namespace happy::mod::kv
