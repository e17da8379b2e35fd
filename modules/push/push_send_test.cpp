// Expo delivery against a local receiver on 127.0.0.1, and the pure message/outcome helpers.
#include "modules/push/push_send.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <thread>

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using namespace happy::mod::push;
using namespace std::chrono_literals;

/// Answers each of `replies` connections with the given raw HTTP response and records the request bodies.
class receiver {
public:
    explicit receiver(std::vector<std::string> replies)
        : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
        thread_ = std::thread([this, replies = std::move(replies)] {
            for (const auto& reply : replies) {
                tcp::socket s(ioc_);
                boost::system::error_code ec;
                acceptor_.accept(s, ec);
                if (ec) {
                    return;
                }
                boost::beast::flat_buffer buf;
                bhttp::request<bhttp::string_body> req;
                bhttp::read(s, buf, req, ec);
                bodies.push_back(req.body());
                content_types.emplace_back(req[bhttp::field::content_type]);
                if (reply.empty()) {
                    char c[256];
                    while (!ec) {
                        s.read_some(asio::buffer(c), ec);  // silent: let the client time out
                    }
                    continue;
                }
                asio::write(s, asio::buffer(reply), ec);
            }
        });
    }
    ~receiver() {
        boost::system::error_code ec;
        acceptor_.close(ec);
        thread_.join();
    }
    std::string url() const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/--/api/v2/push/send";
    }
    std::vector<std::string> bodies;
    std::vector<std::string> content_types;

private:
    asio::io_context ioc_;
    tcp::acceptor acceptor_;
    std::thread thread_;
};

std::string ok_reply(std::string body) {
    return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
}

std::vector<ticket> send(const std::vector<expo_message>& m, const std::string& url, std::chrono::milliseconds t = 3s) {
    asio::io_context ctx;
    auto fut = asio::co_spawn(ctx, expo_send(m, url, t), asio::use_future);
    ctx.run();
    return fut.get();
}

std::vector<expo_message> messages(int n) {
    std::vector<expo_message> out;
    json::object data{{"sessionId", "s1"}, {"kind", "done"}};
    for (int i = 0; i < n; ++i) {
        out.push_back(push_message("id" + std::to_string(i), "ExponentPushToken[" + std::to_string(i) + "]", "T", "B", data));
    }
    return out;
}

TEST(push_send, data_follows_javascript_spread_and_key_order) {
    auto d = push_event_data("S", nullptr, "done");
    EXPECT_EQ(json::serialize(d), R"({"sessionId":"S","kind":"done"})");
    auto client = json::parse(R"({"sessionTitle":"x","kind":"question","sessionId":"other","url":"/session/S","2":1,"1":{"b":1,"0":2}})").as_object();
    d = push_event_data("S", &client, "permission");
    EXPECT_EQ(json::serialize(d),
              R"({"1":{"0":2,"b":1},"2":1,"sessionId":"other","sessionTitle":"x","kind":"permission","url":"/session/S"})");
}

TEST(push_send, message_shape) {
    auto m = push_message("id", "tok", "It's ready!", "body", json::object{{"sessionId", "S"}, {"kind", "done"}});
    EXPECT_EQ(json::serialize(m.payload),
              R"({"to":"tok","title":"It's ready!","body":"body","data":{"sessionId":"S","kind":"done"},"sound":"default","channelId":"messages"})");
}

TEST(push_send, outcomes) {
    ticket ok{true, "", false, false};
    ticket net{false, "Network error", false, true};
    ticket dnr{false, "DeviceNotRegistered", true, false};
    EXPECT_EQ(json::serialize(outcome_from_tickets({ok, ok}, 2).to_json()), R"({"success":true,"result":"sent","tokens":2})");
    EXPECT_EQ(json::serialize(outcome_from_tickets({net, net}, 2).to_json()),
              R"({"success":true,"result":"failed","reason":"Network error, Network error"})");
    EXPECT_EQ(json::serialize(outcome_from_tickets({ok, dnr, net}, 3).to_json()),
              R"({"success":true,"result":"partial","tokens":3,"delivered":1,"reason":"DeviceNotRegistered, Network error"})");
}

TEST(push_send, posts_one_json_array_and_reads_tickets) {
    receiver r({ok_reply(R"({"data":[{"status":"ok","id":"x"},{"status":"error","message":"m","details":{"error":"DeviceNotRegistered"}},{"status":"error","message":"Too much"},{"status":"error","details":{}}]})")});
    auto msgs = messages(4);
    auto t = send(msgs, r.url());
    ASSERT_EQ(t.size(), 4u);
    EXPECT_TRUE(t[0].ok);
    EXPECT_EQ(t[1].error, "DeviceNotRegistered");
    EXPECT_TRUE(t[1].device_not_registered);
    EXPECT_EQ(t[2].error, "Too much");
    EXPECT_EQ(t[3].error, "unknown");
    EXPECT_FALSE(t[2].transient);
    ASSERT_EQ(r.bodies.size(), 1u);
    EXPECT_EQ(r.content_types[0], "application/json");
    auto sent = json::parse(r.bodies[0]).as_array();
    ASSERT_EQ(sent.size(), 4u);
    EXPECT_EQ(sent[3], msgs[3].payload);
}

TEST(push_send, batches_of_100) {
    std::string ok100 = R"({"data":[)";
    for (int i = 0; i < 100; ++i) {
        ok100 += std::string(i ? "," : "") + R"({"status":"ok"})";
    }
    ok100 += "]}";
    receiver r({ok_reply(ok100), ok_reply(R"({"data":[{"status":"ok"}]})")});
    auto t = send(messages(101), r.url());
    EXPECT_EQ(t.size(), 101u);
    ASSERT_EQ(r.bodies.size(), 2u);
    EXPECT_EQ(json::parse(r.bodies[0]).as_array().size(), 100u);
    EXPECT_EQ(json::parse(r.bodies[1]).as_array().size(), 1u);
}

TEST(push_send, http_errors_network_errors_and_timeouts) {
    receiver r({"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
                "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", ok_reply("not json"), ""});
    auto t = send(messages(2), r.url());
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[0].error, "HTTP 500");
    EXPECT_TRUE(t[0].transient);
    t = send(messages(1), r.url());
    EXPECT_EQ(t[0].error, "HTTP 400");
    EXPECT_FALSE(t[0].transient);
    t = send(messages(1), r.url());
    EXPECT_EQ(t[0].error, "Network error");
    auto start = std::chrono::steady_clock::now();
    t = send(messages(1), r.url(), 300ms);
    EXPECT_EQ(t[0].error, "Network error");
    EXPECT_TRUE(t[0].transient);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

}  // namespace
