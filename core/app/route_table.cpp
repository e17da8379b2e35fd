#include "core/app/route_table.hpp"

#include <boost/json.hpp>
#include <ostream>

#include "core/events/hub.hpp"
#include "core/http/router.hpp"

namespace happy {

int print_route_table(const http::router& r, const events::hub& h, std::ostream& out) {
    boost::json::array routes;
    for (const auto& rt : r.routes()) {
        routes.push_back(boost::json::object{{"method", http::verb_name(rt.method)},
                                             {"path", rt.path},
                                             {"auth", rt.auth == http::auth_mode::bearer ? "bearer" : "none"}});
    }
    boost::json::array events;
    for (const auto& name : h.event_names()) {
        events.emplace_back(name);
    }
    out << boost::json::serialize(boost::json::object{{"routes", std::move(routes)}, {"events", std::move(events)}})
        << "\n";
    return 0;
}

}  // namespace happy
