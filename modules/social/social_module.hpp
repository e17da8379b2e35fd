/// @file
/// Users and friends: GET /v1/user/:id, GET /v1/user/search, POST /v1/friends/add, POST /v1/friends/remove,
/// GET /v1/friends. Friend requests and acceptances post feed items (and their `new-feed-post` updates) through the
/// feed module's functions; upstream emits no other update for relationship changes (`relationship-updated` is
/// never sent, realtime.md §3.2). Needs the auth and feed modules. Upstream:
/// packages/happy-server/sources/app/api/routes/userRoutes.ts and sources/app/social/*.
#pragma once
#include "core/app/module.hpp"

namespace happy::mod::social {

class social_module final : public module {
public:
    std::vector<std::string> migrations() const override { return {"0010_social"}; }
    void setup(module_context& ctx) override;
};

}  // namespace happy::mod::social
