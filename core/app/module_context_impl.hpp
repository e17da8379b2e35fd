/// @file
/// The module_context a module's setup() gets from the server's start-up (core/app/serve.cpp) and from the fuzz
/// harness's in-process server (tests/fuzz/app_fixture.cpp): references to the core services, routes to the router,
/// events to the hub, job handlers bound to the jobs the module declared.
#pragma once
#include <string_view>
#include <vector>

#include "core/app/bootstrap.hpp"
#include "core/app/module.hpp"

namespace happy {

namespace http {
class router;
}
namespace events {
class hub;
}

class module_context_impl final : public module_context {
public:
    module_context_impl(std::string_view module_name, const boost::json::object& cfg, db::database& db,
                        auth::token_service& tokens, files::file_store& files, const server_settings& s,
                        http::router& r, events::hub& hub, std::vector<declared_job>& jobs)
        : module_(module_name),
          cfg_(cfg),
          db_(db),
          tokens_(tokens),
          files_(files),
          settings_(s),
          router_(r),
          hub_(hub),
          jobs_(jobs) {}
    const boost::json::object& config() const override { return cfg_; }
    db::database& db() override { return db_; }
    auth::token_service& tokens() override { return tokens_; }
    files::file_store& files() override { return files_; }
    const server_settings& settings() const override { return settings_; }
    void add_route(http::route r) override;
    void add_event(events::event_def e) override;
    events::emitter& events() override;
    /// Binds the handler to the job of that name this module declared; throws std::logic_error for any other.
    void add_job(std::string_view name, job_fn fn, bool run_at_start) override;

private:
    std::string_view module_;
    const boost::json::object& cfg_;
    db::database& db_;
    auth::token_service& tokens_;
    files::file_store& files_;
    const server_settings& settings_;
    http::router& router_;
    events::hub& hub_;
    std::vector<declared_job>& jobs_;
};

}  // namespace happy
