/// @file
/// The account's feed: GET /v1/feed (cursor "0-<counter>", newest first). Items are posted by other modules
/// (the friend routes: requests and acceptances) through feed_store.hpp / feed_events.hpp, which also emit the
/// `new-feed-post` update. Needs the auth module (account table, seq). Upstream:
/// packages/happy-server/sources/app/api/routes/feedRoutes.ts and sources/app/feed/*.
#pragma once
#include "core/app/module.hpp"

namespace happy::mod::feed {

class feed_module final : public module {
public:
    std::vector<std::string> migrations() const override { return {"0011_feed"}; }
    void setup(module_context& ctx) override;
};

}  // namespace happy::mod::feed
