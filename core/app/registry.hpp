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

/// Checks a plugin's config section (e.g. storage.sqlite) beyond its schema, without opening anything; throws
/// std::exception naming the key relative to the section. Runs before any migration, in --check-config too.
using config_check = std::function<void(const boost::json::object&)>;

/// The named factories of one plugin category (Envoy's factory registry): a name is registered once — a second
/// plugin under the same name is a build mistake and is refused at start rather than silently shadowed.
template <class Factory>
class plugin_registry {
public:
    void add(std::string name, Factory f, config_check check = {}) {
        if (find(name)) {
            throw std::logic_error("plugin \"" + name + "\" registered twice");
        }
        entries_.push_back({std::move(name), std::move(f), std::move(check)});
    }
    const Factory* find(std::string_view name) const {
        const entry* e = lookup(name);
        return e ? &e->factory : nullptr;
    }
    /// The config check the plugin registered; nullptr when it has none.
    const config_check* check(std::string_view name) const {
        const entry* e = lookup(name);
        return e && e->check ? &e->check : nullptr;
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
        config_check check;
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

    void add_storage(std::string name, storage_factory f, config_check check = {}) {
        storage_.add(std::move(name), std::move(f), std::move(check));
    }
    const storage_factory* find_storage(std::string_view name) const { return storage_.find(name); }
    const config_check* storage_check(std::string_view name) const { return storage_.check(name); }
    std::vector<std::string> storage_names() const { return storage_.names(); }

    void add_file_store(std::string name, file_store_factory f, config_check check = {}) {
        file_stores_.add(std::move(name), std::move(f), std::move(check));
    }
    const file_store_factory* find_file_store(std::string_view name) const { return file_stores_.find(name); }
    const config_check* file_store_check(std::string_view name) const { return file_stores_.check(name); }
    std::vector<std::string> file_store_names() const { return file_stores_.names(); }

    void add_bus(std::string name, bus_factory f) { buses_.add(std::move(name), std::move(f)); }
    const bus_factory* find_bus(std::string_view name) const { return buses_.find(name); }
    std::vector<std::string> bus_names() const { return buses_.names(); }

private:
    std::vector<std::pair<std::string, module_factory>> modules_;
    plugin_registry<storage_factory> storage_;
    plugin_registry<file_store_factory> file_stores_;
    plugin_registry<bus_factory> buses_;
};

/// Defined in the generated module_list.cpp.
void register_compiled_in(registry& reg);

}  // namespace happy
