#include "core/ops/doctor.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/timex.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <ctime>
#include <fmt/format.h>
#include <ostream>

#include "core/config/config.hpp"
#include "core/http/client.hpp"
#include "core/log/log.hpp"
#include "core/ops/admin_socket.hpp"
#include "core/ops/backup.hpp"
#include "core/util/time.hpp"

namespace happy::ops {

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;
using state = check_result::state;

namespace {

check_result ok(std::string name, std::string detail) { return {std::move(name), state::ok, std::move(detail), {}}; }
check_result warn(std::string name, std::string detail, std::string fix) {
    return {std::move(name), state::warn, std::move(detail), std::move(fix)};
}
check_result failed(std::string name, std::string detail, std::string fix) {
    return {std::move(name), state::fail, std::move(detail), std::move(fix)};
}

std::string human_bytes(std::uint64_t b) {
    if (b >= (1ull << 30)) {
        return fmt::format("{:.1f} GiB", static_cast<double>(b) / (1ull << 30));
    }
    if (b >= (1ull << 20)) {
        return fmt::format("{:.1f} MiB", static_cast<double>(b) / (1ull << 20));
    }
    return fmt::format("{} KiB", b / 1024);
}

/// The Date header of an HTTP response, as ms since the epoch.
std::optional<std::int64_t> parse_http_date(std::string_view v) {
    std::tm tm{};
    std::string s(v);
    const char* end = ::strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end) {
        return std::nullopt;
    }
    return static_cast<std::int64_t>(::timegm(&tm)) * 1000;
}

/// The kernel's view of NTP synchronisation (adjtimex with no modes only reads): nullopt when it cannot tell.
std::optional<bool> kernel_clock_synced() {
    timex tx{};
    int r = ::adjtimex(&tx);
    if (r < 0) {
        return std::nullopt;
    }
    return r != TIME_ERROR && !(tx.status & STA_UNSYNC);
}

const json::object& section(const json::object& cfg, std::string_view dotted) {
    static const json::object empty;
    try {
        const auto& v = config::at(cfg, dotted);
        return v.is_object() ? v.as_object() : empty;
    } catch (const std::exception&) {
        return empty;
    }
}

/// Outcome of one network check, with the Date header the peer sent (for the clock check).
struct probe {
    check_result result;
    std::optional<std::int64_t> remote_ms;
    std::string remote_name;
};

asio::awaitable<probe> probe_url(std::string name, std::string what, std::string url, std::chrono::milliseconds t,
                                 std::string fix) {
    probe p;
    auto t0 = std::chrono::steady_clock::now();
    try {
        // Named locals in the co_await (g++ 12 destroys such temporaries twice; see core/util/run_on.cpp).
        std::string method = "GET";
        http::client::header_list headers;
        std::string body;
        std::string target = url;
        auto r = co_await http::client::request(std::move(method), std::move(target), std::move(headers),
                                                std::move(body), t);
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
        // Any HTTP answer means the service is reachable; whether it accepts our requests is another matter.
        p.result = ok(name, fmt::format("{} reachable: {} answered HTTP {} in {} ms", what, url, r.status, ms));
        if (auto d = parse_http_date(r.header("date"))) {
            p.remote_ms = *d;
            p.remote_name = url;
        }
    } catch (const std::exception& e) {
        p.result = failed(name, fmt::format("{} unreachable: {}: {}", what, url, e.what()), std::move(fix));
    }
    co_return p;
}

/// Runs `fn` (blocking: a database connect) on a thread of its own with a bound; nullopt on timeout (the thread is
/// left to finish or to end with the process).
template <class T, class F>
std::optional<T> bounded(std::chrono::milliseconds t, F fn) {
    struct state {
        std::mutex m;
        std::condition_variable cv;
        std::optional<T> v;
    };
    auto st = std::make_shared<state>();
    std::thread([st, fn = std::move(fn)]() mutable {
        T r = fn();
        std::lock_guard lock(st->m);
        st->v = std::move(r);
        st->cv.notify_all();
    }).detach();
    std::unique_lock lock(st->m);
    st->cv.wait_for(lock, t, [&] { return st->v.has_value(); });
    return st->v;
}

struct database_facts {
    bool exists = false;          ///< a database with our schema is there
    std::uint64_t bytes = 0;      ///< file size (SQLite)
    std::optional<check_result> result;
};

database_facts check_database(const json::object& cfg, const registry& reg, int binary_version,
                              const fs::path& socket, std::chrono::milliseconds timeout) {
    database_facts f;
    std::string kind = config::get_string(cfg, "storage.kind");
    auto so = storage_options_from(cfg);
    const auto* factory = reg.storage().find(kind);
    if (!factory) {
        f.result = failed("database", fmt::format("unknown storage plugin \"{}\"", kind), "set storage.kind to sqlite or postgres");
        return f;
    }
    if (auto* v = so.config.if_contains("connect_timeout_s")) {
        // A doctor answers quickly: PostgreSQL's connect bound is the check's.
        auto secs = std::max<std::int64_t>(1, timeout.count() / 1000);
        if (v->to_number<std::int64_t>() == 0 || v->to_number<std::int64_t>() > secs) {
            so.config["connect_timeout_s"] = secs;
        }
    }
    std::unique_ptr<db::backend> b;
    try {
        b = (*factory)(so);
    } catch (const std::exception& e) {
        f.result = failed("database", e.what(), "fix the storage settings");
        return f;
    }
    auto judge = [binary_version, kind](std::int64_t version, const std::string& integrity, const std::string& where) -> check_result {
        std::string integ = integrity.empty() ? "" : fmt::format("integrity {}, ", integrity);
        if (!integrity.empty() && integrity != "ok") {
            return failed("database", fmt::format("{}: integrity check failed: {}", where, integrity),
                          "restore the latest backup (happy-server restore FILE) or a pre-upgrade snapshot");
        }
        if (version > binary_version) {
            return failed("database",
                          fmt::format("{}: {}schema version {} is newer than this binary's {}", where, integ, version,
                                      binary_version),
                          "run the newer happy-server that migrated it, or restore a backup made with this version");
        }
        if (version == 0) {
            return ok("database", fmt::format("{}: {}empty; the first start creates the schema (version {})", where,
                                              integ, binary_version));
        }
        if (version < binary_version) {
            return ok("database", fmt::format("{}: {}schema version {}; the next start migrates it to {}{}", where,
                                              integ, version, binary_version,
                                              kind == "sqlite" ? " (after writing a snapshot beside it)" : ""));
        }
        return ok("database", fmt::format("{}: {}schema version {} (current)", where, integ, version));
    };
    std::string path = b->file_path();
    if (!path.empty()) {
        std::error_code ec;
        if (!fs::exists(path, ec)) {
            f.result = ok("database", fmt::format("{}: not created yet; the first start creates it", path));
            return f;
        }
        f.bytes = fs::file_size(path, ec);
        std::unique_ptr<db::connection> c;
        try {
            c = b->open();
        } catch (const std::exception& e) {
            if (std::string_view(e.what()).find("in use by another process") == std::string_view::npos) {
                f.result = failed("database", fmt::format("{}: cannot open: {}", path, e.what()),
                                  "restore the latest backup (happy-server restore FILE)");
                return f;
            }
            // The running server owns the file: it runs the check.
            try {
                auto answer = admin_call(socket, {{"op", "integrity"}}, std::chrono::minutes(30));
                if (!answer) {
                    f.result = failed("database", fmt::format("{} is in use by a process that does not answer on {}",
                                                              path, socket.string()),
                                      "stop the other process using the database file");
                    return f;
                }
                if (!answer->at("ok").as_bool()) {
                    f.result = failed("database", fmt::format("{}: the running server could not check it: {}", path,
                                                              json::serialize(answer->at("error"))),
                                      "see the server's log");
                    return f;
                }
                std::int64_t v = answer->at("schema_version").to_number<std::int64_t>();
                f.exists = v > 0;
                f.result = judge(v, std::string(answer->at("integrity").as_string()),
                                 path + " (checked by the running server)");
            } catch (const std::exception& e) {
                f.result = failed("database", fmt::format("{}: {}", path, e.what()), "see the server's log");
            }
            return f;
        }
        try {
            std::string integrity = b->integrity_check(*c);
            db::tx t(*c, b->kind());
            std::int64_t v = 0;
            if (t.one_i64("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
                    .value_or(0)) {
                v = t.one_i64("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").value_or(0);
            }
            f.exists = v > 0;
            f.result = judge(v, integrity, path);
        } catch (const std::exception& e) {
            f.result = failed("database", fmt::format("{}: {}", path, e.what()),
                              "restore the latest backup (happy-server restore FILE)");
        }
        return f;
    }
    // A database server (PostgreSQL): reachable, and its schema.
    std::string where = b->describe();
    auto shared = std::shared_ptr<db::backend>(std::move(b));
    using outcome = std::pair<check_result, bool>;  // and whether the schema has migrations
    auto r = bounded<outcome>(timeout + std::chrono::seconds(1), [shared, where, judge]() -> outcome {
        try {
            auto c = shared->open();
            shared->ping(*c);
            db::tx t(*c, shared->kind());
            std::int64_t v = 0;
            if (t.one_i64("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'schema_migrations' "
                          "AND table_schema = current_schema()")
                    .value_or(0)) {
                v = t.one_i64("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").value_or(0);
            }
            auto res = judge(v, "", where);
            res.detail = "reachable; " + res.detail;
            return {res, v > 0};
        } catch (const std::exception& e) {
            return {failed("database", fmt::format("{} unreachable: {}", where, e.what()),
                           "start PostgreSQL or correct DATABASE_URL / storage.postgres.url (host, port, credentials, "
                           "database name)"),
                    false};
        }
    });
    f.exists = r && r->second;
    f.result = r ? r->first
                 : failed("database", fmt::format("{}: no answer within {} ms", where, timeout.count()),
                          "check that PostgreSQL runs and that the network lets this host reach it");
    return f;
}

}  // namespace

std::string_view state_name(state s) {
    switch (s) {
        case state::ok: return "ok";
        case state::warn: return "warn";
        case state::fail: return "fail";
        default: return "skip";
    }
}

std::string network_filesystem(std::int64_t t) {
    switch (static_cast<std::uint32_t>(t)) {
        case 0x6969: return "nfs";
        case 0x517B: return "smb";
        case 0xFF534D42: return "cifs";
        case 0xFE534D42: return "smb2";
        case 0x01021997: return "9p";
        case 0x65735546: return "fuse";
        case 0x00C36400: return "ceph";
        case 0x5346414F: return "afs";
        case 0x73757245: return "coda";
        case 0x01161970: return "gfs2";
        case 0x7461636F: return "ocfs2";
        default: return "";
    }
}

std::vector<check_result> check_data_dir(const fs::path& dir, bool sqlite) {
    std::vector<check_result> out;
    std::error_code ec;
    if (!fs::exists(dir, ec)) {
        fs::path parent = fs::absolute(dir).parent_path();
        if (::access(parent.c_str(), W_OK) == 0) {
            out.push_back(ok("data_dir", fmt::format("{} does not exist yet; the first start creates it", dir.string())));
        } else {
            out.push_back(failed("data_dir", fmt::format("{} does not exist and {} is not writable", dir.string(),
                                                         parent.string()),
                                 fmt::format("create it for the server's user: mkdir -p {0} && chown <user> {0}",
                                             dir.string())));
        }
        return out;
    }
    fs::path probe = dir / fmt::format(".doctor-{}", ::getpid());
    int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        out.push_back(failed("data_dir", fmt::format("{} is not writable: {}", dir.string(), std::strerror(errno)),
                             fmt::format("give the server's user write access: chown -R <user> {}", dir.string())));
    } else {
        ::close(fd);
        ::unlink(probe.c_str());
        struct statfs sf {};
        std::string net = ::statfs(dir.c_str(), &sf) == 0 ? network_filesystem(sf.f_type) : "";
        if (net.empty()) {
            out.push_back(ok("data_dir", fmt::format("{}: writable, local filesystem", dir.string())));
        } else if (sqlite) {
            out.push_back(failed("data_dir",
                                 fmt::format("{} is on a network filesystem ({}): SQLite's locking is not reliable "
                                             "there and the database can be corrupted",
                                             dir.string(), net),
                                 "put data_dir on a local disk (or use PostgreSQL: DATABASE_URL)"));
        } else {
            out.push_back(warn("data_dir", fmt::format("{} is on a network filesystem ({})", dir.string(), net),
                               "keep data_dir on a local disk if local files are used"));
        }
    }
    return out;
}

