/// @file
/// Artifacts (encrypted header/body documents owned by an account): REST list/get/create/update/delete and the
/// socket events artifact-read, artifact-create, artifact-update, artifact-delete. Needs the auth module (seq).
/// Upstream: packages/happy-server/sources/app/api/routes/artifactsRoutes.ts and
/// sources/app/api/socket/artifactUpdateHandler.ts.
#pragma once
#include "core/app/module.hpp"

namespace happy::mod::artifacts {

class artifacts_module final : public module {
public:
    std::vector<std::string> migrations() const override { return {"0004_artifacts"}; }
    void setup(module_context& ctx) override;
};

}  // namespace happy::mod::artifacts
