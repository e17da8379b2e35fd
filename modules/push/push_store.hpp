/// @file
/// Storage functions of the push module (callable without sockets). Upstream:
/// packages/happy-server/sources/app/api/routes/pushRoutes.ts (token routes) and sources/app/push/pushDispatch.ts.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/db/query.hpp"

namespace happy::mod::push {

struct push_token {
    std::string id;
    std::string token;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
};

/// Registers a token for the account; an existing (account, token) row only gets updatedAt = now.
void push_token_upsert(db::tx& t, std::string_view account_id, std::string_view token, std::int64_t now);

/// Deletes the account's rows with this token (idempotent). Returns how many were deleted.
int push_token_delete(db::tx& t, std::string_view account_id, std::string_view token);

/// Deletes one row by id (a token Expo reported as DeviceNotRegistered).
void push_token_delete_by_id(db::tx& t, std::string_view id);

/// The account's tokens, newest first (createdAt desc).
std::vector<push_token> push_token_list(db::tx& t, std::string_view account_id);

/// True when the session exists and belongs to the account.
bool push_session_owned(db::tx& t, std::string_view account_id, std::string_view session_id);

}  // namespace happy::mod::push