check_result check_disk(const fs::path& dir, std::uint64_t database_bytes) {
    struct statvfs sv {};
    fs::path at = dir;
    std::error_code ec;
    while (!at.empty() && !fs::exists(at, ec)) {
        at = at.parent_path();
    }
    if (::statvfs((at.empty() ? fs::path(".") : at).c_str(), &sv) != 0) {
        return warn("disk", fmt::format("cannot read the free space of {}: {}", dir.string(), std::strerror(errno)),
                    "check the data directory");
    }
    std::uint64_t free = static_cast<std::uint64_t>(sv.f_bavail) * sv.f_frsize;
    std::uint64_t total = static_cast<std::uint64_t>(sv.f_blocks) * sv.f_frsize;
    std::string detail = fmt::format("{} free of {} at {}{}", human_bytes(free), human_bytes(total), dir.string(),
                                     database_bytes ? fmt::format(" (database {})", human_bytes(database_bytes)) : "");
    constexpr std::uint64_t floor = 100ull << 20;
    if (free < floor) {
        return failed("disk", detail, "free disk space: below 100 MiB writes start failing (SQLITE_FULL)");
    }
    if (free < 2 * database_bytes || free < (1ull << 30)) {
        return warn("disk", detail,
                    "free disk space: an upgrade snapshot or a backup needs as much room as the database, and "
                    "below 1 GiB little is left for growth");
    }
    return ok("disk", detail);
}

