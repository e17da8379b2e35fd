#include "plugins/bus_redis/bus_redis_plugin.hpp"

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <mutex>
#include <optional>
#include <random>
#include <unordered_map>

#include "core/crypto/ids.hpp"
#include "core/log/log.hpp"
#include "core/util/oneshot.hpp"
#include "plugins/bus_redis/envelope.hpp"
#include "plugins/bus_redis/redis_connection.hpp"

namespace happy::plugin::bus_redis {

namespace asio = boost::asio;
namespace hb = ::happy::bus;
using clock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

namespace {

struct peer_state {
    clock::time_point last_seen;
    std::uint64_t next_broadcast = 0;  ///< the sequence number expected next on <prefix>:all; 0 = not known yet
    std::uint64_t next_direct = 0;     ///< the same on our own channel
};

class redis_bus final : public hb::bus {
public:
    redis_bus(options o, redis_url u)
        : opts_(std::move(o)),
          url_(std::move(u)),
          id_(crypto::random_alnum(12)),
          all_channel_(opts_.prefix + ":all"),
          my_channel_(opts_.prefix + ":node:" + id_),
          rng_(std::random_device{}()) {}

    const std::string& instance_id() const override { return id_; }
    bool clustered() const override { return true; }
    void on_message(hb::message_handler h) override { on_message_ = std::move(h); }
    void on_peer_down(hb::peer_handler h) override { on_peer_down_ = std::move(h); }

    asio::awaitable<void> start(asio::any_io_executor ex) override {
        strand_.emplace(asio::make_strand(ex));
        tick_.emplace(*strand_);
        pub_backoff_.emplace(*strand_);
        sub_backoff_.emplace(*strand_);
        auto pub = std::make_shared<redis_connection>(*strand_, opts_.ca_file);
        auto sub = std::make_shared<redis_connection>(*strand_, opts_.ca_file);
        try {
            co_await asio::co_spawn(*strand_, open_both(pub, sub), asio::use_awaitable);
        } catch (const std::exception& e) {
            throw std::runtime_error(fmt::format("cannot connect to Redis at {}: {}", url_.masked(), e.what()));
        }
        {
            std::lock_guard lock(mutex_);
            pub_ = pub;
        }
        sub_ = sub;
        pub_up_ = true;
        sub_up_ = true;
        last_self_heard_ = clock::now();
        all_done_ = std::make_shared<util::oneshot<bool>>();
        spawn(keep(false, pub));
        spawn(keep(true, sub));
        spawn(ticker());
        // Announce ourselves now rather than a heartbeat interval from now.
        emit(envelope_kind::heartbeat, {}, {});
        log::info("bus connected", {{"redis", url_.masked()}, {"instance", id_}, {"channel", all_channel_}});
    }

    asio::awaitable<void> stop() override {
        if (!all_done_ || stopping_.exchange(true)) {
            co_return;  // never started
        }
        std::shared_ptr<redis_connection> pub;
        {
            std::lock_guard lock(mutex_);
            pub = pub_;
        }
        if (pub && pub_up_) {
            // A goodbye lets the peers fail calls to us now instead of after the liveness timeout; the PING reply
            // proves it was written.
            emit(envelope_kind::goodbye, {}, {});
            co_await pub->call(ping_command(), milliseconds(500));
        }
        asio::post(*strand_, [this] {
            tick_->cancel();
            pub_backoff_->cancel();
            sub_backoff_->cancel();
            if (sub_) {
                sub_->close();
            }
            std::lock_guard lock(mutex_);
            if (pub_) {
                pub_->close();
            }
        });
        co_await all_done_->wait_for(milliseconds(1000));
    }

    void publish(std::string payload) override { emit(envelope_kind::message, {}, payload); }

    void send_to(std::string_view instance, std::string payload) override {
        emit(envelope_kind::message, instance, payload);
    }

    std::vector<std::string> peers() const override {
        std::lock_guard lock(peers_mutex_);
        std::vector<std::string> out;
        out.reserve(peers_.size());
        for (const auto& [id, p] : peers_) {
            out.push_back(id);
        }
        return out;
    }

