#include "plugins/bus_redis/envelope.hpp"

namespace happy::plugin::bus_redis {

std::size_t envelope_header_size(std::string_view origin) {
    return 4 + origin.size() + 8;
}

void envelope_header(std::string& out, envelope_kind kind, std::string_view origin, std::uint64_t seq) {
    out += 'H';
    out += '1';
    out += static_cast<char>(kind);
    out += static_cast<char>(static_cast<unsigned char>(origin.size()));
    out.append(origin.substr(0, 255));
    for (int i = 0; i < 8; ++i) {
        out += static_cast<char>((seq >> (8 * i)) & 0xff);
    }
}

std::optional<envelope> envelope_parse(std::string_view frame) {
    if (frame.size() < 4 || frame[0] != 'H' || frame[1] != '1') {
        return std::nullopt;
    }
    envelope e;
    switch (frame[2]) {
        case 'h':
        case 'm':
        case 'b':
            e.kind = static_cast<envelope_kind>(frame[2]);
            break;
        default:
            return std::nullopt;
    }
    std::size_t n = static_cast<unsigned char>(frame[3]);
    if (n == 0 || frame.size() < 4 + n + 8) {
        return std::nullopt;
    }
    e.origin = frame.substr(4, n);
    for (int i = 0; i < 8; ++i) {
        e.seq |= static_cast<std::uint64_t>(static_cast<unsigned char>(frame[4 + n + i])) << (8 * i);
    }
    e.body = frame.substr(4 + n + 8);
    return e;
}

}  // namespace happy::plugin::bus_redis
