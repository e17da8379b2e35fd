/// @file
/// The server's HTTP side in-process for the fuzz targets: every compiled-in module set up as start-up does
/// (the default configuration, the real route table), on SQLite in a private temporary directory, with two
/// accounts and a few of account A's entities to aim requests at. No sockets: requests go straight into the
/// pipeline (core/http/pipeline.hpp), and the io_context runs on the fuzzing thread until each one is answered.
#pragma once
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/http/pipeline.hpp"
#include "core/http/router.hpp"

namespace happy::fuzz {

class app_fixture {
public:
    /// Built on first use; lives until the process exits (its directory is removed then).
    static app_fixture& get();

    /// Runs one request through the pipeline, as the server does after reading it (exceptions → generic 500).
    http::response handle(http::incoming in);

    const http::router& router() const;
    const http::pipeline& pipeline() const;

    /// Replaces the placeholders fuzz inputs use for what only the running fixture knows (tokens and ids):
    /// @TA / @TB account A's / B's bearer token, @A / @B their account ids, @S / @M / @R account A's session,
    /// machine and artifact ids.
    std::string expand(std::string_view text) const;
    /// A path of `route` with every parameter filled in with account A's entity of that kind (see expand()).
    std::string fill_path(const http::route& r) const;

    /// Recreates account A's session, machine and artifact if a request deleted them, so that later inputs still
    /// reach the handlers behind the ownership checks.
    void reseed();

    std::string token_a, token_b, account_a, account_b, session_id, machine_id, artifact_id;

    ~app_fixture();

private:
    app_fixture();
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace happy::fuzz
