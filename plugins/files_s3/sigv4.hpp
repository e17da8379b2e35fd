/// @file
/// AWS Signature Version 4 without I/O: the Authorization header of a request, presigned URLs (query signing)
/// and browser POST policies, for S3 and S3-compatible stores. Everything is a pure function of its inputs and
/// the time passed in, so the AWS test vectors and the AWS SDK's signer can check it byte for byte.
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace happy::plugin::files_s3::sigv4 {

using clock = std::chrono::system_clock;
using pairs = std::vector<std::pair<std::string, std::string>>;

struct credentials {
    std::string access_key;
    std::string secret_key;
};

/// The credential scope besides the date: `<yyyymmdd>/<region>/<service>/aws4_request`.
struct scope {
    std::string region = "us-east-1";
    std::string service = "s3";
};

/// What is signed. The path is given decoded and is encoded once, segment by segment, without normalisation:
/// S3's rule (other services normalise and encode twice; the AWS test-suite requests used here do not differ).
struct request {
    std::string method;
    std::string path = "/";
    pairs query;    ///< decoded names and values, in any order (the canonical form sorts them)
    pairs headers;  ///< every header given is signed; names in any case, repeated names are joined with ','
    std::string payload_hash = "UNSIGNED-PAYLOAD";  ///< lowercase hex SHA-256 of the body, or UNSIGNED-PAYLOAD
};

/// Intermediate results, exposed so that a mismatch can be located (tests, the cross-check tool).
struct signature {
    std::string canonical_request;
    std::string string_to_sign;
    std::string signed_headers;  ///< `host;x-amz-date`
    std::string hex;             ///< the signature
};

/// `20150830T123600Z` (the X-Amz-Date format).
std::string amz_date(clock::time_point t);
/// Lowercase hex SHA-256.
std::string sha256_hex(std::string_view data);
/// Base64 of the MD5 digest (the Content-MD5 header DeleteObjects requires).
std::string md5_base64(std::string_view data);

/// SigV4's URI encoding: every byte except A-Z a-z 0-9 - . _ ~ becomes %XX (uppercase hex); `/` is kept when
/// `keep_slash` (paths) and encoded otherwise (query names and values).
std::string uri_encode(std::string_view s, bool keep_slash);
/// The encoded path and query as they go on the request line (query pairs in the order given).
std::string encoded_target(std::string_view path, const pairs& query);

/// Signs `r` as it is (its headers must already hold `host` and `x-amz-date` for `t`; S3 also wants
/// `x-amz-content-sha256`).
signature sign(const request& r, const credentials& c, const scope& s, clock::time_point t);
/// `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` for `sign(r, …)`.
std::string authorization(const request& r, const credentials& c, const scope& s, clock::time_point t);

/// Query signing (presigned URL): `r.query` plus X-Amz-Algorithm, -Credential, -Date, -Expires and
/// -SignedHeaders, then X-Amz-Signature, as one encoded query string (no leading '?'). Only `r.headers` are
/// signed (normally just `host`); minio-js and the AWS SDK presign the payload as UNSIGNED-PAYLOAD for S3.
std::string presign_query(const request& r, const credentials& c, const scope& s, clock::time_point t,
                          std::chrono::seconds expires);

/// The signature of a POST policy: HMAC-SHA256 of the base64 policy document under the day's signing key.
std::string sign_policy(std::string_view policy_base64, const credentials& c, const scope& s, clock::time_point t);

/// A presigned browser POST (S3 POST Object with a policy), shaped as minio-js's presignedPostPolicy builds it
/// for upstream's attachmentRoutes.ts: conditions `eq $bucket`, `eq $key`, `content-length-range`, then
/// `eq $x-amz-date`, `eq $x-amz-algorithm`, `eq $x-amz-credential`; the form fields in minio's order.
struct post_policy {
    std::string bucket;
    std::string key;
    std::uint64_t min_length = 0;
    std::uint64_t max_length = 0;
    clock::time_point expiration;
};
struct post_form {
    std::string policy_json;  ///< the document, before base64
    pairs fields;  ///< bucket, key, x-amz-date, x-amz-algorithm, x-amz-credential, policy, x-amz-signature
};
post_form presign_post(const post_policy& p, const credentials& c, const scope& s, clock::time_point now);

}  // namespace happy::plugin::files_s3::sigv4
