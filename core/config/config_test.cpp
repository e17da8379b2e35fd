// Unit tests for happy::config: the embedded core schema (schemas/config/server.json) plus module sections,
// defaults, environment overrides and the error messages that name the offending key.

#include "core/config/config.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "core/util/resources.hpp"

namespace happy::config {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr std::string_view k_voice_schema = R"({
    "type": "object", "additionalProperties": false,
    "properties": {
        "provider": {"type": "string", "enum": ["openai", "elevenlabs"], "default": "openai"},
        "timeout_ms": {"type": "integer", "minimum": 1, "default": 5000}
    }
})";

/// A config file under the system temp directory, removed on destruction.
class temp_file {
public:
    explicit temp_file(std::string_view content) {
        static std::atomic<int> counter{0};
        path_ = fs::temp_directory_path() /
                ("happy_config_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".json");
        std::ofstream out(path_, std::ios::binary);
        out << content;
    }
    ~temp_file() {
        std::error_code ec;
        fs::remove(path_, ec);
    }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
    std::string path() const { return path_.string(); }

private:
    fs::path path_;
};

std::string_view core_schema() {
    auto text = happy::resource_text("config/server.json");
    EXPECT_TRUE(text.has_value());
    return text.value_or("{}");
}

std::vector<module_schema> modules() { return {{"auth", ""}, {"voice", k_voice_schema}}; }

/// A storage plugin's section as a plugin declares it (schema and variables): what the core composes.
constexpr std::string_view k_store_schema = R"({
    "type": "object", "additionalProperties": false,
    "properties": {
        "file": {"type": "string", "minLength": 1, "default": "happy.sqlite"},
        "busy_timeout_ms": {"type": "integer", "minimum": 0, "default": 5000},
        "url": {"type": "string", "default": ""}
    }
})";

std::vector<plugin_schema> plugins() {
    return {{"storage", "sqlite", k_store_schema, {}},
            {"storage", "remote", k_store_schema,
             {{"REMOTE_URL", "storage.kind", "select:remote"}, {"REMOTE_URL", "storage.remote.url", "string"}}}};
}

parts_schema parts(std::vector<module_schema> mods = modules(), std::vector<job_schema> jobs = {}) {
    return {std::move(mods), std::move(jobs), plugins()};
}

json::object load_env(const env_map& env) { return load(std::nullopt, env, core_schema(), parts()); }

json::object load_text(std::string_view content, const env_map& env = {}) {
    temp_file f(content);
    return load(f.path(), env, core_schema(), parts());
}

/// The config::error message of loading `content` with `env`, or "" when it loads.
std::string error_of(std::optional<std::string_view> content, const env_map& env = {}) {
    try {
        if (content) {
            load_text(*content, env);
        } else {
            load_env(env);
        }
    } catch (const error& e) {
        return e.what();
    }
    return "";
}

TEST(config_load, defaults_filled_without_file) {
    auto cfg = load_env({});
    EXPECT_EQ(get_int(cfg, "server.port"), 3005);
    EXPECT_EQ(get_string(cfg, "server.host"), "0.0.0.0");
    EXPECT_EQ(get_string(cfg, "server.public_url"), "");
    EXPECT_EQ(get_int(cfg, "server.threads"), 0);
    EXPECT_EQ(get_int(cfg, "server.body_limit"), 104857600);
    EXPECT_EQ(get_int(cfg, "server.keep_alive_timeout_ms"), 72000);
    EXPECT_EQ(get_string(cfg, "data_dir"), "./data");
    EXPECT_EQ(get_string(cfg, "log.level"), "info");
    EXPECT_EQ(get_string(cfg, "log.format"), "console");
    EXPECT_TRUE(get_bool(cfg, "log.requests"));
    EXPECT_EQ(get_string(cfg, "auth.master_secret"), "");
    EXPECT_EQ(get_string(cfg, "storage.kind"), "sqlite");
}