check_result check_master_secret(const json::object& cfg, bool data_exists) {
    if (!config::get_string(cfg, "auth.master_secret").empty()) {
        return ok("master_secret", "set in the configuration (auth.master_secret / HANDY_MASTER_SECRET)");
    }
    fs::path p = fs::path(config::get_string(cfg, "data_dir")) / "master-secret";
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) {
        if (data_exists) {
            return failed("master_secret",
                          fmt::format("{} is missing while the database holds data: no existing token will verify "
                                      "and encrypted vendor tokens cannot be read",
                                      p.string()),
                          "restore the file from a backup (or set HANDY_MASTER_SECRET to the old secret) before "
                          "starting the server");
        }
        return ok("master_secret", fmt::format("{} not created yet; the first start generates it", p.string()));
    }
    if (st.st_uid != ::geteuid()) {
        return failed("master_secret",
                      fmt::format("{} is owned by uid {}, not by this user (uid {})", p.string(), st.st_uid, ::geteuid()),
                      fmt::format("run doctor as the server's user, or chown <user> {}", p.string()));
    }
    if (st.st_mode & 077) {
        return failed("master_secret",
                      fmt::format("{} has mode {:04o}: readable by others than its owner", p.string(), st.st_mode & 07777),
                      fmt::format("chmod 600 {}", p.string()));
    }
    if (::access(p.c_str(), R_OK) != 0) {
        return failed("master_secret", fmt::format("{} is not readable: {}", p.string(), std::strerror(errno)),
                      fmt::format("chmod 600 {}", p.string()));
    }
    if (st.st_size == 0) {
        return failed("master_secret", fmt::format("{} is empty", p.string()),
                      "restore the file from a backup, or remove it to generate a new one (every token is lost)");
    }
    return ok("master_secret", fmt::format("{}: present, mode {:04o}, owned by this user", p.string(), st.st_mode & 07777));
}

