// The HTTP transport of `veribind serve`, in-process: a real HttpServer on loopback (or a unix
// socket), driven by raw sockets so that the tests can send what no well-behaved client would.
#include "serve/http_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using veribind::ErrorCode;
using veribind::serve::Completed;
using veribind::serve::CompletionHook;
using veribind::serve::Handler;
using veribind::serve::HttpReply;
using veribind::serve::HttpRequest;
using veribind::serve::HttpServer;
using veribind::serve::ListenAddress;
using veribind::serve::ServerLimits;
using veribind::serve::TlsFiles;

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;

  [[nodiscard]] std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  [[nodiscard]] std::string error_code() const {
    const auto json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_discarded() || !json.contains("error")) return {};
    return json["error"].value("code", "");
  }
};

// A raw client: every read has a deadline, so a test fails instead of hanging.
class Client {
 public:
  static Client tcp(std::uint16_t port) {
    Client client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(client.fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    return client;
  }
  // Over IPv6 to ::1, or nullopt where the host has no IPv6 loopback.
  static std::optional<Client> tcp6(std::uint16_t port) {
    Client client(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_port = htons(port);
    address.sin6_addr = in6addr_loopback;
    if (::connect(client.fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      return std::nullopt;
    }
    return client;
  }
  static Client unix_socket(const std::string& path) {
    Client client(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path.copy(address.sun_path, sizeof address.sun_path - 1);
    REQUIRE(::connect(client.fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    return client;
  }
  Client(Client&& other) noexcept : fd_(other.fd_), buffer_(std::move(other.buffer_)) {
    other.fd_ = -1;
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  Client& operator=(Client&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = std::exchange(other.fd_, -1);
      buffer_ = std::move(other.buffer_);
    }
    return *this;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  std::optional<Reply> read_reply(std::chrono::milliseconds timeout = 5s) {
    const auto deadline = Clock::now() + timeout;
    std::size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(deadline)) return std::nullopt;
    }
    Reply reply;
    const std::string head = buffer_.substr(0, head_end);
    if (head.rfind("HTTP/1.1 ", 0) != 0 || head.size() < 12) return std::nullopt;
    reply.status = std::stoi(head.substr(9, 3));
    std::size_t line = head.find("\r\n");
    while (line != std::string::npos) {
      const std::size_t next = head.find("\r\n", line + 2);
      const std::string field =
          head.substr(line + 2, next == std::string::npos ? std::string::npos : next - line - 2);
      const auto colon = field.find(':');
      if (colon != std::string::npos) {
        std::string name = field.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        reply.headers[name] = field.substr(field.find_first_not_of(' ', colon + 1));
      }
      line = next;
    }
    const auto length = static_cast<std::size_t>(std::stoul(reply.header("content-length")));
    while (buffer_.size() < head_end + 4 + length) {
      if (!fill(deadline)) return std::nullopt;
    }
    reply.body = buffer_.substr(head_end + 4, length);
    buffer_.erase(0, head_end + 4 + length);
    return reply;
  }

  // True if the server ends the connection (end of stream or reset) within `timeout`; what it
  // sends before that is dropped.
  bool closed_within(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return true;
    }
  }

  // Reads until `marker` has arrived and returns what came up to and with it.
  std::optional<std::string> read_through(std::string_view marker,
                                          std::chrono::milliseconds timeout = 5s) {
    const auto deadline = Clock::now() + timeout;
    std::size_t at;
    while ((at = buffer_.find(marker)) == std::string::npos) {
      if (!fill(deadline)) return std::nullopt;
    }
    std::string head = buffer_.substr(0, at + marker.size());
    buffer_.erase(0, at + marker.size());
    return head;
  }

  [[nodiscard]] int fd() const { return fd_; }
  std::string& buffer() { return buffer_; }

 private:
  explicit Client(int fd) : fd_(fd) { REQUIRE(fd_ >= 0); }

  bool fill(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_;
  std::string buffer_;
};

HttpReply echo(const HttpRequest& request) {
  HttpReply reply;
  reply.body = nlohmann::json{{"method", request.method},
                              {"target", request.target},
                              {"body_bytes", request.body.size()},
                              {"authorization", request.authorization},
                              {"forwarded_for", request.forwarded_for},
                              {"content_type", request.content_type},
                              {"host", request.host},
                              {"peer", request.peer}}
                   .dump();
  reply.route = "/echo";
  return reply;
}

// Sends `bytes` one at a time, `gap` apart, with `send_byte`, until the server answers or ends
// the connection on `fd`; returns when it did, or nullopt if it did neither within `limit`.
template <typename SendByte>
std::optional<Clock::time_point> trickle_until_answered(int fd, SendByte send_byte,
                                                        std::string_view bytes,
                                                        std::chrono::milliseconds gap,
                                                        std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  for (std::size_t i = 0; Clock::now() < deadline; ++i) {
    if (i < bytes.size()) send_byte(bytes[i]);
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(gap.count())) > 0) return Clock::now();
  }
  return std::nullopt;
}

// A self-signed certificate for localhost in `cert`, its key (mode 0600) in `key`.
void make_certificate(const std::string& cert, const std::string& key) {
  const std::string make =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
      "-nodes -days 1 -subj /CN=localhost -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  REQUIRE(std::system(make.c_str()) == 0);
  REQUIRE(::chmod(key.c_str(), 0600) == 0);
}

// Short timeouts, so that the timeout tests take a fraction of a second.
ServerLimits test_limits() {
  ServerLimits limits;
  limits.header_timeout = 2s;
  limits.body_timeout = 2s;
  limits.write_timeout = 2s;
  limits.idle_timeout = 2s;
  return limits;
}

class TestServer {
 public:
  explicit TestServer(const ServerLimits& limits, Handler handler = echo,
                      CompletionHook on_completed = {}, std::optional<TlsFiles> tls = {},
                      const std::string& listen = "127.0.0.1:0") {
    auto address = ListenAddress::parse(listen);
    REQUIRE(address.is_ok());
    auto created =
        HttpServer::create(*address, limits, tls, std::move(handler), std::move(on_completed));
    INFO(created.status().message());
    REQUIRE(created.is_ok());
    server_ = std::move(created).value();
    thread_ = std::thread([this] {
      server_->run();
      returned_ = true;
    });
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;
  ~TestServer() {
    server_->stop(0ms);
    thread_.join();
  }

  HttpServer& server() { return *server_; }
  [[nodiscard]] std::uint16_t port() const {
    const auto bound = server_->bound_address();
    return static_cast<std::uint16_t>(std::stoi(bound.substr(bound.rfind(':') + 1)));
  }
  Client client() const { return Client::tcp(port()); }
  [[nodiscard]] bool returned() const { return returned_; }

  bool wait_for_returned(std::chrono::milliseconds timeout) const {
    const auto deadline = Clock::now() + timeout;
    while (!returned_ && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
    return returned_;
  }
  bool wait_for_open_connections(std::size_t count, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (server_->open_connections() != count && Clock::now() < deadline) {
      std::this_thread::sleep_for(5ms);
    }
    return server_->open_connections() == count;
  }

 private:
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::atomic<bool> returned_{false};
};

using veribind::testing::TempDir;

std::string get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

std::string post(const std::string& body, const std::string& extra = "") {
  return "POST /p HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n" + extra + "\r\n" + body;
}

// Asserts `reply` is the transport's refusal with `status` and `code`, ending the connection.
void require_refusal(const std::optional<Reply>& reply, int status, const std::string& code) {
  REQUIRE(reply.has_value());
  CHECK(reply->status == status);
  CHECK(reply->error_code() == code);
  CHECK(reply->header("connection") == "close");
  CHECK(reply->header("cache-control") == "no-store");
}

}  // namespace

TEST_CASE("http server: two requests on one kept-alive connection are both answered",
          "[serve][http]") {
  TestServer server(test_limits());
  auto client = server.client();
  REQUIRE(client.send(get("/first")));
  const auto first = client.read_reply();
  REQUIRE(first.has_value());
  CHECK(first->status == 200);
  CHECK(nlohmann::json::parse(first->body)["target"] == "/first");
  CHECK(first->header("content-type") == "application/json");
  CHECK(first->header("cache-control") == "no-store");
  CHECK(first->header("x-content-type-options") == "nosniff");
  CHECK(first->header("connection").empty());
  CHECK(first->headers.count("server") == 0);
  CHECK(!first->header("date").empty());
  REQUIRE(client.send(post("hello")));
  const auto second = client.read_reply();
  REQUIRE(second.has_value());
  CHECK(second->status == 200);
  const auto json = nlohmann::json::parse(second->body);
  CHECK(json["method"] == "POST");
  CHECK(json["body_bytes"] == 5);
  CHECK(server.server().open_connections() == 1);
}

TEST_CASE("http server: pipelined requests in one write are answered in order", "[serve][http]") {
  TestServer server(test_limits());
  auto client = server.client();
  REQUIRE(client.send(get("/a") + post("xyz") + get("/c")));
  for (const char* target : {"/a", "/p", "/c"}) {
    const auto reply = client.read_reply();
    REQUIRE(reply.has_value());
    CHECK(nlohmann::json::parse(reply->body)["target"] == target);
  }
}

TEST_CASE("http server: the handler sees the method and target and headers and body and peer",
          "[serve][http]") {
  TestServer server(test_limits());
  auto client = server.client();
  REQUIRE(client.send(post("{\"a\":1}",
                           "Authorization: Bearer k1.secret\r\nContent-Type: application/json\r\n"
                           "X-Forwarded-For: 192.0.2.1\r\nx-forwarded-for: 198.51.100.7\r\n")));
  const auto reply = client.read_reply();
  REQUIRE(reply.has_value());
  const auto json = nlohmann::json::parse(reply->body);
  CHECK(json["method"] == "POST");
  CHECK(json["target"] == "/p");
  CHECK(json["body_bytes"] == 7);
  CHECK(json["authorization"] == "Bearer k1.secret");
  CHECK(json["content_type"] == "application/json");
  CHECK(json["forwarded_for"] == "192.0.2.1, 198.51.100.7");
  CHECK(json["peer"] == "127.0.0.1");
  CHECK(json["host"] == "test");
}

TEST_CASE("http server: the handler sees the Host header as sent and an empty host without one",
          "[serve][http]") {
  TestServer server(test_limits());
  auto client = server.client();
  REQUIRE(client.send("GET / HTTP/1.1\r\nHost: API.example.com:8443\r\n\r\n"));
  const auto with_host = client.read_reply();
  REQUIRE(with_host.has_value());
  CHECK(nlohmann::json::parse(with_host->body)["host"] == "API.example.com:8443");
  REQUIRE(client.send("GET / HTTP/1.1\r\nX-Other: x\r\n\r\n"));
  const auto without_host = client.read_reply();
  REQUIRE(without_host.has_value());
  CHECK(without_host->status == 200);
  CHECK(nlohmann::json::parse(without_host->body)["host"] == "");
}

TEST_CASE("http server: Expect 100-continue is answered before the body is read", "[serve][http]") {
  TestServer server(test_limits());
  auto client = server.client();
  REQUIRE(client.send(
      "POST /p HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  const auto interim = client.read_through("\r\n\r\n");
  REQUIRE(interim.has_value());
  CHECK(*interim == "HTTP/1.1 100 Continue\r\n\r\n");
  REQUIRE(client.send("hello"));
  const auto reply = client.read_reply();
  REQUIRE(reply.has_value());
  CHECK(reply->status == 200);
  CHECK(nlohmann::json::parse(reply->body)["body_bytes"] == 5);
}

TEST_CASE("http server: an HTTP/1.0 request is answered and the connection closed",
          "[serve][http]") {
  TestServer server(test_limits());
  auto client = server.client();
  REQUIRE(client.send("GET /old HTTP/1.0\r\n\r\n"));
  const auto reply = client.read_reply();
  REQUIRE(reply.has_value());
  CHECK(reply->status == 200);
  CHECK(reply->header("connection") == "close");
  CHECK(client.closed_within(5s));
}

TEST_CASE("http server: a client on IPv6 loopback is seen as peer ::1", "[serve][http]") {
  {
    auto address = ListenAddress::parse("[::1]:0");
    REQUIRE(address.is_ok());
    const auto probe = HttpServer::create(*address, test_limits(), std::nullopt, echo, {});
    if (!probe.is_ok()) {
      WARN("no IPv6 loopback here: " << probe.status().message());
      return;
    }
  }
  TestServer server(test_limits(), echo, {}, std::nullopt, "[::1]:0");
  CHECK(server.server().bound_address().rfind("[::1]:", 0) == 0);
  auto client = Client::tcp6(server.port());
  REQUIRE(client.has_value());
  REQUIRE(client->send(get("/v6")));
  const auto reply = client->read_reply();
  REQUIRE(reply.has_value());
  CHECK(nlohmann::json::parse(reply->body)["peer"] == "::1");
}

TEST_CASE("http server: a header of 8 KiB is served and one of 8 KiB + 1 is refused 431",
          "[serve][http]") {
  TestServer server(test_limits());
  const auto request_of_size = [](std::size_t size) {
    const std::string start = "GET / HTTP/1.1\r\nHost: test\r\nX-Pad: ";
    const std::string end = "\r\n\r\n";
    return start + std::string(size - start.size() - end.size(), 'a') + end;
  };
  {
    auto client = server.client();
    REQUIRE(client.send(request_of_size(8 * 1024)));
    const auto reply = client.read_reply();
    REQUIRE(reply.has_value());
    CHECK(reply->status == 200);
  }
  auto client = server.client();
  REQUIRE(client.send(request_of_size(8 * 1024 + 1)));
  require_refusal(client.read_reply(), 431, "headers_too_large");
  CHECK(client.closed_within(5s));
}

TEST_CASE("http server: a Content-Length over 16 KiB is refused 413 before the body is sent",
          "[serve][http]") {
  auto limits = test_limits();
  limits.body_timeout = 30s;
  TestServer server(limits);
  {
    auto client = server.client();
    REQUIRE(client.send(post(std::string(16 * 1024, 'b'))));
    const auto reply = client.read_reply();
    REQUIRE(reply.has_value());
    CHECK(reply->status == 200);
    CHECK(nlohmann::json::parse(reply->body)["body_bytes"] == 16 * 1024);
  }
  auto client = server.client();
  const auto started = Clock::now();
  REQUIRE(client.send("POST /p HTTP/1.1\r\nHost: test\r\nContent-Length: 16385\r\n\r\n"));
  require_refusal(client.read_reply(10s), 413, "body_too_large");
  // Answered long before the body timeout: the server did not wait for the body.
  CHECK(Clock::now() - started < 10s);
  CHECK(client.closed_within(5s));
}

TEST_CASE("http server: a chunked body is refused 411 length_required", "[serve][http]") {
  TestServer server(test_limits());
  auto client = server.client();
  REQUIRE(
      client.send("POST /p HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: "
                  "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
  require_refusal(client.read_reply(), 411, "length_required");
  CHECK(client.closed_within(5s));
}

TEST_CASE("http server: a repeated Content-Length or Authorization or Host is refused 400",
          "[serve][http]") {
  TestServer server(test_limits());
  for (const std::string extra :
       {"Content-Length: 5\r\nContent-Length: 5\r\n", "Content-Length: 5\r\nContent-Length: 6\r\n",
        "Content-Length: 5, 5\r\n",
        "Content-Length: 5\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n",
        "Content-Length: 5\r\nHost: other\r\n"}) {
    auto client = server.client();
    REQUIRE(client.send("POST /p HTTP/1.1\r\nHost: test\r\n" + extra + "\r\nhello"));
    require_refusal(client.read_reply(), 400, "bad_request");
  }
}

TEST_CASE("http server: a garbage request line is refused 400 without echoing it",
          "[serve][http]") {
  TestServer server(test_limits());
  auto client = server.client();
  REQUIRE(client.send("HELLO <script>evil</script>\r\n\r\n"));
  const auto reply = client.read_reply();
  require_refusal(reply, 400, "bad_request");
  CHECK(reply->body.find("evil") == std::string::npos);
  CHECK(client.closed_within(5s));
}

TEST_CASE("http server: half a header is answered 408 and closed after the header timeout",
          "[serve][http]") {
  auto limits = test_limits();
  limits.header_timeout = 300ms;
  TestServer server(limits);
  auto client = server.client();
  const auto started = Clock::now();
  REQUIRE(client.send("GET / HTTP/1.1\r\nHost: te"));
  require_refusal(client.read_reply(10s), 408, "request_timeout");
  CHECK(Clock::now() - started >= 250ms);
  CHECK(client.closed_within(5s));
}

TEST_CASE(
    "http server: a header that starts late and then trickles is cut off at the header timeout "
    "from the connection's start",
    "[serve][http]") {
  auto limits = test_limits();
  limits.header_timeout = 400ms;
  TestServer server(limits);
  const auto started = Clock::now();
  auto client = server.client();
  // The first byte at 0.9 x header_timeout, then a byte every 40 ms: the header never ends.
  std::this_thread::sleep_for(360ms);
  const std::string header = "GET / HTTP/1.1\r\nHost: test\r\nX-Slow: " + std::string(200, 's');
  const auto answered = trickle_until_answered(
      client.fd(), [&](char c) { (void)::send(client.fd(), &c, 1, MSG_NOSIGNAL); }, header, 40ms,
      5s);
  REQUIRE(answered.has_value());
  CHECK(*answered - started >= 360ms);
  CHECK(*answered - started < 640ms);
  CHECK(client.closed_within(5s));
}

TEST_CASE("http server: over TLS the handshake and the header together get one header timeout",
          "[serve][tls]") {
  TempDir dir;
  const std::string key = dir / "key.pem";
  const std::string cert = dir / "cert.pem";
  make_certificate(cert, key);
  auto limits = test_limits();
  limits.header_timeout = 500ms;
  TestServer server(limits, echo, {}, TlsFiles{cert, key});
  // A write to a connection the server has closed must fail, not kill the test.
  ::signal(SIGPIPE, SIG_IGN);
  const std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context(SSL_CTX_new(TLS_client_method()),
                                                                  SSL_CTX_free);
  REQUIRE(context != nullptr);
  // TLS 1.2: no session tickets after the handshake, so anything the server sends from then on
  // is its answer or its close.
  REQUIRE(SSL_CTX_set_max_proto_version(context.get(), TLS1_2_VERSION) == 1);
  const auto started = Clock::now();
  auto client = server.client();
  // The handshake at 0.5 x header_timeout, the first byte at 0.8 x, then a byte every 40 ms.
  std::this_thread::sleep_for(250ms);
  const std::unique_ptr<SSL, decltype(&SSL_free)> tls(SSL_new(context.get()), SSL_free);
  REQUIRE(tls != nullptr);
  REQUIRE(SSL_set_fd(tls.get(), client.fd()) == 1);
  REQUIRE(SSL_connect(tls.get()) == 1);
  std::this_thread::sleep_until(started + 400ms);
  const std::string header = "GET / HTTP/1.1\r\nHost: test\r\nX-Slow: " + std::string(200, 's');
  const auto answered = trickle_until_answered(
      client.fd(), [&](char c) { (void)SSL_write(tls.get(), &c, 1); }, header, 40ms, 5s);
  REQUIRE(answered.has_value());
  CHECK(*answered - started >= 450ms);
  CHECK(*answered - started < 800ms);
}

TEST_CASE("http server: a body that stops coming is answered 408 after the body timeout",
          "[serve][http]") {
  auto limits = test_limits();
  limits.body_timeout = 300ms;
  TestServer server(limits);
  auto client = server.client();
  const auto started = Clock::now();
  REQUIRE(client.send("POST /p HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nabc"));
  require_refusal(client.read_reply(10s), 408, "request_timeout");
  CHECK(Clock::now() - started >= 250ms);
  CHECK(client.closed_within(5s));
}

TEST_CASE("http server: an idle kept-alive connection is closed after the idle timeout",
          "[serve][http]") {
  auto limits = test_limits();
  limits.idle_timeout = 300ms;
  TestServer server(limits);
  auto client = server.client();
  REQUIRE(client.send(get("/")));
  REQUIRE(client.read_reply().has_value());
  const auto started = Clock::now();
  CHECK(client.closed_within(10s));
  CHECK(Clock::now() - started >= 250ms);
  CHECK(client.buffer().empty());
  CHECK(server.wait_for_open_connections(0, 5s));
}

TEST_CASE("http server: 200 slowloris connections hold only themselves and are closed in time",
          "[serve][http][slow]") {
  auto limits = test_limits();
  limits.header_timeout = 2s;
  limits.max_connections = 1024;
  TestServer server(limits);
  constexpr int kSlow = 200;
  std::vector<Client> slow;
  slow.reserve(kSlow);
  for (int i = 0; i < kSlow; ++i) slow.push_back(server.client());
  const std::string dribble = "GET / HTTP/1.1\r\nHost: test\r\nX-Slow: " + std::string(200, 's');
  std::vector<bool> closed(kSlow, false);
  std::vector<bool> answered_408(kSlow, false);
  const auto started = Clock::now();
  std::size_t step = 0;
  std::optional<Clock::duration> fresh_took;
  int closed_count = 0;
  Clock::duration first_close{};
  while (closed_count < kSlow && Clock::now() - started < 20s) {
    for (int i = 0; i < kSlow; ++i) {
      if (closed[i]) continue;
      if (step < dribble.size()) {
        (void)::send(slow[i].fd(), &dribble[step], 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      }
      pollfd p{slow[i].fd(), POLLIN, 0};
      if (::poll(&p, 1, 0) > 0) {
        char chunk[4096];
        const ssize_t n = ::recv(slow[i].fd(), chunk, sizeof chunk, MSG_DONTWAIT);
        if (n > 0) {
          slow[i].buffer().append(chunk, static_cast<std::size_t>(n));
          if (slow[i].buffer().rfind("HTTP/1.1 408 ", 0) == 0) answered_408[i] = true;
        } else {
          if (closed_count == 0) first_close = Clock::now() - started;
          closed[i] = true;
          ++closed_count;
        }
      }
    }
    ++step;
    if (step == 5 && !fresh_took) {
      // Half a second in, every slow connection open: a fresh request is still answered at once.
      const auto fresh_started = Clock::now();
      auto fresh = server.client();
      REQUIRE(fresh.send(get("/fresh")));
      const auto reply = fresh.read_reply();
      fresh_took = Clock::now() - fresh_started;
      REQUIRE(reply.has_value());
      CHECK(reply->status == 200);
    }
    std::this_thread::sleep_for(100ms);
  }
  REQUIRE(fresh_took.has_value());
  CHECK(*fresh_took < 1s);
  CHECK(closed_count == kSlow);
  CHECK(first_close >= 1500ms);
  CHECK(std::count(answered_408.begin(), answered_408.end(), true) == kSlow);
  CHECK(server.wait_for_open_connections(0, 5s));
}

TEST_CASE("http server: a connection over max_connections is answered 503 and not counted",
          "[serve][http]") {
  auto limits = test_limits();
  limits.max_connections = 3;
  TestServer server(limits);
  std::vector<Client> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(server.client());
    REQUIRE(clients.back().send(get("/")));
    REQUIRE(clients.back().read_reply().has_value());
  }
  CHECK(server.server().open_connections() == 3);
  {
    auto extra = server.client();
    REQUIRE(extra.send(get("/")));
    require_refusal(extra.read_reply(), 503, "too_many_connections");
    CHECK(extra.closed_within(5s));
  }
  CHECK(server.server().open_connections() == 3);
  clients.erase(clients.begin());
  REQUIRE(server.wait_for_open_connections(2, 5s));
  auto next = server.client();
  REQUIRE(next.send(get("/")));
  const auto reply = next.read_reply();
  REQUIRE(reply.has_value());
  CHECK(reply->status == 200);
}

TEST_CASE("http server: a handler that throws is answered 500 internal without the exception text",
          "[serve][http]") {
  TestServer server(test_limits(), [](const HttpRequest&) -> HttpReply {
    throw std::runtime_error("database password is hunter2");
  });
  auto client = server.client();
  REQUIRE(client.send(get("/")));
  const auto reply = client.read_reply();
  REQUIRE(reply.has_value());
  CHECK(reply->status == 500);
  CHECK(reply->error_code() == "internal");
  CHECK(reply->body.find("hunter2") == std::string::npos);
  // The connection survives: the failure was the handler's, not the request's.
  REQUIRE(client.send(get("/")));
  CHECK(client.read_reply().has_value());
}

TEST_CASE("http server: a handler's header that could split the reply is dropped",
          "[serve][http]") {
  TestServer server(test_limits(), [](const HttpRequest&) {
    HttpReply reply;
    reply.body = "{}";
    reply.headers = {{"Retry-After", "7"},
                     {"X-Evil", "a\r\nSet-Cookie: x=1"},
                     {"Content-Length", "999"},
                     {"Server", "veribind/1.0"}};
    return reply;
  });
  auto client = server.client();
  REQUIRE(client.send(get("/")));
  const auto reply = client.read_reply();
  REQUIRE(reply.has_value());
  CHECK(reply->header("retry-after") == "7");
  CHECK(reply->headers.count("x-evil") == 0);
  CHECK(reply->headers.count("set-cookie") == 0);
  CHECK(reply->headers.count("server") == 0);
  CHECK(reply->body == "{}");
}

TEST_CASE("http server: the completion hook gets the reply's route and a positive latency",
          "[serve][http]") {
  std::mutex mutex;
  std::vector<std::tuple<std::string, std::string, std::string, int, std::chrono::nanoseconds>>
      seen;
  const auto hook = [&](const Completed& done) {
    std::lock_guard lock(mutex);
    seen.emplace_back(std::string(done.method), done.reply.route, done.reply.reason,
                      done.reply.status, done.latency);
  };
  const auto handler = [](const HttpRequest& request) {
    HttpReply reply = echo(request);
    reply.route = "/v1/things/{id}";
    return reply;
  };
  TestServer server(test_limits(), handler, hook);
  // The hook runs after the write completes, on a pool thread: wait for each before the next, so
  // that the two are seen in order.
  const auto wait_for_seen = [&](std::size_t count) {
    const auto deadline = Clock::now() + 5s;
    while (Clock::now() < deadline) {
      {
        std::lock_guard lock(mutex);
        if (seen.size() >= count) return;
      }
      std::this_thread::sleep_for(2ms);
    }
  };
  {
    auto client = server.client();
    REQUIRE(client.send(get("/v1/things/42")));
    REQUIRE(client.read_reply().has_value());
  }
  wait_for_seen(1);
  {
    auto client = server.client();
    REQUIRE(client.send("NOT HTTP\r\n\r\n"));
    REQUIRE(client.read_reply().has_value());
  }
  wait_for_seen(2);
  std::lock_guard lock(mutex);
  REQUIRE(seen.size() == 2);
  CHECK(std::get<0>(seen[0]) == "GET");
  CHECK(std::get<1>(seen[0]) == "/v1/things/{id}");
  CHECK(std::get<3>(seen[0]) == 200);
  CHECK(std::get<4>(seen[0]).count() > 0);
  CHECK(std::get<0>(seen[1]).empty());
  CHECK(std::get<1>(seen[1]) == "-");
  CHECK(std::get<2>(seen[1]) == "bad_request");
  CHECK(std::get<3>(seen[1]) == 400);
}

TEST_CASE(
    "http server: stop() lets a request in flight finish and closes idle ones and then run() "
    "returns",
    "[serve][http]") {
  std::atomic<bool> entered{false};
  TestServer server(test_limits(), [&](const HttpRequest& request) {
    if (request.target == "/slow") {
      entered = true;
      std::this_thread::sleep_for(500ms);
    }
    return echo(request);
  });
  auto idle = server.client();
  REQUIRE(idle.send(get("/")));
  REQUIRE(idle.read_reply().has_value());
  auto busy = server.client();
  REQUIRE(busy.send(get("/slow")));
  const auto deadline = Clock::now() + 5s;
  while (!entered && Clock::now() < deadline) std::this_thread::sleep_for(2ms);
  REQUIRE(entered);
  server.server().stop(10s);
  server.server().stop(10s);  // a second call does nothing
  CHECK(idle.closed_within(5s));
  const auto reply = busy.read_reply();
  REQUIRE(reply.has_value());
  CHECK(reply->status == 200);
  CHECK(reply->header("connection") == "close");
  CHECK(server.wait_for_returned(5s));
  // The acceptor is closed: nobody new is served.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(server.port());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0);
  ::close(fd);
}

TEST_CASE("http server: stop() closes a body still arriving when the drain time is up",
          "[serve][http]") {
  auto limits = test_limits();
  limits.body_timeout = 30s;
  TestServer server(limits);
  auto client = server.client();
  // The 100 Continue shows that the server has the whole header and waits for the body.
  REQUIRE(client.send(
      "POST /p HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n"));
  REQUIRE(client.read_through("\r\n\r\n").has_value());
  REQUIRE(client.send("abc"));
  const auto started = Clock::now();
  server.server().stop(200ms);
  CHECK(client.closed_within(10s));
  CHECK(Clock::now() - started >= 150ms);
  CHECK(server.wait_for_returned(10s));
  CHECK(Clock::now() - started < 10s);
}

TEST_CASE(
    "http server: stop() closes at once a connection whose header is still arriving and still "
    "answers a request whose handler runs",
    "[serve][http]") {
  auto limits = test_limits();
  limits.header_timeout = 10s;
  std::atomic<bool> entered{false};
  TestServer server(limits, [&](const HttpRequest& request) {
    if (request.target == "/slow") {
      entered = true;
      std::this_thread::sleep_for(300ms);
    }
    return echo(request);
  });
  auto half = server.client();
  REQUIRE(half.send("GET / HTTP/1.1\r\nHost: te"));
  auto busy = server.client();
  REQUIRE(busy.send(get("/slow")));
  const auto deadline = Clock::now() + 5s;
  while (!entered && Clock::now() < deadline) std::this_thread::sleep_for(2ms);
  REQUIRE(entered);
  REQUIRE(server.wait_for_open_connections(2, 5s));
  const auto started = Clock::now();
  server.server().stop(5s);
  CHECK(half.closed_within(1500ms));
  const auto reply = busy.read_reply();
  REQUIRE(reply.has_value());
  CHECK(reply->status == 200);
  CHECK(reply->header("connection") == "close");
  CHECK(server.wait_for_returned(1500ms));
  CHECK(Clock::now() - started < 1500ms);
}

TEST_CASE("http server: stop() before run() makes run() return at once", "[serve][http]") {
  auto address = ListenAddress::parse("127.0.0.1:0");
  REQUIRE(address.is_ok());
  auto server = HttpServer::create(*address, test_limits(), std::nullopt, echo, {});
  REQUIRE(server.is_ok());
  (*server)->stop(1s);
  const auto started = Clock::now();
  (*server)->run();
  CHECK(Clock::now() - started < 1s);
}

TEST_CASE("http server: TLS 1.2 and 1.3 are served with the given certificate", "[serve][tls]") {
  TempDir dir;
  const std::string key = dir / "key.pem";
  const std::string cert = dir / "cert.pem";
  make_certificate(cert, key);
  TestServer server(test_limits(), echo, {}, TlsFiles{cert, key});
  CHECK(server.server().tls());
  for (const std::string version : {"-tls1_2", "-tls1_3"}) {
    const std::string request_file = dir / "request";
    std::ofstream(request_file)
        << "GET /secure HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
    const std::string command = "timeout 20 openssl s_client -quiet " + version +
                                " -connect 127.0.0.1:" + std::to_string(server.port()) + " < " +
                                request_file + " 2>/dev/null";
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    char chunk[4096];
    std::size_t n;
    while ((n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) output.append(chunk, n);
    ::pclose(pipe);
    INFO(version << ": " << output);
    CHECK(output.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(output.find("\"target\":\"/secure\"") != std::string::npos);
  }
}

TEST_CASE(
    "http server: a TLS key file readable by others is refused and a missing one is unavailable",
    "[serve][tls]") {
  TempDir dir;
  const std::string key = dir / "key.pem";
  const std::string cert = dir / "cert.pem";
  const std::string make =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
      "-nodes -days 1 -subj /CN=localhost -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  REQUIRE(std::system(make.c_str()) == 0);
  auto address = ListenAddress::parse("127.0.0.1:0");
  REQUIRE(address.is_ok());
  REQUIRE(::chmod(key.c_str(), 0640) == 0);
  auto insecure = HttpServer::create(*address, test_limits(), TlsFiles{cert, key}, echo, {});
  CHECK(insecure.code() == ErrorCode::kKeyFileInsecure);
  auto missing =
      HttpServer::create(*address, test_limits(), TlsFiles{cert, dir / "nope.pem"}, echo, {});
  CHECK(missing.code() == ErrorCode::kUnavailable);
  REQUIRE(::chmod(key.c_str(), 0600) == 0);
  auto no_cert =
      HttpServer::create(*address, test_limits(), TlsFiles{dir / "nope.pem", key}, echo, {});
  CHECK(no_cert.code() == ErrorCode::kUnavailable);
}

TEST_CASE("http server: a unix socket is served with mode 0660 and peer unix", "[serve][http]") {
  TempDir dir;
  const std::string path = dir / "api.sock";
  {
    // A stale socket file, as a crashed server leaves it, is replaced.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path.copy(address.sun_path, sizeof address.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    ::close(fd);
  }
  TestServer server(test_limits(), echo, {}, std::nullopt, "unix:" + path);
  CHECK(server.server().bound_address() == "unix:" + path);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0660);
  auto client = Client::unix_socket(path);
  REQUIRE(client.send(get("/over-unix")));
  const auto reply = client.read_reply();
  REQUIRE(reply.has_value());
  CHECK(nlohmann::json::parse(reply->body)["peer"] == "unix");
  // A second server on the same path refuses: the socket is in use.
  auto address = ListenAddress::parse("unix:" + path);
  REQUIRE(address.is_ok());
  auto second = HttpServer::create(*address, test_limits(), std::nullopt, echo, {});
  CHECK(second.code() == ErrorCode::kUnavailable);
}

TEST_CASE("http server: a unix socket path that is not a socket is refused and left alone",
          "[serve][http]") {
  TempDir dir;
  const std::string path = dir / "not-a-socket";
  std::ofstream(path) << "keep me";
  auto address = ListenAddress::parse("unix:" + path);
  REQUIRE(address.is_ok());
  auto server = HttpServer::create(*address, test_limits(), std::nullopt, echo, {});
  CHECK(server.code() == ErrorCode::kUnavailable);
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  CHECK(text == "keep me");
}

TEST_CASE("http server: an address in use is refused unavailable", "[serve][http]") {
  TestServer first(test_limits());
  auto address = ListenAddress::parse("127.0.0.1:" + std::to_string(first.port()));
  REQUIRE(address.is_ok());
  auto second = HttpServer::create(*address, test_limits(), std::nullopt, echo, {});
  CHECK(second.code() == ErrorCode::kUnavailable);
}

TEST_CASE("listen address: IP literals with a port and absolute unix paths are accepted",
          "[serve][address]") {
  const auto v4 = ListenAddress::parse("127.0.0.1:8080");
  REQUIRE(v4.is_ok());
  CHECK(v4->host == "127.0.0.1");
  CHECK(v4->port == 8080);
  CHECK(!v4->unix_socket);
  CHECK(v4->loopback());
  const auto v6 = ListenAddress::parse("[::1]:443");
  REQUIRE(v6.is_ok());
  CHECK(v6->host == "::1");
  CHECK(v6->port == 443);
  CHECK(v6->loopback());
  const auto any = ListenAddress::parse("0.0.0.0:0");
  REQUIRE(any.is_ok());
  CHECK(!any->loopback());
  const auto unix_path = ListenAddress::parse("unix:/run/veribind.sock");
  REQUIRE(unix_path.is_ok());
  CHECK(unix_path->unix_socket);
  CHECK(unix_path->host == "/run/veribind.sock");
  CHECK(unix_path->loopback());
  CHECK(ListenAddress::parse("127.8.9.10:1")->loopback());
  CHECK(!ListenAddress::parse("10.0.0.1:1")->loopback());
  CHECK(!ListenAddress::parse("[::]:1")->loopback());
  CHECK(!ListenAddress::parse("[2001:db8::1]:1")->loopback());
}

TEST_CASE("listen address: names and missing or bad ports and relative paths are refused",
          "[serve][address]") {
  for (const std::string& bad : std::vector<std::string>{
           "", "localhost:8080", "example.com:80", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
           "127.0.0.1:80a", "127.0.0.1:-1", "::1:8080", "[::1]8080", "[::1]", "[127.0.0.1]:80",
           "256.1.1.1:80", "01.2.3.4:80", ":80", "unix:", "unix:relative/path",
           "unix:/" + std::string(200, 'a')}) {
    INFO(bad);
    const auto parsed = ListenAddress::parse(bad);
    CHECK(parsed.code() == ErrorCode::kInvalidArgument);
    CHECK(parsed.status().message().rfind("listen address", 0) == 0);
  }
}

TEST_CASE("server limits: the defaults are valid and each bad value names its field",
          "[serve][limits]") {
  CHECK(ServerLimits{}.validate().is_ok());
  const auto refused = [](const auto& change, const std::string& field) {
    ServerLimits limits;
    change(limits);
    const auto status = limits.validate();
    INFO(field);
    CHECK(status.code() == ErrorCode::kInvalidConfig);
    CHECK(status.message().find(field) != std::string::npos);
  };
  refused([](ServerLimits& l) { l.header_bytes = 1023; }, "header_bytes");
  refused([](ServerLimits& l) { l.body_bytes = 0; }, "body_bytes");
  refused([](ServerLimits& l) { l.header_timeout = 0ms; }, "header_timeout");
  refused([](ServerLimits& l) { l.body_timeout = 0ms; }, "body_timeout");
  refused([](ServerLimits& l) { l.write_timeout = -1ms; }, "write_timeout");
  refused([](ServerLimits& l) { l.idle_timeout = 0ms; }, "idle_timeout");
  refused([](ServerLimits& l) { l.max_connections = 0; }, "max_connections");
  refused([](ServerLimits& l) { l.threads = 0; }, "threads");
  refused([](ServerLimits& l) { l.threads = 257; }, "threads");
  ServerLimits bad;
  bad.max_connections = 0;
  auto address = ListenAddress::parse("127.0.0.1:0");
  REQUIRE(address.is_ok());
  CHECK(HttpServer::create(*address, bad, std::nullopt, echo, {}).code() ==
        ErrorCode::kInvalidConfig);
}

// Not run by ctest: serves a tiny JSON reply on VERIBIND_HTTP_BENCH_PORT (default 18080) for
// VERIBIND_HTTP_BENCH_SECONDS (default 10), for a load generator such as wrk to measure the
// transport's own cost.
TEST_CASE("http server: serves a load generator for a while", "[.bench]") {
  const char* port = std::getenv("VERIBIND_HTTP_BENCH_PORT");
  const char* seconds = std::getenv("VERIBIND_HTTP_BENCH_SECONDS");
  // A directory holding cert.pem and key.pem serves TLS instead.
  const char* tls_dir = std::getenv("VERIBIND_HTTP_BENCH_TLS_DIR");
  std::optional<TlsFiles> tls;
  if (tls_dir)
    tls = TlsFiles{std::string(tls_dir) + "/cert.pem", std::string(tls_dir) + "/key.pem"};
  auto address = ListenAddress::parse(std::string("127.0.0.1:") + (port ? port : "18080"));
  REQUIRE(address.is_ok());
  ServerLimits limits;
  auto server = HttpServer::create(*address, limits, tls,
                                   [](const HttpRequest&) {
                                     HttpReply reply;
                                     reply.body = "{\"ok\":true}";
                                     return reply;
                                   },
                                   {});
  REQUIRE(server.is_ok());
  std::thread runner([&] { (*server)->run(); });
  std::this_thread::sleep_for(std::chrono::seconds(seconds ? std::atoi(seconds) : 10));
  (*server)->stop(1s);
  runner.join();
}
