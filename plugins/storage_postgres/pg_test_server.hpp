/// @file
/// A PostgreSQL server for tests: the one HAPPY_TEST_DATABASE_URL names, or else a throwaway cluster started on
/// first use with scripts/pg_test_cluster.sh and removed when the test process exits. Compiled into
/// happy_modules_test only.
#pragma once
#include <string>
#include <string_view>

namespace happy::test {

/// The server's URL (connected to its maintenance database). Throws std::runtime_error, with the reason, when no
/// server is named and none can be started: a PostgreSQL test then fails rather than skips.
const std::string& postgres_server_url();

/// Creates an empty database on that server with a name of its own (`happy_t_<pid>_<n>`) and returns a connection
/// string for it.
std::string create_postgres_database();

/// Drops the database `url` names (connections still open to it are terminated first).
void drop_postgres_database(const std::string& url);

/// Runs one statement on the server's maintenance database (tests: terminating backends, inspecting catalogs).
void postgres_admin_exec(std::string_view sql);

}  // namespace happy::test
