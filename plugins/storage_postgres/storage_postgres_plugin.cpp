#include "plugins/storage_postgres/storage_postgres_plugin.hpp"

#if !HAPPY_LIBPQ_LINKED
#include <dlfcn.h>
#endif
#include <fmt/format.h>
#include <libpq-fe.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/version.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <deque>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/log/log.hpp"

namespace happy::plugin::storage_postgres {

namespace {

/// libpq and SOCI's postgresql backend are loaded with dlopen when the first PostgreSQL backend is made, not linked:
/// linked, their ~20 shared objects (libpq's OpenSSL, Kerberos, LDAP, GnuTLS, …) cost every server 5.6 MB of idle
/// RSS (10.0 -> 15.6 MB on SQLite), and the executable exported its static OpenSSL's symbols to libpq's libssl, so
/// that two copies of OpenSSL served one TLS connection. Loaded, they cost nothing unless PostgreSQL is used and
/// bind to their own OpenSSL. The declarations still come from libpq-fe.h and soci-postgresql.h.
/// The fully static release binary (HAPPY_LIBPQ_LINKED, scripts/release.sh) cannot dlopen; it links libpq.a and
/// libsoci_postgresql.a instead (one OpenSSL, the binary's own; see libpq_static.cpp for what libpq.a needs), and
/// the same table is filled with their addresses.
#define HAPPY_LIBPQ_FUNCTIONS(X)                                                              \
    X(prepare, PQprepare) X(exec_prepared, PQexecPrepared) X(exec, PQexec)                    \
    X(result_status, PQresultStatus) X(clear, PQclear) X(getvalue, PQgetvalue)                \
    X(getlength, PQgetlength) X(getisnull, PQgetisnull) X(ftype, PQftype) X(fname, PQfname)  \
    X(nfields, PQnfields) X(ntuples, PQntuples) X(cmd_status, PQcmdStatus)                    \
    X(cmd_tuples, PQcmdTuples) X(result_error_field, PQresultErrorField)                      \
    X(error_message, PQerrorMessage) X(status, PQstatus)                                      \
    X(set_notice_processor, PQsetNoticeProcessor) X(conninfo_parse, PQconninfoParse)          \
    X(conninfo_free, PQconninfoFree) X(freemem, PQfreemem) X(send_query_params, PQsendQueryParams)         \
    X(send_query_prepared, PQsendQueryPrepared) X(get_result, PQgetResult)

struct libpq_api {
    const soci::backend_factory* soci_postgresql = nullptr;
#define HAPPY_LIBPQ_MEMBER(member, fn) decltype(&::fn) member = nullptr;
    HAPPY_LIBPQ_FUNCTIONS(HAPPY_LIBPQ_MEMBER)
#undef HAPPY_LIBPQ_MEMBER
    // Pipeline mode (libpq 14+); null with an older libpq, which then sends BEGIN on its own.
    decltype(&::PQenterPipelineMode) enter_pipeline_mode = nullptr;
    decltype(&::PQexitPipelineMode) exit_pipeline_mode = nullptr;
    decltype(&::PQpipelineSync) pipeline_sync = nullptr;
    bool pipelines() const { return enter_pipeline_mode != nullptr; }
};

#if HAPPY_LIBPQ_LINKED
libpq_api load_libpq() {
    libpq_api api;
#define HAPPY_LIBPQ_SET(member, fn) api.member = &::fn;
    HAPPY_LIBPQ_FUNCTIONS(HAPPY_LIBPQ_SET)
#undef HAPPY_LIBPQ_SET
    api.enter_pipeline_mode = &::PQenterPipelineMode;
    api.exit_pipeline_mode = &::PQexitPipelineMode;
    api.pipeline_sync = &::PQpipelineSync;
    api.soci_postgresql = &soci::postgresql;
    return api;
}
#else
libpq_api load_libpq() {
    // The SONAMEs of the libraries these headers describe: SOCI's matches the soci-postgresql.h the connection's
    // layout is read from (SOCI_VERSION 400003 -> 4.0); libpq's has been 5 since PostgreSQL 8.
    const std::string soci_name =
        fmt::format("libsoci_postgresql.so.{}.{}", SOCI_VERSION / 100000, SOCI_VERSION / 100 % 1000);
    auto open = [](const std::string& name) {
        void* h = ::dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (h == nullptr) {
            const char* why = ::dlerror();
            throw std::runtime_error(fmt::format(
                "PostgreSQL storage needs {} (Debian packages libsoci-postgresql4.0 and libpq5): {}", name,
                why ? why : "not found"));
        }
        return h;
    };
    void* soci_lib = open(soci_name);
    void* pq_lib = open("libpq.so.5");
    auto sym = [](void* lib, const char* name) {
        void* p = ::dlsym(lib, name);
        if (p == nullptr) {
            throw std::runtime_error(fmt::format("PostgreSQL storage: {} not found in the loaded library", name));
        }
        return p;
    };
    libpq_api api;
#define HAPPY_LIBPQ_LOAD(member, fn) api.member = reinterpret_cast<decltype(&::fn)>(sym(pq_lib, #fn));
    HAPPY_LIBPQ_FUNCTIONS(HAPPY_LIBPQ_LOAD)
#undef HAPPY_LIBPQ_LOAD
    if (::dlsym(pq_lib, "PQenterPipelineMode") != nullptr) {
        api.enter_pipeline_mode = reinterpret_cast<decltype(&::PQenterPipelineMode)>(sym(pq_lib, "PQenterPipelineMode"));
        api.exit_pipeline_mode = reinterpret_cast<decltype(&::PQexitPipelineMode)>(sym(pq_lib, "PQexitPipelineMode"));
        api.pipeline_sync = reinterpret_cast<decltype(&::PQpipelineSync)>(sym(pq_lib, "PQpipelineSync"));
    }
    // SOCI's entry point for dynamically loaded backends (soci-postgresql.h).
    auto factory = reinterpret_cast<const soci::backend_factory* (*)()>(sym(soci_lib, "factory_postgresql"));
    api.soci_postgresql = factory();
    return api;  // the libraries stay loaded for the life of the process
}
#endif

/// The loaded API; the first call loads it (and a failed load is tried again by the next call).
const libpq_api& pq() {
    static const libpq_api api = load_libpq();
    return api;
}

// Type OIDs of pg_type (stable across PostgreSQL versions; catalog/pg_type.dat).
constexpr Oid bool_oid = 16;
constexpr Oid bytea_oid = 17;
constexpr Oid name_oid = 19;
constexpr Oid int8_oid = 20;
constexpr Oid int2_oid = 21;
constexpr Oid int4_oid = 23;
constexpr Oid text_oid = 25;
constexpr Oid json_oid = 114;
constexpr Oid unknown_oid = 705;
constexpr Oid bpchar_oid = 1042;
constexpr Oid varchar_oid = 1043;
constexpr Oid jsonb_oid = 3802;

std::string_view type_name(Oid oid) {
    switch (oid) {
        case 700: return "real";
        case 701: return "double precision";
        case 1082: return "date";
        case 1114: return "timestamp";
        case 1184: return "timestamptz";
        case 1700: return "numeric";
        case 2950: return "uuid";
        case bool_oid: return "boolean";
        case bytea_oid: return "bytea";
        case int8_oid: return "bigint";
        case int4_oid: return "integer";
        case int2_oid: return "smallint";
        case jsonb_oid: return "jsonb";
        default: return "another type";
    }
}

bool is_text_type(Oid oid) {
    return oid == text_oid || oid == varchar_oid || oid == bpchar_oid || oid == name_oid || oid == json_oid ||
           oid == unknown_oid || oid == jsonb_oid;
}

/// libpq's messages span lines (a hint on a tab-indented second line, one line per address tried): one line.
std::string one_line(std::string_view msg) {
    std::string out;
    while (!msg.empty()) {
        auto end = msg.find('\n');
        auto line = msg.substr(0, end);
        msg = end == std::string_view::npos ? std::string_view() : msg.substr(end + 1);
        std::string text(line);
        // "FATAL:  password authentication failed…": the severity says nothing the context does not.
        for (std::string_view sev : {"FATAL:  ", "ERROR:  "}) {
            for (auto at = text.find(sev); at != std::string::npos; at = text.find(sev)) {
                text.erase(at, sev.size());
            }
        }
        auto first = text.find_first_not_of(" \t\r");
        if (first == std::string::npos) {
            continue;
        }
        auto last = text.find_last_not_of(" \t\r");
        text = text.substr(first, last + 1 - first);
        // sslmode=prefer tries with TLS, then without: the same refusal twice says nothing more.
        if (out.find(text) == std::string::npos) {
            out.append(out.empty() ? "" : "; ").append(text);
        }
    }
    return out;
}

/// Appends `keyword='value'` to a libpq connection string (quotes and backslashes escaped as libpq reads them).
void append_conninfo(std::string& out, std::string_view keyword, std::string_view value) {
    if (!out.empty()) {
        out += ' ';
    }
    out.append(keyword).append("='");
    for (char c : value) {
        if (c == '\'' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    out += '\'';
}

using conninfo_params = std::vector<std::pair<std::string, std::string>>;

/// libpq's own parse of a URI or key=value string, as (keyword, value) pairs of the parameters it sets; nullopt, with
/// libpq's reason in `why`, when it cannot read it.
std::optional<conninfo_params> try_parse_conninfo(std::string_view url, std::string& why) {
    char* err = nullptr;
    PQconninfoOption* opts = pq().conninfo_parse(std::string(url).c_str(), &err);
    if (opts == nullptr) {
        why = err ? one_line(err) : "out of memory";
        pq().freemem(err);
        return std::nullopt;
    }
    conninfo_params out;
    for (auto* o = opts; o->keyword != nullptr; ++o) {
        if (o->val != nullptr) {
            out.emplace_back(o->keyword, o->val);
        }
    }
    pq().conninfo_free(opts);
    return out;
}

conninfo_params parse_conninfo(std::string_view url) {
    std::string why;
    auto params = try_parse_conninfo(url, why);
    if (!params) {
        // libpq quotes what it could not read, which may be the whole URL with its password.
        const std::string masked = mask_password(url);
        for (auto at = why.find(url); !url.empty() && at != std::string::npos; at = why.find(url, at + masked.size())) {
            why.replace(at, url.size(), masked);
        }
        throw std::invalid_argument("invalid PostgreSQL URL: " + why);
    }
    return std::move(*params);
}

std::string build_conninfo(const conninfo_params& params) {
    std::string out;
    for (const auto& [k, v] : params) {
        append_conninfo(out, k, v);
    }
    return out;
}

void set_param(conninfo_params& params, std::string_view key, std::string value,
               bool replace) {
    for (auto& [k, v] : params) {
        if (k == key) {
            if (replace) {
                v = std::move(value);
            }
            return;
        }
    }
    params.emplace_back(std::string(key), std::move(value));
}

/// PostgreSQL prints jsonb with a space after every ':' and ','; without them it reads as the server wrote it on
/// SQLite (compact, and already in JSONB key order where that matters) and as upstream's JSON.stringify of a Json
/// column sends it. Only spaces outside strings are dropped: jsonb's output has no other whitespace.
std::string compact_jsonb(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (in_string) {
            out += c;
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
            out += c;
        } else if (c != ' ') {
            out += c;
        }
    }
    return out;
}

std::int64_t read_be(const char* p, int len) {
    std::uint64_t v = static_cast<unsigned char>(p[0]) & 0x80 ? ~std::uint64_t{0} : 0;  // sign-extend
    for (int i = 0; i < len; ++i) {
        v = (v << 8) | static_cast<unsigned char>(p[i]);
    }
    return static_cast<std::int64_t>(v);
}

/// The current row of a PGresult in binary format.
class pg_row final : public db::row_view {
public:
    explicit pg_row(const PGresult* res) : res_(res), fields_(pq().nfields(res)) {}
    void at(int row) {
        row_ = row;
        formatted_.clear();
    }

    bool is_null(int col) const override { return pq().getisnull(res_, row_, check(col)) != 0; }

    std::int64_t i64(int col) const override {
        if (is_null(col)) {
            return 0;  // as sqlite3_column_int64 reads NULL
        }
        const char* p = pq().getvalue(res_, row_, col);
        int len = pq().getlength(res_, row_, col);
        switch (pq().ftype(res_, col)) {
            case int8_oid:
            case int4_oid:
            case int2_oid: return read_be(p, len);
            case bool_oid: return p[0] != 0 ? 1 : 0;
            default: throw wrong_type(col, "an integer", "BIGINT");
        }
    }

    std::string_view text(int col) const override {
        if (is_null(col)) {
            return {};
        }
        Oid type = pq().ftype(res_, col);
        if (is_text_type(type)) {
            return raw_text(col, type);
        }
        if (type == int8_oid || type == int4_oid || type == int2_oid) {
            // Kept until the row changes: views of several columns stay valid together.
            formatted_.push_back(std::to_string(i64(col)));
            return formatted_.back();
        }
        throw wrong_type(col, "text", "TEXT");
    }

    std::string_view bytes(int col) const override {
        if (is_null(col)) {
            return {};
        }
        Oid type = pq().ftype(res_, col);
        if (type == bytea_oid) {
            return {pq().getvalue(res_, row_, col), static_cast<std::size_t>(pq().getlength(res_, row_, col))};
        }
        if (is_text_type(type)) {
            return raw_text(col, type);
        }
        throw wrong_type(col, "bytes", "BYTEA");
    }

private:
    int check(int col) const {
        if (col < 0 || col >= fields_) {
            throw db::error(db::error_kind::other,
                            fmt::format("postgresql: column {} read, the result has {} columns", col, fields_));
        }
        return col;
    }
    std::string_view raw_text(int col, Oid type) const {
        const char* p = pq().getvalue(res_, row_, col);
        auto len = static_cast<std::size_t>(pq().getlength(res_, row_, col));
        if (type == jsonb_oid && len > 0) {
            // jsonb's binary form: a version byte (1), then the JSON text.
            formatted_.push_back(compact_jsonb({p + 1, len - 1}));
            return formatted_.back();
        }
        return {p, len};
    }
    db::error wrong_type(int col, std::string_view wanted, std::string_view cast) const {
        Oid type = pq().ftype(res_, col);
        return db::error(db::error_kind::other,
                         fmt::format("postgresql: column {} (\"{}\") is {} (type OID {}), read as {}: CAST it to {} in "
                                     "the SQL",
                                     col, pq().fname(res_, col), type_name(type), type, wanted, cast));
    }

    const PGresult* res_;
    int fields_;
    int row_ = 0;
    /// Text made for this row (formatted integers, compacted jsonb); a deque, so that a view of one stays valid
    /// while more are added.
    mutable std::deque<std::string> formatted_;
};

struct result_deleter {
    void operator()(PGresult* r) const { pq().clear(r); }
};
using result_ptr = std::unique_ptr<PGresult, result_deleter>;

/// A parameter's type as declared when preparing: an integer and bytes are sent in binary with their type, text and
/// NULL untyped so that PostgreSQL infers the type from the context (text, jsonb, a BIGINT column given a string).
char type_code(const db::param& p) {
    if (std::holds_alternative<std::int64_t>(p)) {
        return 'i';
    }
    if (std::holds_alternative<db::blob>(p)) {
        return 'b';
    }
    return 'u';
}

void drop_notice(void*, const char* message) {
    // Notices ("relation … already exists, skipping") would go to stderr by default.
    log::debug("postgresql notice", {{"message", one_line(message)}});
}

/// One PostgreSQL connection: a SOCI session (how the design opens connections; it owns the PGconn) and libpq calls
/// on its PGconn for everything else. Used by one thread at a time.
class pg_connection final : public db::connection {
public:
    explicit pg_connection(std::unique_ptr<soci::session> s)
        : session_(std::move(s)), conn_(static_cast<soci::postgresql_session_backend*>(session_->get_backend())->conn_) {
        pq().set_notice_processor(conn_, drop_notice, nullptr);
    }

    bool broken() const override { return broken_; }

    void begin(std::string_view sql) override {
        if (!pq().pipelines()) {
            exec_script(sql);
            return;
        }
        pending_begin_ = std::string(sql);  // sent with the transaction's first statement (run_pipeline)
    }

    void query_deferred(std::string_view sql, std::span<const db::param> params, db::deferred_fn fn) override {
        if (!pq().pipelines()) {
            db::connection::query_deferred(sql, params, std::move(fn));
            return;
        }
        deferred d{std::string(sql), {}, std::move(fn)};
        d.params.reserve(params.size());
        for (const auto& p : params) {
            d.params.push_back(std::visit(
                [](const auto& v) -> owned_param {
                    using T = std::decay_t<decltype(v)>;
                    if constexpr (std::is_same_v<T, std::string_view>) {
                        return owned_param{std::string(v), false};
                    } else if constexpr (std::is_same_v<T, db::blob>) {
                        return owned_param{std::string(v.bytes), true};
                    } else {
                        return owned_param{v, false};
                    }
                },
                p));
        }
        deferred_.push_back(std::move(d));
    }

    void exec_script(std::string_view sql) override {
        const bool unsent = pending_begin_ || !deferred_.empty();
        if (sql == "ROLLBACK" && unsent) {
            deferred_.clear();  // never sent: nothing of them to undo
            if (pending_begin_) {
                pending_begin_.reset();  // the server never saw the transaction begin
                return;
            }
        } else if (sql == "COMMIT" && unsent) {
            if (deferred_.empty()) {
                pending_begin_.reset();  // an empty transaction
                return;
            }
            // The deferred statements and the COMMIT in one round trip.
            check_commit(run_pipeline(nullptr, {}, {}, "COMMIT"));
            return;
        } else if (unsent) {
            run_pipeline(nullptr, {}, {});  // a script runs after what is queued
        }
        result_ptr res(pq().exec(conn_, std::string(sql).c_str()));
        auto st = res ? pq().result_status(res.get()) : PGRES_FATAL_ERROR;
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
            fail(res.get(), sql);
        }
        if (sql == "COMMIT") {
            check_commit(std::move(res));
        }
    }

    std::int64_t query(std::string_view sql, std::span<const db::param> params, db::row_fn fn) override {
        const prepared* stmt = nullptr;
        try {
            stmt = &prepare(sql, params);
        } catch (db::error& e) {
            e.not_begun = pending_begin_.has_value();  // a pending BEGIN was not sent: nothing ran
            throw;
        }
        if (stmt->count != params.size()) {
            throw db::error(db::error_kind::other,
                            fmt::format("postgresql: {} parameters given for {} placeholders (while running: {})",
                                        params.size(), stmt->count, sql));
        }
        result_ptr res;
        std::optional<prepared> copy;
        if (pending_begin_ || !deferred_.empty()) {
            copy = *stmt;  // run_pipeline prepares the queued statements, which may move this one
            stmt = &*copy;
            res = run_pipeline(stmt, params, sql);
        } else {
            bind(params, sql);
            res.reset(pq().exec_prepared(conn_, stmt->name.c_str(), static_cast<int>(params.size()), values_.data(),
                                         lengths_.data(), formats_.data(), 1));
        }
        auto st = res ? pq().result_status(res.get()) : PGRES_FATAL_ERROR;
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
            if (res && is_stale_plan(res.get())) {
                forget(sql, stmt->name);
            }
            fail(res.get(), sql);
        }
        if (fn && st == PGRES_TUPLES_OK) {
            // The whole result is in memory: a query run from the callback on this connection is safe.
            pg_row row(res.get());
            for (int i = 0, n = pq().ntuples(res.get()); i < n; ++i) {
                row.at(i);
                fn(row);
            }
        }
        std::string_view command = pq().cmd_status(res.get());
        // PQcmdTuples also counts a SELECT's rows; "rows affected" means changed rows only.
        if (command.starts_with("INSERT") || command.starts_with("UPDATE") || command.starts_with("DELETE") ||
            command.starts_with("MERGE")) {
            return std::strtoll(pq().cmd_tuples(res.get()), nullptr, 10);
        }
        return 0;
    }

private:
    struct prepared {
        std::string types;  ///< type_code() per parameter
        std::string name;
        std::size_t count = 0;
    };
    struct hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };

