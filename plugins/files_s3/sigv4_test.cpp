// AWS Signature V4 against AWS's published values:
//  - the SigV4 test suite (awslabs/aws-c-auth tests/aws-signing-test-suite/v4/<name>/, the successor of the
//    classic aws-sig-v4-test-suite): credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
//    2015-08-30T12:36:00Z, us-east-1, service "service"; header-signature.txt and query-signature.txt;
//  - the classic suite's post-x-www-form-urlencoded (content-type;host;x-amz-date signed);
//  - the Amazon S3 API reference's worked examples: "GET Object" (header auth), "presigned URL" (query auth) and
//    "Example: Browser-Based Upload using HTTP POST" (POST policy signature).
// tests/integration/sigv4_sdk.test.mjs compares the same functions with the AWS SDK for JavaScript's signer.

#include "plugins/files_s3/sigv4.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/crypto/base64.hpp"

namespace {

using namespace happy::plugin::files_s3;
using sigv4::clock;

constexpr const char* empty_sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

clock::time_point at(std::int64_t unix_seconds) { return clock::time_point(std::chrono::seconds(unix_seconds)); }

const clock::time_point suite_time = at(1440938160);  // 2015-08-30T12:36:00Z
const sigv4::credentials suite_creds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
const sigv4::scope suite_scope{"us-east-1", "service"};

/// A suite request: Host plus the given headers; header signing adds X-Amz-Date.
sigv4::request suite_request(std::string method, std::string path, sigv4::pairs query = {},
                             sigv4::pairs headers = {}) {
    sigv4::request r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.query = std::move(query);
    r.headers = {{"Host", "example.amazonaws.com"}};
    for (auto& h : headers) {
        r.headers.push_back(std::move(h));
    }
    r.payload_hash = empty_sha;
    return r;
}

std::string header_signature(sigv4::request r) {
    r.headers.emplace_back("X-Amz-Date", "20150830T123600Z");
    return sigv4::sign(r, suite_creds, suite_scope, suite_time).hex;
}

std::string query_signature(const sigv4::request& r) {
    auto q = sigv4::presign_query(r, suite_creds, suite_scope, suite_time, std::chrono::seconds(3600));
    auto pos = q.find("X-Amz-Signature=");
    return pos == std::string::npos ? "" : q.substr(pos + 16);
}

TEST(sigv4, helpers) {
    EXPECT_EQ(sigv4::amz_date(suite_time), "20150830T123600Z");
    EXPECT_EQ(sigv4::sha256_hex(""), empty_sha);
    EXPECT_EQ(sigv4::sha256_hex("Param1=value1"), "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
    EXPECT_EQ(sigv4::md5_base64(""), "1B2M2Y8AsgTpgAmY7PhCfg==");
    EXPECT_EQ(sigv4::uri_encode("a b/c~d*e+f=g%", true), "a%20b/c~d%2Ae%2Bf%3Dg%25");
    EXPECT_EQ(sigv4::uri_encode("a/b", false), "a%2Fb");
    EXPECT_EQ(sigv4::uri_encode("\xE1\x88\xB4", false), "%E1%88%B4");
    EXPECT_EQ(sigv4::encoded_target("/bucket/a b", {{"list-type", "2"}, {"prefix", "x/y"}}),
              "/bucket/a%20b?list-type=2&prefix=x%2Fy");
}

TEST(sigv4, get_vanilla_canonical_request_and_authorization) {
    auto r = suite_request("GET", "/");
    r.headers.emplace_back("X-Amz-Date", "20150830T123600Z");
    auto s = sigv4::sign(r, suite_creds, suite_scope, suite_time);
    EXPECT_EQ(s.canonical_request,
              "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" +
                  std::string(empty_sha));
    EXPECT_EQ(s.string_to_sign,
              "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
              "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
    EXPECT_EQ(sigv4::authorization(r, suite_creds, suite_scope, suite_time),
              "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
              "SignedHeaders=host;x-amz-date, "
              "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(sigv4, aws_test_suite_header_signatures) {
    struct vec {
        const char* name;
        sigv4::request r;
        const char* sig;
    };
    const std::string unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    std::vector<vec> vectors{
        {"get-vanilla", suite_request("GET", "/"), "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
        {"get-vanilla-query-order-key-case", suite_request("GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}}),
         "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
        {"get-vanilla-query-order-encoded",
         suite_request("GET", "/", {{"Param-3", "Value3"}, {"Param", "Value2"}, {"\xE1\x88\xB4", "Value1"}}),
         "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac"},
        {"get-vanilla-query-unreserved", suite_request("GET", "/", {{unreserved, unreserved}}),
         "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
        {"get-vanilla-utf8-query", suite_request("GET", "/", {{"\xE1\x88\xB4", "bar"}}),
         "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
        {"get-vanilla-empty-query-key", suite_request("GET", "/", {{"Param1", "value1"}}),
         "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
        {"get-utf8", suite_request("GET", "/\xE1\x88\xB4"),
         "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
        {"get-unreserved", suite_request("GET", "/" + unreserved),
         "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
        {"get-space-unnormalized", suite_request("GET", "/example space/"),
         "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
        {"get-slashes-unnormalized", suite_request("GET", "//example//"),
         "87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5"},
        {"get-header-value-trim",
         suite_request("GET", "/", {}, {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}}),
         "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
        {"get-header-key-duplicate",
         suite_request("GET", "/", {}, {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}}),
         "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
        {"post-vanilla", suite_request("POST", "/"), "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
        {"post-header-key-sort", suite_request("POST", "/", {}, {{"My-Header1", "value1"}}),
         "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
    };
    for (const auto& v : vectors) {
        EXPECT_EQ(header_signature(v.r), v.sig) << v.name;
    }

    // post-x-www-form-urlencoded, as the current suite signs it (sign_body: the length and the body hash too)...
    auto form = suite_request("POST", "/", {},
                              {{"Content-Type", "application/x-www-form-urlencoded"},
                               {"Content-Length", "13"},
                               {"x-amz-content-sha256", sigv4::sha256_hex("Param1=value1")}});
    form.payload_hash = sigv4::sha256_hex("Param1=value1");
    EXPECT_EQ(header_signature(form), "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b");
    auto with_charset = form;
    with_charset.headers[1].second = "application/x-www-form-urlencoded; charset=utf-8";
    EXPECT_EQ(header_signature(with_charset), "328d1b9eaadca9f5818ef05e8392801e091653bafec24fcab71e7344e7f51422");
    // ...and as the classic aws-sig-v4-test-suite did (content-type;host;x-amz-date).
    auto classic = suite_request("POST", "/", {}, {{"Content-Type", "application/x-www-form-urlencoded"}});
    classic.payload_hash = sigv4::sha256_hex("Param1=value1");
    EXPECT_EQ(header_signature(classic), "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

TEST(sigv4, aws_test_suite_query_signatures) {
    EXPECT_EQ(query_signature(suite_request("GET", "/")),
              "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d");
    EXPECT_EQ(query_signature(suite_request("GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}})),
              "86012e2c9ad4d77369f5d81c11f75158aae4f895a085212cc6d3f923d300bed5");
    EXPECT_EQ(query_signature(suite_request("GET", "/\xE1\x88\xB4")),
              "10eae3f14a260bd3911cc6d008d3c576d143b05b62f09782a7a4b37f52178e44");
    EXPECT_EQ(query_signature(suite_request("GET", "/", {}, {{"My-Header1", "value1"}, {"My-Header2", "\"a   b   c\""}})),
              "e7bb0fd515e125e1aec2ecc4c0c17484fb06f6846b927c35e46005dd3df3acd4");
    auto form = suite_request("POST", "/", {},
                              {{"Content-Type", "application/x-www-form-urlencoded"}, {"Content-Length", "13"}});
    form.payload_hash = sigv4::sha256_hex("Param1=value1");
    EXPECT_EQ(query_signature(form), "89a40deed0f26f9461242825a082d2222717248abc7ab41f552ad84a94ad46e9");

    // The full query string, as the suite's query-signed-request.txt has it (parameters in minio-js's order).
    EXPECT_EQ(sigv4::presign_query(suite_request("GET", "/", {{"Param1", "value1"}}), suite_creds, suite_scope,
                                   suite_time, std::chrono::seconds(3600)),
              "Param1=value1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2F"
              "service%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&"
              "X-Amz-Signature=49096700cbbaa5753443850f40df10f904fc2fdb544dc9512203cc77c471a9de");
}

const sigv4::credentials s3_docs_creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"};

TEST(sigv4, s3_docs_get_object_header_auth) {
    sigv4::request r;
    r.method = "GET";
    r.path = "/test.txt";
    r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                 {"Range", "bytes=0-9"},
                 {"x-amz-content-sha256", empty_sha},
                 {"x-amz-date", "20130524T000000Z"}};
    r.payload_hash = empty_sha;
    EXPECT_EQ(sigv4::authorization(r, s3_docs_creds, {"us-east-1", "s3"}, at(1369353600)),
              "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
              "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
              "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(sigv4, s3_docs_presigned_url) {
    sigv4::request r;
    r.method = "GET";
    r.path = "/test.txt";
    r.headers = {{"host", "examplebucket.s3.amazonaws.com"}};
    EXPECT_EQ(sigv4::presign_query(r, s3_docs_creds, {"us-east-1", "s3"}, at(1369353600), std::chrono::seconds(86400)),
              "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
              "aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&"
              "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(sigv4, s3_docs_post_policy_signature) {
    const std::string policy =
        "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJz"
        "aWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJw"
        "dWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6"
        "b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2Uv"
        "Il0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRp"
        "b24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRl"
        "bnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXot"
        "YWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9";
    EXPECT_EQ(sigv4::sign_policy(policy, s3_docs_creds, {"us-east-1", "s3"}, at(1451347200)),
              "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e");
}

TEST(sigv4, post_form_matches_minio_js_shape) {
    sigv4::post_policy p;
    p.bucket = "happy";
    p.key = "sessions/s1/attachments/a.enc";
    p.min_length = 0;
    p.max_length = 10485760;
    p.expiration = at(1440938160 + 900) + std::chrono::milliseconds(123);
    auto form = sigv4::presign_post(p, suite_creds, {"us-east-1", "s3"}, suite_time);
    EXPECT_EQ(form.policy_json,
              R"({"conditions":[["eq","$bucket","happy"],["eq","$key","sessions/s1/attachments/a.enc"],)"
              R"(["content-length-range",0,10485760],["eq","$x-amz-date","20150830T123600Z"],)"
              R"(["eq","$x-amz-algorithm","AWS4-HMAC-SHA256"],)"
              R"(["eq","$x-amz-credential","AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request"]],)"
              R"("expiration":"2015-08-30T12:51:00.123Z"})");
    std::vector<std::string> names;
    for (const auto& [k, v] : form.fields) {
        names.push_back(k);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"bucket", "key", "x-amz-date", "x-amz-algorithm", "x-amz-credential",
                                               "policy", "x-amz-signature"}));
    EXPECT_EQ(form.fields[5].second, happy::crypto::base64_encode(form.policy_json));
    EXPECT_EQ(form.fields[6].second,
              sigv4::sign_policy(form.fields[5].second, suite_creds, {"us-east-1", "s3"}, suite_time));
    EXPECT_EQ(form.fields[4].second, "AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request");
}

}  // namespace
