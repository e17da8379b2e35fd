/// @file
/// RESP2, the Redis wire protocol (https://redis.io/docs/reference/protocol-spec/): an incremental reply parser
/// and the command encoder. Our own rather than hiredis: Debian's libhiredis 0.14 has no TLS and no Asio
/// integration (its async API wants an event-loop adapter and owns the socket), while this is ~200 lines that the
/// client (redis_connection.hpp) drives from its coroutine with whatever bytes the socket delivered.
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace happy::plugin::bus_redis::resp {

/// One reply. Simple strings, errors and bulk strings keep their bytes in `str`; `null` is RESP2's `$-1` or `*-1`.
struct value {
    enum class kind { simple, error, integer, bulk, null, array };
    kind k = kind::null;
    std::string str;
    std::int64_t integer = 0;
    std::vector<value> elements;

    bool is_error() const { return k == kind::error; }
    bool is_array() const { return k == kind::array; }
    /// "+OK" (a status reply).
    bool is_ok() const { return k == kind::simple && str == "OK"; }
};

/// Malformed input: the connection cannot be resynchronised and must be closed.
struct protocol_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct limits {
    std::size_t max_bulk = 512u << 20;     ///< Redis's own proto-max-bulk-len default (512 MiB)
    std::size_t max_elements = 1u << 24;   ///< per array
    int max_depth = 16;                    ///< nested arrays (Pub/Sub pushes use 1, EXEC 2)
};

/// Feed it whatever arrived, then take complete replies with next(). Partial frames stay buffered; a reply is
/// parsed only once the bytes it announced are all there, so a large bulk string that arrives in many reads is not
/// rescanned on each.
class parser {
public:
    explicit parser(limits l = {}) : limits_(l) {}

    void feed(std::string_view bytes);
    /// The next complete reply, or nullopt until more bytes are fed. Throws protocol_error.
    std::optional<value> next();
    /// Bytes fed but not consumed yet.
    std::size_t buffered() const { return buf_.size() - pos_; }

private:
    enum class step { done, more };
    step parse(std::size_t& at, value& out, int depth);
    std::optional<std::string_view> line(std::size_t at) const;
    std::int64_t number(std::string_view digits) const;

    limits limits_;
    std::string buf_;
    std::size_t pos_ = 0;
    std::size_t need_ = 0;  ///< buf_ must hold this many bytes before a parse can succeed
};

/// Appends a command as an array of bulk strings (binary-safe arguments).
void append_command(std::string& out, std::span<const std::string_view> args);
inline void append_command(std::string& out, std::initializer_list<std::string_view> args) {
    append_command(out, std::span<const std::string_view>(args.begin(), args.size()));
}
std::string command(std::initializer_list<std::string_view> args);

}  // namespace happy::plugin::bus_redis::resp