    /// The statement for this SQL text and these parameter kinds, prepared on first use. Kinds are part of the key
    /// because PostgreSQL fixes parameter types at prepare time: the same SQL bound once with an integer and once
    /// with NULL is two statements.
    const prepared& prepare(std::string_view sql, std::span<const db::param> params) {
        std::string types;
        types.reserve(params.size());
        for (const auto& p : params) {
            types += type_code(p);
        }
        auto it = by_sql_.find(sql);
        if (it != by_sql_.end()) {
            for (const auto& s : it->second) {
                if (s.types == types) {
                    return s;
                }
            }
        }
        auto numbered = number_placeholders(sql);
        std::vector<Oid> oids(numbered.count, 0);
        for (std::size_t i = 0; i < std::min(types.size(), oids.size()); ++i) {
            oids[i] = types[i] == 'i' ? int8_oid : types[i] == 'b' ? bytea_oid : 0;
        }
        std::string name = "happy_" + std::to_string(++statements_);
        result_ptr res(pq().prepare(conn_, name.c_str(), numbered.text.c_str(), static_cast<int>(oids.size()),
                                 oids.data()));
        if (!res || pq().result_status(res.get()) != PGRES_COMMAND_OK) {
            fail(res.get(), sql);
        }
        if (it == by_sql_.end()) {
            it = by_sql_.emplace(std::string(sql), std::vector<prepared>()).first;
        }
        it->second.push_back({std::move(types), std::move(name), numbered.count});
        return it->second.back();
    }

