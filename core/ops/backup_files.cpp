#include "core/ops/backup_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fmt/format.h>
#include <system_error>

#include "core/util/time.hpp"

namespace happy::ops {

namespace fs = std::filesystem;

namespace {
[[noreturn]] void throw_errno(std::string_view what, const fs::path& p) {
    throw std::system_error(errno, std::generic_category(), fmt::format("{} {}", what, p.string()));
}

/// Closes a descriptor at scope exit.
struct fd_guard {
    int fd;
    ~fd_guard() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};
}  // namespace

std::string backup_timestamp(std::int64_t ms) {
    auto t = utc_civil(ms);
    return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z", t.year, t.month, t.day, t.hour, t.minute, t.second,
                       t.millisecond);
}

std::vector<fs::path> list_backups(const fs::path& dir, std::string_view prefix, std::string_view suffix) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::string name = e.path().filename().string();
        if (name.size() >= prefix.size() + suffix.size() && name.starts_with(prefix) && name.ends_with(suffix) &&
            e.is_regular_file(ec)) {
            out.push_back(e.path());
        }
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.filename() < b.filename(); });
    return out;
}

std::vector<fs::path> prune_backups(const fs::path& dir, std::string_view prefix, std::string_view suffix,
                                    std::size_t keep) {
    auto all = list_backups(dir, prefix, suffix);
    std::vector<fs::path> removed;
    for (std::size_t i = 0; i + keep < all.size(); ++i) {
        std::error_code ec;
        if (fs::remove(all[i], ec)) {
            removed.push_back(all[i]);
        }
    }
    return removed;
}

void fsync_path(const fs::path& p) {
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw_errno("cannot open", p);
    }
    fd_guard g{fd};
    if (::fsync(fd) != 0) {
        throw_errno("cannot fsync", p);
    }
}

void durable_rename(const fs::path& from, const fs::path& to) {
    if (::rename(from.c_str(), to.c_str()) != 0) {
        throw_errno(fmt::format("cannot rename {} to", from.string()), to);
    }
    fsync_path(to.has_parent_path() ? to.parent_path() : fs::path("."));
}

void write_private_file(const fs::path& p, std::string_view text) {
    fs::path tmp = p;
    tmp += fmt::format(".tmp-{}", ::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        throw_errno("cannot create", tmp);
    }
    {
        fd_guard g{fd};
        std::size_t off = 0;
        while (off < text.size()) {
            ssize_t n = ::write(fd, text.data() + off, text.size() - off);
            if (n <= 0) {
                int e = errno;
                ::unlink(tmp.c_str());
                errno = e;
                throw_errno("cannot write", tmp);
            }
            off += static_cast<std::size_t>(n);
        }
        // The umask may have narrowed 0600 further, never widened it; fchmod makes it exactly owner-only.
        ::fchmod(fd, 0600);
        if (::fsync(fd) != 0) {
            throw_errno("cannot fsync", tmp);
        }
    }
    durable_rename(tmp, p);
}

void copy_file_synced(const fs::path& from, const fs::path& to) {
    int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        throw_errno("cannot open", from);
    }
    fd_guard gi{in};
    int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
        throw_errno("cannot create", to);
    }
    fd_guard go{out};
    char buf[1 << 16];
    for (;;) {
        ssize_t n = ::read(in, buf, sizeof buf);
        if (n < 0) {
            throw_errno("cannot read", from);
        }
        if (n == 0) {
            break;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = ::write(out, buf + off, static_cast<std::size_t>(n - off));
            if (w <= 0) {
                throw_errno("cannot write", to);
            }
            off += w;
        }
    }
    if (::fsync(out) != 0) {
        throw_errno("cannot fsync", to);
    }
}

}  // namespace happy::ops