    bool peer_alive(std::string_view instance) const override {
        std::lock_guard lock(peers_mutex_);
        return peers_.find(std::string(instance)) != peers_.end();
    }

    hb::status health() const override {
        if (pub_up_ && sub_up_) {
            return {};
        }
        std::lock_guard lock(status_mutex_);
        return {false, fmt::format("redis {}: {}", url_.masked(), down_reason_.empty() ? "not connected" : down_reason_)};
    }

    hb::counters stats() const override {
        return {published_.load(), received_.load(), dropped_.load(), lost_.load()};
    }

    asio::awaitable<bool> claim(std::string key, milliseconds ttl) override {
        std::shared_ptr<redis_connection> pub;
        {
            std::lock_guard lock(mutex_);
            pub = pub_;
        }
        if (!pub || !pub_up_) {
            co_return true;  // fail open: the jobs that claim are idempotent
        }
        auto v = co_await pub->call(claim_command(key, ttl), milliseconds(2000));
        if (v.is_error()) {
            log::warn("bus claim failed; running anyway", {{"key", key}, {"error", v.str}});
            co_return true;
        }
        co_return v.is_ok();  // a null reply: another instance holds it
    }

private:
    // Commands are built outside the coroutines: g++ 12 rejects an initializer_list temporary inside a co_await
    // expression ("array used as initializer").
    static std::string ping_command() { return resp::command({"PING"}); }
    std::string claim_command(const std::string& key, milliseconds ttl) const {
        return resp::command({"SET", opts_.prefix + ":claim:" + key, id_, "NX", "PX", std::to_string(ttl.count())});
    }
    std::vector<std::string> channels() const { return {all_channel_, my_channel_}; }

    asio::awaitable<void> open_both(std::shared_ptr<redis_connection> pub, std::shared_ptr<redis_connection> sub) {
        co_await pub->open(url_, opts_.connect_timeout);
        co_await sub->open(url_, opts_.connect_timeout, channels());
    }

    void spawn(asio::awaitable<void> task) {
        ++tasks_;
        asio::co_spawn(*strand_, std::move(task), [this](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& x) {
                    log::error("bus task failed", {{"error", x.what()}});
                }
            }
            if (--tasks_ == 0) {
                all_done_->set(true);
            }
        });
    }

    /// Queues one PUBLISH; the sequence number is taken under the same lock as the queueing, so the numbers go
    /// out in order.
    void emit(envelope_kind kind, std::string_view dest, std::string_view body) {
        std::string node_channel;
        if (!dest.empty()) {
            node_channel = opts_.prefix + ":node:" + std::string(dest);
        }
        const std::string& channel = dest.empty() ? all_channel_ : node_channel;
        std::lock_guard lock(mutex_);
        if (!pub_ || !pub_up_) {
            if (kind == envelope_kind::message) {
                ++dropped_;
            }
            return;
        }
        std::uint64_t seq = dest.empty() ? ++broadcast_seq_ : ++direct_seq_[std::string(dest)];
        // PUBLISH <channel> <envelope>, encoded by hand to build the envelope in place (one copy of the body).
        const std::size_t frame_size = envelope_header_size(id_) + body.size();
        std::string cmd;
        cmd.reserve(48 + channel.size() + frame_size);
        cmd += "*3\r\n$7\r\nPUBLISH\r\n$";
        cmd += std::to_string(channel.size());
        cmd += "\r\n";
        cmd += channel;
        cmd += "\r\n$";
        cmd += std::to_string(frame_size);
        cmd += "\r\n";
        envelope_header(cmd, kind, id_, seq);
        cmd.append(body);
        cmd += "\r\n";
        pub_->send(std::move(cmd));
        if (kind == envelope_kind::message) {
            ++published_;
        }
    }