TEST(config_load, plugin_sections_come_from_the_plugins_with_their_defaults_and_variables) {
    auto cfg = load_env({});
    EXPECT_EQ(get_string(cfg, "storage.sqlite.file"), "happy.sqlite");
    EXPECT_EQ(get_int(cfg, "storage.remote.busy_timeout_ms"), 5000);
    // A plugin's variable may choose the plugin (upstream's DATABASE_URL selecting PostgreSQL).
    cfg = load_env({{"REMOTE_URL", "db://x"}});
    EXPECT_EQ(get_string(cfg, "storage.kind"), "remote");
    EXPECT_EQ(get_string(cfg, "storage.remote.url"), "db://x");
    // A typo inside a plugin's section names the key.
    EXPECT_EQ(error_of(R"({"storage": {"sqlite": {"fiel": "x"}}})"), "storage.sqlite.fiel: unknown key (allowed here: file, busy_timeout_ms, url)");
    // The section of a plugin not compiled in is unknown, and its variable is ignored.
    auto only_sqlite = load(std::nullopt, {{"REMOTE_URL", "db://x"}}, core_schema(),
                            parts_schema{modules(), {}, {plugins()[0]}});
    EXPECT_EQ(get_string(only_sqlite, "storage.kind"), "sqlite");
    EXPECT_FALSE(at(only_sqlite, "storage").as_object().contains("remote"));
}

TEST(config_load, module_sections_get_enabled_and_their_defaults) {
    auto cfg = load_env({});
    EXPECT_TRUE(get_bool(cfg, "modules.auth.enabled"));
    EXPECT_TRUE(get_bool(cfg, "modules.voice.enabled"));
    EXPECT_EQ(json::serialize(at(cfg, "modules")),
              R"({"auth":{"enabled":true},"voice":{"provider":"openai","timeout_ms":5000,"enabled":true}})");
}

TEST(config_load, module_may_default_to_disabled_and_upstream_flag_enables_it) {
    const std::vector<module_schema> mods{
        {"auth", ""},
        {"dev", R"({"type":"object","properties":{"enabled":{"type":"boolean","default":false}}})",
         {{"DANGEROUSLY_LOG_TO_SERVER_FOR_AI_AUTO_DEBUGGING", "modules.dev.enabled", "flag"}}}};
    auto cfg = load(std::nullopt, {}, core_schema(), parts(mods));
    EXPECT_FALSE(get_bool(cfg, "modules.dev.enabled"));
    // devRoutes.ts: any non-empty value (even "false") turns it on; an empty one does not.
    for (const char* v : {"1", "true", "false", "yes"}) {
        cfg = load(std::nullopt, {{"DANGEROUSLY_LOG_TO_SERVER_FOR_AI_AUTO_DEBUGGING", v}}, core_schema(), parts(mods));
        EXPECT_TRUE(get_bool(cfg, "modules.dev.enabled")) << v;
    }
    cfg = load(std::nullopt, {{"DANGEROUSLY_LOG_TO_SERVER_FOR_AI_AUTO_DEBUGGING", ""}}, core_schema(), parts(mods));
    EXPECT_FALSE(get_bool(cfg, "modules.dev.enabled"));
    // Without the dev module compiled in the variable is ignored (no unknown-key error).
    cfg = load(std::nullopt, {{"DANGEROUSLY_LOG_TO_SERVER_FOR_AI_AUTO_DEBUGGING", "1"}}, core_schema(), parts());
    EXPECT_FALSE(at(cfg, "modules").as_object().contains("dev"));
}

TEST(config_load, module_can_be_disabled) {
    auto cfg = load_text(R"({"modules": {"auth": {"enabled": false}}})");
    EXPECT_FALSE(get_bool(cfg, "modules.auth.enabled"));
    EXPECT_TRUE(get_bool(cfg, "modules.voice.enabled"));
}

TEST(config_load, file_values_kept_and_rest_defaulted) {
    auto cfg = load_text(R"({"server": {"port": 8080}, "modules": {"voice": {"provider": "elevenlabs"}}})");
    EXPECT_EQ(get_int(cfg, "server.port"), 8080);
    EXPECT_EQ(get_string(cfg, "server.host"), "0.0.0.0");
    EXPECT_EQ(get_string(cfg, "modules.voice.provider"), "elevenlabs");
    EXPECT_EQ(get_int(cfg, "modules.voice.timeout_ms"), 5000);
}

std::vector<job_schema> jobs() { return {{"flush", "*/5 * * * * *"}, {"sweep", "@hourly"}}; }

json::object load_jobs(std::string_view content) {
    temp_file f(content);
    return load(f.path(), {}, core_schema(), parts(modules(), jobs()));
}

std::string jobs_error_of(std::string_view content) {
    try {
        load_jobs(content);
    } catch (const error& e) {
        return e.what();
    }
    return "";
}