    /// COMMIT of a transaction an earlier statement failed in answers ROLLBACK, not an error: code that caught that
    /// statement's db::error and went on must not see its other writes as committed.
    void check_commit(result_ptr res) {
        auto st = res ? pq().result_status(res.get()) : PGRES_FATAL_ERROR;
        if (st != PGRES_COMMAND_OK) {
            fail(res.get(), "COMMIT");
        }
        if (std::string_view(pq().cmd_status(res.get())) == "ROLLBACK") {
            throw db::error(db::error_kind::other,
                            "postgresql: the transaction was rolled back: a statement in it failed, and on PostgreSQL "
                            "that aborts the whole transaction");
        }
    }

    /// Sends what is queued (the pending BEGIN, the deferred statements) and then `last` (a prepared statement with
    /// its parameters) or `simple` (COMMIT) in one round trip (libpq pipeline mode), and reads the answers back in
    /// order. The first failure among the queued ones is thrown (a failed BEGIN with `not_begun` set); otherwise the
    /// answer to `last`/`simple` is returned for the caller to check (null when there is neither).
    result_ptr run_pipeline(const prepared* last, std::span<const db::param> last_params, std::string_view last_sql,
                            const char* simple = nullptr) {
        std::optional<std::string> begin = std::move(pending_begin_);
        pending_begin_.reset();
        std::vector<deferred> items = std::move(deferred_);
        deferred_.clear();
        // Each statement is prepared first: PQprepare waits for its answer, which pipeline mode does not allow.
        std::vector<prepared> stmts;
        stmts.reserve(items.size());
        std::vector<db::param> views;
        for (auto& d : items) {
            d.view(views);
            try {
                stmts.push_back(prepare(d.sql, views));
            } catch (db::error& e) {
                e.not_begun = begin.has_value();  // the BEGIN was not sent: nothing ran
                throw;
            }
            if (stmts.back().count != views.size()) {
                throw db::error(db::error_kind::other,
                                fmt::format("postgresql: {} parameters given for {} placeholders (while running: {})",
                                            views.size(), stmts.back().count, d.sql));
            }
        }
        if (pq().enter_pipeline_mode(conn_) != 1) {
            // Not possible on this connection: one statement after the other.
            if (begin) {
                try {
                    exec_script(*begin);
                } catch (db::error& e) {
                    e.not_begun = true;
                    throw;
                }
            }
            for (auto& d : items) {
                d.view(views);
                if (d.fn) {
                    query(d.sql, views, d.fn);
                } else {
                    query(d.sql, views, {});
                }
            }
            if (last) {
                bind(last_params, last_sql);
                return result_ptr(pq().exec_prepared(conn_, last->name.c_str(), static_cast<int>(last_params.size()),
                                                     values_.data(), lengths_.data(), formats_.data(), 1));
            }
            return simple ? result_ptr(pq().exec(conn_, simple)) : nullptr;
        }
        // libpq copies each statement's parameters into its output buffer when it is sent, so the bind scratch can be
        // reused for the next one.
        bool sent = !begin || pq().send_query_params(conn_, begin->c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0);
        for (std::size_t i = 0; sent && i < items.size(); ++i) {
            items[i].view(views);
            bind(views, items[i].sql);
            sent = pq().send_query_prepared(conn_, stmts[i].name.c_str(), static_cast<int>(views.size()),
                                            values_.data(), lengths_.data(), formats_.data(), 1) == 1;
        }
        if (sent && last) {
            bind(last_params, last_sql);
            sent = pq().send_query_prepared(conn_, last->name.c_str(), static_cast<int>(last_params.size()),
                                            values_.data(), lengths_.data(), formats_.data(), 1) == 1;
        } else if (sent && simple) {
            sent = pq().send_query_params(conn_, simple, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
        }
        sent = sent && pq().pipeline_sync(conn_) == 1;

        std::exception_ptr failed;
        auto record = [&](const PGresult* r, std::string_view sql, bool not_begun) {
            if (failed) {
                return;
            }
            try {
                fail(r, sql);
            } catch (db::error& e) {
                e.not_begun = not_begun;
                failed = std::current_exception();
            }
        };
        if (begin) {
            result_ptr r = sent ? next_result() : nullptr;
            if (!r || pq().result_status(r.get()) != PGRES_COMMAND_OK) {
                record(r.get(), *begin, true);
            }
        }
        for (std::size_t i = 0; i < items.size(); ++i) {
            result_ptr r = sent ? next_result() : nullptr;
            auto st = r ? pq().result_status(r.get()) : PGRES_FATAL_ERROR;
            if (st == PGRES_PIPELINE_ABORTED) {
                continue;  // an earlier failure, already recorded
            }
            if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
                if (r && is_stale_plan(r.get())) {
                    forget(items[i].sql, stmts[i].name);
                }
                record(r.get(), items[i].sql, false);
                continue;
            }
            if (items[i].fn && st == PGRES_TUPLES_OK && !failed) {
                try {
                    pg_row row(r.get());
                    for (int k = 0, n = pq().ntuples(r.get()); k < n; ++k) {
                        row.at(k);
                        items[i].fn(row);
                    }
                } catch (...) {
                    failed = std::current_exception();
                }
            }
        }
        result_ptr out = sent && (last || simple) ? next_result() : nullptr;
        if (sent) {
            // The sync point's answer comes last; the pipeline is idle after it.
            for (result_ptr r = next_result(); r && pq().result_status(r.get()) != PGRES_PIPELINE_SYNC;
                 r = next_result()) {
            }
        }
        pq().exit_pipeline_mode(conn_);
        if (failed) {
            std::rethrow_exception(failed);
        }
        if (!sent && !out) {
            fail(nullptr, last ? last_sql : std::string_view(simple ? simple : "BEGIN"));
        }
        return out;
    }

