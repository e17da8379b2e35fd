/// @file
/// Voice conversations through ElevenLabs: POST /v1/voice/conversations (a usage-gated conversation token) and
/// GET /v1/voice/usage. ElevenLabs is the source of truth for usage (no database writes), RevenueCat for the
/// subscription. Without ELEVENLABS_API_KEY the routes answer upstream's "not configured" 500 and nothing is
/// sent anywhere. Upstream: sources/app/api/routes/voiceRoutes.ts.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/app/module.hpp"

namespace happy::mod::voice {

struct voice_state;

class voice_module final : public module {
public:
    voice_module();
    ~voice_module() override;
    /// The VoiceConversation table upstream keeps (unused by its current routes).
    std::vector<std::string> migrations() const override { return {"0013_voice"}; }
    std::string_view config_schema() const override;
    std::vector<config::env_binding> env_bindings() const override;
    void check_config(const boost::json::object& section) const override;
    void setup(module_context& ctx) override;

private:
    std::unique_ptr<voice_state> state_;
};

}  // namespace happy::mod::voice
