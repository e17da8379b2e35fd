#include "core/events/hub.hpp"

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include "core/auth/token_service.hpp"
#include "core/events/cluster.hpp"
#include "core/json/js_value.hpp"
#include "core/limits/counter.hpp"
#include "core/log/log.hpp"
#include "core/socketio/codec.hpp"
#include "core/socketio/server.hpp"
#include "core/util/time.hpp"

namespace happy::events {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::shared_ptr<socket_ctx> ctx_of(const std::shared_ptr<socketio::socket>& s) {
    return std::static_pointer_cast<socket_ctx>(s->data);
}

std::string string_field(const json::object& o, std::string_view key) {
    if (auto* v = o.if_contains(key); v && v->is_string()) {
        return std::string(v->get_string());
    }
    return {};
}

/// JavaScript truthiness of an auth field (upstream: `if (!token)`).
bool truthy(const json::object& o, std::string_view key) {
    return happy::json::js_truthy(o.if_contains(key));
}

/// The events the hub handles itself, ahead of the modules' (impl::on_event): listed by hub::event_names().
constexpr std::string_view builtin_events[] = {"ping", "app-state", "rpc-register", "rpc-unregister", "rpc-call"};

}  // namespace

struct hub::impl {
    impl(socketio::server& s, auth::token_service& t, rpc_options r, bus::bus* b, reorder_options o)
        : sio(s),
          tokens(t),
          rpc(r),
          cluster(s, b, cluster_options{r.cluster_query}),
          order(o, [&s](const delivery& d) { s.broadcast_frame("/", d.rooms, d.except, d.frame); }) {}
    socketio::server& sio;
    auth::token_service& tokens;
    rpc_options rpc;
    events::cluster cluster;
    /// Every broadcast's way to this instance's sockets, local or from another instance: updates in seq order.
    ordered_delivery order;
    std::unordered_map<std::string, handler> events;
    std::mutex emit_mutex;
    // Sockets per account for the push-focus query (weak: the socket.io server owns them).
    mutable std::mutex mutex;
    std::unordered_map<std::string, std::unordered_map<std::string, std::weak_ptr<socket_ctx>>> by_account;
    std::unique_ptr<limits::counter> account_sockets = std::make_unique<limits::counter>(0);
    log::throttle refusal_log{std::chrono::seconds(10)};

    std::vector<std::string> rooms_for(std::string_view u, const recipients& to) const {
        switch (to.k) {
            case recipients::kind::user_scoped_only:
                return {user_scoped_room(u)};
            case recipients::kind::session:
                return {session_room(u, to.id), user_scoped_room(u)};
            case recipients::kind::machine:
                return {machine_room(u, to.id), user_scoped_room(u)};
            case recipients::kind::all_user:
                return {user_room(u)};
        }
        return {};
    }

    /// Encodes once (encode()); this instance's sockets get it at once, the other instances through one bus
    /// message. Local delivery and publishing under one lock, so that concurrent emits leave this instance in the
    /// same order for every instance (broadcast_frame serialises on the room lock anyway); local first, so that a
    /// socket here is never served after one on another instance.
    void broadcast(const delivery& d) {
        auto message = cluster.encode_broadcast(d);
        std::lock_guard lock(emit_mutex);
        order.now(d);
        cluster.publish(std::move(message));
    }

    /// The same for an update, which reaches this instance's sockets through the ordering (it waits there while a
    /// lower seq of its account is still on its way); nullopt: `seq` will never be emitted.
    void broadcast_update(std::string_view account, std::int64_t seq, std::optional<delivery> d) {
        static const delivery none;  // both branches lvalues: no copy of *d
        auto message = cluster.encode_broadcast(d ? *d : none, account, seq);
        std::lock_guard lock(emit_mutex);
        order.update(account, seq, std::move(d));
        cluster.publish(std::move(message));
    }

    static delivery encode(std::vector<std::string> rooms, std::unordered_set<std::string> except,
                           std::string_view event, const json::object& payload) {
        return delivery{std::move(rooms), std::move(except),
                        socketio::server::encode_event("/", event, json::array{payload})};
    }

