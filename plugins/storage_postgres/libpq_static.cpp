// What Debian's static libpq (libpq.a, with libpgcommon_shlib.a and libpgport_shlib.a) needs from the fully static
// release binary (HAPPY_STATIC, scripts/release.sh), compiled into the executable itself so that the linker takes
// these definitions before it looks in those archives.
//
// 1. Host names. libpq resolves through libpgcommon's pg_getaddrinfo_all (getaddrinfo). In a static glibc that is
//    NSS with dlopen for any source but files/dns, which can crash the process (core/net/resolve.hpp). These three
//    functions replace libpgcommon's ip.o whole: names go to the built-in resolver, Unix-socket paths and numeric
//    addresses are turned into addrinfo here, and neither getaddrinfo nor getnameinfo is called.
// 2. The local user. libpq asks for the OS user name (when the URL names no user) and the home directory
//    (~/.pgpass, ~/.postgresql/root.crt) through libpgport's pg_get_user_name / pg_get_user_home_dir, which call
//    getpwuid_r: NSS again, and under a systemd DynamicUser= the uid is in no file, so glibc would go on to
//    libnss_systemd. These read /etc/passwd only; the home directory falls back to $HOME.
// 3. Kerberos and LDAP. Debian builds libpq with GSSAPI and LDAP, whose libraries ship no static archives. The
//    gss_* and ldap_* functions libpq references are defined here to fail: libpq then treats GSSAPI as "no
//    credentials" (gssencmode=prefer goes on without it; a server that demands GSSAPI authentication is refused)
//    and an ldap:// service-file entry as "could not create LDAP structure". Password, SCRAM, certificate and TLS
//    connections are unaffected. README says so.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "core/net/resolve.hpp"

namespace {

/// One allocation per list entry: the addrinfo and its address.
struct addrinfo_node {
    addrinfo ai;
    sockaddr_storage addr;
};

addrinfo* new_node(const addrinfo* hint) {
    auto* n = static_cast<addrinfo_node*>(std::calloc(1, sizeof(addrinfo_node)));
    if (n == nullptr) {
        return nullptr;
    }
    n->ai.ai_socktype = hint != nullptr && hint->ai_socktype != 0 ? hint->ai_socktype : SOCK_STREAM;
    n->ai.ai_protocol = hint != nullptr ? hint->ai_protocol : 0;
    n->ai.ai_addr = reinterpret_cast<sockaddr*>(&n->addr);
    return &n->ai;
}

void free_list(addrinfo* ai) {
    while (ai != nullptr) {
        addrinfo* next = ai->ai_next;
        std::free(reinterpret_cast<addrinfo_node*>(ai));  // ai is the first member of its node
        ai = next;
    }
}

int unix_socket_addrinfo(const char* path, const addrinfo* hint, addrinfo** result) {
    if (path == nullptr || std::strlen(path) >= sizeof(sockaddr_un::sun_path)) {
        return EAI_FAIL;
    }
    addrinfo* ai = new_node(hint);
    if (ai == nullptr) {
        return EAI_MEMORY;
    }
    auto* un = reinterpret_cast<sockaddr_un*>(ai->ai_addr);
    ai->ai_family = AF_UNIX;
    un->sun_family = AF_UNIX;
    std::strcpy(un->sun_path, path);
    ai->ai_addrlen = sizeof(sockaddr_un);
    if (path[0] == '@') {
        // libpq's spelling of Linux's abstract namespace: a leading zero byte, and the length counts the name only.
        un->sun_path[0] = '\0';
        ai->ai_addrlen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + std::strlen(path));
    }
    *result = ai;
    return 0;
}

/// How long a name may take to resolve: glibc's worst case with one server (5 s timeout, 2 attempts) plus a margin.
/// libpq's connect_timeout starts after resolution, as it does with getaddrinfo.
constexpr std::chrono::milliseconds resolve_timeout{15000};

/// The /etc/passwd entry of `uid` (name, home), or false.
bool passwd_entry(uid_t uid, std::string& name, std::string& home) {
    std::ifstream in("/etc/passwd");
    std::string line;
    while (std::getline(in, line)) {
        // name:password:uid:gid:gecos:home:shell
        std::string fields[7];
        std::size_t start = 0;
        int i = 0;
        for (; i < 7; ++i) {
            auto colon = line.find(':', start);
            fields[i] = line.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
            if (colon == std::string::npos) {
                break;
            }
            start = colon + 1;
        }
        if (i < 5 || fields[0].empty()) {
            continue;
        }
        char* end = nullptr;
        unsigned long v = std::strtoul(fields[2].c_str(), &end, 10);
        if (end != fields[2].c_str() && *end == '\0' && v == uid) {
            name = fields[0];
            home = fields[5];
            return true;
        }
    }
    return false;
}