check_result check_port(std::string_view key, const std::string& host, int port, std::optional<int> running_port) {
    std::string name(key);
    if (port == 0) {
        return ok(name, fmt::format("{}:0: the server picks a free port", host));
    }
    if (running_port && *running_port == port) {
        return ok(name, fmt::format("{}:{} is served by the running happy-server of this data directory", host, port));
    }
    asio::io_context ioc;
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    if (ec) {
        return failed(name, fmt::format("\"{}\" is not an IP address", host), "use an address such as 0.0.0.0 or 127.0.0.1");
    }
    asio::ip::tcp::acceptor a(ioc);
    asio::ip::tcp::endpoint ep(addr, static_cast<std::uint16_t>(port));
    a.open(ep.protocol(), ec);
    if (!ec) {
        a.set_option(asio::socket_base::reuse_address(true), ec);
        a.bind(ep, ec);
    }
    if (ec == asio::error::address_in_use) {
        return failed(name, fmt::format("{}:{} is in use by another program", host, port),
                      fmt::format("stop it (ss -ltnp 'sport = :{}' shows which) or choose another port", port));
    }
    if (ec == asio::error::access_denied) {
        return failed(name, fmt::format("{}:{}: permission denied (ports below 1024 need privileges)", host, port),
                      "use a port above 1023 behind the proxy, or grant CAP_NET_BIND_SERVICE");
    }
    if (ec) {
        return failed(name, fmt::format("{}:{}: {}", host, port, ec.message()), "choose an address of this machine");
    }
    return ok(name, fmt::format("{}:{} is free", host, port));
}