    /// The next result of a pipelined query, skipping the null that ends the previous query's results; null once the
    /// connection has nothing more (it failed).
    result_ptr next_result() {
        for (int nulls = 0; nulls < 2; ++nulls) {
            if (PGresult* r = pq().get_result(conn_)) {
                return result_ptr(r);
            }
            if (pq().status(conn_) == CONNECTION_BAD) {
                break;
            }
        }
        return nullptr;
    }

    /// After a schema change, a prepared SELECT whose result columns changed fails once with "cached plan must not
    /// change result type"; the next run prepares it anew.
    static bool is_stale_plan(const PGresult* res) {
        const char* state = pq().result_error_field(res, PG_DIAG_SQLSTATE);
        return state && std::string_view(state) == "0A000";
    }
    void forget(std::string_view sql, std::string name) {  // a copy: `name` may live in the vector erased from
        if (auto it = by_sql_.find(sql); it != by_sql_.end()) {
            std::erase_if(it->second, [&](const prepared& p) { return p.name == name; });
        }
    }

    void bind(std::span<const db::param> params, std::string_view sql) {
        std::size_t n = params.size();
        values_.assign(n, nullptr);
        lengths_.assign(n, 0);
        formats_.assign(n, 0);
        ints_.resize(n);
        if (texts_.size() < n) {
            texts_.resize(n);
        }
        for (std::size_t i = 0; i < n; ++i) {
            std::visit(
                [&](const auto& v) {
                    using T = std::decay_t<decltype(v)>;
                    if constexpr (std::is_same_v<T, std::int64_t>) {
                        auto u = static_cast<std::uint64_t>(v);
                        for (int b = 0; b < 8; ++b) {
                            ints_[i][b] = static_cast<char>(u >> (56 - 8 * b));
                        }
                        values_[i] = ints_[i].data();
                        lengths_[i] = 8;
                        formats_[i] = 1;
                    } else if constexpr (std::is_same_v<T, db::blob>) {
                        // Never NULL for an empty blob: libpq sends a null pointer as SQL NULL.
                        values_[i] = v.bytes.empty() ? "" : v.bytes.data();
                        lengths_[i] = static_cast<int>(v.bytes.size());
                        formats_[i] = 1;
                    } else if constexpr (std::is_same_v<T, std::string_view>) {
                        // Text-format values are C strings to libpq, so each is copied with its terminator.
                        if (v.find('\0') != std::string_view::npos) {
                            throw db::error(db::error_kind::other,
                                            fmt::format("postgresql: text parameter {} holds a NUL byte, which "
                                                        "PostgreSQL text cannot store; bind it as db::blob (while "
                                                        "running: {})",
                                                        i + 1, sql));
                        }
                        texts_[i].assign(v);
                        values_[i] = texts_[i].c_str();
                    }
                    // nullptr: values_[i] stays null, which libpq sends as SQL NULL.
                },
                params[i]);
        }
    }