void copy_out(const std::string& s, char* buffer, std::size_t buflen) {
    if (buflen > 0) {
        std::snprintf(buffer, buflen, "%s", s.c_str());
    }
}

}  // namespace

extern "C" {

int pg_getaddrinfo_all(const char* hostname, const char* servname, const struct addrinfo* hint,
                       struct addrinfo** result) {
    *result = nullptr;
    if (hint != nullptr && hint->ai_family == AF_UNIX) {
        return unix_socket_addrinfo(servname, hint, result);  // libpq passes the socket path as the service
    }
    if (hostname == nullptr || hostname[0] == '\0' || servname == nullptr) {
        return EAI_NONAME;
    }
    happy::net::endpoint_list endpoints;
    try {
        endpoints = happy::net::resolve_blocking(hostname, servname, resolve_timeout);
    } catch (const boost::system::system_error& e) {
        if (e.code() == boost::asio::error::host_not_found_try_again || e.code() == boost::asio::error::timed_out) {
            return EAI_AGAIN;
        }
        if (e.code() == boost::asio::error::service_not_found) {
            return EAI_SERVICE;
        }
        return EAI_NONAME;
    } catch (const std::bad_alloc&) {
        return EAI_MEMORY;
    } catch (const std::exception&) {
        return EAI_FAIL;
    }
    const int want = hint != nullptr ? hint->ai_family : AF_UNSPEC;
    addrinfo* head = nullptr;
    addrinfo** tail = &head;
    for (const auto& ep : endpoints) {
        const int family = ep.address().is_v4() ? AF_INET : AF_INET6;
        if (want != AF_UNSPEC && want != family) {
            continue;
        }
        addrinfo* ai = new_node(hint);
        if (ai == nullptr) {
            free_list(head);
            return EAI_MEMORY;
        }
        ai->ai_family = family;
        ai->ai_addrlen = static_cast<socklen_t>(ep.size());
        std::memcpy(ai->ai_addr, ep.data(), ep.size());
        *tail = ai;
        tail = &ai->ai_next;
    }
    if (head == nullptr) {
        return EAI_NONAME;
    }
    *result = head;
    return 0;
}

void pg_freeaddrinfo_all(int /*hint_ai_family*/, struct addrinfo* ai) { free_list(ai); }

int pg_getnameinfo_all(const struct sockaddr_storage* addr, int salen, char* node, int nodelen, char* service,
                       int servicelen, int /*flags: libpq passes NI_NUMERICHOST, and numbers are all we give*/) {
    int rc = 0;
    if (addr != nullptr && addr->ss_family == AF_UNIX) {
        const auto* un = reinterpret_cast<const sockaddr_un*>(addr);
        if (node != nullptr) {
            std::snprintf(node, static_cast<std::size_t>(nodelen), "%s", "[local]");
        }
        if (service != nullptr) {
            // An abstract socket's name is shown with libpq's '@'.
            if (un->sun_path[0] == '\0' && salen > static_cast<int>(offsetof(sockaddr_un, sun_path))) {
                std::snprintf(service, static_cast<std::size_t>(servicelen), "@%.*s",
                              static_cast<int>(salen - offsetof(sockaddr_un, sun_path) - 1), un->sun_path + 1);
            } else {
                std::snprintf(service, static_cast<std::size_t>(servicelen), "%s", un->sun_path);
            }
        }
    } else if (addr != nullptr && (addr->ss_family == AF_INET || addr->ss_family == AF_INET6)) {
        // Numbers only, as libpq asks (NI_NUMERICHOST): inet_ntop, no getnameinfo, so nothing can reach NSS.
        const bool v4 = addr->ss_family == AF_INET;
        const void* a = v4 ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(addr)->sin_addr)
                           : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr);
        const in_port_t p = v4 ? reinterpret_cast<const sockaddr_in*>(addr)->sin_port
                               : reinterpret_cast<const sockaddr_in6*>(addr)->sin6_port;
        if (node != nullptr && inet_ntop(addr->ss_family, a, node, static_cast<socklen_t>(nodelen)) == nullptr) {
            rc = EAI_OVERFLOW;
        }
        if (service != nullptr) {
            std::snprintf(service, static_cast<std::size_t>(servicelen), "%u", static_cast<unsigned>(ntohs(p)));
        }
    } else {
        rc = EAI_FAMILY;
    }
    if (rc != 0) {
        if (node != nullptr && nodelen > 0) {
            std::snprintf(node, static_cast<std::size_t>(nodelen), "???");
        }
        if (service != nullptr && servicelen > 0) {
            std::snprintf(service, static_cast<std::size_t>(servicelen), "???");
        }
    }
    return rc;
}

