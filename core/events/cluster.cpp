#include "core/events/cluster.hpp"

#include <boost/json.hpp>

#include "core/log/log.hpp"

namespace happy::events {

namespace asio = boost::asio;
namespace json = boost::json;

/// A question out to the instances that were alive when it was asked: done at the first "found", or when every
/// one of them said "not here" or went away.
struct cluster::pending_query {
    std::mutex m;
    std::unordered_set<std::string> waiting;
    std::shared_ptr<util::oneshot<std::optional<remote_socket>>> done =
        std::make_shared<util::oneshot<std::optional<remote_socket>>>();

    void not_here(std::string_view instance) {
        bool last = false;
        {
            std::lock_guard lock(m);
            last = waiting.erase(std::string(instance)) > 0 && waiting.empty();
        }
        if (last) {
            done->set(std::nullopt);
        }
    }
};

cluster::cluster(socketio::server& sio, bus::bus* b, cluster_options o) : sio_(sio), bus_(b), opts_(o) {}

cluster::~cluster() = default;

void cluster::attach(local_hooks hooks) {
    hooks_ = std::move(hooks);
    if (!enabled()) {
        return;
    }
    bus_->on_message([this](std::string_view origin, std::string_view payload) { on_message(origin, payload); });
    bus_->on_peer_down([this](std::string_view peer) { on_peer_down(peer); });
}

std::string cluster::encode_broadcast(const delivery& d, std::string_view account, std::int64_t seq) const {
    if (!enabled()) {
        return {};
    }
    wire::broadcast b;
    b.rooms = d.rooms;
    b.except.assign(d.except.begin(), d.except.end());
    if (d.frame.data) {
        b.frame = *d.frame.data;
    }
    b.account = account;
    b.seq = seq;
    return wire::encode(b);
}

void cluster::publish(std::string message) {
    if (enabled() && !message.empty()) {
        bus_->publish(std::move(message));
    }
}

asio::awaitable<std::optional<remote_socket>> cluster::ask(wire::query_kind kind, std::string key) {
    if (!enabled()) {
        co_return std::nullopt;
    }
    auto peers = bus_->peers();
    if (peers.empty()) {
        co_return std::nullopt;
    }
    auto q = std::make_shared<pending_query>();
    q->waiting.insert(peers.begin(), peers.end());
    const std::uint64_t id = next_id_++;
    {
        std::lock_guard lock(mutex_);
        queries_.emplace(id, q);
    }
    struct forget {
        cluster* self;
        std::uint64_t id;
        ~forget() {
            std::lock_guard lock(self->mutex_);
            self->queries_.erase(id);
        }
    } forget_on_exit{this, id};
    bus_->publish(wire::encode(wire::query{id, kind, std::move(key)}));
    auto r = co_await q->done->wait_for(opts_.query_timeout);
    co_return r ? std::move(*r) : std::nullopt;
}

asio::awaitable<std::optional<remote_socket>> cluster::first_member(std::string room) {
    return ask(wire::query_kind::first_member, std::move(room));
}

asio::awaitable<bool> cluster::active_ui(std::string account) {
    auto r = co_await ask(wire::query_kind::active_ui, std::move(account));
    co_return r.has_value();
}

asio::awaitable<socketio::ack_result> cluster::call(remote_socket target, std::string room, json::array args,
                                                    std::vector<std::string> attachments,
                                                    std::chrono::milliseconds timeout) {
    const std::uint64_t id = next_id_++;
    auto slot = std::make_shared<util::oneshot<socketio::ack_result>>();
    {
        std::lock_guard lock(mutex_);
        calls_.emplace(id, pending_call{target.instance, slot});
    }
    struct forget {
        cluster* self;
        std::uint64_t id;
        ~forget() {
            std::lock_guard lock(self->mutex_);
            self->calls_.erase(id);
        }
    } forget_on_exit{this, id};
    // Registered before this check, so an instance that goes away from here on fails the call through
    // on_peer_down rather than leaving it to the timeout.
    if (!enabled() || !bus_->peer_alive(target.instance)) {
        co_return socketio::ack_result{socketio::ack_status::disconnected, {}, {}};
    }
    wire::rpc_request req;
    req.id = id;
    req.socket_id = std::move(target.socket_id);
    req.room = std::move(room);
    req.timeout_ms = static_cast<std::uint64_t>(timeout.count());
    req.args_json = json::serialize(args);
    req.attachments = std::move(attachments);
    bus_->send_to(target.instance, wire::encode(req));
    auto r = co_await slot->wait_for(timeout);
    if (!r) {
        co_return socketio::ack_result{socketio::ack_status::timeout, {}, {}};
    }
    co_return std::move(*r);
}

void cluster::reply_rpc(const std::string& origin, std::uint64_t id, const socketio::ack_result& r) {
    wire::rpc_result res;
    res.id = id;
    switch (r.status) {
        case socketio::ack_status::ok:
            res.status = wire::rpc_status::ok;
            break;
        case socketio::ack_status::timeout:
            res.status = wire::rpc_status::timeout;
            break;
        case socketio::ack_status::disconnected:
            res.status = wire::rpc_status::disconnected;
            break;
    }
    res.args_json = json::serialize(r.args);
    res.attachments = r.attachments;
    bus_->send_to(origin, wire::encode(res));
}

void cluster::answer_query(std::string_view origin, const wire::query& q) {
    wire::answer a;
    a.id = q.id;
    if (q.kind == wire::query_kind::first_member) {
        // Room order is join order: the first member is the earliest registrant here (upstream takes the first
        // socket fetchSockets returns).
        for (const auto& s : sio_.room_members("/", q.key)) {
            if (s->connected()) {
                a.found = true;
                a.socket_id = s->id();
                break;
            }
        }
    } else if (hooks_.active_ui) {
        a.found = hooks_.active_ui(q.key);
    }
    bus_->send_to(origin, wire::encode(a));
}

void cluster::on_message(std::string_view origin, std::string_view payload) {
    auto m = wire::decode(payload);
    if (!m) {
        log::warn("cluster: dropped a malformed message", {{"from", origin}, {"bytes", payload.size()}});
        return;
    }
    auto& msg = *m;
    if (auto* b = std::get_if<wire::broadcast>(&msg)) {
        if (hooks_.deliver) {
            hooks_.deliver(std::move(*b));
        }
    } else if (auto* q = std::get_if<wire::query>(&msg)) {
        answer_query(origin, *q);
    } else if (auto* a = std::get_if<wire::answer>(&msg)) {
        std::shared_ptr<pending_query> pq;
        {
            std::lock_guard lock(mutex_);
            if (auto it = queries_.find(a->id); it != queries_.end()) {
                pq = it->second;
            }
        }
        if (!pq) {
            return;  // answered after the asker gave up
        }
        if (a->found) {
            pq->done->set(remote_socket{std::string(origin), std::move(a->socket_id)});
        } else {
            pq->not_here(origin);
        }
    } else if (auto* req = std::get_if<wire::rpc_request>(&msg)) {
        if (hooks_.serve_rpc) {
            hooks_.serve_rpc(std::string(origin), std::move(*req));
        }
    } else if (auto* res = std::get_if<wire::rpc_result>(&msg)) {
        std::shared_ptr<util::oneshot<socketio::ack_result>> slot;
        {
            std::lock_guard lock(mutex_);
            if (auto it = calls_.find(res->id); it != calls_.end()) {
                slot = it->second.slot;
            }
        }
        if (!slot) {
            return;  // a late ack: the caller already got its answer
        }
        socketio::ack_result r;
        switch (res->status) {
            case wire::rpc_status::ok: {
                r.status = socketio::ack_status::ok;
                boost::system::error_code ec;
                auto v = json::parse(res->args_json, ec);
                if (!ec && v.is_array()) {
                    r.args = std::move(v.get_array());
                }
                r.attachments = std::move(res->attachments);
                break;
            }
            case wire::rpc_status::timeout:
                r.status = socketio::ack_status::timeout;
                break;
            case wire::rpc_status::disconnected:
                r.status = socketio::ack_status::disconnected;
                break;
        }
        slot->set(std::move(r));
    }
}

void cluster::on_peer_down(std::string_view peer) {
    std::vector<std::shared_ptr<pending_query>> queries;
    std::vector<std::shared_ptr<util::oneshot<socketio::ack_result>>> calls;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, q] : queries_) {
            queries.push_back(q);
        }
        for (auto& [id, c] : calls_) {
            if (c.instance == peer) {
                calls.push_back(c.slot);
            }
        }
    }
    for (auto& q : queries) {
        q->not_here(peer);
    }
    for (auto& c : calls) {
        c->set(socketio::ack_result{socketio::ack_status::disconnected, {}, {}});
    }
}

}  // namespace happy::events