TEST(config_load, job_sections_get_their_defaults) {
    auto cfg = load_jobs("{}");
    EXPECT_EQ(json::serialize(at(cfg, "jobs")),
              R"({"flush":{"schedule":"*/5 * * * * *","enabled":true},"sweep":{"schedule":"@hourly","enabled":true}})");
    EXPECT_EQ(json::serialize(at(load_env({}), "jobs")), "{}");
}

TEST(config_load, job_schedule_and_enabled_can_be_set) {
    auto cfg = load_jobs(R"({"jobs": {"flush": {"schedule": "* * * * * *"}, "sweep": {"enabled": false}}})");
    EXPECT_EQ(get_string(cfg, "jobs.flush.schedule"), "* * * * * *");
    EXPECT_TRUE(get_bool(cfg, "jobs.flush.enabled"));
    EXPECT_EQ(get_string(cfg, "jobs.sweep.schedule"), "@hourly");
    EXPECT_FALSE(get_bool(cfg, "jobs.sweep.enabled"));
}

TEST(config_load, unknown_job_or_job_key_is_an_error) {
    EXPECT_EQ(jobs_error_of(R"({"jobs": {"nope": {}}})"), "jobs.nope: unknown key (allowed here: flush, sweep)");
    EXPECT_EQ(jobs_error_of(R"({"jobs": {"flush": {"cron": "x"}}})"),
              "jobs.flush.cron: unknown key (allowed here: schedule, enabled)");
    EXPECT_EQ(jobs_error_of(R"({"jobs": {"flush": {"schedule": 5}}})"), "jobs.flush.schedule: expected string, got integer 5");
}

TEST(config_load, a_job_may_be_off_by_default_and_declare_settings_of_its_own) {
    std::vector<job_schema> js{{"flush", "* * * * *"},
                               {"backup", "0 3 * * *", false,
                                R"({"keep": {"type": "integer", "minimum": 1, "default": 7}})"}};
    temp_file f(R"({"jobs": {"backup": {"keep": 3}}})");
    auto cfg = load(f.path(), {}, core_schema(), parts(modules(), js));
    EXPECT_FALSE(get_bool(cfg, "jobs.backup.enabled"));
    EXPECT_TRUE(get_bool(cfg, "jobs.flush.enabled"));
    EXPECT_EQ(get_int(cfg, "jobs.backup.keep"), 3);
    temp_file g(R"({"jobs": {"backup": {"keep": 0}}})");
    try {
        load(g.path(), {}, core_schema(), parts(modules(), js));
        ADD_FAILURE() << "keep 0 accepted";
    } catch (const error& e) {
        EXPECT_STREQ(e.what(), "jobs.backup.keep: must be >= 1, got 0");
    }
}

TEST(config_load, whole_number_double_is_an_integer) {
    auto cfg = load_text(R"({"server": {"port": 3006.0}})");
    EXPECT_TRUE(at(cfg, "server.port").is_int64());
    EXPECT_EQ(get_int(cfg, "server.port"), 3006);
}

TEST(config_load, environment_overrides) {
    auto cfg = load_env({{"PORT", "8081"},
                         {"HOST", "127.0.0.1"},
                         {"DATA_DIR", "/var/lib/happy"},
                         {"HANDY_MASTER_SECRET", "s3cret"},
                         {"PUBLIC_URL", "https://happy.example"},
                         {"HAPPY_LOG_LEVEL", "debug"},
                         {"HAPPY_LOG_FORMAT", "json"},
                         {"HAPPY_THREADS", "4"},
                         {"UNRELATED", "ignored"}});
    EXPECT_EQ(get_int(cfg, "server.port"), 8081);
    EXPECT_EQ(get_string(cfg, "server.host"), "127.0.0.1");
    EXPECT_EQ(get_string(cfg, "data_dir"), "/var/lib/happy");
    EXPECT_EQ(get_string(cfg, "auth.master_secret"), "s3cret");
    EXPECT_EQ(get_string(cfg, "server.public_url"), "https://happy.example");
    EXPECT_EQ(get_string(cfg, "log.level"), "debug");
    EXPECT_EQ(get_string(cfg, "log.format"), "json");
    EXPECT_EQ(get_int(cfg, "server.threads"), 4);
}