    /// A Pub/Sub push on the subscriber connection (strand).
    void on_push(resp::value& v) {
        if (!v.is_array() || v.elements.size() != 3 || v.elements[0].str != "message") {
            return;
        }
        const bool directed = v.elements[1].str == my_channel_;
        auto e = envelope_parse(v.elements[2].str);
        if (!e) {
            log::debug("bus: ignored a message that is not ours", {{"channel", v.elements[1].str}});
            return;
        }
        const auto now = clock::now();
        if (e->origin == id_) {
            if (e->kind == envelope_kind::heartbeat) {
                last_self_heard_ = now;
            }
            return;  // Pub/Sub echoes our own broadcasts
        }
        bool joined = false;
        bool left = false;
        {
            std::lock_guard lock(peers_mutex_);
            if (e->kind == envelope_kind::goodbye) {
                left = peers_.erase(std::string(e->origin)) > 0;
            } else {
                auto [it, inserted] = peers_.try_emplace(std::string(e->origin));
                joined = inserted;
                it->second.last_seen = now;
                auto& next = directed ? it->second.next_direct : it->second.next_broadcast;
                if (next != 0 && e->seq > next) {
                    lost_ += e->seq - next;
                    lost_unreported_ += e->seq - next;
                }
                next = e->seq + 1;
            }
        }
        if (joined) {
            log::info("bus peer up", {{"peer", e->origin}});
        }
        if (e->kind == envelope_kind::goodbye) {
            if (left) {
                log::info("bus peer left", {{"peer", e->origin}});
                peer_gone(std::string(e->origin));
            }
            return;
        }
        if (e->kind == envelope_kind::message) {
            ++received_;
            if (on_message_) {
                on_message_(e->origin, e->body);
            }
        }
    }

    void peer_gone(const std::string& peer) {
        {
            std::lock_guard lock(mutex_);
            direct_seq_.erase(peer);
        }
        if (on_peer_down_) {
            on_peer_down_(peer);
        }
    }

    /// Heartbeats out, silent peers dropped, our own round trip through Redis checked (strand).
    asio::awaitable<void> ticker() {
        for (;;) {
            const auto due = clock::now() + opts_.heartbeat;
            tick_->expires_at(due);
            co_await tick_->async_wait(asio::as_tuple(asio::use_awaitable));
            if (stopping_) {
                co_return;
            }
            emit(envelope_kind::heartbeat, {}, {});
            const auto now = clock::now();
            if (now - due > opts_.heartbeat / 2) {
                // This process was starved (CPU, a stopped VM): the peers' heartbeats may be sitting unread in the
                // socket. Judge silence on the next tick, after the reader caught up.
                continue;
            }
            std::vector<std::string> gone;
            {
                std::lock_guard lock(peers_mutex_);
                for (auto it = peers_.begin(); it != peers_.end();) {
                    if (now - it->second.last_seen > opts_.peer_timeout) {
                        gone.push_back(it->first);
                        it = peers_.erase(it);
                    } else {
                        ++it;
                    }
                }
            }
            for (const auto& p : gone) {
                log::warn("bus peer timed out", {{"peer", p}, {"timeoutMs", opts_.peer_timeout.count()}});
                peer_gone(p);
            }
            // Both connections look fine but nothing comes back: re-establish them. Judged on two ticks in a row,
            // so that a process that was merely starved of CPU reads its backlog before it decides.
            const bool stalled = pub_up_ && sub_up_ && now - last_self_heard_ > opts_.peer_timeout;
            const bool reconnect = stalled && stalled_before_;
            stalled_before_ = stalled && !reconnect;
            if (reconnect) {
                record_down("own heartbeat did not come back through Redis");
                if (sub_) {
                    sub_->close();
                }
                std::lock_guard lock(mutex_);
                if (pub_) {
                    pub_->close();
                }
            }
            if (auto n = lost_unreported_.exchange(0); n > 0) {
                log::warn("bus messages lost", {{"count", n}, {"total", lost_.load()}});
            }
        }
    }

