#include "plugins/files_s3/sigv4.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <stdexcept>

#include "core/crypto/base64.hpp"
#include "core/crypto/key_tree.hpp"
#include "core/util/time.hpp"

namespace happy::plugin::files_s3::sigv4 {

namespace json = boost::json;

namespace {

constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";

std::int64_t ms_of(clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string digest(const EVP_MD* md, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), out, &len, md, nullptr) != 1) {
        throw std::runtime_error("EVP_Digest failed");
    }
    return std::string(reinterpret_cast<const char*>(out), len);
}

std::string hmac(std::string_view key, std::string_view data) {
    auto mac = crypto::hmac_sha256(key, data);
    return std::string(reinterpret_cast<const char*>(mac.data()), mac.size());
}

std::string date_stamp(clock::time_point t) { return amz_date(t).substr(0, 8); }

std::string credential_scope(const scope& s, clock::time_point t) {
    return date_stamp(t) + "/" + s.region + "/" + s.service + "/aws4_request";
}

/// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
std::string signing_key(const credentials& c, const scope& s, clock::time_point t) {
    std::string k = hmac("AWS4" + c.secret_key, date_stamp(t));
    k = hmac(k, s.region);
    k = hmac(k, s.service);
    return hmac(k, "aws4_request");
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& ch : out) {
        if (ch >= 'A' && ch <= 'Z') {
            ch = static_cast<char>(ch - 'A' + 'a');
        }
    }
    return out;
}

/// Trims the value and folds each run of spaces into one ("Trimall" of the SigV4 specification).
std::string trim_all(std::string_view v) {
    auto is_ws = [](char ch) { return ch == ' ' || ch == '\t'; };
    while (!v.empty() && is_ws(v.front())) {
        v.remove_prefix(1);
    }
    while (!v.empty() && is_ws(v.back())) {
        v.remove_suffix(1);
    }
    std::string out;
    out.reserve(v.size());
    for (char ch : v) {
        if (is_ws(ch) && !out.empty() && out.back() == ' ') {
            continue;
        }
        out.push_back(is_ws(ch) ? ' ' : ch);
    }
    return out;
}

std::string canonical_query(const pairs& query) {
    std::vector<std::pair<std::string, std::string>> enc;
    enc.reserve(query.size());
    for (const auto& [k, v] : query) {
        enc.emplace_back(uri_encode(k, false), uri_encode(v, false));
    }
    // Sorted by encoded name, then by value for repeated names (byte order).
    std::sort(enc.begin(), enc.end());
    std::string out;
    for (const auto& [k, v] : enc) {
        out += out.empty() ? "" : "&";
        out += k + "=" + v;
    }
    return out;
}

}  // namespace

std::string amz_date(clock::time_point t) {
    auto c = utc_civil(ms_of(t));
    return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", c.year, c.month, c.day, c.hour, c.minute, c.second);
}

std::string sha256_hex(std::string_view data) { return crypto::hex_lower(digest(EVP_sha256(), data)); }

std::string md5_base64(std::string_view data) { return crypto::base64_encode(digest(EVP_md5(), data)); }

std::string uri_encode(std::string_view s, bool keep_slash) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (char ch : s) {
        auto u = static_cast<unsigned char>(ch);
        bool unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' ||
                          u == '.' || u == '_' || u == '~';
        if (unreserved || (keep_slash && u == '/')) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(hex[u >> 4]);
            out.push_back(hex[u & 15]);
        }
    }
    return out;
}

std::string encoded_target(std::string_view path, const pairs& query) {
    std::string out = uri_encode(path.empty() ? "/" : path, true);
    char sep = '?';
    for (const auto& [k, v] : query) {
        out.push_back(sep);
        sep = '&';
        out += uri_encode(k, false) + "=" + uri_encode(v, false);
    }
    return out;
}

