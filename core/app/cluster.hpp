/// @file
/// Start-up pieces for running several instances on one bus (core/bus/bus.hpp), kept out of app.cpp's
/// run_server: the claim wrapper of once-per-cluster jobs and the bus metrics.
#pragma once
#include <string>

#include "core/app/module.hpp"
#include "core/bus/bus.hpp"

namespace happy {

/// `fn` wrapped so that of all instances only the one that claims a fire on the bus runs it (job_decl::scope).
/// Fails open: when the claim cannot be decided (Redis down), the job runs; the cluster jobs are idempotent.
job_fn claimed_job(job_fn fn, bus::bus& b, std::string job_name);

/// bus_connected, bus_peers and the bus message counters on the metrics port.
void add_bus_metrics(const bus::bus& b);

}  // namespace happy
