#include "modules/auth/updates.hpp"

#include <boost/json.hpp>

#include "core/crypto/ids.hpp"
#include "core/db/database.hpp"
#include "core/util/time.hpp"
#include "modules/auth/auth_store.hpp"

namespace happy::mod::auth {

boost::json::object update_envelope_build(std::int64_t seq, boost::json::object body, std::int64_t now_ms) {
    boost::json::object env;
    env["id"] = crypto::random_alnum(12);
    env["seq"] = seq;
    env["body"] = std::move(body);
    env["createdAt"] = now_ms;
    return env;
}

boost::asio::awaitable<std::int64_t> update_emit(db::database& db, events::emitter& out, std::string account_id,
                                                 events::recipients to, boost::json::object body,
                                                 std::string skip_socket_id) {
    std::int64_t seq = 0;
    co_await db.write([&](db::tx& t) { seq = account_seq_allocate(t, account_id, now_ms()); });
    out.emit_update(account_id, to, update_envelope_build(seq, std::move(body), now_ms()), skip_socket_id);
    co_return seq;
}

}  // namespace happy::mod::auth