TEST(config_load, environment_wins_over_file_and_keeps_siblings) {
    auto cfg = load_text(R"({"server": {"port": 1, "host": "10.0.0.1"}, "data_dir": "/from/file"})",
                         {{"PORT", "2"}, {"DATA_DIR", "/from/env"}});
    EXPECT_EQ(get_int(cfg, "server.port"), 2);
    EXPECT_EQ(get_string(cfg, "server.host"), "10.0.0.1");
    EXPECT_EQ(get_string(cfg, "data_dir"), "/from/env");
}

TEST(config_load, empty_environment_value_is_ignored) {
    auto cfg = load_env({{"PORT", ""}, {"HOST", ""}});
    EXPECT_EQ(get_int(cfg, "server.port"), 3005);
    EXPECT_EQ(get_string(cfg, "server.host"), "0.0.0.0");
}

TEST(config_load, bad_port_environment_value_names_the_variable) {
    EXPECT_EQ(error_of(std::nullopt, {{"PORT", "abc"}}), R"(environment variable PORT: expected an integer, got "abc")");
    EXPECT_EQ(error_of(std::nullopt, {{"PORT", "80x"}}), R"(environment variable PORT: expected an integer, got "80x")");
    EXPECT_EQ(error_of(std::nullopt, {{"PORT", "99999999999999999999"}}),
              R"(environment variable PORT: expected an integer, got "99999999999999999999")");
    EXPECT_EQ(error_of(std::nullopt, {{"HAPPY_THREADS", "1.5"}}),
              R"(environment variable HAPPY_THREADS: expected an integer, got "1.5")");
}

TEST(config_load, environment_value_out_of_range_names_key_and_variable) {
    EXPECT_EQ(error_of(std::nullopt, {{"PORT", "70000"}}),
              "server.port (from environment variable PORT): must be <= 65535, got 70000");
    EXPECT_EQ(error_of(std::nullopt, {{"HAPPY_LOG_FORMAT", "xml"}}),
              R"(log.format (from environment variable HAPPY_LOG_FORMAT): must be one of ["console","json"], got "xml")");
}

TEST(config_load, unknown_top_level_key) {
    EXPECT_EQ(error_of(R"({"bogus": 1})"),
              "bogus: unknown key (allowed here: data_dir, server, limits, realtime, metrics, log, tracing, auth, storage, "
              "files, modules, jobs, bus)");
}

TEST(config_load, unknown_nested_key) {
    EXPECT_EQ(error_of(R"({"server": {"prot": 1}})"),
              "server.prot: unknown key (allowed here: host, port, public_url, threads, body_limit, header_timeout_ms, "
              "body_timeout_ms, keep_alive_timeout_ms, shutdown_timeout_ms, trusted_proxies, tls)");
}

TEST(config_load, unknown_module_section_lists_allowed) {
    EXPECT_EQ(error_of(R"({"modules": {"nope": {}}})"), "modules.nope: unknown key (allowed here: auth, voice)");
}

TEST(config_load, unknown_key_inside_module_section) {
    EXPECT_EQ(error_of(R"({"modules": {"auth": {"x": 1}}})"), "modules.auth.x: unknown key (allowed here: enabled)");
    EXPECT_EQ(error_of(R"({"modules": {"voice": {"x": 1}}})"),
              "modules.voice.x: unknown key (allowed here: provider, timeout_ms, enabled)");
}

TEST(config_load, wrong_type_names_the_key) {
    EXPECT_EQ(error_of(R"({"server": {"port": "x"}})"), R"(server.port: expected integer, got string "x")");
    EXPECT_EQ(error_of(R"({"server": 5})"), "server: expected object, got integer 5");
    EXPECT_EQ(error_of(R"({"log": {"requests": "yes"}})"), R"(log.requests: expected boolean, got string "yes")");
    EXPECT_EQ(error_of(R"({"modules": {"auth": {"enabled": "false"}}})"),
              R"(modules.auth.enabled: expected boolean, got string "false")");
}

TEST(config_load, enum_violation) {
    EXPECT_EQ(error_of(R"({"log": {"format": "xml"}})"), R"(log.format: must be one of ["console","json"], got "xml")");
    EXPECT_EQ(error_of(R"({"modules": {"voice": {"provider": "x"}}})"),
              R"(modules.voice.provider: must be one of ["openai","elevenlabs"], got "x")");
}

