/// @file
/// GitHub webhook deliveries as upstream receives them (sources/modules/github.ts with @octokit/webhooks'
/// verifyAndReceive): HMAC-SHA256 signature over the body as sent, then the JSON payload goes to upstream's
/// handlers, which only log — and throw when a field they read is missing, which the route reports as a 500.
#pragma once
#include <string>
#include <string_view>

namespace happy::mod::connect {

/// `sha256=` + lowercase hex HMAC-SHA256(secret, payload): the `x-hub-signature-256` GitHub sends.
std::string github_webhook_signature(std::string_view secret, std::string_view payload);

enum class webhook_result {
    received,           ///< signature valid, handlers ran
    invalid_signature,  ///< @octokit/webhooks-methods verify() false (or threw: empty signature)
    handler_error,      ///< payload not JSON, not an object, or a field a handler reads is missing
};

/// Verifies (constant time) and dispatches one delivery; logs what upstream's handlers log.
webhook_result github_webhook_receive(std::string_view secret, std::string_view event, std::string_view delivery_id,
                                      std::string_view payload, std::string_view signature);

}  // namespace happy::mod::connect