    void ephemeral(std::string_view u, const recipients& to, const json::object& payload) {
        broadcast(encode(rooms_for(u, to), {}, "ephemeral", payload));
    }

    /// Another instance's broadcast; one with no rooms only marks its seq as never coming.
    void deliver_remote(wire::broadcast b) {
        delivery d{std::move(b.rooms), {b.except.begin(), b.except.end()},
                   engineio::frame{std::make_shared<const std::string>(std::move(b.frame)), false}};
        if (b.seq <= 0) {
            order.now(d);
        } else {
            order.update(b.account, b.seq, d.rooms.empty() ? std::nullopt : std::optional<delivery>(std::move(d)));
        }
    }

    bool local_active_ui(std::string_view account_id) const {
        std::lock_guard lock(mutex);
        auto it = by_account.find(std::string(account_id));
        if (it == by_account.end()) {
            return false;
        }
        for (const auto& [sid, weak] : it->second) {
            if (auto ctx = weak.lock(); ctx && ctx->client_type == "user-scoped" && ctx->app_state == 1) {
                return true;
            }
        }
        return false;
    }

    /// Handshake checks in upstream's order and messages (socket.ts).
    asio::awaitable<std::optional<std::string>> middleware(const std::shared_ptr<socketio::socket>& s) {
        const auto& auth = s->auth();
        if (!truthy(auth, "token")) {
            co_return "Missing authentication token";
        }
        std::string client_type = string_field(auth, "clientType");
        if (client_type == "session-scoped" && !truthy(auth, "sessionId")) {
            co_return "Session ID required for session-scoped clients";
        }
        if (client_type == "machine-scoped" && !truthy(auth, "machineId")) {
            co_return "Machine ID required for machine-scoped clients";
        }
        const json::value& token = auth.at("token");
        std::optional<auth::verified_token> v;
        if (token.is_string()) {
            auto checked = tokens.check(token.get_string());
            if (checked.blocked != auth::account_block::none) {
                co_return std::string(auth::account_block_message(checked.blocked));
            }
            v = std::move(checked.token);
        }
        if (!v) {
            co_return "Invalid authentication token";
        }
        // Ours, not upstream's (it has no such limit): after authentication, so the count is per account.
        auto slot = account_sockets->try_acquire(v->sub);
        if (!slot) {
            if (refusal_log.ready()) {
                log::warn("socket refused: account at its socket limit (limits.max_sockets_per_account)",
                          {{"account", v->sub},
                           {"limit", account_sockets->max_per_key()},
                           {"refused", account_sockets->refused()}});
            }
            co_return fmt::format("Too many connections for this account (limit {})", account_sockets->max_per_key());
        }
        auto ctx = std::make_shared<socket_ctx>();
        ctx->account_slot = std::move(*slot);
        ctx->socket_id = s->id();
        ctx->account_id = v->sub;
        ctx->client_type = client_type;
        ctx->session_id = string_field(auth, "sessionId");
        ctx->machine_id = string_field(auth, "machineId");
        ctx->happy_client = string_field(auth, "happyClient");
        ctx->connected_at = now_ms();
        if (ctx->happy_client.empty()) {
            for (const auto& [k, val] : s->handshake().headers) {
                if (k == "x-happy-client") {
                    ctx->happy_client = val;
                }
            }
        }
        std::string app_state = string_field(auth, "appState");
        if (!app_state.empty()) {
            ctx->app_state = app_state == "active" ? 1 : 2;
        }
        s->data = ctx;
        co_return std::nullopt;
    }

