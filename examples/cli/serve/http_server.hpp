// The HTTP/1.1 transport of `veribind serve`, over Boost.Beast: it accepts connections, reads one
// request at a time within its limits and timeouts, hands each parsed request to the Handler on a
// thread of its fixed pool, and writes the reply. Nothing here knows the API: a handler sees only
// an HttpRequest and returns an HttpReply.
//
// Each connection is given, when accepted, to one pool thread (round robin), and all its
// requests run there. A handler that blocks (a slow store) therefore delays the other
// connections on its thread too, and only those: size ServerLimits::threads for the store's
// latency, not only for the CPUs.
//
// Hardening (each has a test in tests/serve/http_server_test.cpp):
// - the request line with its headers is at most ServerLimits::header_bytes (431), the body at
//   most body_bytes (413, refused from Content-Length before any of it is read); chunked bodies
//   are refused (411: the API takes only bodies of a stated length);
// - every read and write has a deadline: the whole header within header_timeout (counted from the
//   accept for a connection's first request, TLS handshake included, and from its first byte for
//   a later one), the body within body_timeout, the reply within write_timeout, and an idle
//   keep-alive connection is closed after idle_timeout, so a slow client (slowloris) only holds
//   its own connection, and for no longer than that;
// - at most max_connections at once: one more is answered 503 and closed;
// - a repeated Content-Length (or one given as a list), Authorization or Host is refused 400
//   rather than reconciled (two readings of one request are how requests are smuggled);
//   Expect: 100-continue is answered before the body is read;
// - a reply's extra headers that are malformed or are the transport's own (Content-Length,
//   Connection, Cache-Control, Server, ...) are dropped: no handler can split a reply;
// - the transport's own refusals use the API's error shape, {"error":{"code":..,"message":..}},
//   with the codes below, and never echo what the client sent.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "veribind/result.hpp"

namespace veribind::serve {

// A parsed request, as a handler sees it. Header names are matched case-insensitively by the
// transport; a header sent twice is joined with ", " (as HTTP allows) except Authorization,
// Content-Length and Host, which the transport refuses (400) when repeated.
struct HttpRequest {
  std::string method;         // "GET", "POST", ...
  std::string target;         // as sent: path and query
  std::string body;           // empty without one
  std::string authorization;  // the Authorization header, or empty
  std::string forwarded_for;  // X-Forwarded-For, or empty
  std::string content_type;   // Content-Type, or empty
  std::string host;           // the Host header as sent (it may carry a port), or empty
  std::string peer;           // the client's address: "127.0.0.1", "::1"; "unix" on a socket file
};

// What a handler returns. `route`, `key_id` and `reason` are for the log line and the metrics
// only, never sent: the route pattern ("/v1/verifications/{id}/check", never the id), the API key
// that made the request, and why it was refused (a limit's name, an error code).
struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string route = "-";
  std::string key_id;
  std::string reason;
};

// The reply {"error":{"code":code,"message":message}} with `status`. `message` must hold nothing
// the client sent.
[[nodiscard]] HttpReply error_reply(int status, std::string_view code, std::string_view message);

// Called for every request, concurrently from the pool's threads. It must not throw: an exception
// that escapes is answered 500 {"error":{"code":"internal",...}} without its text, and so is a
// status outside 200..599. While it runs it holds its pool thread, and with it the other
// connections on that thread.
using Handler = std::function<HttpReply(const HttpRequest&)>;

// Called once per request answered (also for the transport's own refusals, with route "-"), after
// the reply was written or failed: the log line and the latency metrics. `method` is empty when
// the request line could not be read.
struct Completed {
  std::string_view method;
  const HttpReply& reply;
  std::chrono::nanoseconds latency;  // from the first byte of the request to the last of the reply
};
using CompletionHook = std::function<void(const Completed&)>;

struct ServerLimits {
  std::size_t header_bytes = 8 * 1024;  // request line and headers
  std::size_t body_bytes = 16 * 1024;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{10000};
  std::chrono::milliseconds write_timeout{10000};
  std::chrono::milliseconds idle_timeout{30000};  // between requests on a kept-alive connection
  std::size_t max_connections = 1024;
  int threads = 2;  // the fixed pool, one connection's requests on one thread (see above)

  // kInvalidConfig with the field named: every value must be > 0, header_bytes >= 1024,
  // threads <= 256.
  [[nodiscard]] Status validate() const;
};

// Where to listen: "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:8080", "unix:/run/veribind.sock".
// Port 0 takes a free port (tests; see HttpServer::bound_address()).
struct ListenAddress {
  bool unix_socket = false;
  std::string host;  // an IP address literal (no names are resolved), or the socket's path
  std::uint16_t port = 0;

  // kInvalidArgument "listen address ..." for anything else.
  [[nodiscard]] static Result<ListenAddress> parse(std::string_view text);
  // True for 127.0.0.0/8, ::1 and unix sockets.
  [[nodiscard]] bool loopback() const noexcept;
};

// TLS, optional: PEM files. TLS 1.2 and later only.
struct TlsFiles {
  std::string cert_file;  // the chain, leaf first
  std::string key_file;   // must not be readable by group or others (kKeyFileInsecure)
};

class HttpServer {
 public:
  // Binds and listens (but serves nothing until run()). Errors: kInvalidConfig (limits),
  // kUnavailable "cannot listen on ..." (address in use, permission), kKeyFileInsecure /
  // kUnavailable for the TLS files. A unix socket's file is created with mode 0660, replacing a
  // stale socket file but never any other kind of file.
  static Result<std::unique_ptr<HttpServer>> create(const ListenAddress& address,
                                                    const ServerLimits& limits,
                                                    const std::optional<TlsFiles>& tls,
                                                    Handler handler, CompletionHook on_completed);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // "127.0.0.1:40123", "[::1]:8080" or "unix:/path": with the port actually bound.
  [[nodiscard]] std::string bound_address() const;
  [[nodiscard]] bool tls() const noexcept;

  // Serves on the pool until stop() has finished; returns then. Call once.
  void run();
  // Thread-safe, and safe to call before or during run(): stops accepting at once, lets requests
  // in flight (those whose header has fully arrived) finish and their replies be written (at most
  // `drain`), closes at once idle connections and those whose header is still arriving, then
  // makes run() return. Further calls do nothing. When `drain` is up, connections still reading or
  // writing are closed; a handler still running is not interrupted, so run() returns when the
  // last one does. The server may be destroyed once run() has returned (or was never called).
  void stop(std::chrono::milliseconds drain);
  // Connections open now (for /metrics and tests).
  [[nodiscard]] std::size_t open_connections() const noexcept;

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The transport's own error codes (HttpReply::reason and the reply's error.code).
inline constexpr std::string_view kErrorBadRequest = "bad_request";             // 400
inline constexpr std::string_view kErrorLengthRequired = "length_required";     // 411 (chunked)
inline constexpr std::string_view kErrorBodyTooLarge = "body_too_large";        // 413
inline constexpr std::string_view kErrorHeadersTooLarge = "headers_too_large";  // 431
inline constexpr std::string_view kErrorRequestTimeout = "request_timeout";     // 408
inline constexpr std::string_view kErrorTooManyConnections = "too_many_connections";  // 503
inline constexpr std::string_view kErrorInternal = "internal";                        // 500

}  // namespace veribind::serve
