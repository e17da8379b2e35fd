// Test-only: reads one JSON request per line on stdin and writes one JSON answer per line, so that a Node test
// can compare our SigV4 (sigv4.hpp) with the AWS SDK for JavaScript's signer on the same inputs.
//   {"op":"sign"|"presign"|"policy"|"post", "time": <unix seconds>, "access_key", "secret_key", "region",
//    "service", "method", "path", "query": [[k,v]…], "headers": [[k,v]…], "payload_hash", "expires",
//    "policy" (base64), "bucket", "key", "max", "expiration_ms"}
#include <boost/json.hpp>
#include <iostream>
#include <string>

#include "plugins/files_s3/sigv4.hpp"

namespace json = boost::json;
namespace sigv4 = happy::plugin::files_s3::sigv4;

namespace {

std::string str(const json::object& o, const char* k, std::string def = {}) {
    auto* v = o.if_contains(k);
    return v && v->is_string() ? std::string(v->get_string()) : def;
}

sigv4::pairs pairs_of(const json::object& o, const char* k) {
    sigv4::pairs out;
    if (auto* v = o.if_contains(k)) {
        for (const auto& p : v->as_array()) {
            out.emplace_back(std::string(p.as_array()[0].as_string()), std::string(p.as_array()[1].as_string()));
        }
    }
    return out;
}

json::object answer(const json::object& in) {
    sigv4::credentials c{str(in, "access_key"), str(in, "secret_key")};
    sigv4::scope s{str(in, "region", "us-east-1"), str(in, "service", "s3")};
    auto t = sigv4::clock::time_point(std::chrono::seconds(in.at("time").to_number<std::int64_t>()));
    sigv4::request r;
    r.method = str(in, "method", "GET");
    r.path = str(in, "path", "/");
    r.query = pairs_of(in, "query");
    r.headers = pairs_of(in, "headers");
    r.payload_hash = str(in, "payload_hash", "UNSIGNED-PAYLOAD");
    std::string op = str(in, "op");
    if (op == "sign") {
        auto sig = sigv4::sign(r, c, s, t);
        return {{"authorization", sigv4::authorization(r, c, s, t)},
                {"canonical_request", sig.canonical_request},
                {"signature", sig.hex}};
    }
    if (op == "presign") {
        auto expires = std::chrono::seconds(in.at("expires").to_number<std::int64_t>());
        return {{"target", sigv4::encoded_target(r.path, {}) + "?" + sigv4::presign_query(r, c, s, t, expires)}};
    }
    if (op == "policy") {
        return {{"signature", sigv4::sign_policy(str(in, "policy"), c, s, t)}};
    }
    if (op == "post") {
        sigv4::post_policy p;
        p.bucket = str(in, "bucket");
        p.key = str(in, "key");
        p.max_length = in.at("max").to_number<std::uint64_t>();
        p.expiration = sigv4::clock::time_point(std::chrono::milliseconds(in.at("expiration_ms").to_number<std::int64_t>()));
        auto form = sigv4::presign_post(p, c, s, t);
        json::object fields;
        for (const auto& [k, v] : form.fields) {
            fields[k] = v;
        }
        return {{"policy_json", form.policy_json}, {"fields", fields}};
    }
    return {{"error", "unknown op " + op}};
}

}  // namespace

int main() {
    std::string line;
    while (std::getline(std::cin, line)) {
        if (line.empty()) {
            continue;
        }
        json::object out;
        try {
            out = answer(json::parse(line).as_object());
        } catch (const std::exception& e) {
            out = {{"error", e.what()}};
        }
        std::cout << json::serialize(out) << std::endl;
    }
    return 0;
}
