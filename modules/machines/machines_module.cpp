#include "modules/machines/machines_module.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>
#include <cmath>

#include "core/crypto/base64.hpp"
#include "core/json/js_value.hpp"
#include "core/db/database.hpp"
#include "core/log/log.hpp"
#include "core/presence/activity_cache.hpp"
#include "core/util/time.hpp"
#include "modules/auth/auth_store.hpp"
#include "modules/auth/updates.hpp"
#include "modules/machines/machines_store.hpp"

namespace happy::mod::machines {

namespace json = boost::json;
namespace v = validate;
using http::response;

namespace {

json::value key_json(const std::optional<std::string>& key) {
    // Buffer.from(bytes).toString('base64'); an empty stored key is truthy upstream and comes back as "".
    return key ? json::value(crypto::base64_encode(*key)) : json::value(nullptr);
}

json::value nullable(const std::optional<std::string>& s) { return s ? json::value(*s) : json::value(nullptr); }

/// The REST machine object. GET shapes carry `seq`; the POST /v1/machines response does not (machinesRoutes.ts).
json::object machine_json(const machine& m, bool with_seq) {
    json::object o;
    o["id"] = m.id;
    o["metadata"] = m.metadata;
    o["metadataVersion"] = m.metadata_version;
    o["daemonState"] = nullable(m.daemon_state);
    o["daemonStateVersion"] = m.daemon_state_version;
    o["dataEncryptionKey"] = key_json(m.data_encryption_key);
    if (with_seq) {
        o["seq"] = m.seq;
    }
    o["active"] = m.active;
    o["activeAt"] = m.last_active_at;
    o["createdAt"] = m.created_at;
    o["updatedAt"] = m.updated_at;
    return o;
}

/// eventRouter.ts buildNewMachineUpdate.
json::object new_machine_body(const machine& m) {
    json::object o;
    o["t"] = "new-machine";
    o["machineId"] = m.id;
    o["seq"] = m.seq;
    o["metadata"] = m.metadata;
    o["metadataVersion"] = m.metadata_version;
    o["daemonState"] = nullable(m.daemon_state);
    o["daemonStateVersion"] = m.daemon_state_version;
    o["dataEncryptionKey"] = key_json(m.data_encryption_key);
    o["active"] = m.active;
    o["activeAt"] = m.last_active_at;
    o["createdAt"] = m.created_at;
    o["updatedAt"] = m.updated_at;
    return o;
}

/// eventRouter.ts buildUpdateMachineUpdate: the absent one of metadata/daemonState is omitted.
json::object update_machine_body(const std::string& machine_id, const char* field, std::string value,
                                 std::int64_t version) {
    return json::object{{"t", "update-machine"},
                        {"machineId", machine_id},
                        {field, json::object{{"value", std::move(value)}, {"version", version}}}};
}

bool truthy(const json::value* v) { return happy::json::js_truthy(v); }

const json::value* field(const json::value& data, std::string_view key) {
    const auto* o = data.if_object();
    return o ? o->if_contains(key) : nullptr;
}

std::string body_str(const json::value& body, std::string_view key) { return std::string(body.at(key).as_string()); }

// --- socket events (machineUpdateHandler.ts) ---------------------------------------------------------------

/// machine-update-metadata / machine-update-state. Ack dialect {result, message?} (realtime.md §2.9–2.10).
/// Named coroutine (not a capturing coroutine lambda): g++ 12 miscompiles those.
boost::asio::awaitable<std::optional<json::value>> on_machine_update(db::database& db, events::emitter& out,
                                                                     events::socket_ctx& ctx, json::array args,
                                                                     bool daemon) {
    // socket.io hands the ack function to the handler as its last argument: with no data argument the handler's
    // `data` is the function (fields undefined → "Invalid parameters") and there is no callback to answer; with
    // two or more data arguments the second takes the callback's place and no ack can be sent either.
    if (args.empty()) {
        co_return std::nullopt;
    }
    const bool can_ack = args.size() == 1;
    auto reply = [can_ack](json::object o) -> std::optional<json::value> {
        if (!can_ack) {
            return std::nullopt;
        }
        return json::value(std::move(o));
    };
    auto error = [&](const char* message) { return reply(json::object{{"result", "error"}, {"message", message}}); };

    const json::value& data = args[0];
    if (data.is_null()) {
        co_return error("Internal error");  // `const {…} = null` throws inside upstream's try
    }
    const char* value_key = daemon ? "daemonState" : "metadata";
    const json::value* machine_id = field(data, "machineId");
    const json::value* value = field(data, value_key);
    const json::value* expected = field(data, "expectedVersion");
    if (!truthy(machine_id) || !value || !value->is_string() || !expected || !expected->is_number()) {
        co_return error("Invalid parameters");
    }
    if (!machine_id->is_string()) {
        co_return error("Internal error");  // Prisma rejects a non-string id filter: the catch answers
    }
    std::string account = ctx.account_id;
    std::string id(machine_id->get_string());
    std::string new_value(value->get_string());
    double expected_version = expected->to_number<double>();

    machine_cas_result r;
    bool failed = false;
    try {
        co_await db.write([&](db::tx& t) {
            r = daemon ? machine_daemon_state_update(t, account, id, expected_version, new_value, now_ms())
                       : machine_metadata_update(t, account, id, expected_version, new_value, now_ms());
        });
    } catch (const std::exception& e) {
        log::error("machine update failed", {{"event", daemon ? "machine-update-state" : "machine-update-metadata"},
                                             {"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return error("Internal error");
    }
    switch (r.st) {
        case machine_cas_result::status::not_found:
            co_return error("Machine not found");
        case machine_cas_result::status::version_mismatch:
            co_return reply(json::object{{"result", "version-mismatch"}, {"version", r.version},
                                         {value_key, nullable(r.value)}});
        case machine_cas_result::status::success:
            break;
    }
    // The update goes out before the ack (upstream emits, then calls back).
    try {
        co_await auth::update_emit(db, out, account, events::recipients::machine(id),
                                   update_machine_body(id, value_key, new_value, r.version));
    } catch (const std::exception& e) {
        log::error("machine update emit failed", {{"machineId", id}, {"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return error("Internal error");
    }
    co_return reply(json::object{{"result", "success"}, {"version", r.version}, {value_key, std::move(new_value)}});
}

/// The activity cache key of a machine. Upstream keys its machine cache by machineId alone (and re-validates when
/// the account differs); machine ids are chosen by clients and unique per account only, so two accounts using the
/// same id would evict each other's queued write there. Keyed per account here; account ids contain no ':'.
std::string cache_key(std::string_view account, std::string_view id) {
    std::string k;
    k.reserve(account.size() + 1 + id.size());
    k.append(account).append(1, ':').append(id);
    return k;
}

/// machine-alive: never acked (realtime.md §2.8).
boost::asio::awaitable<std::optional<json::value>> on_machine_alive(db::database& db, events::emitter& out,
                                                                    presence::activity_cache& cache,
                                                                    events::socket_ctx& ctx, json::array args) {
    if (args.empty()) {
        co_return std::nullopt;
    }
    const json::value& data = args[0];
    const json::value* time = field(data, "time");
    const json::value* machine_id = field(data, "machineId");
    if (!time || !time->is_number() || !truthy(machine_id)) {
        co_return std::nullopt;
    }
    if (!machine_id->is_string()) {
        co_return std::nullopt;  // the validity lookup throws in Prisma and counts as invalid
    }
    const std::int64_t now = now_ms();
    // Future times are clamped to now; the ephemeral echoes the (clamped) client time as sent.
    json::value active_at = *time;
    double t = time->to_number<double>();
    if (t > static_cast<double>(now)) {
        t = static_cast<double>(now);
        active_at = now;
    }
    if (t < static_cast<double>(now - 10 * 60 * 1000)) {
        co_return std::nullopt;
    }
    std::string account = ctx.account_id;
    std::string id(machine_id->get_string());
    // Validated through the 30 s cache (upstream isMachineValid), then queued for the next machine-activity-flush
    // (queueMachineUpdate: when the cached machine is inactive or the time moved by more than 30 s).
    const std::string key = cache_key(account, id);
    if (!cache.cached_valid(key, account, now)) {
        std::optional<machine> row;
        try {
            co_await db.read([&](db::tx& t) { row = machine_find(t, account, id); });
        } catch (const std::exception& e) {
            log::error("machine-alive failed", {{"machineId", id}, {"error", e.what()}});
            co_return std::nullopt;
        }
        if (!row) {
            co_return std::nullopt;
        }
        cache.remember(key, account, row->last_active_at, row->active, now);
    }
    cache.queue(key, static_cast<std::int64_t>(std::trunc(t)), now_ms());
    out.emit_ephemeral(account, events::recipients::user_scoped_only(),
                       json::object{{"type", "machine-activity"}, {"id", id}, {"active", true}, {"activeAt", active_at}});
    co_return std::nullopt;
}

// --- REST handlers (machinesRoutes.ts) ---------------------------------------------------------------------

boost::asio::awaitable<response> post_machine(db::database& db, events::emitter& out, http::request& req) {
    const auto& body = req.body;
    std::string id = body_str(body, "id");
    std::string metadata = body_str(body, "metadata");
    std::optional<std::string> daemon_state;
    if (const auto* d = body.as_object().if_contains("daemonState")) {
        daemon_state = std::string(d->as_string());
    }
    // `dataEncryptionKey ? Buffer.from(key, 'base64') : undefined`: "" and null store nothing; any other string
    // goes through Node's lenient decoder (possibly to zero bytes).
    std::optional<std::string> key;
    if (const auto* k = body.as_object().if_contains("dataEncryptionKey"); k && k->is_string() && !k->get_string().empty()) {
        key = crypto::base64_decode_lenient(k->get_string());
    }
    std::string account = req.account_id;
    const std::int64_t now = now_ms();
    machine_create_result res;
    co_await db.write([&](db::tx& t) {
        res = machine_create_or_load(t, account, id, metadata, daemon_state, key, now);
    });
    if (res.created) {
        // Two seqs: new-machine for the apps, then update-machine {metadata v1} for the machine's own sockets
        // ("backward compatibility" upstream); both are allocated before either is emitted, as upstream does.
        std::int64_t seq1 = 0, seq2 = 0;
        co_await db.write([&](db::tx& t) {
            seq1 = auth::account_seq_allocate(t, account, now_ms());
            seq2 = auth::account_seq_allocate(t, account, now_ms());
        });
        out.emit_update(account, events::recipients::user_scoped_only(),
                        auth::update_envelope_build(seq1, new_machine_body(res.row), now_ms()));
        out.emit_update(account, events::recipients::machine(id),
                        auth::update_envelope_build(
                            seq2,
                            json::object{{"t", "update-machine"},
                                         {"machineId", id},
                                         {"metadata", json::object{{"version", 1}, {"value", res.row.metadata}}}},
                            now_ms()));
    }
    co_return response::json(json::object{{"machine", machine_json(res.row, false)}});
}

boost::asio::awaitable<response> list_machines(db::database& db, http::request& req) {
    std::string account = req.account_id;
    std::vector<machine> rows;
    co_await db.read([&](db::tx& t) { rows = machine_list(t, account); });
    json::array out;
    out.reserve(rows.size());
    for (const auto& m : rows) {
        out.push_back(machine_json(m, true));
    }
    co_return response::json(out);  // a bare array, unlike every other list route
}

boost::asio::awaitable<response> get_machine(db::database& db, http::request& req) {
    std::string account = req.account_id;
    std::string id(req.param("id"));
    std::optional<machine> row;
    co_await db.read([&](db::tx& t) { row = machine_find(t, account, id); });
    if (!row) {
        co_return response::error(404, "Machine not found");
    }
    co_return response::json(json::object{{"machine", machine_json(*row, true)}});
}

boost::asio::awaitable<response> delete_machine(db::database& db, events::emitter& out, http::request& req) {
    std::string account = req.account_id;
    std::string id(req.param("id"));
    bool deleted = false;
    co_await db.write([&](db::tx& t) { deleted = machine_delete(t, account, id); });
    if (!deleted) {
        co_return response::error(404, "Machine not found");
    }
    // After the commit (upstream afterTx): seq allocation and the delete-machine update to the apps.
    // Built outside the co_await expression: g++ 12 rejects string-literal initializer lists inside one.
    json::object body{{"t", "delete-machine"}, {"machineId", id}};
    co_await auth::update_emit(db, out, account, events::recipients::user_scoped_only(), std::move(body));
    co_return response::json(json::object{{"success", true}});
}

}  // namespace

namespace {

/// machine-activity-flush (and the final flush at shutdown): lastActiveAt := t, active := true for every queued
/// heartbeat, in one transaction (upstream flushPendingUpdates, machine half). A machine deleted meanwhile
/// updates no row.
boost::asio::awaitable<void> flush_activity(db::database& db, presence::activity_cache& cache) {
    // Taken writes must reach the database: shutdown's cancellation must not abort this between the take and the
    // write (the module's final flush only sees what is still queued).
    co_await boost::asio::this_coro::throw_if_cancelled(false);
    auto writes = cache.take_pending(now_ms());
    if (writes.empty()) {
        co_return;
    }
    try {
        co_await db.write([&](db::tx& t) {
            const std::int64_t now = now_ms();
            for (const auto& w : writes) {
                machine_activity_set(t, w.account, std::string_view(w.key).substr(w.account.size() + 1), w.t, now);
            }
        });
        log::debug("machine activity flushed", {{"machines", writes.size()}});
    } catch (const std::exception& e) {
        // Dropped, as upstream does: the next heartbeat past the threshold queues a newer time.
        log::error("machine activity flush failed", {{"machines", writes.size()}, {"error", e.what()}});
    }
}

/// machine-inactivity-sweep (upstream presence/timeout.ts, machine half).
boost::asio::awaitable<void> sweep_inactive(db::database& db, events::emitter& out) {
    constexpr std::int64_t inactive_after_ms = 10 * 60 * 1000;
    std::vector<machine_timeout> swept;
    co_await db.write([&](db::tx& t) {
        const std::int64_t now = now_ms();
        swept = machine_sweep_inactive(t, now - inactive_after_ms, now);
    });
    for (const auto& m : swept) {
        out.emit_ephemeral(
            m.account_id, events::recipients::user_scoped_only(),
            json::object{{"type", "machine-activity"}, {"id", m.id}, {"active", false}, {"activeAt", m.last_active_at}});
    }
}

}  // namespace

machines_module::machines_module() {
    presence::activity_cache::options o;
    o.write_when_inactive = true;
    activity_ = std::make_unique<presence::activity_cache>(o);
}

machines_module::~machines_module() = default;

std::vector<job_decl> machines_module::jobs() const {
    return {
        {"machine-activity-flush", "*/5 * * * * *", "write the lastActiveAt of machine heartbeats in batches"},
        {"machine-inactivity-sweep", "0 * * * * *", "mark machines idle for 10 minutes inactive",
         job_decl::scope::cluster},
    };
}

boost::asio::awaitable<void> machines_module::stop() {
    if (db_) {
        co_await flush_activity(*db_, *activity_);
    }
}

void machines_module::setup(module_context& ctx) {
    auto& db = ctx.db();
    auto& out = ctx.events();
    db_ = &db;
    out_ = &out;

    ctx.add_route({
        .method = http::verb::post,
        .path = "/v1/machines",
        .auth = http::auth_mode::bearer,
        // daemonState: z.string().optional() rejects null; dataEncryptionKey: z.string().nullish().
        .body = v::object({{"id", v::string()},
                           {"metadata", v::string()},
                           {"daemonState", v::string().optional()},
                           {"dataEncryptionKey", v::string().nullish()}}),
        .fn = [&db, &out](http::request& req) { return post_machine(db, out, req); },
    });
    ctx.add_route({
        .method = http::verb::get,
        .path = "/v1/machines",
        .auth = http::auth_mode::bearer,
        .fn = [&db](http::request& req) { return list_machines(db, req); },
    });
    ctx.add_route({
        .method = http::verb::get,
        .path = "/v1/machines/:id",
        .auth = http::auth_mode::bearer,
        .params = v::object({{"id", v::string()}}),
        .fn = [&db](http::request& req) { return get_machine(db, req); },
    });
    ctx.add_route({
        .method = http::verb::del,
        .path = "/v1/machines/:id",
        .auth = http::auth_mode::bearer,
        .params = v::object({{"id", v::string()}}),
        .fn = [&db, &out](http::request& req) { return delete_machine(db, out, req); },
    });

    auto& cache = *activity_;
    ctx.add_event(events::event_def{"machine-alive", [&db, &out, &cache](events::socket_ctx& c, json::array a) {
                       return on_machine_alive(db, out, cache, c, std::move(a));
                   }});
    ctx.add_event(events::event_def{"machine-update-metadata", [&db, &out](events::socket_ctx& c, json::array a) {
                       return on_machine_update(db, out, c, std::move(a), false);
                   }});
    ctx.add_event(events::event_def{"machine-update-state", [&db, &out](events::socket_ctx& c, json::array a) {
                       return on_machine_update(db, out, c, std::move(a), true);
                   }});

    ctx.add_job("machine-activity-flush", [&db, &cache] { return flush_activity(db, cache); });
    ctx.add_job("machine-inactivity-sweep", [&db, &out] { return sweep_inactive(db, out); }, true);
}

}  // namespace happy::mod::machines