    void on_connect(const std::shared_ptr<socketio::socket>& s) {
        auto ctx = ctx_of(s);
        const auto& u = ctx->account_id;
        s->join(user_room(u));
        switch (ctx->kind()) {
            case socket_ctx::scope::session:
                s->join(session_room(u, ctx->session_id));
                break;
            case socket_ctx::scope::machine:
                s->join(machine_room(u, ctx->machine_id));
                break;
            case socket_ctx::scope::user:
                s->join(user_scoped_room(u));
                break;
        }
        {
            std::lock_guard lock(mutex);
            by_account[u][s->id()] = ctx;
        }
        if (ctx->kind() == socket_ctx::scope::machine) {
            ephemeral(
                u, recipients::user_scoped_only(),
                json::object{
                    {"type", "machine-activity"}, {"id", ctx->machine_id}, {"active", true}, {"activeAt", now_ms()}});
        }
        log::debug("socket connected", {{"sid", s->id()}, {"account", u}, {"clientType", ctx->client_type}});
    }

    void on_disconnect(const std::shared_ptr<socketio::socket>& s, std::string_view reason) {
        auto ctx = ctx_of(s);
        if (!ctx) {
            return;
        }
        ctx->account_slot.release();
        {
            std::lock_guard lock(mutex);
            auto it = by_account.find(ctx->account_id);
            if (it != by_account.end()) {
                it->second.erase(s->id());
                if (it->second.empty()) {
                    by_account.erase(it);
                }
            }
        }
        if (ctx->kind() == socket_ctx::scope::machine) {
            ephemeral(
                ctx->account_id, recipients::user_scoped_only(),
                json::object{
                    {"type", "machine-activity"}, {"id", ctx->machine_id}, {"active", false}, {"activeAt", now_ms()}});
        }
        log::debug("socket disconnected", {{"sid", s->id()}, {"reason", reason}});
    }

    void on_event(const std::shared_ptr<socketio::socket>& s, std::string name, json::array args,
                  std::vector<std::string> attachments, socketio::ack_fn ack) {
        auto ctx = ctx_of(s);
        if (name == "ping") {
            // The CLI's flush barrier: ack {} (a data argument would break upstream's handler: no ack then).
            if (ack && args.empty()) {
                ack(json::array{json::object()}, {});
            }
            return;
        }
        if (name == "app-state") {
            std::string state;
            if (!args.empty() && args[0].is_object()) {
                state = string_field(args[0].get_object(), "state");
            }
            ctx->app_state = state == "active" ? 1 : 2;
            return;
        }
        if (name == "rpc-register" || name == "rpc-unregister") {
            bool reg = name == "rpc-register";
            std::string method;
            if (!args.empty() && args[0].is_object()) {
                method = string_field(args[0].get_object(), "method");
            }
            if (method.empty()) {
                s->emit("rpc-error", json::array{json::object{{"type", reg ? "register" : "unregister"},
                                                              {"error", "Invalid method name"}}});
                return;
            }
            if (reg) {
                s->join(rpc_room(ctx->account_id, method));
                s->emit("rpc-registered", json::array{json::object{{"method", method}}});
            } else {
                s->leave(rpc_room(ctx->account_id, method));
                s->emit("rpc-unregistered", json::array{json::object{{"method", method}}});
            }
            return;
        }
        if (name == "rpc-call") {
            asio::co_spawn(s->strand(), rpc_call(s, ctx, std::move(args), std::move(attachments), std::move(ack)),
                           asio::detached);
            return;
        }
        auto it = events.find(name);
        if (it == events.end()) {
            return;  // unknown events are ignored without reply
        }
        asio::co_spawn(s->strand(), run_handler(&it->second, ctx, s, std::move(name), std::move(args), std::move(ack)),
                       asio::detached);
    }

    // A named coroutine rather than a capturing lambda: g++ 12 miscompiles capturing coroutine lambdas passed as
    // temporaries (captures destroyed twice).
    static asio::awaitable<void> run_handler(const handler* h, std::shared_ptr<socket_ctx> ctx,
                                             std::shared_ptr<socketio::socket> s, std::string name, json::array args,
                                             socketio::ack_fn ack) {
        std::optional<json::value> reply;
        try {
            reply = co_await (*h)(*ctx, std::move(args));
        } catch (const std::exception& e) {
            log::error("socket event handler failed", {{"event", name}, {"error", e.what()}});
            co_return;
        }
        if (reply && ack) {
            ack(json::array{std::move(*reply)}, {});
        }
    }