TEST(config_load, out_of_range) {
    EXPECT_EQ(error_of(R"({"server": {"port": 70000}})"), "server.port: must be <= 65535, got 70000");
    EXPECT_EQ(error_of(R"({"server": {"port": -1}})"), "server.port: must be >= 0, got -1");
    EXPECT_EQ(error_of(R"({"modules": {"voice": {"timeout_ms": 0}}})"),
              "modules.voice.timeout_ms: must be >= 1, got 0");
    EXPECT_EQ(error_of(R"({"server": {"port": 65535}})"), "");
}

TEST(config_load, min_length) {
    EXPECT_EQ(error_of(R"({"data_dir": ""})"), "data_dir: must be at least 1 characters");
}

TEST(config_load, comments_and_trailing_commas_accepted) {
    auto cfg = load_text(R"({
        // line comment
        "server": {
            "port": 4000, /* block comment */
            "host": "::1",
        },
        "modules": {"auth": {"enabled": false,},},
    })");
    EXPECT_EQ(get_int(cfg, "server.port"), 4000);
    EXPECT_EQ(get_string(cfg, "server.host"), "::1");
    EXPECT_FALSE(get_bool(cfg, "modules.auth.enabled"));
}

TEST(config_load, missing_file_is_an_error) {
    std::string path = (fs::temp_directory_path() / "happy_config_test_does_not_exist.json").string();
    try {
        load(path, {}, core_schema(), parts());
        FAIL() << "expected config::error";
    } catch (const error& e) {
        EXPECT_EQ(std::string(e.what()), "config file " + path + ": cannot be read");
    }
}

TEST(config_load, invalid_json_file_is_an_error) {
    temp_file f(R"({"server": })");
    try {
        load(f.path(), {}, core_schema(), parts());
        FAIL() << "expected config::error";
    } catch (const error& e) {
        std::string prefix = "config file " + f.path() + ": invalid JSON: ";
        EXPECT_EQ(std::string(e.what()).substr(0, prefix.size()), prefix);
        EXPECT_GT(std::string(e.what()).size(), prefix.size());
    }
}

TEST(config_load, top_level_must_be_an_object) {
    temp_file f("[1, 2]");
    try {
        load(f.path(), {}, core_schema(), parts());
        FAIL() << "expected config::error";
    } catch (const error& e) {
        EXPECT_EQ(std::string(e.what()), "config file " + f.path() + ": the top level must be an object");
    }
}

TEST(config_load, empty_object_file_equals_no_file) {
    EXPECT_EQ(json::serialize(load_text("{}")), json::serialize(load_env({})));
}

TEST(config_accessors, at_and_getters) {
    auto cfg = load_env({});
    EXPECT_EQ(at(cfg, "storage.sqlite.busy_timeout_ms").as_int64(), 5000);  // a plugin's default
    try {
        at(cfg, "server.nope");
        FAIL() << "expected config::error";
    } catch (const error& e) {
        EXPECT_STREQ(e.what(), "missing config key nope");
    }
    EXPECT_THROW(get_string(cfg, "server.port"), std::exception);  // wrong type
}

TEST(config_environment, snapshot_splits_at_first_equals) {
    ASSERT_EQ(::setenv("HAPPY_CONFIG_TEST_VARIABLE", "a=b=c", 1), 0);
    auto env = environment();
    ::unsetenv("HAPPY_CONFIG_TEST_VARIABLE");
    ASSERT_TRUE(env.contains("HAPPY_CONFIG_TEST_VARIABLE"));
    EXPECT_EQ(env.at("HAPPY_CONFIG_TEST_VARIABLE"), "a=b=c");
}

TEST(config_check_schema, fills_defaults_and_reports_where) {
    json::value schema = json::parse(
        R"({"type":"object","additionalProperties":false,"properties":{"n":{"type":"integer","default":3}}})");
    json::value inst = json::object();
    check_schema(schema, inst, "");
    EXPECT_EQ(json::serialize(inst), R"({"n":3})");
    json::value bad = json::parse(R"({"n":true})");
    try {
        check_schema(schema, bad, "section");
        FAIL() << "expected config::error";
    } catch (const error& e) {
        EXPECT_STREQ(e.what(), "section.n: expected integer, got boolean true");
    }
}

