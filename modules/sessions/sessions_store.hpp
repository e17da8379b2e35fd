/// @file
/// Storage functions of the sessions module: sessions and their messages (upstream prisma Session,
/// SessionMessage). Callable without sockets or HTTP; every function runs on the caller's db::tx (wrap writes in
/// db.write so that they share one transaction).
#pragma once
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/db/query.hpp"
#include "core/util/function_ref.hpp"

namespace happy::mod::sessions {

struct session_row {
    std::string id;
    std::string tag;
    std::string account_id;
    std::string metadata;
    std::int64_t metadata_version = 0;
    std::optional<std::string> agent_state;
    std::int64_t agent_state_version = 0;
    std::optional<std::string> data_encryption_key;  ///< raw bytes
    std::int64_t seq = 0;                            ///< last allocated message seq
    bool active = true;
    std::int64_t last_active_at = 0;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
};

struct message_row {
    std::string id;
    std::int64_t seq = 0;
    boost::json::value content;  ///< keys in Postgres JSONB order (see jsonb_order)
    std::optional<std::string> local_id;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
};

/// Upstream stores message content in a JSONB column, which hands objects back with keys sorted shorter first,
/// then bytewise (and drops duplicate keys, keeping the last). Applied recursively to every read.
boost::json::value jsonb_order(const boost::json::value& v);

/// The caller's session with this id (a session of another account is "not found").
std::optional<session_row> session_find(db::tx& t, std::string_view account_id, std::string_view id);
std::optional<session_row> session_find_by_tag(db::tx& t, std::string_view account_id, std::string_view tag);

/// Inserts a new session (metadataVersion 0, agentState null/0, seq 0, active, lastActiveAt now).
/// An empty key is stored as NULL, like upstream's `dataEncryptionKey ? … : undefined`. A tag the account already
/// uses violates UNIQUE (account_id, tag): db::error with kind unique_violation.
session_row session_create(db::tx& t, std::string_view account_id, std::string_view tag, std::string_view metadata,
                           std::string_view data_encryption_key, std::int64_t now);

/// A session row as views into the database's buffers, valid during the visitor call: the list routes write
/// their JSON straight from it (the hot path of the app's start-up and refresh).
struct session_view {
    std::string_view id;
    std::string_view metadata;
    std::optional<std::string_view> agent_state;
    std::optional<std::string_view> data_encryption_key;  ///< raw bytes
    std::int64_t metadata_version = 0;
    std::int64_t agent_state_version = 0;
    std::int64_t seq = 0;
    bool active = true;
    std::int64_t last_active_at = 0;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
};
using session_visit = util::function_ref<void(const session_view&)>;

/// The version of the account's session list: bumped in the same transaction by every insert, update and delete of
/// one of its sessions (triggers of 0017_session_list_version.sql, whoever writes); 0 while none changed since that
/// migration. Two reads that see one version see one list.
std::int64_t session_list_version(db::tx& t, std::string_view account_id);

/// GET /v1/sessions: newest `updated_at` first.
void session_list_recent(db::tx& t, std::string_view account_id, int limit, session_visit fn);
/// GET /v2/sessions/active: active and last_active_at > since, newest activity first.
void session_list_active(db::tx& t, std::string_view account_id, std::int64_t since, int limit, session_visit fn);
/// GET /v2/sessions: id descending, optionally `id < before_id` and `updated_at > changed_since`.
void session_list_page(db::tx& t, std::string_view account_id, std::optional<std::string_view> before_id,
                       std::optional<std::int64_t> changed_since, int limit, session_visit fn);

/// Sets active=false, last_active_at=now for the caller's session. False when it is not the caller's.
bool session_archive(db::tx& t, std::string_view account_id, std::string_view id, std::int64_t now);

/// Deletes the caller's session and its messages. False when it is not the caller's (or already gone). A message
/// appended concurrently by another writer makes the transaction run again (db::error retryable).
bool session_delete(db::tx& t, std::string_view account_id, std::string_view id);

/// Compare-and-set of the metadata: writes version expected+1 only if the stored version is still `expected`.
bool session_metadata_cas(db::tx& t, std::string_view id, std::int64_t expected, std::string_view metadata,
                          std::int64_t now);
/// Same for the agent state (null allowed).
bool session_agent_state_cas(db::tx& t, std::string_view id, std::int64_t expected,
                             const std::optional<std::string>& agent_state, std::int64_t now);

/// Presence write: last_active_at := at, active := flag (bumps updated_at like Prisma's @updatedAt).
void session_activity_set(db::tx& t, std::string_view id, std::int64_t at, bool active, std::int64_t now);

/// A session the inactivity sweeper switched off.
struct session_timeout {
    std::string id;
    std::string account_id;
    std::int64_t last_active_at = 0;
};

/// Inactivity sweep (upstream app/presence/timeout.ts): active sessions with last_active_at <= cutoff become
/// inactive in one statement (so a session another writer refreshed or switched off meanwhile is left alone);
/// returns the rows actually changed.
std::vector<session_timeout> session_sweep_inactive(db::tx& t, std::int64_t cutoff, std::int64_t now);

/// Reserves `count` message seqs at once (upstream allocateSessionSeqBatch: `seq += count`); returns the first
/// new seq. Throws db::not_found when the session does not exist.
std::int64_t session_seq_allocate(db::tx& t, std::string_view id, std::int64_t count, std::int64_t now);

/// True when the session exists and belongs to the account (the cheap check of the append path).
bool session_owned(db::tx& t, std::string_view account_id, std::string_view id);

/// Legacy list: newest `created_at` first.
std::vector<message_row> message_list_latest(db::tx& t, std::string_view session_id, int limit);
/// seq > after, ascending.
std::vector<message_row> message_list_after(db::tx& t, std::string_view session_id, std::int64_t after, int limit);
/// seq < before, descending.
std::vector<message_row> message_list_before(db::tx& t, std::string_view session_id, std::int64_t before, int limit);

std::optional<message_row> message_find_by_local_id(db::tx& t, std::string_view session_id, std::string_view local_id);

/// Inserts one message with the given (already allocated) seq; `content` is serialized as given. Nothing is
/// inserted (nullopt) when the session already has a message with this local_id: the UNIQUE (session_id, local_id)
/// key decides, so two writers racing with one localId store it once.
std::optional<message_row> message_insert(db::tx& t, std::string_view session_id, std::int64_t seq,
                                          const std::optional<std::string>& local_id, const boost::json::value& content,
                                          std::int64_t now);


struct append_result {
    std::vector<message_row> all;      ///< existing + created, seq ascending (content not needed by the caller)
    std::vector<message_row> created;  ///< in batch order, content {"t":"encrypted","c":…}
};

/// What message_send wrote; filled in as its statements run (all by the time the transaction commits).
struct sent_message {
    message_row row;              ///< seq set once the statements ran
    bool stored = false;          ///< false: not the account's session, or its localId was there already
    std::int64_t update_seq = 0;  ///< the account update seq taken for it (0: not the account's session)
};

/// The socket `message` event (upstream sessionUpdateHandler.ts): the session's next seq and the account's next update
/// seq are taken, then the message is inserted unless the session already has its localId (a duplicate still consumes
/// both seqs, as upstream). Nothing changes when the session is not the account's. Every statement is deferred (on
/// PostgreSQL the transaction is one round trip); `out` must outlive the transaction.
void message_send(db::tx& t, std::string_view account_id, std::string_view session_id,
                  const std::optional<std::string>& local_id, const boost::json::value& content, std::int64_t now,
                  sent_message* out);

/// What message_append_new appends; filled in as its statements run (all by the time the transaction commits).
struct new_messages {
    std::vector<message_row> rows;      ///< batch order; seqs set once the statements ran
    bool owned = false;                 ///< the session is the account's: false = nothing was written
    std::int64_t first_update_seq = 0;  ///< the account update seq of rows[0]; the next rows have the next ones
};

/// The common case of POST /v3 …/messages, none of whose localIds the session has yet: the session's seqs (checking
/// the owner), one plain INSERT per message and the account's update seqs, every statement deferred
/// (db::tx::exec_deferred: on PostgreSQL the whole transaction is one round trip). `batch` is (localId, content) pairs
/// with distinct localIds; they get contiguous seqs in order. A session that is not the account's changes nothing
/// (`owned` stays false). A localId the session already has (or that another writer stores meanwhile) violates the
/// unique key: db::error unique_violation, and the transaction must not commit (database::write rolls it back);
/// message_append_batch then answers the request. `out` must outlive the transaction.
void message_append_new(db::tx& t, std::string_view account_id, std::string_view session_id,
                        const std::vector<std::pair<std::string, std::string>>& batch, std::int64_t now,
                        new_messages* out);

/// POST /v3 …/messages: `batch` is (localId, content) pairs. Duplicate localIds inside the batch keep the first;
/// localIds that already exist are returned unchanged; the rest get contiguous seqs in batch order. A localId
/// another writer stores between the check and the insert makes the transaction run again (db::error retryable),
/// so that it is then returned as existing.
append_result message_append_batch(db::tx& t, std::string_view session_id,
                                   const std::vector<std::pair<std::string, std::string>>& batch, std::int64_t now);

}  // namespace happy::mod::sessions
