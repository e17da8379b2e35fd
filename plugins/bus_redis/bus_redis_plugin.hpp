/// @file
/// The Redis bus (`bus.kind: redis`, or upstream's `REDIS_URL`): instances of the server that share one Redis
/// reach each other through Redis Pub/Sub.
///
/// Pub/Sub rather than Streams (upstream's @socket.io/redis-streams-adapter appends everything to one stream
/// `socket.io`, every node tails it with XREAD BLOCK):
///  - Nothing is meant to be replayed. Clients refetch over REST after every reconnect (connection-state recovery
///    is off upstream), and an RPC request or a membership answer that arrives late is worse than one that never
///    arrives. A stream only keeps what a restarting node would then skip anyway ("a restarting pod loses what was
///    written meanwhile"), while it costs memory in Redis and a MAXLEN trim upstream had to tune (the post-mortem
///    in deploy/integration-tests/POSTMORTEM.md lists stream growth).
///  - A push arrives as soon as Redis has it: no XREAD round trip, no BLOCK timeout to tune, no read cursor.
///  - Directed traffic (RPC requests and results, answers to membership questions) goes to the one instance
///    concerned on its own channel instead of being read and dropped by every node.
/// What Pub/Sub loses: messages published while an instance's subscription is down. They are counted (sequence
/// gaps per sender) and the instance reports degraded meanwhile; its clients keep being served locally.
///
/// Channels: `<prefix>:all` (broadcasts, heartbeats, goodbyes) and `<prefix>:node:<instance>` (directed).
/// Liveness: every instance publishes a heartbeat each `heartbeat` (1 s); a peer silent for `peer_timeout` (3 s)
/// is gone, so RPCs to a killed instance fail within ~3 s instead of waiting out a TTL. An instance also hears its
/// own heartbeat come back: when it does not, the path through Redis is stalled (a half-open TCP connection, a
/// paused server) and both connections are re-established.
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "core/app/registry.hpp"
#include "core/bus/bus.hpp"

namespace happy::plugin::bus_redis {

struct options {
    std::string url;               ///< redis[s]://[[user]:password@]host[:port][/db]
    std::string prefix = "happy";  ///< channel and key prefix: instances sharing it form one cluster
    std::chrono::milliseconds heartbeat{1000};
    std::chrono::milliseconds peer_timeout{3000};
    std::chrono::milliseconds connect_timeout{3000};
    std::chrono::milliseconds reconnect_max{5000};  ///< back-off ceiling while Redis is unreachable
    std::string ca_file;  ///< extra PEM CA bundle for rediss:// (the system store is always trusted)
};

/// Throws std::invalid_argument for a URL it cannot use.
std::unique_ptr<bus::bus> make_bus(options o);

/// Registers the "redis" bus factory (config section bus.redis).
void register_plugin(registry& reg);

}  // namespace happy::plugin::bus_redis