bool pg_get_user_name(uid_t user_id, char* buffer, size_t buflen) {
    std::string name;
    std::string home;
    if (passwd_entry(user_id, name, home)) {
        copy_out(name, buffer, buflen);
        return true;
    }
    copy_out("local user with ID " + std::to_string(user_id) +
                 " is not in /etc/passwd (name the user in the database URL)",
             buffer, buflen);
    return false;
}

bool pg_get_user_home_dir(uid_t user_id, char* buffer, size_t buflen) {
    std::string name;
    std::string home;
    if (passwd_entry(user_id, name, home) && !home.empty()) {
        copy_out(home, buffer, buflen);
        return true;
    }
    if (const char* env = std::getenv("HOME"); env != nullptr && env[0] != '\0') {
        copy_out(env, buffer, buflen);
        return true;
    }
    copy_out("local user with ID " + std::to_string(user_id) + " has no home directory in /etc/passwd or $HOME",
             buffer, buflen);
    return false;
}

// --- GSSAPI (RFC 2744 C bindings, as MIT Kerberos declares them) and OpenLDAP: see 3. above. -------------------

using OM_uint32 = std::uint32_t;
struct gss_buffer_desc_struct {
    size_t length;
    void* value;
};

constexpr OM_uint32 gss_s_failure = 13u << 16;  // GSS_S_FAILURE
static char gss_unavailable[] = "GSSAPI is not available in the static happy-server binary";

void* GSS_C_NT_HOSTBASED_SERVICE = nullptr;

OM_uint32 gss_acquire_cred(OM_uint32* minor, void*, OM_uint32, void*, int, void** cred, void**, OM_uint32*) {
    *minor = 0;
    if (cred != nullptr) {
        *cred = nullptr;
    }
    return gss_s_failure;
}
OM_uint32 gss_import_name(OM_uint32* minor, void*, void*, void** name) {
    *minor = 0;
    if (name != nullptr) {
        *name = nullptr;
    }
    return gss_s_failure;
}
OM_uint32 gss_init_sec_context(OM_uint32* minor, void*, void**, void*, void*, OM_uint32, OM_uint32, void*, void*,
                               void**, gss_buffer_desc_struct* out, OM_uint32*, OM_uint32*) {
    *minor = 0;
    if (out != nullptr) {
        out->length = 0;
        out->value = nullptr;
    }
    return gss_s_failure;
}
OM_uint32 gss_display_status(OM_uint32* minor, OM_uint32, int, void*, OM_uint32* message_context,
                             gss_buffer_desc_struct* text) {
    *minor = 0;
    *message_context = 0;  // one message, no more
    text->length = sizeof gss_unavailable - 1;
    text->value = gss_unavailable;
    return 0;
}
OM_uint32 gss_release_buffer(OM_uint32* minor, gss_buffer_desc_struct* buffer) {
    *minor = 0;
    if (buffer != nullptr) {
        buffer->length = 0;
        buffer->value = nullptr;  // only ever our static text
    }
    return 0;
}
OM_uint32 gss_release_cred(OM_uint32* minor, void**) {
    *minor = 0;
    return 0;
}
OM_uint32 gss_release_name(OM_uint32* minor, void**) {
    *minor = 0;
    return 0;
}
OM_uint32 gss_delete_sec_context(OM_uint32* minor, void**, void*) {
    *minor = 0;
    return 0;
}
// Reached only on an established GSSAPI context, which the functions above never make.
OM_uint32 gss_wrap(OM_uint32* minor, void*, int, int, void*, int*, void*) {
    *minor = 0;
    return gss_s_failure;
}
OM_uint32 gss_unwrap(OM_uint32* minor, void*, void*, void*, int*, int*) {
    *minor = 0;
    return gss_s_failure;
}
OM_uint32 gss_wrap_size_limit(OM_uint32* minor, void*, int, int, OM_uint32, OM_uint32*) {
    *minor = 0;
    return gss_s_failure;
}

constexpr int ldap_other = 0x50;  // LDAP_OTHER
void* ldap_init(const char*, int) { return nullptr; }
int ldap_set_option(void*, int, const void*) { return ldap_other; }
int ldap_simple_bind(void*, const char*, const char*) { return -1; }
int ldap_search_st(void*, const char*, int, const char*, char**, int, void*, void** res) {
    if (res != nullptr) {
        *res = nullptr;
    }
    return ldap_other;
}
int ldap_result(void*, int, int, void*, void** res) {
    if (res != nullptr) {
        *res = nullptr;
    }
    return -1;
}
int ldap_count_entries(void*, void*) { return 0; }
void* ldap_first_entry(void*, void*) { return nullptr; }
void** ldap_get_values_len(void*, void*, const char*) { return nullptr; }
void ldap_value_free_len(void**) {}
int ldap_msgfree(void*) { return 0; }
int ldap_unbind(void*) { return 0; }
char* ldap_err2string(int) {
    static char text[] = "LDAP is not available in the static happy-server binary";
    return text;
}

}  // extern "C"
