#include "plugins/bus_redis/resp.hpp"

#include <charconv>
#include <fmt/format.h>

namespace happy::plugin::bus_redis::resp {

namespace {

// A header or status line longer than this without CRLF is garbage, not a slow sender.
constexpr std::size_t max_line = 1 << 20;

}  // namespace

void parser::feed(std::string_view bytes) {
    buf_.append(bytes);
}

std::optional<std::string_view> parser::line(std::size_t at) const {
    auto end = buf_.find("\r\n", at);
    if (end == std::string::npos) {
        return std::nullopt;
    }
    return std::string_view(buf_).substr(at, end - at);
}

std::int64_t parser::number(std::string_view digits) const {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc() || p != digits.data() + digits.size() || digits.empty()) {
        throw protocol_error(fmt::format("RESP: invalid number \"{}\"", digits.substr(0, 32)));
    }
    return v;
}

parser::step parser::parse(std::size_t& at, value& out, int depth) {
    if (at >= buf_.size()) {
        need_ = at + 1;
        return step::more;
    }
    auto l = line(at);
    if (!l) {
        if (buf_.size() - at > max_line) {
            throw protocol_error("RESP: line too long");
        }
        need_ = buf_.size() + 1;
        return step::more;
    }
    if (l->empty()) {
        throw protocol_error("RESP: empty line");
    }
    const char type = (*l)[0];
    const std::string_view body = l->substr(1);
    const std::size_t after = at + l->size() + 2;
    switch (type) {
        case '+':
        case '-':
            out.k = type == '+' ? value::kind::simple : value::kind::error;
            out.str.assign(body);
            at = after;
            return step::done;
        case ':':
            out.k = value::kind::integer;
            out.integer = number(body);
            at = after;
            return step::done;
        case '$': {
            std::int64_t n = number(body);
            if (n == -1) {
                out.k = value::kind::null;
                at = after;
                return step::done;
            }
            if (n < 0 || static_cast<std::uint64_t>(n) > limits_.max_bulk) {
                throw protocol_error(fmt::format("RESP: bulk length {} out of range", n));
            }
            const auto len = static_cast<std::size_t>(n);
            if (buf_.size() < after + len + 2) {
                need_ = after + len + 2;
                return step::more;
            }
            if (buf_[after + len] != '\r' || buf_[after + len + 1] != '\n') {
                throw protocol_error("RESP: bulk string not terminated by CRLF");
            }
            out.k = value::kind::bulk;
            out.str.assign(buf_, after, len);
            at = after + len + 2;
            return step::done;
        }
        case '*': {
            std::int64_t n = number(body);
            if (n == -1) {
                out.k = value::kind::null;
                at = after;
                return step::done;
            }
            if (n < 0 || static_cast<std::uint64_t>(n) > limits_.max_elements) {
                throw protocol_error(fmt::format("RESP: array length {} out of range", n));
            }
            if (depth >= limits_.max_depth) {
                throw protocol_error("RESP: arrays nested too deeply");
            }
            out.k = value::kind::array;
            out.elements.clear();
            // The count comes from the peer: do not trust it for a big reservation before the elements arrive.
            out.elements.reserve(std::min<std::size_t>(static_cast<std::size_t>(n), 1024));
            std::size_t cur = after;
            for (std::int64_t i = 0; i < n; ++i) {
                value e;
                if (parse(cur, e, depth + 1) == step::more) {
                    return step::more;
                }
                out.elements.push_back(std::move(e));
            }
            at = cur;
            return step::done;
        }
        default:
            throw protocol_error(fmt::format("RESP: unexpected type byte 0x{:02x}", static_cast<unsigned char>(type)));
    }
}

std::optional<value> parser::next() {
    if (buf_.size() - pos_ == 0 || buf_.size() < need_) {
        return std::nullopt;
    }
    std::size_t at = pos_;
    value v;
    if (parse(at, v, 0) == step::more) {
        return std::nullopt;
    }
    pos_ = at;
    need_ = 0;
    if (pos_ == buf_.size()) {
        buf_.clear();
        pos_ = 0;
    } else if (pos_ > (64u << 10) && pos_ > buf_.size() / 2) {
        buf_.erase(0, pos_);
        pos_ = 0;
    }
    return v;
}

void append_command(std::string& out, std::span<const std::string_view> args) {
    out += '*';
    out += std::to_string(args.size());
    out += "\r\n";
    for (auto a : args) {
        out += '$';
        out += std::to_string(a.size());
        out += "\r\n";
        out.append(a);
        out += "\r\n";
    }
}

std::string command(std::initializer_list<std::string_view> args) {
    std::string out;
    append_command(out, args);
    return out;
}

}  // namespace happy::plugin::bus_redis::resp
