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

std::string master_secret_load_or_create(const std::filesystem::path& data_dir) {
    auto path = data_dir / "master-secret";
    for (int attempt = 0; attempt < 2; ++attempt) {
        std::ifstream in(path);
        if (in) {
            std::stringstream ss;
            ss << in.rdbuf();
            std::string s = trim(ss.str());
            if (s.empty()) {
                throw std::runtime_error("master secret file " + path.string() +
                                         " is empty; delete it to generate a new one or set HANDY_MASTER_SECRET");
            }
            return s;
        }
        unsigned char raw[32];
        crypto::random_bytes(raw, sizeof raw);
        std::string secret = crypto::base64url_encode(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            if (errno == EEXIST) {
                continue;  // another process created it first: read theirs
            }
            throw std::runtime_error("cannot create master secret file " + path.string() + ": " + std::strerror(errno));
        }
        std::string line = secret + "\n";
        bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
        ::close(fd);
        if (!ok) {
            ::unlink(path.c_str());
            throw std::runtime_error("cannot write master secret file " + path.string());
        }
        return secret;
    }
    throw std::runtime_error("cannot read master secret file " + path.string());
}

}  // namespace happy::auth
