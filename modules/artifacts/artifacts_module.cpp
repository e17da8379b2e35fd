#include "modules/artifacts/artifacts_module.hpp"

#include <boost/json.hpp>

#include "core/crypto/base64.hpp"
#include "core/db/database.hpp"
#include "core/json/js_value.hpp"
#include "core/log/log.hpp"
#include "core/util/time.hpp"
#include "modules/artifacts/artifacts_store.hpp"
#include "modules/auth/updates.hpp"

namespace happy::mod::artifacts {

namespace json = boost::json;
namespace v = validate;
using http::response;

namespace {

using crypto::base64_encode;

/// The optional parts of an artifact object.
struct artifact_fields {
    bool body = true;
    bool key = true;
};

// Every artifact object and artifact update lists the content, then later the times, in these orders; one writer
// each so that the builders below differ only in what surrounds them.

/// header, headerVersion, [body, bodyVersion], [dataEncryptionKey]; the bytes as base64.
void put_content(json::object& o, const artifact& a, artifact_fields fields) {
    o["header"] = base64_encode(a.header);
    o["headerVersion"] = a.header_version;
    if (fields.body) {
        o["body"] = base64_encode(a.body);
        o["bodyVersion"] = a.body_version;
    }
    if (fields.key) {
        o["dataEncryptionKey"] = base64_encode(a.data_encryption_key);
    }
}

void put_times(json::object& o, const artifact& a) {
    o["createdAt"] = a.created_at;
    o["updatedAt"] = a.updated_at;
}

/// The artifact object: all of it in the REST 200 response schema's order (artifactsRoutes.ts); GET /v1/artifacts
/// items leave out the body, the socket's (artifactUpdateHandler.ts) the dataEncryptionKey.
json::object artifact_json(const artifact& a, artifact_fields fields = {}) {
    json::object o;
    o["id"] = a.id;
    put_content(o, a, fields);
    o["seq"] = a.seq;
    put_times(o, a);
    return o;
}

/// eventRouter.ts buildNewArtifactUpdate.
json::object new_artifact_body(const artifact& a) {
    json::object o;
    o["t"] = "new-artifact";
    o["artifactId"] = a.id;
    o["seq"] = a.seq;
    put_content(o, a, {});
    put_times(o, a);
    return o;
}

/// eventRouter.ts buildUpdateArtifactUpdate: absent parts are omitted; values are the client's base64 verbatim.
json::object update_artifact_body(const std::string& id, const std::optional<artifact_part>& header,
                                  const std::optional<artifact_part>& body, const artifact_update_result& r) {
    json::object o{{"t", "update-artifact"}, {"artifactId", id}};
    if (header) {
        o["header"] = json::object{{"value", header->data_b64}, {"version", r.header_version}};
    }
    if (body) {
        o["body"] = json::object{{"value", body->data_b64}, {"version", r.body_version}};
    }
    return o;
}

/// eventRouter.ts buildDeleteArtifactUpdate.
json::object delete_artifact_body(const std::string& id) {
    return json::object{{"t", "delete-artifact"}, {"artifactId", id}};
}

const json::value* field(const json::value& data, std::string_view key) {
    const auto* o = data.if_object();
    return o ? o->if_contains(key) : nullptr;
}

bool truthy(const json::value* v) { return happy::json::js_truthy(v); }

// --- REST handlers (artifactsRoutes.ts) ------------------------------------------------------------------------
// Every handler catches its own failures and answers its route's literal 500 body, as upstream does.

boost::asio::awaitable<response> list_artifacts(db::database& db, http::request& req) {
    std::string account = req.account_id;
    std::vector<artifact> rows;
    bool failed = false;
    try {
        co_await db.read([&](db::tx& t) { rows = artifact_list(t, account, 200); });
    } catch (const std::exception& e) {
        log::error("artifact list failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return response::error(500, "Failed to get artifacts");
    }
    json::array out;
    out.reserve(rows.size());
    for (const auto& a : rows) {
        out.push_back(artifact_json(a, {.body = false}));
    }
    co_return response::json(out);  // a bare array
}

boost::asio::awaitable<response> get_artifact(db::database& db, http::request& req) {
    std::string account = req.account_id;
    std::string id(req.param("id"));
    std::optional<artifact> row;
    bool failed = false;
    try {
        co_await db.read([&](db::tx& t) { row = artifact_find(t, account, id); });
    } catch (const std::exception& e) {
        log::error("artifact get failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return response::error(500, "Failed to get artifact");
    }
    if (!row) {
        co_return response::error(404, "Artifact not found");
    }
    co_return response::json(artifact_json(*row));
}

boost::asio::awaitable<response> create_artifact(db::database& db, events::emitter& out, http::request& req) {
    const auto& body = req.body.as_object();
    std::string account = req.account_id;
    std::string id(body.at("id").as_string());
    std::string header(body.at("header").as_string());
    std::string content(body.at("body").as_string());
    std::string key(body.at("dataEncryptionKey").as_string());
    artifact_create_result r;
    bool failed = false;
    try {
        co_await db.write([&](db::tx& t) {
            r = artifact_create_or_load(t, account, id, header, content, key, now_ms());
        });
        if (r.st == artifact_create_result::status::created) {
            co_await auth::update_emit(db, out, account, events::recipients::user_scoped_only(),
                                       new_artifact_body(r.row));
        }
    } catch (const std::exception& e) {
        log::error("artifact create failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return response::error(500, "Failed to create artifact");
    }
    if (r.st == artifact_create_result::status::conflict) {
        co_return response::error(409, "Artifact with this ID already exists for another account");
    }
    co_return response::json(artifact_json(r.row));
}

boost::asio::awaitable<response> update_artifact(db::database& db, events::emitter& out, http::request& req) {
    const auto& body = req.body.as_object();
    std::string account = req.account_id;
    std::string id(req.param("id"));
    // A part counts only when both its value and its expected version are given; half a pair is ignored.
    auto part = [&](const char* value_key, const char* version_key) -> std::optional<artifact_part> {
        const auto* value = body.if_contains(value_key);
        const auto* version = body.if_contains(version_key);
        if (!value || !version) {
            return std::nullopt;
        }
        return artifact_part{std::string(value->as_string()), version->to_number<double>()};
    };
    std::optional<artifact_part> header = part("header", "expectedHeaderVersion");
    std::optional<artifact_part> content = part("body", "expectedBodyVersion");
    artifact_update_result r;
    bool failed = false;
    try {
        co_await db.write([&](db::tx& t) { r = artifact_update(t, account, id, header, content, now_ms()); });
        if (r.st == artifact_update_result::status::success) {
            co_await auth::update_emit(db, out, account, events::recipients::user_scoped_only(),
                                       update_artifact_body(id, header, content, r));
        }
    } catch (const std::exception& e) {
        log::error("artifact update failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return response::error(500, "Failed to update artifact");
    }
    switch (r.st) {
        case artifact_update_result::status::not_found:
            co_return response::error(404, "Artifact not found");
        case artifact_update_result::status::version_mismatch: {
            // Keys in the 200 response schema's order (fastify re-serializes the handler's spread object).
            json::object o{{"success", false}, {"error", "version-mismatch"}};
            if (r.header_mismatch) {
                o["currentHeaderVersion"] = r.current.header_version;
            }
            if (r.body_mismatch) {
                o["currentBodyVersion"] = r.current.body_version;
            }
            if (r.header_mismatch) {
                o["currentHeader"] = base64_encode(r.current.header);
            }
            if (r.body_mismatch) {
                o["currentBody"] = base64_encode(r.current.body);
            }
            co_return response::json(o);
        }
        case artifact_update_result::status::success:
            break;
    }
    json::object o{{"success", true}};
    if (header) {
        o["headerVersion"] = r.header_version;
    }
    if (content) {
        o["bodyVersion"] = r.body_version;
    }
    co_return response::json(o);
}

boost::asio::awaitable<response> delete_artifact(db::database& db, events::emitter& out, http::request& req) {
    std::string account = req.account_id;
    std::string id(req.param("id"));
    bool deleted = false;
    bool failed = false;
    try {
        co_await db.write([&](db::tx& t) { deleted = artifact_delete(t, account, id); });
        if (deleted) {
            co_await auth::update_emit(db, out, account, events::recipients::user_scoped_only(),
                                       delete_artifact_body(id));
        }
    } catch (const std::exception& e) {
        log::error("artifact delete failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return response::error(500, "Failed to delete artifact");
    }
    if (!deleted) {
        co_return response::error(404, "Artifact not found");
    }
    co_return response::json(json::object{{"success", true}});
}

// --- socket events (artifactUpdateHandler.ts) -------------------------------------------------------------------
// Ack dialect {result, message?}. socket.io hands the ack function to upstream's handler as its last argument:
// with no data argument `data` is the function (every field undefined) and `callback` is undefined, so nothing is
// answered; with two or more data arguments the second one sits in `callback`'s place and calling it throws, so
// the work is done but nothing is answered either. Hence: answer only when exactly one data argument came.
// A non-string truthy id reaches Prisma, whose validation error lands in the catch: "Internal error".

using ack = std::optional<json::value>;

json::object error_ack(const char* message) { return json::object{{"result", "error"}, {"message", message}}; }

/// What every handler does first: null data throws on destructuring (→ Internal error).
enum class precheck { no_ack, internal_error, ok };
precheck check_args(const json::array& args) {
    if (args.empty()) {
        return precheck::no_ack;
    }
    if (args[0].is_null()) {
        return precheck::internal_error;
    }
    return precheck::ok;
}

boost::asio::awaitable<ack> on_artifact_read(db::database& db, events::socket_ctx& ctx, json::array args) {
    const bool can_ack = args.size() == 1;
    auto reply = [can_ack](json::object o) -> ack { return can_ack ? ack(json::value(std::move(o))) : std::nullopt; };
    switch (check_args(args)) {
        case precheck::no_ack: co_return std::nullopt;
        case precheck::internal_error: co_return reply(error_ack("Internal error"));
        case precheck::ok: break;
    }
    const json::value* id = field(args[0], "artifactId");
    if (!truthy(id)) {
        co_return reply(error_ack("Invalid parameters"));
    }
    if (!id->is_string()) {
        co_return reply(error_ack("Internal error"));
    }
    std::string account = ctx.account_id;
    std::string aid(id->get_string());
    std::optional<artifact> row;
    bool failed = false;
    try {
        co_await db.read([&](db::tx& t) { row = artifact_find(t, account, aid); });
    } catch (const std::exception& e) {
        log::error("artifact-read failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return reply(error_ack("Internal error"));
    }
    if (!row) {
        co_return reply(error_ack("Artifact not found"));
    }
    co_return reply(json::object{{"result", "success"}, {"artifact", artifact_json(*row, {.key = false})}});
}

boost::asio::awaitable<ack> on_artifact_create(db::database& db, events::emitter& out, events::socket_ctx& ctx,
                                               json::array args) {
    const bool can_ack = args.size() == 1;
    auto reply = [can_ack](json::object o) -> ack { return can_ack ? ack(json::value(std::move(o))) : std::nullopt; };
    switch (check_args(args)) {
        case precheck::no_ack: co_return std::nullopt;
        case precheck::internal_error: co_return reply(error_ack("Internal error"));
        case precheck::ok: break;
    }
    const json::value& data = args[0];
    const json::value* id = field(data, "id");
    const json::value* header = field(data, "header");
    const json::value* body = field(data, "body");
    const json::value* key = field(data, "dataEncryptionKey");
    auto is_str = [](const json::value* v) { return v && v->is_string(); };
    if (!truthy(id) || !is_str(header) || !is_str(body) || !is_str(key)) {
        co_return reply(error_ack("Invalid parameters"));
    }
    if (!id->is_string()) {
        co_return reply(error_ack("Internal error"));
    }
    // Unlike the REST route, the socket does not require the id to be a UUID.
    std::string account = ctx.account_id;
    std::string aid(id->get_string());
    std::string h(header->get_string()), b(body->get_string()), k(key->get_string());
    artifact_create_result r;
    bool failed = false;
    try {
        co_await db.write([&](db::tx& t) { r = artifact_create_or_load(t, account, aid, h, b, k, now_ms()); });
        if (r.st == artifact_create_result::status::created) {
            co_await auth::update_emit(db, out, account, events::recipients::user_scoped_only(),
                                       new_artifact_body(r.row));
        }
    } catch (const std::exception& e) {
        log::error("artifact-create failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return reply(error_ack("Internal error"));
    }
    if (r.st == artifact_create_result::status::conflict) {
        co_return reply(error_ack("Artifact with this ID already exists for another account"));
    }
    co_return reply(json::object{{"result", "success"}, {"artifact", artifact_json(r.row, {.key = false})}});
}

/// `header` / `body` of artifact-update: absent when falsy; malformed unless {data: string, expectedVersion: number}.
bool socket_part(const json::value* v, std::optional<artifact_part>& out) {
    out.reset();
    if (!truthy(v)) {
        return true;
    }
    const json::value* data = field(*v, "data");
    const json::value* expected = field(*v, "expectedVersion");
    if (!data || !data->is_string() || !expected || !expected->is_number()) {
        return false;
    }
    out = artifact_part{std::string(data->get_string()), expected->to_number<double>()};
    return true;
}

boost::asio::awaitable<ack> on_artifact_update(db::database& db, events::emitter& out, events::socket_ctx& ctx,
                                               json::array args) {
    const bool can_ack = args.size() == 1;
    auto reply = [can_ack](json::object o) -> ack { return can_ack ? ack(json::value(std::move(o))) : std::nullopt; };
    switch (check_args(args)) {
        case precheck::no_ack: co_return std::nullopt;
        case precheck::internal_error: co_return reply(error_ack("Internal error"));
        case precheck::ok: break;
    }
    const json::value& data = args[0];
    const json::value* id = field(data, "artifactId");
    if (!truthy(id)) {
        co_return reply(error_ack("Invalid parameters"));
    }
    const json::value* header_v = field(data, "header");
    const json::value* body_v = field(data, "body");
    if (!truthy(header_v) && !truthy(body_v)) {
        co_return reply(error_ack("No updates provided"));
    }
    std::optional<artifact_part> header, body;
    if (!socket_part(header_v, header)) {
        co_return reply(error_ack("Invalid header parameters"));
    }
    if (!socket_part(body_v, body)) {
        co_return reply(error_ack("Invalid body parameters"));
    }
    if (!id->is_string()) {
        co_return reply(error_ack("Internal error"));
    }
    std::string account = ctx.account_id;
    std::string aid(id->get_string());
    artifact_update_result r;
    bool failed = false;
    try {
        co_await db.write([&](db::tx& t) { r = artifact_update(t, account, aid, header, body, now_ms()); });
        if (r.st == artifact_update_result::status::success) {
            co_await auth::update_emit(db, out, account, events::recipients::user_scoped_only(),
                                       update_artifact_body(aid, header, body, r));
        }
    } catch (const std::exception& e) {
        log::error("artifact-update failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return reply(error_ack("Internal error"));
    }
    switch (r.st) {
        case artifact_update_result::status::not_found:
            co_return reply(error_ack("Artifact not found"));
        case artifact_update_result::status::version_mismatch: {
            json::object o{{"result", "version-mismatch"}};
            if (r.header_mismatch) {
                o["header"] = json::object{{"currentVersion", r.current.header_version},
                                           {"currentData", base64_encode(r.current.header)}};
            }
            if (r.body_mismatch) {
                o["body"] = json::object{{"currentVersion", r.current.body_version},
                                         {"currentData", base64_encode(r.current.body)}};
            }
            co_return reply(std::move(o));
        }
        case artifact_update_result::status::success:
            break;
    }
    // The ack says `data` where the update event says `value` (realtime.md §9.12).
    json::object o{{"result", "success"}};
    if (header) {
        o["header"] = json::object{{"version", r.header_version}, {"data", header->data_b64}};
    }
    if (body) {
        o["body"] = json::object{{"version", r.body_version}, {"data", body->data_b64}};
    }
    co_return reply(std::move(o));
}

boost::asio::awaitable<ack> on_artifact_delete(db::database& db, events::emitter& out, events::socket_ctx& ctx,
                                               json::array args) {
    const bool can_ack = args.size() == 1;
    auto reply = [can_ack](json::object o) -> ack { return can_ack ? ack(json::value(std::move(o))) : std::nullopt; };
    switch (check_args(args)) {
        case precheck::no_ack: co_return std::nullopt;
        case precheck::internal_error: co_return reply(error_ack("Internal error"));
        case precheck::ok: break;
    }
    const json::value* id = field(args[0], "artifactId");
    if (!truthy(id)) {
        co_return reply(error_ack("Invalid parameters"));
    }
    if (!id->is_string()) {
        co_return reply(error_ack("Internal error"));
    }
    std::string account = ctx.account_id;
    std::string aid(id->get_string());
    bool deleted = false;
    bool failed = false;
    try {
        co_await db.write([&](db::tx& t) { deleted = artifact_delete(t, account, aid); });
        if (deleted) {
            co_await auth::update_emit(db, out, account, events::recipients::user_scoped_only(),
                                       delete_artifact_body(aid));
        }
    } catch (const std::exception& e) {
        log::error("artifact-delete failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return reply(error_ack("Internal error"));
    }
    if (!deleted) {
        co_return reply(error_ack("Artifact not found"));
    }
    co_return reply(json::object{{"result", "success"}});
}

}  // namespace

void artifacts_module::setup(module_context& ctx) {
    auto& db = ctx.db();
    auto& out = ctx.events();
    auto id_params = [] { return v::object({{"id", v::string()}}); };

    ctx.add_route({
        .method = http::verb::get,
        .path = "/v1/artifacts",
        .auth = http::auth_mode::bearer,
        .fn = [&db](http::request& req) { return list_artifacts(db, req); },
    });
    ctx.add_route({
        .method = http::verb::get,
        .path = "/v1/artifacts/:id",
        .auth = http::auth_mode::bearer,
        .params = id_params(),
        .fn = [&db](http::request& req) { return get_artifact(db, req); },
    });
    ctx.add_route({
        .method = http::verb::post,
        .path = "/v1/artifacts",
        .auth = http::auth_mode::bearer,
        .body = v::object({{"id", v::uuid()},
                           {"header", v::string()},
                           {"body", v::string()},
                           {"dataEncryptionKey", v::string()}}),
        .fn = [&db, &out](http::request& req) { return create_artifact(db, out, req); },
    });
    ctx.add_route({
        .method = http::verb::post,
        .path = "/v1/artifacts/:id",
        .auth = http::auth_mode::bearer,
        .params = id_params(),
        .body = v::object({{"header", v::string().optional()},
                           {"expectedHeaderVersion", v::number().integer().min(0).optional()},
                           {"body", v::string().optional()},
                           {"expectedBodyVersion", v::number().integer().min(0).optional()}}),
        .fn = [&db, &out](http::request& req) { return update_artifact(db, out, req); },
    });
    ctx.add_route({
        .method = http::verb::del,
        .path = "/v1/artifacts/:id",
        .auth = http::auth_mode::bearer,
        .params = id_params(),
        .fn = [&db, &out](http::request& req) { return delete_artifact(db, out, req); },
    });

    ctx.add_event(events::event_def{"artifact-read", [&db](events::socket_ctx& c, json::array a) {
                                        return on_artifact_read(db, c, std::move(a));
                                    }});
    ctx.add_event(events::event_def{"artifact-create", [&db, &out](events::socket_ctx& c, json::array a) {
                                        return on_artifact_create(db, out, c, std::move(a));
                                    }});
    ctx.add_event(events::event_def{"artifact-update", [&db, &out](events::socket_ctx& c, json::array a) {
                                        return on_artifact_update(db, out, c, std::move(a));
                                    }});
    ctx.add_event(events::event_def{"artifact-delete", [&db, &out](events::socket_ctx& c, json::array a) {
                                        return on_artifact_delete(db, out, c, std::move(a));
                                    }});
}

}  // namespace happy::mod::artifacts