    /// Acks with one value; `attachments` are the binary buffers its placeholders refer to.
    static void reply(const socketio::ack_fn& ack, json::object o, std::vector<std::string> attachments = {}) {
        if (ack) {
            ack(json::array{std::move(o)}, std::move(attachments));
        }
    }

    /// Completes when the target has been missing from the method's room on two consecutive checks.
    asio::awaitable<void> rpc_watchdog(std::string room, std::string target_id) {
        asio::steady_timer t(co_await asio::this_coro::executor);
        int misses = 0;
        while (misses < 2) {
            t.expires_after(rpc.presence_poll);
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
            misses = sio.in_room("/", room, target_id) ? 0 : misses + 1;
        }
    }

    /// Emits `rpc-request` to a socket of this instance and waits for its ack, the timeout, its disconnect, or its
    /// leaving the method's room (two consecutive misses of the presence watchdog). Run on a strand.
    asio::awaitable<socketio::ack_result> deliver_rpc(std::shared_ptr<socketio::socket> target, std::string room,
                                                      json::array args, std::vector<std::string> attachments,
                                                      std::chrono::milliseconds timeout) {
        using namespace asio::experimental::awaitable_operators;
        auto result = co_await (target->emit_with_ack("rpc-request", std::move(args), timeout, std::move(attachments)) ||
                                rpc_watchdog(room, target->id()));
        if (result.index() == 1) {
            co_return socketio::ack_result{socketio::ack_status::disconnected, {}, {}};
        }
        co_return std::move(std::get<0>(result));
    }

    /// An rpc-call made on another instance whose target socket is here.
    void serve_remote_rpc(std::string origin, wire::rpc_request req) {
        std::shared_ptr<socketio::socket> target;
        for (const auto& s : sio.room_members("/", req.socket_id)) {
            target = s;  // every socket is the only member of the room named after its id
        }
        boost::system::error_code ec;
        auto args = json::parse(req.args_json, ec);
        if (!target || !target->connected() || ec || !args.is_array()) {
            cluster.reply_rpc(origin, req.id, socketio::ack_result{socketio::ack_status::disconnected, {}, {}});
            return;
        }
        asio::co_spawn(target->strand(),
                       serve_rpc(this, std::move(origin), req.id, target, std::move(req.room), std::move(args.as_array()),
                                 std::move(req.attachments), std::chrono::milliseconds(req.timeout_ms)),
                       asio::detached);
    }

    static asio::awaitable<void> serve_rpc(impl* self, std::string origin, std::uint64_t id,
                                           std::shared_ptr<socketio::socket> target, std::string room, json::array args,
                                           std::vector<std::string> attachments, std::chrono::milliseconds timeout) {
        socketio::ack_result r;
        try {
            r = co_await self->deliver_rpc(std::move(target), std::move(room), std::move(args), std::move(attachments),
                                           timeout);
        } catch (const std::exception& e) {
            log::error("remote rpc-request failed", {{"error", e.what()}});
            r.status = socketio::ack_status::disconnected;
        }
        self->cluster.reply_rpc(origin, id, r);
    }

    struct rpc_target {
        std::shared_ptr<socketio::socket> local;
        std::optional<remote_socket> remote;
    };

    /// The first registrant of a method's room: here first (upstream's fetchSockets lists the local sockets first),
    /// else the first instance that answers. An empty room is asked again every grace_poll until the grace ends: a
    /// daemon that is reconnecting (to any instance) re-registers within it.
    asio::awaitable<rpc_target> find_rpc_target(const std::string& room) {
        rpc_target t;
        asio::steady_timer timer(co_await asio::this_coro::executor);
        const auto grace_end = std::chrono::steady_clock::now() + rpc.grace;
        for (;;) {
            auto members = sio.room_members("/", room);
            if (!members.empty()) {
                t.local = members.front();
                co_return t;
            }
            if (cluster.enabled()) {
                t.remote = co_await cluster.first_member(room);
                if (t.remote) {
                    co_return t;
                }
            }
            if (std::chrono::steady_clock::now() >= grace_end) {
                co_return t;
            }
            timer.expires_after(rpc.grace_poll);
            co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        }
    }

