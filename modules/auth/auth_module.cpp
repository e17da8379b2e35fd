#include "modules/auth/auth_module.hpp"

#include <boost/json.hpp>

#include "core/auth/registration.hpp"
#include "core/auth/token_service.hpp"
#include "core/crypto/base64.hpp"
#include "core/crypto/token.hpp"
#include "core/db/database.hpp"
#include "core/util/time.hpp"
#include "modules/auth/account_admin.hpp"
#include "modules/auth/auth_store.hpp"

namespace happy::mod::auth {

namespace json = boost::json;
namespace v = validate;
using http::response;

namespace {

/// privacy-kit's strict decoder throws on bad input; upstream lets that surface as the generic 500.
std::string decode_strict(std::string_view b64) {
    auto r = crypto::base64_decode_strict(b64);
    if (!r) {
        throw std::invalid_argument("invalid base64");
    }
    return *r;
}

std::string str(const json::value& body, std::string_view key) { return std::string(body.at(key).as_string()); }

}  // namespace

std::vector<job_decl> auth_module::jobs() const {
    return {
        {"accounts-refresh", "*/5 * * * * *",
         "reload disabled and deleted accounts from the database (changes made on another instance or by "
         "happy-server accounts) and disconnect their sockets"},
    };
}

boost::asio::awaitable<void> auth_module::start() { co_await account_blocks_refresh(*db_, *tokens_, *events_); }

void auth_module::setup(module_context& ctx) {
    auto& db = ctx.db();
    auto& tokens = ctx.tokens();
    db_ = &db;
    tokens_ = &tokens;
    events_ = &ctx.events();
    ctx.add_job("accounts-refresh", [this] { return account_blocks_refresh(*db_, *tokens_, *events_); });
    const auto& policy = ctx.settings().registration;

    // POST /v1/auth — Ed25519 challenge login; creates the account on first use (auth.registration permitting).
    ctx.add_route({
        .method = http::verb::post,
        .path = "/v1/auth",
        .rate_limit = "auth",
        .body = v::object({{"publicKey", v::string()}, {"challenge", v::string()}, {"signature", v::string()}}),
        .fn = [&db, &tokens, &policy](http::request& req) -> boost::asio::awaitable<response> {
            std::string public_key = decode_strict(req.body.at("publicKey").as_string());
            std::string challenge = decode_strict(req.body.at("challenge").as_string());
            std::string signature = decode_strict(req.body.at("signature").as_string());
            // tweetnacl throws on wrong sizes (→ 500 upstream); only a failed verification is a 401.
            if (signature.size() != 64 || public_key.size() != 32) {
                throw std::invalid_argument("bad signature or public key size");
            }
            if (!crypto::ed25519_verify_detached(signature, challenge, public_key)) {
                co_return response::error(401, "Invalid signature");
            }
            std::string hex = crypto::hex_upper(public_key);
            sign_in_outcome out;
            co_await db.write([&](db::tx& t) { out = account_sign_in(t, policy, hex, now_ms()); });
            if (out.account_id.empty()) {
                co_return response::error(403, out.refusal);
            }
            if (auto b = tokens.blocked(out.account_id); b != happy::auth::account_block::none) {
                co_return response::error(403, happy::auth::account_block_message(b));
            }
            co_return response::json(json::object{{"success", true}, {"token", tokens.mint(out.account_id)}});
        },
    });

    // POST /v1/auth/request and /v1/auth/account/request — create or poll a pairing request.
    auto request_handler = [&db, &tokens](pairing kind) {
        return [&db, &tokens, kind](http::request& req) -> boost::asio::awaitable<response> {
            std::string key = decode_strict(req.body.at("publicKey").as_string());
            if (key.size() != 32) {
                co_return response::error(401, "Invalid public key");
            }
            bool v2 = false;
            if (auto* s = req.body.as_object().if_contains("supportsV2"); s && s->is_bool()) {
                v2 = s->get_bool();
            }
            std::string hex = crypto::hex_upper(key);
            pairing_request row;
            co_await db.write([&](db::tx& t) { row = pairing_request_upsert(t, kind, hex, v2, now_ms()); });
            if (row.authorized()) {
                // The answering account was disabled (or deleted) since: its token would be refused anyway.
                if (auto b = tokens.blocked(*row.response_account_id); b != happy::auth::account_block::none) {
                    co_return response::error(403, happy::auth::account_block_message(b));
                }
                // Terminal tokens carry the request id as an extra `session` claim (upstream authRoutes.ts).
                json::object extras;
                if (kind == pairing::terminal) {
                    extras["session"] = row.id;
                }
                co_return response::json(json::object{{"state", "authorized"},
                                                      {"token", tokens.mint(*row.response_account_id, extras)},
                                                      {"response", *row.response}});
            }
            co_return response::json(json::object{{"state", "requested"}});
        };
    };
    ctx.add_route({
        .method = http::verb::post,
        .path = "/v1/auth/request",
        .rate_limit = "auth",
        .body = v::object({{"publicKey", v::string()}, {"supportsV2", v::boolean().nullish()}}),
        .fn = request_handler(pairing::terminal),
    });
    ctx.add_route({
        .method = http::verb::post,
        .path = "/v1/auth/account/request",
        .rate_limit = "auth",
        .body = v::object({{"publicKey", v::string()}}),
        .fn = request_handler(pairing::account),
    });

    // GET /v1/auth/request/status — terminal pairing status without creating anything.
    ctx.add_route({
        .method = http::verb::get,
        .path = "/v1/auth/request/status",
        .rate_limit = "auth",
        .query = v::object({{"publicKey", v::string()}}),
        .fn = [&db](http::request& req) -> boost::asio::awaitable<response> {
            std::string key = decode_strict(req.query.at("publicKey").as_string());
            auto not_found = response::json(json::object{{"status", "not_found"}, {"supportsV2", false}});
            if (key.size() != 32) {
                co_return not_found;
            }
            std::string hex = crypto::hex_upper(key);
            std::optional<pairing_request> row;
            co_await db.read([&](db::tx& t) { row = pairing_request_find(t, pairing::terminal, hex); });
            if (!row) {
                co_return not_found;
            }
            if (row->authorized()) {
                // upstream always reports supportsV2:false once authorized.
                co_return response::json(json::object{{"status", "authorized"}, {"supportsV2", false}});
            }
            co_return response::json(json::object{{"status", "pending"}, {"supportsV2", row->supports_v2}});
        },
    });

    // POST /v1/auth/response and /v1/auth/account/response — approve a pairing request (first approver wins).
    auto response_handler = [&db](pairing kind) {
        return [&db, kind](http::request& req) -> boost::asio::awaitable<response> {
            std::string key = decode_strict(req.body.at("publicKey").as_string());
            if (key.size() != 32) {
                co_return response::error(401, "Invalid public key");
            }
            std::string hex = crypto::hex_upper(key);
            std::string answer = str(req.body, "response");
            bool found = false;
            co_await db.write([&](db::tx& t) {
                found = pairing_request_respond(t, kind, hex, answer, req.account_id, now_ms());
            });
            if (!found) {
                co_return response::error(404, "Request not found");
            }
            co_return response::json(json::object{{"success", true}});
        };
    };
    for (auto [path, kind] : {std::pair{"/v1/auth/response", pairing::terminal},
                              std::pair{"/v1/auth/account/response", pairing::account}}) {
        ctx.add_route({
            .method = http::verb::post,
            .path = path,
            .auth = http::auth_mode::bearer,
            .rate_limit = "auth",
            .body = v::object({{"response", v::string()}, {"publicKey", v::string()}}),
            .fn = response_handler(kind),
        });
    }
}

}  // namespace happy::mod::auth
