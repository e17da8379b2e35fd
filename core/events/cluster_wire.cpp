#include "core/events/cluster_wire.hpp"

#include <type_traits>

namespace happy::events::wire {

namespace {

enum class tag : std::uint8_t { broadcast = 1, query = 2, answer = 3, rpc_request = 4, rpc_result = 5, update = 6 };

class writer {
public:
    void u8(std::uint8_t v) { out_ += static_cast<char>(v); }
    void u64(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) {
            out_ += static_cast<char>((v >> (8 * i)) & 0xff);
        }
    }
    void str(std::string_view s) {
        count(s.size());
        out_.append(s);
    }
    void list(const std::vector<std::string>& v) {
        count(v.size());
        for (const auto& s : v) {
            str(s);
        }
    }
    std::string take() { return std::move(out_); }

private:
    void count(std::size_t n) {
        for (int i = 0; i < 4; ++i) {
            out_ += static_cast<char>((n >> (8 * i)) & 0xff);
        }
    }
    std::string out_;
};

/// Reads fields in order; any overrun makes ok() false and every later read returns zero values.
class reader {
public:
    explicit reader(std::string_view in) : in_(in) {}
    bool ok() const { return ok_; }
    bool at_end() const { return ok_ && in_.empty(); }
    std::uint8_t u8() {
        if (!need(1)) {
            return 0;
        }
        auto v = static_cast<std::uint8_t>(in_[0]);
        in_.remove_prefix(1);
        return v;
    }
    std::uint64_t u64() { return fixed(8); }
    std::string str() {
        auto n = static_cast<std::size_t>(fixed(4));
        if (!need(n)) {
            return {};
        }
        std::string s(in_.substr(0, n));
        in_.remove_prefix(n);
        return s;
    }
    std::vector<std::string> list() {
        auto n = static_cast<std::size_t>(fixed(4));
        std::vector<std::string> v;
        // Each entry takes at least its 4-byte length: a count that cannot fit is malformed, not a reservation.
        if (n > in_.size() / 4) {
            ok_ = false;
            return v;
        }
        v.reserve(n);
        for (std::size_t i = 0; i < n && ok_; ++i) {
            v.push_back(str());
        }
        return v;
    }

private:
    bool need(std::size_t n) {
        if (!ok_ || in_.size() < n) {
            ok_ = false;
            return false;
        }
        return true;
    }
    std::uint64_t fixed(int bytes) {
        if (!need(static_cast<std::size_t>(bytes))) {
            return 0;
        }
        std::uint64_t v = 0;
        for (int i = 0; i < bytes; ++i) {
            v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[i])) << (8 * i);
        }
        in_.remove_prefix(static_cast<std::size_t>(bytes));
        return v;
    }
    std::string_view in_;
    bool ok_ = true;
};

}  // namespace

std::string encode(const message& m) {
    writer w;
    std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, broadcast>) {
                w.u8(static_cast<std::uint8_t>(v.seq > 0 ? tag::update : tag::broadcast));
                w.list(v.rooms);
                w.list(v.except);
                w.str(v.frame);
                if (v.seq > 0) {
                    w.str(v.account);
                    w.u64(static_cast<std::uint64_t>(v.seq));
                }
            } else if constexpr (std::is_same_v<T, query>) {
                w.u8(static_cast<std::uint8_t>(tag::query));
                w.u64(v.id);
                w.u8(static_cast<std::uint8_t>(v.kind));
                w.str(v.key);
            } else if constexpr (std::is_same_v<T, answer>) {
                w.u8(static_cast<std::uint8_t>(tag::answer));
                w.u64(v.id);
                w.u8(v.found ? 1 : 0);
                w.str(v.socket_id);
            } else if constexpr (std::is_same_v<T, rpc_request>) {
                w.u8(static_cast<std::uint8_t>(tag::rpc_request));
                w.u64(v.id);
                w.str(v.socket_id);
                w.str(v.room);
                w.u64(v.timeout_ms);
                w.str(v.args_json);
                w.list(v.attachments);
            } else {
                w.u8(static_cast<std::uint8_t>(tag::rpc_result));
                w.u64(v.id);
                w.u8(static_cast<std::uint8_t>(v.status));
                w.str(v.args_json);
                w.list(v.attachments);
            }
        },
        m);
    return w.take();
}

std::optional<message> decode(std::string_view bytes) {
    reader r(bytes);
    message m;
    const auto t = static_cast<tag>(r.u8());
    switch (t) {
        case tag::broadcast:
        case tag::update: {
            broadcast b;
            b.rooms = r.list();
            b.except = r.list();
            b.frame = r.str();
            if (t == tag::update) {
                b.account = r.str();
                b.seq = static_cast<std::int64_t>(r.u64());
                if (b.seq <= 0) {
                    return std::nullopt;
                }
            }
            m = std::move(b);
            break;
        }
        case tag::query: {
            query q;
            q.id = r.u64();
            auto k = r.u8();
            if (k != static_cast<std::uint8_t>(query_kind::first_member) &&
                k != static_cast<std::uint8_t>(query_kind::active_ui)) {
                return std::nullopt;
            }
            q.kind = static_cast<query_kind>(k);
            q.key = r.str();
            m = std::move(q);
            break;
        }
        case tag::answer: {
            answer a;
            a.id = r.u64();
            a.found = r.u8() != 0;
            a.socket_id = r.str();
            m = std::move(a);
            break;
        }
        case tag::rpc_request: {
            rpc_request q;
            q.id = r.u64();
            q.socket_id = r.str();
            q.room = r.str();
            q.timeout_ms = r.u64();
            q.args_json = r.str();
            q.attachments = r.list();
            m = std::move(q);
            break;
        }
        case tag::rpc_result: {
            rpc_result res;
            res.id = r.u64();
            auto s = r.u8();
            if (s > static_cast<std::uint8_t>(rpc_status::disconnected)) {
                return std::nullopt;
            }
            res.status = static_cast<rpc_status>(s);
            res.args_json = r.str();
            res.attachments = r.list();
            m = std::move(res);
            break;
        }
        default:
            return std::nullopt;
    }
    if (!r.at_end()) {
        return std::nullopt;
    }
    return m;
}

}  // namespace happy::events::wire
