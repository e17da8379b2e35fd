/// @file
/// The single-instance bus (`bus.kind: local`, the default): this process is the whole cluster, so nothing is
/// published anywhere, there are no peers, and every claim is granted. The hub then does all its work locally.
#pragma once
#include <memory>

#include "core/app/registry.hpp"
#include "core/bus/bus.hpp"

namespace happy::plugin::bus_local {

std::unique_ptr<bus::bus> make_bus();

/// Registers the "local" bus factory.
void register_plugin(registry& reg);

}  // namespace happy::plugin::bus_local
