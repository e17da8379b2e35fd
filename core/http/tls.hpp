/// @file
/// Built-in TLS for the API port (`server.tls.cert_file` / `key_file`): a PEM certificate chain and its key,
/// TLS 1.2 and 1.3 only with forward-secret AEAD ciphers, checked when loaded (missing or unreadable file, a key
/// that does not match the certificate, an expired or not yet valid certificate) and swapped on reload (SIGHUP)
/// without touching established connections: each connection keeps the context it was accepted with.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
}
namespace boost::asio::ssl {
class context;
}

namespace happy::http {

struct tls_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// What the log says about a loaded certificate.
struct tls_certificate_info {
    std::string subject;                 ///< the leaf's subject, one line
    std::vector<std::string> names;      ///< its DNS and IP subject alternative names
    std::int64_t not_before_s = 0;       ///< Unix seconds
    std::int64_t not_after_s = 0;
    std::size_t chain_length = 0;        ///< certificates in the file, the leaf included
};

class tls_context {
public:
    /// Loads and checks the pair. Throws tls_error naming the file and the problem.
    tls_context(std::string cert_file, std::string key_file);
    ~tls_context();
    tls_context(const tls_context&) = delete;
    tls_context& operator=(const tls_context&) = delete;

    /// Loads the files again; on success new connections use the new pair, on failure (tls_error) the old one
    /// stays in use. Thread-safe.
    tls_certificate_info reload();
    /// The context new connections are accepted with.
    std::shared_ptr<boost::asio::ssl::context> current() const;
    tls_certificate_info info() const;

private:
    std::string cert_file_;
    std::string key_file_;
    mutable std::mutex mutex_;
    std::shared_ptr<boost::asio::ssl::context> ctx_;
    tls_certificate_info info_;
};

/// Loads `cert_file` (PEM, leaf first, intermediates after it) and `key_file` (PEM, unencrypted) into a server
/// context with this server's protocol and cipher settings, after checking them; `now_s` is the time the validity
/// is checked against. Throws tls_error.
std::shared_ptr<boost::asio::ssl::context> tls_context_load(const std::string& cert_file, const std::string& key_file,
                                                            std::int64_t now_s, tls_certificate_info* info);

/// Logs what `info` says (subject, names, expiry) and warns when the certificate expires within 14 days.
void tls_log_certificate(std::string_view what, const tls_certificate_info& info);

/// Rereads the certificate and key files of `tls` (SIGHUP: certbot's deploy hook, `systemctl reload`), logging the
/// new certificate or why it was refused (the old one then stays in use).
void tls_reload_logged(tls_context& tls);

}  // namespace happy::http