    [[noreturn]] void fail(const PGresult* res, std::string_view sql) {
        const char* state = res ? pq().result_error_field(res, PG_DIAG_SQLSTATE) : nullptr;
        std::string_view code = state ? state : "";
        db::error_kind kind = db::error_kind::other;
        if (code == "23505") {
            kind = db::error_kind::unique_violation;
        } else if (code == "23503") {
            kind = db::error_kind::foreign_key_violation;
        } else if (code == "40001" || code == "40P01") {
            kind = db::error_kind::retryable;
        } else if (code.starts_with("08") || code == "57P01" || code == "57P02" || code == "57P03" ||
                   pq().status(conn_) == CONNECTION_BAD) {
            kind = db::error_kind::unavailable;
            broken_ = true;  // the pool drops this connection and opens a new one when one is needed
        }
        std::string msg;
        if (const char* primary = res ? pq().result_error_field(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr) {
            msg = primary;
            if (const char* detail = pq().result_error_field(res, PG_DIAG_MESSAGE_DETAIL)) {
                msg.append(" (").append(detail).append(")");
            }
        } else {
            msg = one_line(pq().error_message(conn_));  // client-side: the connection is gone, out of memory, …
        }
        throw db::error(kind, fmt::format("postgresql: {}{} (while running: {})", msg,
                                          code.empty() ? "" : fmt::format(" [SQLSTATE {}]", code), sql));
    }

    std::unique_ptr<soci::session> session_;
    PGconn* conn_;
    bool broken_ = false;
    std::optional<std::string> pending_begin_;  ///< begin()'s SQL, not sent yet

    struct owned_param {
        std::variant<std::nullptr_t, std::int64_t, std::string> value;
        bool blob = false;
    };
    /// A statement of query_deferred(), sent with the next one.
    struct deferred {
        std::string sql;
        std::vector<owned_param> params;
        db::deferred_fn fn;
        /// The parameters as db::param views of `params` (made when used: a move of this struct may move the text).
        void view(std::vector<db::param>& out) const {
            out.clear();
            for (const auto& p : params) {
                if (const auto* text = std::get_if<std::string>(&p.value)) {
                    out.push_back(p.blob ? db::param(db::blob{*text}) : db::param(std::string_view(*text)));
                } else if (const auto* i = std::get_if<std::int64_t>(&p.value)) {
                    out.push_back(*i);
                } else {
                    out.push_back(nullptr);
                }
            }
        }
    };
    std::vector<deferred> deferred_;
    std::unordered_map<std::string, std::vector<prepared>, hash, std::equal_to<>> by_sql_;
    std::uint64_t statements_ = 0;
    // Per-call scratch, reused. A query run from a row callback overwrites them, which is safe: by then the outer
    // query's parameters have been sent.
    std::vector<const char*> values_;
    std::vector<int> lengths_;
    std::vector<int> formats_;
    std::vector<std::array<char, 8>> ints_;
    std::vector<std::string> texts_;
};

/// The advisory lock key of a name: FNV-1a, so every process (and every version of this binary) agrees on it.
std::int64_t lock_key(std::string_view name) {
    std::uint64_t h = 14695981039346656037ull;
    for (char c : std::string_view("happy-server:")) {
        h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
    for (char c : name) {
        h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
    return static_cast<std::int64_t>(h);
}

class pg_backend final : public db::backend {
public:
    std::size_t pool_size() const override { return opts_.pool_size; }
    explicit pg_backend(options o) : opts_(std::move(o)) {
        auto params = parse_conninfo(opts_.url);  // throws for a URL libpq cannot read, before any connection
        if (opts_.connect_timeout_s > 0) {
            set_param(params, "connect_timeout", std::to_string(opts_.connect_timeout_s), false);
        }
        set_param(params, "application_name", "happy-server", false);
        conninfo_ = build_conninfo(params);
        masked_ = mask_password(opts_.url);
    }

    db::dialect kind() const override { return db::dialect::postgres; }

    std::unique_ptr<db::connection> open() override {
        std::unique_ptr<soci::session> s;
        try {
            s = std::make_unique<soci::session>(*pq().soci_postgresql, conninfo_);
        } catch (const soci::soci_error& e) {
            throw db::error(db::error_kind::unavailable, connect_failure(e.what()));
        }
        auto c = std::make_unique<pg_connection>(std::move(s));
        if (!opts_.foreign_schema && !schema_checked_.load()) {
            refuse_foreign_schema(*c);
            schema_checked_ = true;
        }
        return c;
    }

    void with_global_lock(db::connection& c, std::string_view name, const std::function<void()>& fn) override {
        // A session-level advisory lock: it outlives the transactions run under it and is released with the
        // connection if this process dies.
        const db::param key[] = {lock_key(name)};
        c.query("SELECT pg_advisory_lock(?)", key, {});
        struct unlock {
            db::connection& c;
            const db::param* key;
            ~unlock() {
                try {
                    c.query("SELECT pg_advisory_unlock(?)", std::span<const db::param>(key, 1), {});
                } catch (...) {
                    // The connection is gone, and the lock with it.
                }
            }
        } guard{c, key};
        fn();
    }

    std::string describe() const override { return masked_; }

private:
    /// SOCI's message is "Cannot establish connection to the database." and libpq's text on the following lines.
    std::string connect_failure(std::string_view soci_msg) const {
        auto nl = soci_msg.find('\n');
        std::string why = one_line(nl == std::string_view::npos ? soci_msg : soci_msg.substr(nl + 1));
        std::string hint;
        if (why.find("does not exist") != std::string::npos && why.find("database") != std::string::npos) {
            hint = "; create it first (createdb, or CREATE DATABASE as a user allowed to)";
        } else if (why.find("password authentication failed") != std::string::npos ||
                   why.find("no password supplied") != std::string::npos) {
            hint = "; check the user name and password in DATABASE_URL (storage.postgres.url)";
        } else if (why.find("timeout expired") != std::string::npos) {
            hint = fmt::format("; no answer within {} s (storage.postgres.connect_timeout_s)", opts_.connect_timeout_s);
        }
        return fmt::format("cannot connect to PostgreSQL at {}: {}{}", masked_, why, hint);
    }

    /// Refuses a database that holds tables but no schema_migrations: another application's (upstream's Prisma
    /// schema has "Account", "Session", … and _prisma_migrations). Mixing schemas would leave both half-working.
    /// schema_migrations is the first table database::migrate creates, so a half-migrated database of ours passes.
    void refuse_foreign_schema(pg_connection& c) {
        bool ours = false;
        std::vector<std::string> tables;
        c.query("SELECT tablename::text FROM pg_catalog.pg_tables WHERE schemaname = current_schema() "
                "ORDER BY tablename = 'schema_migrations' DESC, tablename COLLATE \"C\" LIMIT 6",
                {}, [&](const db::row_view& r) {
                    if (r.text(0) == "schema_migrations") {
                        ours = true;
                    }
                    tables.push_back(r.str(0));
                });
        if (ours || tables.empty()) {
            return;
        }
        bool prisma = std::find(tables.begin(), tables.end(), "_prisma_migrations") != tables.end() ||
                      std::find(tables.begin(), tables.end(), "Account") != tables.end();
        std::string list;
        for (std::size_t i = 0; i < tables.size() && i < 5; ++i) {
            list += (i ? ", " : "") + tables[i];
        }
        if (tables.size() > 5) {
            list += ", …";
        }
        throw std::runtime_error(fmt::format(
            "database {} already holds tables of another application ({}) and no happy-server schema_migrations; "
            "refusing to mix schemas: point DATABASE_URL at an empty database{}",
            masked_, list,
            prisma ? " (this looks like upstream happy-server's Prisma database: `happy-server import-upstream --from "
                     "<its URL>` copies it into an empty database of ours)"
                   : ""));
    }

    options opts_;
    std::string conninfo_;
    std::string masked_;
    std::atomic<bool> schema_checked_{false};
};

bool ident_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           static_cast<unsigned char>(c) >= 0x80;
}

}  // namespace

numbered_sql number_placeholders(std::string_view sql) {
    numbered_sql out;
    out.text.reserve(sql.size() + 8);
    std::size_t i = 0, n = sql.size();
    auto copy_to = [&](std::size_t end) {
        out.text.append(sql.substr(i, end - i));
        i = end;
    };
    while (i < n) {
        char c = sql[i];
        char next = i + 1 < n ? sql[i + 1] : '\0';
        if (c == '\'') {
            // E'…' strings take backslash escapes; standard strings only double the quote.
            bool escapes = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') && (i < 2 || !ident_char(sql[i - 2]));
            std::size_t j = i + 1;
            while (j < n) {
                if (escapes && sql[j] == '\\') {
                    j += 2;
                } else if (sql[j] == '\'') {
                    if (j + 1 < n && sql[j + 1] == '\'') {
                        j += 2;
                    } else {
                        ++j;
                        break;
                    }
                } else {
                    ++j;
                }
            }
            copy_to(std::min(j, n));
        } else if (c == '"') {
            auto end = sql.find('"', i + 1);  // a doubled "" inside reads as two adjacent identifiers: same effect
            copy_to(end == std::string_view::npos ? n : end + 1);
        } else if (c == '-' && next == '-') {
            auto end = sql.find('\n', i);
            copy_to(end == std::string_view::npos ? n : end + 1);
        } else if (c == '/' && next == '*') {
            int depth = 0;  // PostgreSQL's block comments nest
            std::size_t j = i;
            while (j < n) {
                if (sql[j] == '/' && j + 1 < n && sql[j + 1] == '*') {
                    ++depth;
                    j += 2;
                } else if (sql[j] == '*' && j + 1 < n && sql[j + 1] == '/') {
                    j += 2;
                    if (--depth == 0) {
                        break;
                    }
                } else {
                    ++j;
                }
            }
            copy_to(std::min(j, n));
        } else if (c == '$' && (i == 0 || !ident_char(sql[i - 1])) && !(next >= '0' && next <= '9')) {
            // A dollar quote $tag$…$tag$ (tag possibly empty); anything else is copied as is.
            std::size_t j = i + 1;
            while (j < n && ident_char(sql[j])) {
                ++j;
            }
            if (j < n && sql[j] == '$') {
                auto tag = sql.substr(i, j + 1 - i);
                auto end = sql.find(tag, j + 1);
                copy_to(end == std::string_view::npos ? n : end + tag.size());
            } else {
                copy_to(i + 1);
            }
        } else if (c == '?') {
            out.text += '$';
            out.text += std::to_string(++out.count);
            ++i;
        } else {
            out.text += c;
            ++i;
        }
    }
    return out;
}

std::string mask_password(std::string_view url) {
    // Any scheme://user:password@… is masked, not only postgresql:// and postgres://: a URL of the wrong kind
    // reaches the error message that says so.
    if (auto sep = url.find("://"); sep != std::string_view::npos && url.find_first_of(" ='") > sep) {
        const std::string_view scheme = url.substr(0, sep + 3);
        std::string out(url);
        std::size_t auth_end = out.find_first_of("/?", scheme.size());
        if (auth_end == std::string::npos) {
            auth_end = out.size();
        }
        std::size_t at = out.rfind('@', auth_end);
        if (at != std::string::npos && at >= scheme.size()) {
            std::size_t colon = out.find(':', scheme.size());
            if (colon != std::string::npos && colon < at) {
                out.replace(colon + 1, at - colon - 1, "***");
            }
        }
        // A password may also be a query parameter: …?password=secret&sslmode=require
        std::size_t q = out.find('?');
        while (q != std::string::npos) {
            std::size_t start = q + 1;
            std::size_t end = out.find('&', start);
            std::string_view param = std::string_view(out).substr(start, end == std::string::npos ? end : end - start);
            if (param.starts_with("password=")) {
                out.replace(start + 9, param.size() - 9, "***");
                end = out.find('&', start);
            }
            q = end;
        }
        return out;
    }
    std::string why;
    auto params = try_parse_conninfo(url, why);
    if (!params) {
        return "(a connection string libpq cannot parse)";
    }
    for (auto& [k, v] : *params) {
        if (k == "password") {
            v = "***";
        }
    }
    return build_conninfo(*params);
}

std::string with_database(std::string_view url, std::string_view dbname) {
    auto params = parse_conninfo(url);
    set_param(params, "dbname", std::string(dbname), true);
    return build_conninfo(params);
}

std::unique_ptr<db::backend> make_backend(options o) { return std::make_unique<pg_backend>(std::move(o)); }

namespace {

/// The plugin's config section, storage.postgres.
constexpr std::string_view config_schema = R"json({
  "type": "object", "additionalProperties": false,
  "properties": {
    "url": {"type": "string", "default": "", "description": "postgresql://user:password@host:port/database?sslmode=… (or postgres://, or a libpq key=value string); env DATABASE_URL, which also sets storage.kind to postgres."},
    "pool_size": {"type": "integer", "minimum": 1, "maximum": 256, "default": 4, "description": "Pooled connections (and database threads). 4 measured best on 2 cores with PostgreSQL on the same machine (bench/sync.mjs --part pg --pool-size N); raise it with more cores or a remote database."},
    "connect_timeout_s": {"type": "integer", "minimum": 0, "default": 10, "description": "libpq connect_timeout when the URL sets none; 0 waits as long as the OS does."}
  }
})json";

}  // namespace

