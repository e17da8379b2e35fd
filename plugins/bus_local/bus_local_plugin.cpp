#include "plugins/bus_local/bus_local_plugin.hpp"

#include "core/crypto/ids.hpp"

namespace happy::plugin::bus_local {

namespace {

class local_bus final : public bus::bus {
public:
    local_bus() : id_(crypto::random_alnum(12)) {}

    const std::string& instance_id() const override { return id_; }
    bool clustered() const override { return false; }
    void on_message(::happy::bus::message_handler) override {}
    void on_peer_down(::happy::bus::peer_handler) override {}
    boost::asio::awaitable<void> start(boost::asio::any_io_executor) override { co_return; }
    boost::asio::awaitable<void> stop() override { co_return; }
    void publish(std::string) override {}
    void send_to(std::string_view, std::string) override {}
    std::vector<std::string> peers() const override { return {}; }
    bool peer_alive(std::string_view) const override { return false; }
    ::happy::bus::status health() const override { return {}; }
    ::happy::bus::counters stats() const override { return {}; }
    boost::asio::awaitable<bool> claim(std::string, std::chrono::milliseconds) override { co_return true; }

private:
    std::string id_;
};

}  // namespace

std::unique_ptr<bus::bus> make_bus() { return std::make_unique<local_bus>(); }

void register_plugin(registry& reg) {
    reg.add_bus("local", [](const bus_options&) { return make_bus(); });
}

}  // namespace happy::plugin::bus_local
