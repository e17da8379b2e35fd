#include "modules/usage/usage_store.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <ctime>
#include <map>
#include <unordered_map>

#include "core/crypto/ids.hpp"

namespace happy::mod::usage {

namespace json = boost::json;

bool usage_session_owned(db::tx& t, std::string_view account_id, std::string_view session_id) {
    // The session table belongs to the sessions module; a plain query keeps this module free of its symbols.
    return t.exists("SELECT 1 FROM session WHERE id = ? AND account_id = ?", {session_id, account_id});
}

usage_report usage_report_upsert(db::tx& t, std::string_view account_id, std::string_view session_id,
                                 std::string_view key, std::string_view data, std::int64_t now) {
    usage_report r;
    r.session_id = std::string(session_id);
    r.key = std::string(key);
    r.data = std::string(data);
    std::string id = crypto::cuid();
    // One atomic upsert on the unique key: concurrent reports for one key (several server processes) update one row.
    t.query("INSERT INTO usage_report (id, key, account_id, session_id, data, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (account_id, session_id, key) DO UPDATE SET data = excluded.data, "
            "updated_at = excluded.updated_at "
            "RETURNING id, created_at, updated_at",
            {id, key, account_id, session_id, data, now, now}, [&](const db::row_view& row) {
                r.id = row.str(0);
                r.created_at = row.i64(1);
                r.updated_at = row.i64(2);
            });
    return r;
}

std::vector<usage_report> usage_report_list(db::tx& t, std::string_view account_id, const usage_filter& f) {
    // One SQL text per combination of filters, built once: each is prepared once per connection.
    enum : unsigned { by_session = 1, by_from = 2, by_to = 4 };
    static const std::array<std::string, 8> sqls = [] {
        std::array<std::string, 8> out;
        for (unsigned m = 0; m < out.size(); ++m) {
            std::string sql =
                "SELECT id, key, session_id, data, created_at, updated_at FROM usage_report WHERE account_id = ?";
            if (m & by_session) {
                sql += " AND session_id = ?";
            }
            if (m & by_from) {
                sql += " AND created_at >= ?";
            }
            if (m & by_to) {
                sql += " AND created_at <= ?";
            }
            sql += " ORDER BY created_at DESC, id DESC";
            out[m] = std::move(sql);
        }
        return out;
    }();
    unsigned mask = 0;
    std::vector<db::param> params{account_id};
    if (f.session_id) {
        mask |= by_session;
        params.emplace_back(std::string_view(*f.session_id));
    }
    if (f.from_ms) {
        mask |= by_from;
        params.emplace_back(*f.from_ms);
    }
    if (f.to_ms) {
        mask |= by_to;
        params.emplace_back(*f.to_ms);
    }
    std::vector<usage_report> out;
    t.query(sqls[mask], params, [&](const db::row_view& r) {
        out.push_back({r.str(0), r.str(1), r.opt_str(2), r.str(3), r.i64(4), r.i64(5)});
    });
    return out;
}

std::int64_t usage_bucket_start(std::int64_t created_ms, usage_group g) {
    // new Date(createdAt) → local calendar fields → new Date(y, m, d[, h], 0, 0, 0) → floor(ms / 1000).
    std::time_t secs = static_cast<std::time_t>(created_ms >= 0 ? created_ms / 1000 : (created_ms - 999) / 1000);
    std::tm tm{};
    localtime_r(&secs, &tm);
    tm.tm_sec = 0;
    tm.tm_min = 0;
    if (g == usage_group::day) {
        tm.tm_hour = 0;
    }
    tm.tm_isdst = -1;
    return static_cast<std::int64_t>(std::mktime(&tm));
}

namespace {

/// PostgreSQL JSONB key order: shorter keys first, then bytewise.
bool jsonb_less(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return a.size() < b.size();
    }
    return a < b;
}

/// JavaScript enumerates "array index" keys (canonical decimal below 2^32 − 1) first, ascending.
std::optional<std::uint32_t> array_index(std::string_view k) {
    if (k.empty() || k.size() > 10 || (k.size() > 1 && k[0] == '0')) {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    for (char c : k) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (v >= 4294967295ULL) {
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(v);
}

/// A JavaScript number as JSON: integral values within 2^53 as integers (JSON.stringify writes no fraction).
json::value js_number(double v) {
    if (std::isfinite(v) && std::trunc(v) == v && std::fabs(v) <= 9007199254740992.0) {
        return json::value(static_cast<std::int64_t>(v));
    }
    if (!std::isfinite(v)) {
        return json::value(nullptr);  // JSON.stringify(Infinity) is null
    }
    return json::value(v);
}

/// `agg[key] = (agg[key] || 0) + value` over a JS object, keeping JavaScript's key order.
class js_sums {
public:
    void add_all(const json::value* obj) {
        const auto* o = obj ? obj->if_object() : nullptr;
        if (!o) {
            return;
        }
        std::vector<const json::key_value_pair*> entries;
        for (const auto& kv : *o) {
            entries.push_back(&kv);
        }
        std::stable_sort(entries.begin(), entries.end(),
                         [](const auto* a, const auto* b) { return jsonb_less(a->key(), b->key()); });
        for (const auto* kv : entries) {
            if (!kv->value().is_number()) {
                continue;  // typeof value === 'number' only
            }
            double v = kv->value().to_number<double>();
            std::string k(kv->key());
            auto it = index_.find(k);
            if (it == index_.end()) {
                index_.emplace(k, sums_.size());
                sums_.emplace_back(std::move(k), v);
            } else {
                sums_[it->second].second += v;
            }
        }
    }

    json::object to_json() const {
        std::vector<std::pair<std::string, double>> ordered = sums_;
        auto mid = std::stable_partition(ordered.begin(), ordered.end(),
                                         [](const auto& e) { return array_index(e.first).has_value(); });
        std::sort(ordered.begin(), mid,
                  [](const auto& a, const auto& b) { return *array_index(a.first) < *array_index(b.first); });
        json::object o;
        o.reserve(ordered.size());
        for (const auto& [k, v] : ordered) {
            o[k] = js_number(v);
        }
        return o;
    }

private:
    std::vector<std::pair<std::string, double>> sums_;
    std::unordered_map<std::string, std::size_t> index_;
};

struct bucket {
    js_sums tokens;
    js_sums cost;
    std::int64_t count = 0;
};

}  // namespace

json::object usage_aggregate(const std::vector<usage_report>& reports, usage_group g) {
    std::map<std::int64_t, bucket> buckets;  // ordered: the response is sorted by timestamp ascending
    for (const auto& r : reports) {
        boost::system::error_code ec;
        json::value data = json::parse(r.data, ec);
        const json::object* o = ec ? nullptr : data.if_object();
        auto& b = buckets[usage_bucket_start(r.created_at, g)];
        ++b.count;
        if (o) {
            b.tokens.add_all(o->if_contains("tokens"));
            b.cost.add_all(o->if_contains("cost"));
        }
    }
    json::array usage;
    usage.reserve(buckets.size());
    for (const auto& [ts, b] : buckets) {
        usage.push_back(json::object{
            {"timestamp", ts}, {"tokens", b.tokens.to_json()}, {"cost", b.cost.to_json()}, {"reportCount", b.count}});
    }
    return json::object{{"usage", std::move(usage)},
                        {"groupBy", g == usage_group::hour ? "hour" : "day"},
                        {"totalReports", static_cast<std::int64_t>(reports.size())}};
}

}  // namespace happy::mod::usage
