/// @file
/// Start-up pieces for running several instances on one bus (core/bus/bus.hpp), used by `serve`
/// (core/app/serve.cpp): the claim wrapper of once-per-cluster jobs, the bus metrics and those of the update
/// ordering.
#pragma once
#include <string>

#include "core/app/module.hpp"
#include "core/bus/bus.hpp"
#include "core/events/hub.hpp"

namespace happy {

/// `fn` wrapped so that of all instances only the one that claims a fire on the bus runs it (job_decl::scope).
/// Fails open: when the claim cannot be decided (Redis down), the job runs; the cluster jobs are idempotent.
job_fn claimed_job(job_fn fn, bus::bus& b, std::string job_name);

/// bus_connected, bus_peers and the bus message counters on the metrics port.
void add_bus_metrics(const bus::bus& b);

/// The hub's update ordering (core/events/seq_reorder.hpp) on the metrics port: updates held back for a lower seq,
/// seqs given up, late arrivals, duplicates, and how many wait right now.
void add_order_metrics(const events::hub& h);

}  // namespace happy
