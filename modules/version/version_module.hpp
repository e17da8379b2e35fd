/// @file
/// App update check: `POST /v1/version`. Upstream: sources/app/api/routes/versionRoutes.ts.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "core/app/module.hpp"

namespace happy::mod::version {

/// The update URL for a platform/version pair, or nullopt when the app is current (semver range >=1.4.1).
std::optional<std::string> version_check(std::string_view platform, std::string_view version);

/// node-semver `satisfies(version, ">=" + minimum)` for a plain X.Y.Z minimum: strict parse (optional leading
/// "v"/"=", surrounding whitespace trimmed), prereleases never satisfy, build metadata ignored.
bool version_at_least(std::string_view version, int major, int minor, int patch);

class version_module final : public module {
public:
    void setup(module_context& ctx) override;
};

}  // namespace happy::mod::version