    /// realtime.md §3.4. Binary attachments travel with the value that holds their placeholders, both ways, as
    /// upstream's socket.io re-encodes the Buffers it received (renumber_attachments).
    asio::awaitable<void> rpc_call(std::shared_ptr<socketio::socket> caller, std::shared_ptr<socket_ctx> ctx,
                                   json::array args, std::vector<std::string> attachments, socketio::ack_fn ack) {
        std::string method;
        std::optional<json::value> params;
        if (!args.empty() && args[0].is_object()) {
            method = string_field(args[0].get_object(), "method");
            if (auto* p = args[0].get_object().if_contains("params")) {
                params = *p;
            }
        }
        if (method.empty()) {
            reply(ack, {{"ok", false}, {"error", "Invalid parameters: method is required"}});
            co_return;
        }
        std::string room = rpc_room(ctx->account_id, method);
        auto [local, remote] = co_await find_rpc_target(room);
        if (!local && !remote) {
            reply(ack, {{"ok", false}, {"error", "RPC method not available"}});
            co_return;
        }
        if (local && local->id() == caller->id()) {
            reply(ack, {{"ok", false}, {"error", "Cannot call RPC on the same socket"}});
            co_return;
        }
        json::object request;
        request["method"] = method;
        if (params) {
            request["params"] = std::move(*params);
        }
        json::array request_args;
        request_args.push_back(std::move(request));
        json::value request_value = std::move(request_args);
        auto request_attachments = socketio::renumber_attachments(request_value, attachments);
        socketio::ack_result r;
        if (local) {
            r = co_await deliver_rpc(local, room, std::move(request_value.as_array()), std::move(request_attachments),
                                     rpc.call_timeout);
        } else {
            r = co_await cluster.call(std::move(*remote), room, std::move(request_value.as_array()),
                                      std::move(request_attachments), rpc.call_timeout);
        }
        if (r.status == socketio::ack_status::disconnected) {
            reply(ack, {{"ok", false}, {"error", "RPC target disconnected"}});
        } else if (r.status == socketio::ack_status::timeout) {
            reply(ack, {{"ok", false}, {"error", "operation has timed out"}});
        } else if (r.args.empty()) {
            reply(ack, {{"ok", true}});
        } else {
            json::value ok = json::object{{"ok", true}, {"result", std::move(r.args[0])}};
            auto result_attachments = socketio::renumber_attachments(ok, r.attachments);
            reply(ack, std::move(ok.as_object()), std::move(result_attachments));
        }
    }
};

hub::hub(socketio::server& sio, auth::token_service& tokens, rpc_options rpc, bus::bus* bus, reorder_options order)
    : impl_(std::make_unique<impl>(sio, tokens, rpc, bus, order)) {
    auto* self = impl_.get();
    impl_->cluster.attach(cluster::local_hooks{
        .active_ui = [self](const std::string& account) { return self->local_active_ui(account); },
        .serve_rpc = [self](std::string origin, wire::rpc_request req) {
            self->serve_remote_rpc(std::move(origin), std::move(req));
        },
        .deliver = [self](wire::broadcast b) { self->deliver_remote(std::move(b)); },
    });
}

hub::~hub() = default;

void hub::start(asio::any_io_executor ex) { impl_->order.start(std::move(ex)); }

void hub::stop() { impl_->order.stop(); }

reorder_counters hub::order_counters() const { return impl_->order.counters(); }

std::size_t hub::updates_held() const { return impl_->order.held(); }

void hub::limit_sockets_per_account(std::size_t max) {
    impl_->account_sockets = std::make_unique<limits::counter>(max);
}

std::uint64_t hub::sockets_refused() const { return impl_->account_sockets->refused(); }