check_result check_clock(std::int64_t now, std::optional<bool> synced, std::optional<std::int64_t> remote,
                         std::string_view remote_name) {
    std::string when = iso8601_ms(now);
    // 2024-01-01: no clock this binary runs on is legitimately earlier (a board without an RTC boots in 1970).
    if (now < 1704067200000LL || now > 4102444800000LL) {
        return failed("clock", fmt::format("the system clock says {}", when),
                      "set the time and enable NTP (systemd-timesyncd, chrony)");
    }
    if (remote) {
        std::int64_t skew = now - *remote;
        if (std::llabs(skew) > 5 * 60 * 1000) {
            return failed("clock", fmt::format("{} is {} s off {}'s clock", when, skew / 1000, remote_name),
                          "enable NTP (systemd-timesyncd, chrony): S3 refuses requests signed more than 15 min off, "
                          "and timestamps in the data go wrong");
        }
        if (std::llabs(skew) > 60 * 1000) {
            return warn("clock", fmt::format("{} is {} s off {}'s clock", when, skew / 1000, remote_name),
                        "enable NTP (systemd-timesyncd, chrony)");
        }
    }
    std::string cmp = remote ? fmt::format(", within 60 s of {}", remote_name) : "";
    if (synced && !*synced) {
        return warn("clock", fmt::format("{}{}; the kernel reports the clock as not synchronized", when, cmp),
                    "enable NTP (systemd-timesyncd, chrony)");
    }
    return ok("clock", fmt::format("{}{}{}", when, synced ? "; synchronized (NTP)" : "", cmp));
}

