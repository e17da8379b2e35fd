/// @file
/// Process entry: configuration, storage, modules, HTTP server, signals and the bounded shutdown.
#pragma once

namespace happy {

/// Runs the server until SIGTERM/SIGINT; returns the process exit code.
int run_server(int argc, char** argv);

}  // namespace happy
