#include "plugins/files_local/files_local_plugin.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <boost/asio/thread_pool.hpp>
#include <cerrno>
#include <filesystem>
#include <random>
#include <system_error>

#include "core/util/run_on.hpp"

namespace happy::plugin::files_local {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

[[noreturn]] void throw_errno(std::string_view what, const fs::path& p) {
    throw std::system_error(errno, std::generic_category(), fmt::format("{} {}", what, p.string()));
}

/// Closes a descriptor on every path out.
struct fd_guard {
    int fd = -1;
    ~fd_guard() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

void write_all(int fd, std::string_view data, const fs::path& p) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_errno("write", p);
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

std::string temp_suffix() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return fmt::format(".tmp-{:016x}", rng());
}

class local_store final : public files::file_store {
public:
    explicit local_store(options o) : opts_(std::move(o)), root_(fs::absolute(opts_.root).lexically_normal()) {
        fs::create_directories(root_);
        // Symlinked roots are fine; what is checked later is that nothing below escapes the resolved root.
        root_ = fs::canonical(root_);
    }
    ~local_store() override { pool_.join(); }

    std::string describe() const override { return "local " + root_.string(); }

    // A stat of a missing key succeeds even when the directory is gone or read-only: check the directory itself.
    boost::asio::awaitable<void> check() override {
        if (::access(root_.c_str(), W_OK | X_OK) != 0) {
            throw std::system_error(errno, std::generic_category(), root_.string() + " is not writable");
        }
        co_return;
    }
    bool serves_directly() const override { return true; }
    std::uint64_t max_size() const override { return opts_.max_file_size; }

    asio::awaitable<void> put(std::string key, std::string data) override {
        auto p = resolve(key);
        if (data.size() > opts_.max_file_size) {
            throw files::too_large(fmt::format("{} bytes exceed the limit of {}", data.size(), opts_.max_file_size));
        }
        co_await util::run_on(pool_, [this, &p, &data] { put_sync(p, data); });
    }

    asio::awaitable<std::optional<std::string>> get(std::string key) override {
        auto p = resolve(key);
        std::optional<std::string> out;
        co_await util::run_on(pool_, [this, &p, &out] { out = get_sync(p); });
        co_return out;
    }

    asio::awaitable<std::optional<files::file_stat>> stat(std::string key) override {
        auto p = resolve(key);
        std::optional<files::file_stat> out;
        co_await util::run_on(pool_, [this, &p, &out] {
            check_inside(p);
            struct ::stat st {};
            if (::lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
                out = files::file_stat{static_cast<std::uint64_t>(st.st_size)};
            }
        });
        co_return out;
    }