int run_doctor(const doctor_input& in, const registry& reg, const doctor_options& o, std::ostream& out) {
    std::vector<check_result> checks;
    // The plugins log as they connect; the doctor's output is its own lines.
    log::configure(log::level::off, log::format::console);
    if (!in.cfg) {
        checks.push_back(failed("config", in.error, "correct the key it names (happy-server --print-config-schema lists them)"));
    } else {
        const json::object& cfg = *in.cfg;
        checks.push_back(ok("config", fmt::format("valid ({})", in.source)));
        fs::path data_dir = config::get_string(cfg, "data_dir");
        std::string storage = config::get_string(cfg, "storage.kind");
        for (auto& c : check_data_dir(data_dir, storage == "sqlite")) {
            checks.push_back(std::move(c));
        }
        fs::path socket = admin_socket_path(data_dir);
        std::optional<int> running_port;
        std::optional<int> running_metrics;
        try {
            if (auto a = admin_call(socket, {{"op", "status"}}, std::chrono::seconds(3)); a && a->at("ok").as_bool()) {
                running_port = static_cast<int>(a->at("port").to_number<std::int64_t>());
                if (auto* m = a->if_contains("metrics_port"); m && !m->is_null()) {
                    running_metrics = static_cast<int>(m->to_number<std::int64_t>());
                }
            }
        } catch (const std::exception&) {
        }
        auto dbf = check_database(cfg, reg, binary_schema_version(reg), socket, o.timeout);
        checks.push_back(*dbf.result);
        checks.push_back(check_disk(data_dir, dbf.bytes));
        checks.push_back(check_master_secret(cfg, dbf.exists));
        checks.push_back(check_port("port", config::get_string(cfg, "server.host"),
                                    static_cast<int>(config::get_int(cfg, "server.port")), running_port));
        if (config::get_bool(cfg, "metrics.enabled")) {
            checks.push_back(check_port("metrics_port", config::get_string(cfg, "metrics.host"),
                                        static_cast<int>(config::get_int(cfg, "metrics.port")), running_metrics));
        }

        // The network checks, concurrently, each bounded.
        asio::io_context ioc;
        std::vector<probe> probes;
        std::vector<asio::awaitable<probe>> pending;
        auto modules_cfg = section(cfg, "modules");
        auto enabled = [&](std::string_view m) {
            auto* s = modules_cfg.if_contains(m);
            return s && s->is_object() && s->as_object().contains("enabled") && s->as_object().at("enabled").as_bool();
        };
        std::string bus_kind = config::get_string(cfg, "bus.kind");
        if (bus_kind != "local") {
            pending.push_back([](const registry& reg, json::object cfg, std::string kind,
                                 std::chrono::milliseconds t) -> asio::awaitable<probe> {
                probe p;
                const auto* f = reg.buses().find(kind);
                if (!f) {
                    p.result = failed("bus", fmt::format("unknown bus plugin \"{}\"", kind), "set bus.kind");
                    co_return p;
                }
                bus_options bo;
                if (auto* s = section(cfg, "bus").if_contains(kind); s && s->is_object()) {
                    bo.config = s->as_object();
                }
                try {
                    auto b = (*f)(bo);
                    auto t0 = std::chrono::steady_clock::now();
                    asio::any_io_executor ex = co_await asio::this_coro::executor;  // named (g++ 12)
                    co_await b->start(ex);
                    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
                    co_await b->stop();
                    p.result = ok("bus", fmt::format("{} reachable (connected in {} ms)", kind, ms.count()));
                } catch (const std::exception& e) {
                    p.result = failed("bus", e.what(),
                                      "start Redis or correct REDIS_URL / bus.redis.url (host, port, password)");
                }
                (void)t;
                co_return p;
            }(reg, cfg, bus_kind, o.timeout));
        }
        std::string files_kind = config::get_string(cfg, "files.kind");
        if (files_kind != "local") {
            pending.push_back([](const registry& reg, json::object cfg, std::string kind) -> asio::awaitable<probe> {
                probe p;
                const auto* f = reg.file_stores().find(kind);
                if (!f) {
                    p.result = failed("files", fmt::format("unknown file store plugin \"{}\"", kind), "set files.kind");
                    co_return p;
                }
                file_store_options fo;
                fo.data_dir = config::get_string(cfg, "data_dir");
                if (auto* s = section(cfg, "files").if_contains(kind); s && s->is_object()) {
                    fo.config = s->as_object();
                }
                try {
                    auto store = (*f)(fo);
                    auto t0 = std::chrono::steady_clock::now();
                    std::string key = "happy-doctor-probe";  // a named local (g++ 12, see above)
                    co_await store->stat(std::move(key));
                    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
                    p.result = ok("files", fmt::format("{} reachable, credentials accepted ({} ms)", store->describe(), ms.count()));
                } catch (const std::exception& e) {
                    p.result = failed("files", fmt::format("{}: {}", kind, e.what()),
                                      "check files.s3 / S3_* (endpoint, bucket, access key and secret)");
                }
                co_return p;
            }(reg, cfg, files_kind));
        }
        auto string_at = [&](std::string_view key) {
            try {
                return config::get_string(cfg, key);
            } catch (const std::exception&) {
                return std::string();
            }
        };
        if (enabled("push") && !string_at("modules.push.expo_url").empty()) {
            pending.push_back(probe_url("expo", "Expo push service", string_at("modules.push.expo_url"), o.timeout,
                                        "allow outbound HTTPS to exp.host (push notifications), or set "
                                        "modules.push.expo_url to \"\" to turn delivery off"));
        }
        if (enabled("connect") && !string_at("modules.connect.github.client_id").empty()) {
            pending.push_back(probe_url("github", "GitHub API", string_at("modules.connect.github.api_url"), o.timeout,
                                        "allow outbound HTTPS to api.github.com and github.com (GitHub connect)"));
        }
        if (enabled("voice") && !string_at("modules.voice.elevenlabs_api_key").empty()) {
            pending.push_back(probe_url("elevenlabs", "ElevenLabs API", string_at("modules.voice.elevenlabs_url"),
                                        o.timeout, "allow outbound HTTPS to api.elevenlabs.io (voice)"));
        }
        for (auto& a : pending) {
            asio::co_spawn(ioc, std::move(a), [&probes](std::exception_ptr ep, probe p) {
                if (!ep) {
                    probes.push_back(std::move(p));
                }
            });
        }
        ioc.run_for(o.timeout + std::chrono::seconds(2));
        std::optional<std::int64_t> remote;
        std::string remote_name;
        for (auto& p : probes) {
            checks.push_back(p.result);
            if (p.remote_ms && !remote) {
                remote = p.remote_ms;
                remote_name = p.remote_name;
            }
        }
        if (probes.size() < pending.size()) {
            checks.push_back(failed("network", fmt::format("{} network check(s) gave no answer within {} ms",
                                                           pending.size() - probes.size(), o.timeout.count()),
                                    "check DNS and outbound connectivity"));
        }
        checks.push_back(check_clock(now_ms(), kernel_clock_synced(), remote, remote_name));
    }

    std::size_t fails = 0, warns = 0;
    for (const auto& c : checks) {
        fails += c.status == state::fail;
        warns += c.status == state::warn;
    }
    if (o.json) {
        json::array arr;
        for (const auto& c : checks) {
            json::object e{{"check", c.name}, {"status", state_name(c.status)}, {"detail", c.detail}};
            if (!c.fix.empty()) {
                e["fix"] = c.fix;
            }
            arr.push_back(std::move(e));
        }
        out << json::serialize(json::object{{"ok", fails == 0}, {"failed", fails}, {"warnings", warns},
                                            {"checks", std::move(arr)}})
            << "\n";
    } else {
        for (const auto& c : checks) {
            std::string tag = c.status == state::ok ? "ok  " : c.status == state::warn ? "WARN" : c.status == state::fail ? "FAIL" : "skip";
            out << fmt::format("{} {:<13} {}{}\n", tag, c.name, c.detail, c.fix.empty() ? "" : " — fix: " + c.fix);
        }
        out << fmt::format("{} check(s): {} failed, {} warning(s)\n", checks.size(), fails, warns);
    }
    return fails == 0 ? 0 : 1;
}

}  // namespace happy::ops
