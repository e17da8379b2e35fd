#include "core/auth/master_secret.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/crypto/base64.hpp"
#include "core/crypto/ids.hpp"

namespace happy::auth {

namespace {
std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
        s.pop_back();
    }
    return s;
}
}  // namespace

/// `path` trimmed, or nullopt when there is no such file; an empty file is an error naming `what` and `setting`.
static std::optional<std::string> secret_file_load(const std::filesystem::path& path, std::string_view what,
                                            std::string_view setting) {
    std::ifstream in(path);
    if (!in) {
        return std::nullopt;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = trim(ss.str());
    if (s.empty()) {
        throw std::runtime_error(std::string(what) + " file " + path.string() +
                                 " is empty; delete it to generate a new one or " + std::string(setting));
    }
    return s;
}

std::optional<std::string> master_secret_load(const std::filesystem::path& data_dir) {
    return secret_file_load(data_dir / "master-secret", "master secret", "set HANDY_MASTER_SECRET");
}

std::string master_secret_load_or_create(const std::filesystem::path& data_dir) {
    return secret_file_load_or_create(data_dir / "master-secret", "master secret", "set HANDY_MASTER_SECRET");
}

std::string secret_file_load_or_create(const std::filesystem::path& path, std::string_view what,
                                       std::string_view setting) {
    const std::string name(what);
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (auto s = secret_file_load(path, what, setting)) {
            return *s;
        }
        unsigned char raw[32];
        crypto::random_bytes(raw, sizeof raw);
        std::string secret = crypto::base64url_encode(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            if (errno == EEXIST) {
                continue;  // another process created it first: read theirs
            }
            throw std::runtime_error("cannot create " + name + " file " + path.string() + ": " + std::strerror(errno));
        }
        std::string line = secret + "\n";
        bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
        ::close(fd);
        if (!ok) {
            ::unlink(path.c_str());
            throw std::runtime_error("cannot write " + name + " file " + path.string());
        }
        return secret;
    }
    throw std::runtime_error("cannot read " + name + " file " + path.string());
}

}  // namespace happy::auth