void hub::add_event(event_def e) {
    impl_->events[e.name] = std::move(e.fn);
}

std::vector<std::string> hub::event_names() const {
    std::vector<std::string> out(std::begin(builtin_events), std::end(builtin_events));
    for (const auto& [name, fn] : impl_->events) {
        out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

void hub::install() {
    socketio::namespace_handlers h;
    auto* self = impl_.get();
    h.middleware = [self](const std::shared_ptr<socketio::socket>& s) { return self->middleware(s); };
    h.on_connect = [self](const std::shared_ptr<socketio::socket>& s) { self->on_connect(s); };
    h.on_disconnect = [self](const std::shared_ptr<socketio::socket>& s, std::string_view r) {
        self->on_disconnect(s, r);
    };
    h.on_event = [self](const std::shared_ptr<socketio::socket>& s, std::string name, json::array args,
                        std::vector<std::string> atts, socketio::ack_fn ack) {
        self->on_event(s, std::move(name), std::move(args), std::move(atts), std::move(ack));
    };
    impl_->sio.add_namespace("/", std::move(h));
}

void hub::emit_update(std::string_view account_id, const recipients& to, const json::object& envelope,
                      std::string_view skip_socket_id) {
    std::unordered_set<std::string> except;
    if (!skip_socket_id.empty()) {
        except.emplace(skip_socket_id);
    }
    auto d = impl::encode(impl_->rooms_for(account_id, to), std::move(except), "update", envelope);
    const auto* seq = envelope.if_contains("seq");
    if (seq && seq->is_int64() && seq->get_int64() > 0) {
        impl_->broadcast_update(account_id, seq->get_int64(), std::move(d));
    } else {
        impl_->broadcast(d);  // not from update_envelope_build: nothing to order it by
    }
}

void hub::skip_update(std::string_view account_id, std::int64_t seq) {
    impl_->broadcast_update(account_id, seq, std::nullopt);
}

void hub::emit_ephemeral(std::string_view account_id, const recipients& to, const json::object& payload) {
    impl_->ephemeral(account_id, to, payload);
}

asio::awaitable<bool> hub::has_active_ui(std::string_view account_id) {
    if (impl_->local_active_ui(account_id)) {
        co_return true;
    }
    if (!impl_->cluster.enabled()) {
        co_return false;
    }
    co_return co_await impl_->cluster.active_ui(std::string(account_id));
}

bus::status hub::health() const {
    auto* b = impl_->cluster.bus_ptr();
    return b ? b->health() : bus::status{};
}

std::vector<connection_info> hub::connections() const {
    std::vector<connection_info> out;
    std::lock_guard lock(impl_->mutex);
    for (const auto& [account, sockets] : impl_->by_account) {
        for (const auto& [sid, weak] : sockets) {
            if (auto c = weak.lock()) {
                out.push_back({c->socket_id, c->account_id, c->client_type, c->session_id, c->machine_id,
                               c->happy_client, c->connected_at});
            }
        }
    }
    return out;
}

std::size_t hub::disconnect_account(std::string_view account_id) {
    auto members = impl_->sio.room_members("/", user_room(account_id));
    for (const auto& s : members) {
        s->disconnect(true);
    }
    if (!members.empty()) {
        log::info("account sockets disconnected", {{"account", account_id}, {"sockets", members.size()}});
    }
    return members.size();
}

std::string hub::user_room(std::string_view u) {
    return "user:" + std::string(u);
}
std::string hub::user_scoped_room(std::string_view u) {
    return "user:" + std::string(u) + ":user-scoped";
}
std::string hub::session_room(std::string_view u, std::string_view s) {
    return "user:" + std::string(u) + ":session:" + std::string(s);
}
std::string hub::machine_room(std::string_view u, std::string_view m) {
    return "user:" + std::string(u) + ":machine:" + std::string(m);
}
std::string hub::rpc_room(std::string_view u, std::string_view method) {
    return "rpc:" + std::string(u) + ":" + std::string(method);
}

}  // namespace happy::events
