/// @file
/// Session attachments (upstream routes/attachmentRoutes.ts) and the public local files (`GET /files/*`, upstream
/// api.ts, routed only while the file store keeps the bytes itself, as upstream does only without S3). Blobs live
/// in the file store (core/files) under `sessions/<sid>/attachments/<file>`; there are no database rows.
#pragma once
#include <memory>

#include "core/app/module.hpp"

namespace happy::mod::attachments {

class attachments_module final : public module {
public:
    attachments_module();
    ~attachments_module() override;
    void setup(module_context& ctx) override;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace happy::mod::attachments
