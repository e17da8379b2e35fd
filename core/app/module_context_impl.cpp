#include "core/app/module_context_impl.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "core/events/hub.hpp"
#include "core/http/router.hpp"

namespace happy {

void module_context_impl::add_route(http::route r) { router_.add(std::move(r)); }

void module_context_impl::add_event(events::event_def e) { hub_.add_event(std::move(e)); }

events::emitter& module_context_impl::events() { return hub_; }

void module_context_impl::add_job(std::string_view name, job_fn fn, bool run_at_start) {
    for (auto& j : jobs_) {
        if (j.decl.name == name && j.owner == module_) {
            j.fn = std::move(fn);
            j.run_at_start = run_at_start;
            return;
        }
    }
    throw std::logic_error(fmt::format("add_job: job {} is not declared by the module's jobs()", name));
}

}  // namespace happy