void register_plugin(registry& reg) {
    reg.add_storage("postgres", [](const storage_options& so) {
        options o;
        if (auto* v = so.config.if_contains("url")) {
            o.url = std::string(v->as_string());
        }
        if (o.url.empty()) {
            throw std::runtime_error(
                "storage.kind is \"postgres\" but no database is named: set DATABASE_URL "
                "(postgresql://user:password@host:5432/database) or storage.postgres.url");
        }
        if (auto* v = so.config.if_contains("connect_timeout_s")) {
            o.connect_timeout_s = v->to_number<int>();
        }
        if (auto* v = so.config.if_contains("pool_size")) {
            o.pool_size = v->to_number<std::size_t>();
        }
        o.foreign_schema = so.foreign_schema;
        return make_backend(std::move(o));
    },
    {.schema = config_schema,
     // Upstream's DATABASE_URL is what makes it use PostgreSQL: set, it selects this plugin too (over a
     // storage.kind in the file, as every environment variable overrides the file).
     .env = {{"DATABASE_URL", "storage.kind", "select:postgres"}, {"DATABASE_URL", "storage.postgres.url", "string"}},
     // Checked before anything is opened, by start-up and --check-config alike.
     .check = [](const boost::json::object& c) {
         const auto* v = c.if_contains("url");
         if (!v || !v->is_string() || v->get_string().empty()) {
             throw std::runtime_error(
                 "url: no database is named: set DATABASE_URL (postgresql://user:password@host:5432/database) or "
                 "storage.postgres.url");
         }
     }});
}

}  // namespace happy::plugin::storage_postgres