    /// Runs one connection, and after it fails re-opens it with back-off until it works or the bus stops.
    asio::awaitable<void> keep(bool subscriber, std::shared_ptr<redis_connection> c) {
        const char* role = subscriber ? "subscriber" : "publisher";
        for (;;) {
            std::string reason;
            if (subscriber) {
                reason = co_await c->run([this](resp::value& v) { on_push(v); });
            } else {
                reason = co_await c->run();
            }
            (subscriber ? sub_up_ : pub_up_) = false;
            if (stopping_) {
                co_return;
            }
            record_down(fmt::format("{} connection: {}", role, reason), false);
            if (subscriber) {
                drop_all_peers();
            }
            auto& timer = subscriber ? *sub_backoff_ : *pub_backoff_;
            milliseconds delay(100);
            for (;;) {
                // ±20 % jitter: instances that lost Redis together do not all knock at the same instant.
                std::uniform_int_distribution<long> jitter(delay.count() * 8 / 10, delay.count() * 12 / 10);
                timer.expires_after(milliseconds(jitter(rng_)));
                co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
                if (stopping_) {
                    co_return;
                }
                auto fresh = std::make_shared<redis_connection>(*strand_, opts_.ca_file);
                try {
                    if (subscriber) {
                        co_await fresh->open(url_, opts_.connect_timeout, channels());
                    } else {
                        co_await fresh->open(url_, opts_.connect_timeout);
                    }
                    c = std::move(fresh);
                    break;
                } catch (const std::exception& e) {
                    log::debug("bus reconnect failed", {{"role", role}, {"error", e.what()}});
                    record_down(fmt::format("{} connection: {}", role, e.what()));
                    delay = std::min(delay * 2, opts_.reconnect_max);
                }
            }
            if (stopping_) {
                c->close();
                co_return;
            }
            if (subscriber) {
                sub_ = c;
                sub_up_ = true;
            } else {
                std::lock_guard lock(mutex_);
                pub_ = c;
                pub_up_ = true;
            }
            last_self_heard_ = clock::now();
            record_up();
        }
    }

    /// While our subscription is down we hear nobody: every peer counts as gone (their pending calls fail now).
    void drop_all_peers() {
        std::vector<std::string> gone;
        {
            std::lock_guard lock(peers_mutex_);
            for (const auto& [id, p] : peers_) {
                gone.push_back(id);
            }
            peers_.clear();
        }
        for (const auto& p : gone) {
            peer_gone(p);
        }
    }

    /// `current`: the reason replaces the one of an outage in progress (a failed reconnect says how things are
    /// now); otherwise the first cause stays (a connection we closed ourselves fails with "Operation canceled").
    void record_down(std::string reason, bool current = true) {
        std::lock_guard lock(status_mutex_);
        if (current || !outage_) {
            down_reason_ = std::move(reason);
        }
        if (!outage_) {
            outage_ = true;
            down_since_ = clock::now();
            // Once per outage; the retries log at debug level.
            log::error("bus lost Redis; serving this instance's sockets only, reconnecting",
                       {{"redis", url_.masked()}, {"error", down_reason_}});
        }
    }

    void record_up() {
        if (!pub_up_ || !sub_up_) {
            return;
        }
        std::lock_guard lock(status_mutex_);
        if (outage_) {
            outage_ = false;
            log::info("bus reconnected to Redis",
                      {{"redis", url_.masked()},
                       {"downMs", duration_cast<milliseconds>(clock::now() - down_since_).count()}});
        }
    }

    options opts_;
    redis_url url_;
    std::string id_;
    std::string all_channel_;
    std::string my_channel_;
    hb::message_handler on_message_;
    hb::peer_handler on_peer_down_;

    // Strand-only.
    std::optional<asio::strand<asio::any_io_executor>> strand_;
    std::optional<asio::steady_timer> tick_;
    std::optional<asio::steady_timer> pub_backoff_;
    std::optional<asio::steady_timer> sub_backoff_;
    std::shared_ptr<redis_connection> sub_;
    clock::time_point last_self_heard_;
    bool stalled_before_ = false;
    std::minstd_rand rng_;
    std::atomic<int> tasks_{0};
    std::shared_ptr<util::oneshot<bool>> all_done_;

    // Publishing side, from any thread.
    mutable std::mutex mutex_;
    std::shared_ptr<redis_connection> pub_;
    std::uint64_t broadcast_seq_ = 0;
    std::unordered_map<std::string, std::uint64_t> direct_seq_;

