/// @file
/// Who may create an account (`auth.registration`): upstream creates one for every new public key that signs a
/// challenge (slopus/happy#142, "everyone can connect"). `closed` admits existing accounts only, `approval` records a
/// new key as pending until an administrator approves it; keys on the allow-list register in either mode.
/// Pure logic: the auth module looks the key up and acts on the verdict.
#pragma once
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace happy::auth {

enum class registration_mode { open, closed, approval };

std::string_view registration_mode_name(registration_mode m);

struct registration_policy {
    registration_mode mode = registration_mode::open;
    std::vector<std::string> allow;  ///< uppercase hex of 32-byte Ed25519 public keys
    std::int64_t max_pending = 1000;  ///< approval: new keys refused without being recorded beyond this many

    bool allow_listed(std::string_view key_hex) const;
};

/// A 32-byte public key written as base64 (what clients send in `publicKey`) or as 64 hex digits (what the
/// database, `happy-server accounts list` and the console show), as uppercase hex; nullopt for anything else.
std::optional<std::string> public_key_hex_parse(std::string_view text);

/// Reads `auth.registration` from the validated configuration tree. Throws config::error naming the key.
registration_policy registration_policy_from_config(const boost::json::object& root);

/// Reads the validated `auth.registration` section. Throws std::invalid_argument naming the key relative to it
/// ("allow[2]: ...") for an allow-list entry that is not a 32-byte key.
registration_policy registration_policy_parse(const boost::json::object& section);

/// What to do with a signed login for a key that has no account yet.
enum class registration_verdict {
    create,          ///< open, allow-listed, or approved: create the account
    refuse_closed,   ///< closed: 403
    record_pending,  ///< approval, first attempt: remember the key as pending, then 403
    still_pending,   ///< approval, the key is already waiting: 403
};

/// `request_approved`: the key's registration request, if any (true once approved).
registration_verdict registration_decide(const registration_policy& p, std::string_view key_hex,
                                         std::optional<bool> request_approved);

/// The `{"error": …}` texts of the refusals (shown by the CLI and the app).
inline constexpr std::string_view registration_closed_message =
    "Registration is closed on this server: only existing accounts can sign in";
inline constexpr std::string_view registration_pending_message =
    "Registration is pending: the server's administrator must approve this account";

}  // namespace happy::auth
