// Unit tests for happy::http::client against local servers on 127.0.0.1 (plain HTTP and TLS with a throw-away CA).

#include "core/http/client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

namespace happy::http::client {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

/// Accepts `connections` connections on 127.0.0.1 in a thread and hands each socket to `serve`.
class local_server {
public:
    local_server(std::function<void(tcp::socket&)> serve, int connections = 1)
        : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
        thread_ = std::thread([this, serve = std::move(serve), connections] {
            for (int i = 0; i < connections; ++i) {
                tcp::socket s(ioc_);
                boost::system::error_code ec;
                acceptor_.accept(s, ec);
                if (ec) {
                    return;
                }
                serve(s);
            }
        });
    }
    ~local_server() {
        boost::system::error_code ec;
        acceptor_.close(ec);
        thread_.join();
    }
    std::string url(std::string_view path = "/", std::string_view scheme = "http") const {
        return std::string(scheme) + "://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) +
               std::string(path);
    }

private:
    asio::io_context ioc_;
    tcp::acceptor acceptor_;
    std::thread thread_;
};

response run(std::string method, std::string url, header_list headers, std::string body, options opts) {
    asio::io_context ctx;
    auto fut = asio::co_spawn(ctx, request(std::move(method), std::move(url), std::move(headers), std::move(body), opts),
                              asio::use_future);
    ctx.run();
    return fut.get();
}

response run(std::string method, std::string url, std::chrono::milliseconds timeout = 5s) {
    options o;
    o.timeout = timeout;
    return run(std::move(method), std::move(url), {}, {}, o);
}

error::kind failure_kind(std::function<response()> f) {
    try {
        f();
    } catch (const error& e) {
        return e.code();
    }
    ADD_FAILURE() << "no error";
    return error::kind::io;
}

TEST(HttpClientUrl, Parses) {
    auto p = parse_url("http://example.com");
    EXPECT_FALSE(p.tls);
    EXPECT_EQ(p.host, "example.com");
    EXPECT_EQ(p.port, "80");
    EXPECT_EQ(p.target, "/");
    p = parse_url("HTTPS://exp.host/--/api/v2/push/send?x=1#frag");
    EXPECT_TRUE(p.tls);
    EXPECT_EQ(p.port, "443");
    EXPECT_EQ(p.target, "/--/api/v2/push/send?x=1");
    EXPECT_EQ(p.host_header, "exp.host");
    p = parse_url("http://127.0.0.1:8080?q");
    EXPECT_EQ(p.port, "8080");
    EXPECT_EQ(p.target, "/?q");
    EXPECT_EQ(p.host_header, "127.0.0.1:8080");
    p = parse_url("http://[::1]:9/a");
    EXPECT_EQ(p.host, "::1");
    EXPECT_EQ(p.port, "9");
    EXPECT_EQ(p.host_header, "[::1]:9");
    for (const char* bad : {"exp.host/x", "ftp://a/", "http://", "http://:80/", "http://a:0/", "http://a:70000/",
                            "http://a:8x/", "http://u:p@a/", "http://[::1/"}) {
        EXPECT_THROW(parse_url(bad), error) << bad;
    }
}

TEST(HttpClient, PostSendsHeadersAndBodyAndReadsResponse) {
    bhttp::request<bhttp::string_body> seen;
    local_server srv([&](tcp::socket& s) {
        boost::beast::flat_buffer buf;
        bhttp::read(s, buf, seen);
        std::string out = "HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-Reply: yes\r\n\r\nhello";
        asio::write(s, asio::buffer(out));
    });
    options o;
    auto r = run("POST", srv.url("/--/api/v2/push/send?a=b"), {{"Content-Type", "application/json"}}, R"([{"to":1}])", o);
    EXPECT_EQ(r.status, 201u);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.body, "hello");
    EXPECT_EQ(r.header("x-reply"), "yes");
    EXPECT_EQ(r.header("missing"), "");
    EXPECT_EQ(seen.method_string(), "POST");
    EXPECT_EQ(seen.target(), "/--/api/v2/push/send?a=b");
    EXPECT_EQ(seen[bhttp::field::content_type], "application/json");
    EXPECT_EQ(seen[bhttp::field::content_length], "10");
    EXPECT_EQ(seen[bhttp::field::host], srv.url("").substr(7));
    EXPECT_EQ(seen[bhttp::field::user_agent], "happy-server");
    EXPECT_EQ(seen.body(), R"([{"to":1}])");
}

TEST(HttpClient, ErrorStatusIsAResponseAndChunkedBodiesAreDecoded) {
    local_server srv([](tcp::socket& s) {
        boost::beast::flat_buffer buf;
        bhttp::request<bhttp::string_body> req;
        bhttp::read(s, buf, req);
        std::string out =
            "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        asio::write(s, asio::buffer(out));
    });
    auto r = run("GET", srv.url());
    EXPECT_EQ(r.status, 500u);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.body, "abcde");
}

TEST(HttpClient, BodyUntilEof) {
    local_server srv([](tcp::socket& s) {
        boost::beast::flat_buffer buf;
        bhttp::request<bhttp::string_body> req;
        bhttp::read(s, buf, req);
        std::string out = "HTTP/1.1 200 OK\r\n\r\nuntil-eof";
        asio::write(s, asio::buffer(out));
        s.close();
    });
    EXPECT_EQ(run("GET", srv.url()).body, "until-eof");
}