    mutable std::mutex peers_mutex_;
    std::unordered_map<std::string, peer_state> peers_;

    mutable std::mutex status_mutex_;
    std::string down_reason_;
    bool outage_ = false;
    clock::time_point down_since_;

    std::atomic<bool> pub_up_{false};
    std::atomic<bool> sub_up_{false};
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint64_t> published_{0};
    std::atomic<std::uint64_t> received_{0};
    std::atomic<std::uint64_t> dropped_{0};
    std::atomic<std::uint64_t> lost_{0};
    std::atomic<std::uint64_t> lost_unreported_{0};
};

milliseconds ms_of(const boost::json::object& cfg, std::string_view key, milliseconds fallback) {
    if (auto* v = cfg.if_contains(key)) {
        return milliseconds(v->to_number<std::int64_t>());
    }
    return fallback;
}

}  // namespace

std::unique_ptr<bus::bus> make_bus(options o) {
    if (o.url.empty()) {
        throw std::invalid_argument("bus.redis.url (env REDIS_URL) is empty");
    }
    redis_url u;
    try {
        u = redis_url::parse(o.url);
    } catch (const std::invalid_argument& e) {
        // Never echo the URL itself: it may carry a password.
        throw std::invalid_argument(fmt::format("bus.redis.url: {}", e.what()));
    }
    if (o.peer_timeout <= o.heartbeat) {
        throw std::invalid_argument("bus.redis.peer_timeout_ms must be larger than bus.redis.heartbeat_ms");
    }
    return std::make_unique<redis_bus>(std::move(o), std::move(u));
}

namespace {

/// The plugin's config section, bus.redis.
constexpr std::string_view config_schema = R"json({
  "type": "object", "additionalProperties": false,
  "properties": {
    "url": {"type": "string", "default": "", "description": "redis://[[user]:password@]host[:port][/db], or rediss://... for TLS (env REDIS_URL)."},
    "prefix": {"type": "string", "minLength": 1, "default": "happy", "description": "Pub/Sub channel and key prefix; the instances sharing it form one cluster."},
    "heartbeat_ms": {"type": "integer", "minimum": 10, "default": 1000, "description": "Interval of the liveness heartbeat each instance publishes."},
    "peer_timeout_ms": {"type": "integer", "minimum": 20, "default": 3000, "description": "An instance silent this long is gone: RPCs to its sockets fail with RPC target disconnected."},
    "connect_timeout_ms": {"type": "integer", "minimum": 100, "default": 3000, "description": "Bound on connecting (and authenticating) to Redis."},
    "reconnect_max_ms": {"type": "integer", "minimum": 100, "default": 5000, "description": "Back-off ceiling between reconnection attempts while Redis is unreachable."},
    "ca_file": {"type": "string", "default": "", "description": "Extra PEM CA bundle trusted for rediss:// besides the system store (a private CA)."}
  }
})json";

}  // namespace

void register_plugin(registry& reg) {
    reg.add_bus("redis", [](const bus_options& bo) {
        options o;
        const auto& c = bo.config;
        if (auto* v = c.if_contains("url")) {
            o.url = std::string(v->as_string());
        }
        if (auto* v = c.if_contains("prefix")) {
            o.prefix = std::string(v->as_string());
        }
        o.heartbeat = ms_of(c, "heartbeat_ms", o.heartbeat);
        o.peer_timeout = ms_of(c, "peer_timeout_ms", o.peer_timeout);
        o.connect_timeout = ms_of(c, "connect_timeout_ms", o.connect_timeout);
        o.reconnect_max = ms_of(c, "reconnect_max_ms", o.reconnect_max);
        if (auto* v = c.if_contains("ca_file")) {
            o.ca_file = std::string(v->as_string());
        }
        return make_bus(std::move(o));
    },
    {.schema = config_schema,
     // Upstream's REDIS_URL: setting it turns on cluster mode (socket.ts attaches the Redis adapter only then).
     .env = {{"REDIS_URL", "bus.kind", "select:redis"}, {"REDIS_URL", "bus.redis.url", "string"}}});
}

}  // namespace happy::plugin::bus_redis