    asio::awaitable<bool> remove(std::string key) override {
        auto p = resolve(key);
        bool removed = false;
        co_await util::run_on(pool_, [this, &p, &removed] {
            check_inside(p);
            struct ::stat st {};
            if (::lstat(p.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
                removed = ::unlink(p.c_str()) == 0;
            }
        });
        co_return removed;
    }

    asio::awaitable<std::uint64_t> remove_prefix(std::string prefix) override {
        auto p = resolve(prefix);
        std::uint64_t n = 0;
        co_await util::run_on(pool_, [this, &p, &n] {
            check_inside(p);
            std::error_code ec;
            // remove_all does not follow symlinks: a link below the prefix is removed, never its target.
            auto removed = fs::remove_all(p, ec);
            if (ec) {
                throw std::system_error(ec, "remove " + p.string());
            }
            n = removed == static_cast<std::uintmax_t>(-1) ? 0 : removed;
        });
        co_return n;
    }

private:
    fs::path resolve(std::string_view key) const {
        if (!files::valid_key(key)) {
            throw files::invalid_key(fmt::format("invalid file key \"{}\"", key));
        }
        return root_ / fs::path(std::string(key));
    }

    /// Defence in depth against symlinks planted below the root: the deepest existing ancestor of `p` must
    /// resolve inside the root.
    void check_inside(const fs::path& p) const {
        fs::path existing = p.parent_path();
        std::error_code ec;
        while (!existing.empty() && existing != root_ && !fs::exists(existing, ec)) {
            existing = existing.parent_path();
        }
        auto real = fs::canonical(existing, ec);
        if (ec) {
            throw std::system_error(ec, "resolve " + existing.string());
        }
        auto rel = real.lexically_relative(root_);
        if (rel.empty() || *rel.begin() == "..") {
            throw files::invalid_key("path leaves the file store: " + p.string());
        }
    }

    void put_sync(const fs::path& p, std::string_view data) const {
        fs::create_directories(p.parent_path());
        check_inside(p);
        fs::path tmp = p.parent_path() / ("." + p.filename().string() + temp_suffix());
        fd_guard f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644)};
        if (f.fd < 0) {
            throw_errno("create", tmp);
        }
        try {
            write_all(f.fd, data, tmp);
            if (::fsync(f.fd) != 0) {
                throw_errno("fsync", tmp);
            }
            if (::close(f.fd) != 0) {
                f.fd = -1;
                throw_errno("close", tmp);
            }
            f.fd = -1;
            // rename(2) replaces the target atomically: readers see the old file or the new one.
            if (::rename(tmp.c_str(), p.c_str()) != 0) {
                throw_errno("rename", p);
            }
        } catch (...) {
            ::unlink(tmp.c_str());
            throw;
        }
        // The directory entry too, so that a power loss after put() returned keeps the file.
        fd_guard dir{::open(p.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
        if (dir.fd >= 0) {
            ::fsync(dir.fd);
        }
    }

    std::optional<std::string> get_sync(const fs::path& p) const {
        check_inside(p);
        fd_guard f{::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)};
        if (f.fd < 0) {
            if (errno == ENOENT || errno == ENOTDIR) {
                return std::nullopt;
            }
            throw_errno("open", p);
        }
        struct ::stat st {};
        if (::fstat(f.fd, &st) != 0) {
            throw_errno("stat", p);
        }
        if (!S_ISREG(st.st_mode)) {
            throw files::not_a_file(p.string() + " is not a file");
        }
        auto size = static_cast<std::uint64_t>(st.st_size);
        if (size > opts_.max_file_size) {
            throw files::too_large(
                fmt::format("{} has {} bytes, more than the limit of {}", p.string(), size, opts_.max_file_size));
        }
        std::string out(size, '\0');
        std::size_t got = 0;
        while (got < out.size()) {
            ssize_t n = ::read(f.fd, out.data() + got, out.size() - got);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                throw_errno("read", p);
            }
            if (n == 0) {
                break;  // shrank meanwhile (cannot happen with rename-based writers)
            }
            got += static_cast<std::size_t>(n);
        }
        out.resize(got);
        return out;
    }

    options opts_;
    fs::path root_;
    asio::thread_pool pool_{1};
};

}  // namespace

std::unique_ptr<files::file_store> make_store(options o) {
    return std::make_unique<local_store>(std::move(o));
}

namespace {

/// The plugin's config section, files.local.
constexpr std::string_view config_schema = R"json({
  "type": "object", "additionalProperties": false,
  "properties": {
    "dir": {"type": "string", "minLength": 1, "default": "files", "description": "Directory of stored files, relative to data_dir (upstream: <DATA_DIR>/files)."},
    "max_file_size": {"type": "integer", "minimum": 1, "default": 10485760, "description": "Largest file stored or read into memory, in bytes (upstream's attachment limit: 10 MiB)."}
  }
})json";

}  // namespace

void register_plugin(registry& reg) {
    reg.add_file_store("local", [](const file_store_options& fo) {
        options o;
        std::string dir = fo.config.contains("dir") ? std::string(fo.config.at("dir").as_string()) : "files";
        fs::path p(dir);
        o.root = p.is_absolute() ? p.string() : (fs::path(fo.data_dir) / p).string();
        if (auto* v = fo.config.if_contains("max_file_size")) {
            o.max_file_size = v->to_number<std::uint64_t>();
        }
        return make_store(std::move(o));
    },
    {.schema = config_schema});
}

}  // namespace happy::plugin::files_local