TEST(HttpClient, HeadResponseHasNoBodyDespiteItsContentLength) {
    bhttp::request<bhttp::string_body> seen;
    local_server srv([&](tcp::socket& s) {
        boost::beast::flat_buffer buf;
        bhttp::read(s, buf, seen);
        // What S3's HeadObject answers: the object's length, no body; the connection stays open.
        std::string out = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nETag: \"x\"\r\n\r\n";
        asio::write(s, asio::buffer(out));
        boost::system::error_code ec;
        bhttp::request<bhttp::string_body> none;
        bhttp::read(s, buf, none, ec);  // blocks until the client closes
    });
    auto r = run("HEAD", srv.url("/bucket/key"), 2s);
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.header("content-length"), "1234");
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(seen.method_string(), "HEAD");
    EXPECT_EQ(seen[bhttp::field::content_length], "");
}

TEST(HttpClient, SilentServerTimesOutWithinTheDeadline) {
    local_server srv([](tcp::socket& s) {
        // Reads the request and never answers; returns when the client gives up and closes.
        char c[512];
        boost::system::error_code ec;
        while (!ec) {
            s.read_some(asio::buffer(c), ec);
        }
    });
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(failure_kind([&] { return run("GET", srv.url(), 300ms); }), error::kind::timeout);
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 2s);
}

TEST(HttpClient, RefusedConnection) {
    std::string url;
    {
        asio::io_context ioc;
        tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        url = "http://127.0.0.1:" + std::to_string(a.local_endpoint().port()) + "/";
    }
    EXPECT_EQ(failure_kind([&] { return run("GET", url); }), error::kind::connect);
}

TEST(HttpClient, ResponseLargerThanTheLimitIsRefused) {
    local_server srv([](tcp::socket& s) {
        boost::beast::flat_buffer buf;
        bhttp::request<bhttp::string_body> req;
        bhttp::read(s, buf, req);
        std::string out = "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + std::string(2000, 'x');
        boost::system::error_code ec;
        asio::write(s, asio::buffer(out), ec);
    });
    options o;
    o.max_response_bytes = 1000;
    EXPECT_EQ(failure_kind([&] { return run("GET", srv.url(), {}, {}, o); }), error::kind::io);
}

TEST(HttpClient, HttpsToAPlainServerFailsTheHandshake) {
    local_server srv([](tcp::socket& s) {
        boost::system::error_code ec;
        asio::write(s, asio::buffer(std::string("HTTP/1.1 400 Bad Request\r\n\r\n")), ec);
        s.close();
    });
    EXPECT_EQ(failure_kind([&] { return run("GET", srv.url("/", "https")); }), error::kind::tls);
}

// A TLS server with a certificate for 127.0.0.1 signed by a throw-away CA: untrusted by default, trusted with
// options::ca_file. Needs the openssl command-line tool; skipped without it.
class HttpsClient : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("happy-client-test-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
        std::string d = dir_.string();
        std::string cmd =
            "cd " + d +
            " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=happy-test-ca"
            " >/dev/null 2>&1"
            " && openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=127.0.0.1 >/dev/null 2>&1"
            " && printf 'subjectAltName=IP:127.0.0.1\\n' > ext.cnf"
            " && openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2"
            " -extfile ext.cnf >/dev/null 2>&1";
        // scripts/setup.sh installs the openssl tool, so a failure here is a real error, not a reason to skip.
        ASSERT_EQ(std::system(cmd.c_str()), 0) << "creating the test CA and certificate with openssl failed";
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::function<void(tcp::socket&)> tls_server(bool* served) {
        return [this, served](tcp::socket& s) {
            asio::ssl::context ctx(asio::ssl::context::tls_server);
            ctx.use_certificate_chain_file((dir_ / "srv.pem").string());
            ctx.use_private_key_file((dir_ / "srv.key").string(), asio::ssl::context::pem);
            asio::ssl::stream<tcp::socket&> tls(s, ctx);
            boost::system::error_code ec;
            tls.handshake(asio::ssl::stream_base::server, ec);
            if (ec) {
                return;
            }
            boost::beast::flat_buffer buf;
            bhttp::request<bhttp::string_body> req;
            bhttp::read(tls, buf, req, ec);
            std::string out = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure";
            asio::write(tls, asio::buffer(out), ec);
            *served = !ec;
            tls.shutdown(ec);
        };
    }

    std::filesystem::path dir_;
};

TEST_F(HttpsClient, UntrustedCertificateIsRejected) {
    bool served = false;
    local_server srv(tls_server(&served));
    EXPECT_EQ(failure_kind([&] { return run("GET", srv.url("/", "https")); }), error::kind::tls);
    EXPECT_FALSE(served);
}

TEST_F(HttpsClient, TrustedCertificateWorks) {
    bool served = false;
    local_server srv(tls_server(&served));
    options o;
    o.ca_file = (dir_ / "ca.pem").string();
    auto r = run("GET", srv.url("/x", "https"), {}, {}, o);
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "secure");
}

}  // namespace
}  // namespace happy::http::client
