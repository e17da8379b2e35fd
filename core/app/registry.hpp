/// @file
/// The explicit list of compiled-in modules and string-keyed plugin factories (Envoy-style), filled by the
/// generated build/gen/module_list.cpp — no static initialisers.
#pragma once
#include <boost/json/object.hpp>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/app/module.hpp"
#include "core/bus/bus.hpp"
#include "core/db/database.hpp"
#include "core/files/file_store.hpp"

namespace happy {

struct storage_options {
    std::string data_dir;
    boost::json::object config;  ///< the plugin's section, e.g. storage.sqlite
};

/// What a file-store factory gets: the data directory and its config section (e.g. files.local).
struct file_store_options {
    std::string data_dir;
    boost::json::object config;
};

/// What a cluster-bus factory gets: its config section (e.g. bus.redis).
struct bus_options {
    boost::json::object config;
};

class registry {
public:
    using module_factory = std::function<std::unique_ptr<module>()>;
    using storage_factory = std::function<std::unique_ptr<db::backend>(const storage_options&)>;
    using file_store_factory = std::function<std::unique_ptr<files::file_store>(const file_store_options&)>;
    /// Checks a plugin's config section (e.g. storage.sqlite) beyond its schema, without opening anything; throws
    /// std::exception naming the key relative to the section. Runs before any migration, in --check-config too.
    using config_check = std::function<void(const boost::json::object&)>;
    using bus_factory = std::function<std::unique_ptr<bus::bus>(const bus_options&)>;

    void add_module(std::string name, module_factory f) { modules_.emplace_back(std::move(name), std::move(f)); }
    void add_storage(std::string name, storage_factory f, config_check check = {}) {
        storage_checks_.emplace_back(name, std::move(check));
        storage_.emplace_back(std::move(name), std::move(f));
    }
    void add_file_store(std::string name, file_store_factory f, config_check check = {}) {
        file_store_checks_.emplace_back(name, std::move(check));
        file_stores_.emplace_back(std::move(name), std::move(f));
    }
    /// The config check a storage or file-store plugin registered; nullptr when it has none.
    const config_check* storage_check(std::string_view name) const { return find_check(storage_checks_, name); }
    const config_check* file_store_check(std::string_view name) const { return find_check(file_store_checks_, name); }

    void add_bus(std::string name, bus_factory f) { buses_.emplace_back(std::move(name), std::move(f)); }

    const std::vector<std::pair<std::string, module_factory>>& modules() const { return modules_; }
    const storage_factory* find_storage(std::string_view name) const {
        for (const auto& [n, f] : storage_) {
            if (n == name) {
                return &f;
            }
        }
        return nullptr;
    }
    std::vector<std::string> storage_names() const {
        std::vector<std::string> out;
        for (const auto& [n, f] : storage_) {
            out.push_back(n);
        }
        return out;
    }

    const file_store_factory* find_file_store(std::string_view name) const {
        for (const auto& [n, f] : file_stores_) {
            if (n == name) {
                return &f;
            }
        }
        return nullptr;
    }
    std::vector<std::string> file_store_names() const {
        std::vector<std::string> out;
        for (const auto& [n, f] : file_stores_) {
            out.push_back(n);
        }
        return out;
    }

    const bus_factory* find_bus(std::string_view name) const {
        for (const auto& [n, f] : buses_) {
            if (n == name) {
                return &f;
            }
        }
        return nullptr;
    }
    std::vector<std::string> bus_names() const {
        std::vector<std::string> out;
        for (const auto& [n, f] : buses_) {
            out.push_back(n);
        }
        return out;
    }

private:
    static const config_check* find_check(const std::vector<std::pair<std::string, config_check>>& checks,
                                          std::string_view name) {
        for (const auto& [n, c] : checks) {
            if (n == name) {
                return c ? &c : nullptr;
            }
        }
        return nullptr;
    }

    std::vector<std::pair<std::string, module_factory>> modules_;
    std::vector<std::pair<std::string, config_check>> storage_checks_;
    std::vector<std::pair<std::string, config_check>> file_store_checks_;
    std::vector<std::pair<std::string, bus_factory>> buses_;
    std::vector<std::pair<std::string, file_store_factory>> file_stores_;
    std::vector<std::pair<std::string, storage_factory>> storage_;
};

/// Defined in the generated module_list.cpp.
void register_compiled_in(registry& reg);

}  // namespace happy