signature sign(const request& r, const credentials& c, const scope& s, clock::time_point t) {
    // Lowercase names, stably sorted, so that repeated names keep their order when joined with ','.
    std::vector<std::pair<std::string, std::string>> hs;
    hs.reserve(r.headers.size());
    for (const auto& [k, v] : r.headers) {
        hs.emplace_back(lower(k), trim_all(v));
    }
    std::stable_sort(hs.begin(), hs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string canonical_headers, signed_headers;
    for (std::size_t i = 0; i < hs.size(); ++i) {
        if (i > 0 && hs[i].first == hs[i - 1].first) {
            canonical_headers.back() = ',';  // replaces the previous line's '\n'
            canonical_headers += hs[i].second + "\n";
            continue;
        }
        canonical_headers += hs[i].first + ":" + hs[i].second + "\n";
        signed_headers += (signed_headers.empty() ? "" : ";") + hs[i].first;
    }

    signature out;
    out.signed_headers = signed_headers;
    out.canonical_request = r.method + "\n" + uri_encode(r.path.empty() ? "/" : r.path, true) + "\n" +
                            canonical_query(r.query) + "\n" + canonical_headers + "\n" + signed_headers + "\n" +
                            r.payload_hash;
    out.string_to_sign = std::string(algorithm) + "\n" + amz_date(t) + "\n" + credential_scope(s, t) + "\n" +
                         sha256_hex(out.canonical_request);
    out.hex = crypto::hex_lower(hmac(signing_key(c, s, t), out.string_to_sign));
    return out;
}

std::string authorization(const request& r, const credentials& c, const scope& s, clock::time_point t) {
    auto sig = sign(r, c, s, t);
    return fmt::format("{} Credential={}/{}, SignedHeaders={}, Signature={}", algorithm, c.access_key,
                       credential_scope(s, t), sig.signed_headers, sig.hex);
}

std::string presign_query(const request& r, const credentials& c, const scope& s, clock::time_point t,
                          std::chrono::seconds expires) {
    request q = r;
    std::string signed_headers;
    {
        std::vector<std::string> names;
        for (const auto& [k, v] : r.headers) {
            names.push_back(lower(k));
        }
        std::sort(names.begin(), names.end());
        names.erase(std::unique(names.begin(), names.end()), names.end());
        for (const auto& n : names) {
            signed_headers += (signed_headers.empty() ? "" : ";") + n;
        }
    }
    // minio-js presignSignatureV4's order; the canonical form sorts them anyway.
    q.query.emplace_back("X-Amz-Algorithm", std::string(algorithm));
    q.query.emplace_back("X-Amz-Credential", c.access_key + "/" + credential_scope(s, t));
    q.query.emplace_back("X-Amz-Date", amz_date(t));
    q.query.emplace_back("X-Amz-Expires", std::to_string(expires.count()));
    q.query.emplace_back("X-Amz-SignedHeaders", signed_headers);
    auto sig = sign(q, c, s, t);
    q.query.emplace_back("X-Amz-Signature", sig.hex);
    std::string target = encoded_target("/", q.query);
    return target.substr(2);  // drop "/?"
}

std::string sign_policy(std::string_view policy_base64, const credentials& c, const scope& s, clock::time_point t) {
    return crypto::hex_lower(hmac(signing_key(c, s, t), policy_base64));
}

post_form presign_post(const post_policy& p, const credentials& c, const scope& s, clock::time_point now) {
    const std::string date = amz_date(now);
    const std::string credential = c.access_key + "/" + credential_scope(s, now);
    // minio-js PostPolicy: `policy = {conditions: []}`, setBucket/setKey push `eq` conditions, setExpires sets
    // `expiration` (toISOString), setContentLengthRange pushes the range; presignedPostPolicy then appends the
    // date, algorithm and credential conditions and serialises with JSON.stringify (keys in insertion order).
    json::array conditions{
        json::array{"eq", "$bucket", p.bucket},
        json::array{"eq", "$key", p.key},
        json::array{"content-length-range", p.min_length, p.max_length},
        json::array{"eq", "$x-amz-date", date},
        json::array{"eq", "$x-amz-algorithm", algorithm},
        json::array{"eq", "$x-amz-credential", credential},
    };
    json::object policy;
    policy["conditions"] = std::move(conditions);
    policy["expiration"] = iso8601_ms(ms_of(p.expiration));

    post_form out;
    out.policy_json = json::serialize(policy);
    std::string policy_b64 = crypto::base64_encode(out.policy_json);
    std::string sig = sign_policy(policy_b64, c, s, now);
    out.fields = {
        {"bucket", p.bucket},
        {"key", p.key},
        {"x-amz-date", date},
        {"x-amz-algorithm", std::string(algorithm)},
        {"x-amz-credential", credential},
        {"policy", std::move(policy_b64)},
        {"x-amz-signature", std::move(sig)},
    };
    return out;
}

}  // namespace happy::plugin::files_s3::sigv4