TEST(config_check_schema, checks_each_array_item) {
    json::value schema = json::parse(R"({"type":"array","items":{"type":"string","minLength":1}})");
    json::value ok = json::parse(R"(["a","b"])");
    check_schema(schema, ok, "list");
    json::value bad = json::parse(R"(["a",7])");
    try {
        check_schema(schema, bad, "list");
        FAIL() << "expected config::error";
    } catch (const error& e) {
        EXPECT_STREQ(e.what(), "list[1]: expected string, got integer 7");
    }
    json::value empty_item = json::parse(R"([""])");
    EXPECT_THROW(check_schema(schema, empty_item, "list"), error);
}

/// A module's section as the module declares it: schema and upstream variables (like modules/connect).
module_schema connect_like() {
    return {"connect", R"({"type": "object", "additionalProperties": false, "properties": {
                "app_url": {"type": "string", "default": "https://app.happy.engineering"},
                "github": {"type": "object", "additionalProperties": false, "properties": {
                    "client_id": {"type": "string", "default": ""},
                    "redirect_url": {"type": "string", "default": ""}}}}})",
            {{"GITHUB_CLIENT_ID", "modules.connect.github.client_id", "string"},
             {"GITHUB_REDIRECT_URL", "modules.connect.github.redirect_url", "string"}}};
}

TEST(config_load, module_declares_its_section_and_upstream_env_names) {
    std::vector<module_schema> mods{{"auth", ""}, connect_like()};
    auto cfg = load(std::nullopt, {{"GITHUB_CLIENT_ID", "cid"}, {"GITHUB_REDIRECT_URL", "https://x/cb"}},
                    core_schema(), parts(mods));
    EXPECT_EQ(get_string(cfg, "modules.connect.github.client_id"), "cid");
    EXPECT_EQ(get_string(cfg, "modules.connect.github.redirect_url"), "https://x/cb");
    EXPECT_EQ(get_string(cfg, "modules.connect.app_url"), "https://app.happy.engineering");
    EXPECT_TRUE(get_bool(cfg, "modules.connect.enabled"));
    // A typo inside the declared section is still an error.
    temp_file f(R"({"modules": {"connect": {"github": {"client_idd": "x"}}}})");
    EXPECT_THROW(load(f.path(), {}, core_schema(), parts(mods)), error);
    // The variable of a module compiled out is ignored (no unknown-section error).
    auto without = load(std::nullopt, {{"GITHUB_CLIENT_ID", "cid"}}, core_schema(), parts({{"auth", ""}}));
    EXPECT_FALSE(config::at(without, "modules").as_object().contains("connect"));
}

TEST(config_compose_schema, names_the_environment_variable_of_each_key_it_has) {
    auto schema = compose_schema(core_schema(), parts({{"auth", ""}, connect_like()}, {{"malloc-trim", "*/30 * * * * *"}}));
    auto prop = [&](std::initializer_list<std::string_view> path) {
        const json::value* v = &schema;
        for (auto k : path) {
            v = &v->as_object().at("properties").as_object().at(k);
        }
        return v->as_object();
    };
    EXPECT_EQ(prop({"server", "port"}).at("env").as_string(), "PORT");
    EXPECT_EQ(prop({"metrics", "enabled"}).at("env").as_string(), "METRICS_ENABLED");
    EXPECT_EQ(prop({"modules", "connect", "github", "client_id"}).at("env").as_string(), "GITHUB_CLIENT_ID");
    EXPECT_EQ(prop({"storage", "remote", "url"}).at("env").as_string(), "REMOTE_URL");
    EXPECT_FALSE(prop({"server", "body_limit"}).contains("env"));
    // Sections composed from the modules and jobs given, nothing else (voice is not compiled in here).
    EXPECT_FALSE(prop({"modules"}).at("properties").as_object().contains("voice"));
    EXPECT_TRUE(prop({"modules"}).at("properties").as_object().contains("connect"));
    EXPECT_TRUE(prop({"modules", "auth", "enabled"}).at("default").as_bool());
    EXPECT_EQ(prop({"jobs", "malloc-trim", "schedule"}).at("default").as_string(), "*/30 * * * * *");
    // The validator ignores the annotation: the composed schema is what load() checks against.
    auto cfg = load(std::nullopt, {{"PORT", "8080"}}, core_schema(), parts({{"auth", ""}, connect_like()}));
    EXPECT_EQ(get_int(cfg, "server.port"), 8080);
}

}  // namespace
}  // namespace happy::config
