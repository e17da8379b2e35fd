/// @file
/// The explicit list of compiled-in modules and string-keyed plugin factories (Envoy-style), filled by the
/// generated build/gen/module_list.cpp — no static initialisers.
#pragma once
#include <boost/json/object.hpp>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <string>
#include <utility>
#include <vector>

#include "core/app/module.hpp"
#include "core/bus/bus.hpp"
#include "core/config/config.hpp"
#include "core/db/database.hpp"
#include "core/files/file_store.hpp"

namespace happy {

struct storage_options {
    std::string data_dir;
    boost::json::object config;  ///< the plugin's section, e.g. storage.sqlite
    /// The database may hold another application's tables: import-upstream reads upstream's Prisma database, which
    /// a server start refuses to share (plugins/storage_postgres).
    bool foreign_schema = false;
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

/// Checks a plugin's config section (e.g. storage.sqlite) beyond its schema, without opening anything; throws
/// std::exception naming the key relative to the section. Runs before any migration, in --check-config too.
using config_check = std::function<void(const boost::json::object&)>;

/// What a plugin declares about its config section (`<area>.<name>`, e.g. `storage.sqlite`): its JSON schema,
/// the environment variables that set its keys (upstream's names) and the checks beyond the schema.
struct plugin_config {
    std::string_view schema;  ///< JSON text of an object schema; empty: the section takes no keys
    std::vector<config::env_binding> env = {};
    config_check check = {};
};

/// The named factories of one plugin category (Envoy's factory registry): a name is registered once — a second
/// plugin under the same name is a build mistake and is refused at start rather than silently shadowed.
template <class Factory>
class plugin_registry {
public:
    void add(std::string name, Factory f, plugin_config config = {}) {
        if (find(name)) {
            throw std::logic_error("plugin \"" + name + "\" registered twice");
        }
        entries_.push_back({std::move(name), std::move(f), std::move(config)});
    }
    const Factory* find(std::string_view name) const {
        const entry* e = lookup(name);
        return e ? &e->factory : nullptr;
    }
    /// The config check the plugin registered; nullptr when it has none.
    const config_check* check(std::string_view name) const {
        const entry* e = lookup(name);
        return e && e->config.check ? &e->config.check : nullptr;
    }
    /// Every plugin's config section under `area` (e.g. "storage"), for the composed config schema.
    std::vector<config::plugin_schema> schemas(std::string_view area) const {
        std::vector<config::plugin_schema> out;
        for (const auto& e : entries_) {
            out.push_back({std::string(area), e.name, e.config.schema, e.config.env});
        }
        return out;
    }
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& e : entries_) {
            out.push_back(e.name);
        }
        return out;
    }

private:
    struct entry {
        std::string name;
        Factory factory;
        plugin_config config;
    };
    const entry* lookup(std::string_view name) const {
        for (const auto& e : entries_) {
            if (e.name == name) {
                return &e;
            }
        }
        return nullptr;
    }
    std::vector<entry> entries_;
};

class registry {
public:
    using module_factory = std::function<std::unique_ptr<module>()>;
    using storage_factory = std::function<std::unique_ptr<db::backend>(const storage_options&)>;
    using file_store_factory = std::function<std::unique_ptr<files::file_store>(const file_store_options&)>;
    using bus_factory = std::function<std::unique_ptr<bus::bus>(const bus_options&)>;
    using config_check = happy::config_check;

    void add_module(std::string name, module_factory f) { modules_.emplace_back(std::move(name), std::move(f)); }
    const std::vector<std::pair<std::string, module_factory>>& modules() const { return modules_; }

    void add_storage(std::string name, storage_factory f, plugin_config c = {}) {
        storage_.add(std::move(name), std::move(f), std::move(c));
    }
    void add_file_store(std::string name, file_store_factory f, plugin_config c = {}) {
        file_stores_.add(std::move(name), std::move(f), std::move(c));
    }
    void add_bus(std::string name, bus_factory f, plugin_config c = {}) {
        buses_.add(std::move(name), std::move(f), std::move(c));
    }
    const plugin_registry<storage_factory>& storage() const { return storage_; }
    const plugin_registry<file_store_factory>& file_stores() const { return file_stores_; }
    const plugin_registry<bus_factory>& buses() const { return buses_; }

private:
    std::vector<std::pair<std::string, module_factory>> modules_;
    plugin_registry<storage_factory> storage_;
    plugin_registry<file_store_factory> file_stores_;
    plugin_registry<bus_factory> buses_;
};

/// Defined in the generated module_list.cpp.
void register_compiled_in(registry& reg);

}  // namespace happy
