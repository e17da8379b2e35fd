/// @file
/// `happy-server --print-routes`: the route table and the socket events as the modules registered them, for tools
/// and tests that must cover every route (tests/integration/authz_matrix.test.mjs) rather than a list kept by hand.
#pragma once
#include <iosfwd>

namespace happy::http {
class router;
}
namespace happy::events {
class hub;
}

namespace happy {

/// Writes `{"routes":[{"method","path","auth"},…],"events":[…]}` (one line of JSON) to `out`; returns the exit code.
int print_route_table(const http::router& r, const events::hub& h, std::ostream& out);

}  // namespace happy
