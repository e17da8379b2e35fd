#include "core/socketio/server.hpp"

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include "core/log/log.hpp"

namespace happy::socketio {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::string room_key(std::string_view nsp, std::string_view room) {
    std::string k(nsp);
    k.push_back('\n');
    k.append(room);
    return k;
}

engineio::frame text_frame(std::string s) {
    return engineio::frame{std::make_shared<const std::string>(std::move(s)), false};
}

/// Queues a packet (and its binary attachments) on an engine connection.
void send_packet(engineio::socket& conn, const packet& p, const std::vector<std::string>& attachments = {}) {
    std::string text = "4";
    if (attachments.empty()) {
        append_encoded(text, p);
        conn.send(text_frame(std::move(text)));
        return;
    }
    binary_packet bp{p, attachments};
    text += encode_binary_header(bp);
    conn.send(text_frame(std::move(text)));
    for (const auto& a : attachments) {
        conn.send(engineio::frame{std::make_shared<const std::string>(a), true});
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Per engine connection state (lives in engineio::socket::user; touched on the connection strand).
// ---------------------------------------------------------------------------------------------
struct server::client {
    explicit client(const engineio::socket::strand_type& strand) : connect_timer(strand) {}
    engineio::open_info info;
    std::map<std::string, std::shared_ptr<socket>, std::less<>> sockets;  // by namespace
    std::unordered_set<std::string> connecting;                           // namespaces whose middleware runs
    std::optional<binary_reassembler> reassembly;
    asio::steady_timer connect_timer;
    bool closed = false;
};

struct socket::pending_ack {
    std::mutex m;
    bool done = false;
    std::optional<json::array> result;
    std::vector<std::string> attachments;
    std::optional<asio::steady_timer> timer;  // on the awaiting coroutine's executor
};

socket::socket(server& srv, std::shared_ptr<engineio::socket> conn, std::string nsp, std::string id, json::object auth,
               const engineio::open_info& info)
    : server_(srv),
      conn_(std::move(conn)),
      nsp_(std::move(nsp)),
      id_(std::move(id)),
      auth_(std::move(auth)),
      info_(info) {}

void socket::emit(std::string_view event, json::array args, std::vector<std::string> attachments) {
    json::array data;
    data.reserve(args.size() + 1);
    data.emplace_back(event);
    for (auto& a : args) {
        data.push_back(std::move(a));
    }
    packet p{.type = attachments.empty() ? packet_type::event : packet_type::binary_event, .nsp = nsp_};
    p.data = std::move(data);
    send_packet(*conn_, p, attachments);
}

asio::awaitable<ack_result> socket::emit_with_ack(std::string_view event, json::array args,
                                                  std::chrono::milliseconds timeout,
                                                  std::vector<std::string> attachments) {
    auto st = std::make_shared<pending_ack>();
    st->timer.emplace(co_await asio::this_coro::executor);
    std::uint64_t id;
    {
        std::lock_guard lock(ack_mutex_);
        if (!connected_) {
            co_return ack_result{ack_status::disconnected, {}};
        }
        id = next_ack_id_++;
        acks_.emplace(id, st);
    }
    json::array data;
    data.emplace_back(event);
    for (auto& a : args) {
        data.push_back(std::move(a));
    }
    packet p{.type = attachments.empty() ? packet_type::event : packet_type::binary_event, .nsp = nsp_, .id = id};
    p.data = std::move(data);
    send_packet(*conn_, p, attachments);

    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        {
            std::lock_guard lock(st->m);
            if (st->done) {
                break;
            }
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            break;
        }
        st->timer->expires_at(deadline);
        co_await st->timer->async_wait(asio::as_tuple(asio::use_awaitable));
    }
    {
        std::lock_guard lock(ack_mutex_);
        acks_.erase(id);
    }
    std::lock_guard lock(st->m);
    if (!st->done) {
        co_return ack_result{ack_status::timeout, {}};
    }
    if (!st->result) {
        co_return ack_result{ack_status::disconnected, {}};
    }
    co_return ack_result{ack_status::ok, std::move(*st->result), std::move(st->attachments)};
}

void socket::join(const std::string& room) {
    server_.join(*this, room);
}
void socket::leave(const std::string& room) {
    server_.leave(*this, room);
}

void socket::disconnect(bool close_connection) {
    asio::post(conn_->strand(), [self = shared_from_this(), close_connection] {
        auto c = std::static_pointer_cast<server::client>(self->conn_->user);
        if (!c) {
            return;
        }
        auto it = c->sockets.find(self->nsp_);
        if (it == c->sockets.end() || it->second != self) {
            return;
        }
        self->server_.remove_socket(*c, self, "server namespace disconnect", true);
        if (close_connection) {
            self->conn_->close("forced close");
        }
    });
}

// ---------------------------------------------------------------------------------------------

server::server(options opts) : opts_(opts) {}
server::~server() = default;

void server::add_namespace(std::string name, namespace_handlers h) {
    namespaces_.emplace(std::move(name), std::move(h));
}

void server::join(socket& s, const std::string& room) {
    std::lock_guard lock(rooms_mutex_);
    if (!s.connected_) {
        return;
    }
    auto& mine = memberships_[&s];
    if (!mine.insert(room).second) {
        return;
    }
    rooms_[room_key(s.nsp_, room)].push_back(s.shared_from_this());
}

void server::leave(socket& s, const std::string& room) {
    std::lock_guard lock(rooms_mutex_);
    auto m = memberships_.find(&s);
    if (m == memberships_.end() || !m->second.erase(room)) {
        return;
    }
    auto key = room_key(s.nsp_, room);
    auto it = rooms_.find(key);
    if (it != rooms_.end()) {
        std::erase_if(it->second, [&](const auto& p) { return p.get() == &s; });
        if (it->second.empty()) {
            rooms_.erase(it);
        }
    }
}

void server::leave_all(socket& s) {
    std::lock_guard lock(rooms_mutex_);
    auto m = memberships_.find(&s);
    if (m == memberships_.end()) {
        return;
    }
    for (const auto& room : m->second) {
        auto it = rooms_.find(room_key(s.nsp_, room));
        if (it != rooms_.end()) {
            std::erase_if(it->second, [&](const auto& p) { return p.get() == &s; });
            if (it->second.empty()) {
                rooms_.erase(it);
            }
        }
    }
    memberships_.erase(m);
}

engineio::frame server::encode_event(std::string_view nsp, std::string_view event, const json::array& args) {
    json::array data;
    data.reserve(args.size() + 1);
    data.emplace_back(event);
    for (const auto& a : args) {
        data.push_back(a);
    }
    packet p{.type = packet_type::event, .nsp = std::string(nsp)};
    p.data = std::move(data);
    std::string text = "4";
    append_encoded(text, p);
    return text_frame(std::move(text));
}

void server::broadcast(std::string_view nsp, const std::vector<std::string>& rooms,
                       const std::unordered_set<std::string>& except, std::string_view event, const json::array& args) {
    broadcast_frame(nsp, rooms, except, encode_event(nsp, event, args));
}

void server::broadcast_frame(std::string_view nsp, const std::vector<std::string>& rooms,
                             const std::unordered_set<std::string>& except, const engineio::frame& f) {
    std::vector<std::shared_ptr<socket>> targets;
    {
        std::lock_guard lock(rooms_mutex_);
        std::unordered_set<const socket*> seen;
        for (const auto& room : rooms) {
            auto it = rooms_.find(room_key(nsp, room));
            if (it == rooms_.end()) {
                continue;
            }
            for (const auto& s : it->second) {
                if (except.count(s->id_) || !seen.insert(s.get()).second) {
                    continue;
                }
                targets.push_back(s);
            }
        }
    }
    for (const auto& s : targets) {
        s->send_frame(f);
    }
}

std::vector<std::shared_ptr<socket>> server::room_members(std::string_view nsp, const std::string& room) const {
    std::lock_guard lock(rooms_mutex_);
    auto it = rooms_.find(room_key(nsp, room));
    return it == rooms_.end() ? std::vector<std::shared_ptr<socket>>{} : it->second;
}

bool server::in_room(std::string_view nsp, const std::string& room, const std::string& socket_id) const {
    std::lock_guard lock(rooms_mutex_);
    auto it = rooms_.find(room_key(nsp, room));
    if (it == rooms_.end()) {
        return false;
    }
    for (const auto& s : it->second) {
        if (s->id_ == socket_id) {
            return true;
        }
    }
    return false;
}

std::size_t server::socket_count() const {
    return sockets_.load();
}

void server::on_open(const std::shared_ptr<engineio::socket>& s, const engineio::open_info& info) {
    auto c = std::make_shared<client>(s->strand());
    c->info = info;
    s->user = c;
    // socket.io client.ts: close the connection when no namespace was joined within connectTimeout.
    c->connect_timer.expires_after(opts_.connect_timeout);
    c->connect_timer.async_wait([weak = std::weak_ptr<engineio::socket>(s), c](const boost::system::error_code& ec) {
        if (ec || c->closed) {
            return;
        }
        if (c->sockets.empty()) {
            if (auto conn = weak.lock()) {
                conn->close("connect timeout");
            }
        }
    });
}

void server::on_message(const std::shared_ptr<engineio::socket>& conn, std::string data, bool binary) {
    auto c = std::static_pointer_cast<client>(conn->user);
    if (!c || c->closed) {
        return;
    }
    if (binary) {
        if (!c->reassembly) {
            conn->close("parse error");  // an attachment nobody announced
            return;
        }
        if (c->reassembly->add(std::move(data))) {
            packet p = c->reassembly->take();
            auto atts = c->reassembly->take_attachments();
            c->reassembly.reset();
            dispatch(conn, *c, std::move(p), std::move(atts));
        }
        return;
    }
    if (c->reassembly) {
        conn->close("parse error");  // plaintext while reconstructing a binary packet
        return;
    }
    auto decoded = decode(data);
    if (auto* err = std::get_if<decode_error>(&decoded)) {
        log::debug("socket.io decode error", {{"sid", conn->id()}, {"reason", err->reason}});
        conn->close("parse error");
        return;
    }
    packet p = std::move(std::get<packet>(decoded));
    if ((p.type == packet_type::binary_event || p.type == packet_type::binary_ack) && p.attachments > 0) {
        c->reassembly.emplace(std::move(p));
        return;
    }
    dispatch(conn, *c, std::move(p), {});
}

void server::dispatch(const std::shared_ptr<engineio::socket>& conn, client& c, packet p,
                      std::vector<std::string> attachments) {
    auto existing = c.sockets.find(p.nsp);
    if (p.type == packet_type::connect) {
        if (existing != c.sockets.end() || c.connecting.count(p.nsp)) {
            conn->close("parse error");  // a second CONNECT on a connected namespace
            return;
        }
        auto ns = namespaces_.find(p.nsp);
        if (ns == namespaces_.end()) {
            packet err{.type = packet_type::connect_error, .nsp = p.nsp};
            err.data = json::object{{"message", "Invalid namespace"}};
            send_packet(*conn, err);
            return;
        }
        json::object auth;
        if (p.data && p.data->is_object()) {
            auth = p.data->get_object();
        }
        auto s = std::make_shared<socket>(*this, conn, p.nsp, make_sid(), std::move(auth), c.info);
        c.connecting.insert(p.nsp);
        const namespace_handlers* h = &ns->second;
        auto cptr = std::static_pointer_cast<client>(conn->user);
        asio::co_spawn(conn->strand(), run_connect(h, s, cptr, conn), asio::detached);
        return;
    }
    if (existing == c.sockets.end()) {
        conn->close("parse error");  // any other packet before CONNECT (socket.io client.ts "invalid state")
        return;
    }
    auto s = existing->second;
    switch (p.type) {
        case packet_type::event:
        case packet_type::binary_event: {
            auto& arr = p.data->as_array();
            std::string name = arr[0].is_string() ? std::string(arr[0].get_string()) : json::serialize(arr[0]);
            json::array args(arr.begin() + 1, arr.end());
            ack_fn ack;
            if (p.id) {
                auto sent = std::make_shared<std::atomic<bool>>(false);
                std::uint64_t id = *p.id;
                std::weak_ptr<engineio::socket> weak = conn;
                std::string nsp = s->nsp_;
                ack = [sent, id, weak, nsp](json::array reply, std::vector<std::string> atts) {
                    if (sent->exchange(true)) {
                        return;  // an ack is sent at most once
                    }
                    auto conn = weak.lock();
                    if (!conn) {
                        return;
                    }
                    packet a{.type = atts.empty() ? packet_type::ack : packet_type::binary_ack, .nsp = nsp, .id = id};
                    a.data = std::move(reply);
                    send_packet(*conn, a, atts);
                };
            }
            auto ns = namespaces_.find(s->nsp_);
            if (ns != namespaces_.end() && ns->second.on_event) {
                ns->second.on_event(s, std::move(name), std::move(args), std::move(attachments), std::move(ack));
            }
            break;
        }
        case packet_type::ack:
        case packet_type::binary_ack: {
            std::shared_ptr<socket::pending_ack> st;
            {
                std::lock_guard lock(s->ack_mutex_);
                auto it = s->acks_.find(p.id.value_or(~0ull));
                if (it == s->acks_.end()) {
                    break;
                }
                st = it->second;
                s->acks_.erase(it);
            }
            {
                std::lock_guard lock(st->m);
                st->done = true;
                st->result = p.data->as_array();
                st->attachments = std::move(attachments);
            }
            asio::post(st->timer->get_executor(), [st] { st->timer->cancel(); });
            break;
        }
        case packet_type::disconnect:
            remove_socket(c, s, "client namespace disconnect", false);
            break;
        default:
            conn->close("parse error");  // CONNECT_ERROR from a client
            break;
    }
}

asio::awaitable<void> server::run_connect(const namespace_handlers* h, std::shared_ptr<socket> s,
                                          std::shared_ptr<client> cptr, std::shared_ptr<engineio::socket> conn) {
    std::optional<std::string> rejection;
    if (h->middleware) {
        try {
            rejection = co_await h->middleware(s);
        } catch (const std::exception& e) {
            rejection = e.what();
        }
    }
    cptr->connecting.erase(s->nsp_);
    if (cptr->closed) {
        co_return;
    }
    if (rejection) {
        packet err{.type = packet_type::connect_error, .nsp = s->nsp_};
        err.data = json::object{{"message", *rejection}};
        send_packet(*conn, err);
        co_return;
    }
    s->connected_ = true;
    cptr->sockets[s->nsp_] = s;
    ++sockets_;
    join(*s, s->id_);
    // The handler joins the socket's rooms before CONNECT goes out: a client may act on CONNECT at once (an HTTP
    // call on another thread whose broadcast must reach it), and in Node the connection handler runs before the
    // CONNECT packet is flushed, so no client can observe the gap. The handler must not emit to the connecting
    // socket itself (that would precede CONNECT).
    if (h->on_connect) {
        h->on_connect(s);
    }
    packet ok{.type = packet_type::connect, .nsp = s->nsp_};
    ok.data = json::object{{"sid", s->id_}};
    send_packet(*conn, ok);
}

void server::remove_socket(client& c, const std::shared_ptr<socket>& s, std::string_view reason, bool notify_client) {
    c.sockets.erase(s->nsp_);
    if (notify_client) {
        packet d{.type = packet_type::disconnect, .nsp = s->nsp_};
        send_packet(*s->conn_, d);
    }
    s->connected_ = false;
    leave_all(*s);
    --sockets_;
    // Fail pending acks now instead of at their timeout.
    std::vector<std::shared_ptr<socket::pending_ack>> pending;
    {
        std::lock_guard lock(s->ack_mutex_);
        for (auto& [id, st] : s->acks_) {
            pending.push_back(st);
        }
        s->acks_.clear();
    }
    for (auto& st : pending) {
        {
            std::lock_guard lock(st->m);
            st->done = true;  // no result: the waiter returns nullopt at once
        }
        asio::post(st->timer->get_executor(), [st] { st->timer->cancel(); });
    }
    auto ns = namespaces_.find(s->nsp_);
    if (ns != namespaces_.end() && ns->second.on_disconnect) {
        ns->second.on_disconnect(s, reason);
    }
}

void server::on_close(const std::shared_ptr<engineio::socket>& conn, std::string_view reason) {
    auto c = std::static_pointer_cast<client>(conn->user);
    if (!c) {
        return;
    }
    c->closed = true;
    c->connect_timer.cancel();
    auto sockets = c->sockets;
    for (auto& [nsp, s] : sockets) {
        remove_socket(*c, s, reason, false);
    }
    conn->user.reset();  // break the engine socket ↔ client cycle
}

}  // namespace happy::socketio
