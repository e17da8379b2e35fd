/// @file
/// Host-name resolution for every outbound connection (core/http/client, bus_redis, and libpq in the static
/// release binary).
///
/// Why a resolver of our own: the release binary is linked fully statically, glibc included (scripts/release.sh),
/// so that one file runs on any Linux from glibc 2.31 up. A static glibc's getaddrinfo still goes through NSS:
/// "files" and "dns" are built in, but any other source in the host's /etc/nsswitch.conf (systemd, resolve,
/// mdns4_minimal, sss, …) makes it dlopen that module, which drags in the host's shared libc next to the static
/// one; a lookup that reaches such a module can crash the process (tried: getpwuid_r of an unknown uid with
/// "passwd: files systemd" segfaults a static Debian 12 binary). So, like Go's pure resolver, the static build
/// reads /etc/hosts and then asks the /etc/resolv.conf name servers itself, over UDP with TCP for truncated
/// answers. The dynamically linked build (scripts/build.sh) keeps the system's getaddrinfo on Asio's resolver
/// thread, with whatever NSS sources the host has. HAPPY_BUILTIN_RESOLVER (set by CMake with HAPPY_STATIC)
/// chooses.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/net/dns.hpp"

namespace happy::net {

using endpoint_list = std::vector<boost::asio::ip::tcp::endpoint>;

/// True when this build resolves with resolve_builtin (the static release binary).
bool builtin_resolver();

/**
 * @brief The endpoints of host:port, by the resolver this build uses (see the file comment).
 * @param host an IP literal (no brackets) or a name
 * @param port a decimal port (the built-in resolver reads no /etc/services)
 * @throws boost::system::system_error: host_not_found (no such name), host_not_found_try_again (no server gave
 *         an answer), timed_out (the deadline passed), or the system resolver's code.
 */
boost::asio::awaitable<endpoint_list> resolve(std::string host, std::string port,
                                             std::chrono::steady_clock::time_point deadline);

/// Where the built-in resolver reads its configuration; the defaults are the system files.
struct builtin_config {
    std::string hosts_file = "/etc/hosts";
    std::string resolv_conf_file = "/etc/resolv.conf";
    /// When set, used instead of reading resolv_conf_file (tests point it at a local server's port).
    const dns::resolv_conf* conf = nullptr;
};

/// The built-in resolver: IP literal, else /etc/hosts, else "localhost" (RFC 6761), else DNS. Addresses come in
/// the hosts file's order, or IPv4 before IPv6 from DNS (a VPS or container without IPv6 routes connects at the
/// first try). Exposed for tests; resolve() calls it in the static build.
/// (`cfg` has no default on purpose: GCC 12 destroys a default-argument temporary of a coroutine call wrongly, which
/// crashed the static build in free(); callers pass a named object.)
boost::asio::awaitable<endpoint_list> resolve_builtin(std::string host, std::string port,
                                                     std::chrono::steady_clock::time_point deadline,
                                                     const builtin_config& cfg);

/// resolve() for a caller on a thread that may block (libpq's connect in the static build): runs it on a private
/// io_context. Throws as resolve() does.
endpoint_list resolve_blocking(const std::string& host, const std::string& port, std::chrono::milliseconds timeout);

}  // namespace happy::net
