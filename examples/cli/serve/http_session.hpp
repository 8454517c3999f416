// One connection of the HTTP transport, for any stream: a TCP or unix socket, with or without TLS
// (as in Beast's advanced_server_flex). A session lives on one pool thread's io_context, which
// that thread alone runs, so its completions are serialized without a strand or a lock; the
// handler runs inline on that thread. Other threads (stop()) reach it only by posting.
//
// Reads keep their own deadline instead of beast::tcp_stream's: that one closes the socket when
// it expires, and a request that has partly arrived should still be answered 408. A read deadline
// cancels the read; a write deadline closes the socket.
//
// The header's deadline is absolute: a connection's first request has header_timeout from the
// accept for the TLS handshake, its first byte and its whole header together; a later request
// has it from its first byte. A deadline re-armed per phase would let a slow client hold its
// connection for a multiple of header_timeout.
#pragma once

#include <algorithm>
#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "serve/http_server.hpp"
#include "serve/http_wire.hpp"

namespace veribind::serve::wire {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using boost::system::error_code;

template <typename T>
struct IsTls : std::false_type {};
template <typename T>
struct IsTls<beast::ssl_stream<T>> : std::true_type {};

// The deadline of the best-effort replies (408, 503) and of the lingering close after a reply
// that ends a connection.
inline constexpr std::chrono::milliseconds kShortDeadline{1000};
// A closing connection reads and drops at most this much of what the client still sends, so
// that the kernel does not answer it with a reset that could destroy the reply in flight.
inline constexpr std::size_t kMaxLingerBytes = 256 * 1024;
inline constexpr std::size_t kReadSize = 4096;

template <typename Stream>
class Session final : public Connection, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = IsTls<Stream>::value;
  using Clock = std::chrono::steady_clock;

  // `refuse`: the connection is over max_connections; it is told 503 and closed.
  template <typename... StreamArgs>
  Session(ServerState& server, std::string peer, bool refuse, StreamArgs&&... stream_args)
      : server_(server),
        stream_(std::forward<StreamArgs>(stream_args)...),
        deadline_(stream_.get_executor()),
        refuse_(refuse),
        started_(Clock::now()),
        header_deadline_(started_ + server_.limits().header_timeout) {
    request_.peer = std::move(peer);
  }
  ~Session() override {
    if (refuse_) {
      server_.refusing.fetch_sub(1, std::memory_order_relaxed);
    } else {
      server_.open.fetch_sub(1, std::memory_order_relaxed);
    }
    server_.remove(this);
  }

  void start() {
    server_.add(this->shared_from_this());
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->begin(); });
  }

  void close_unless_answering() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (!self->answering_) self->close_now();
    });
  }
  void close() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->close_now(); });
  }

 private:
  auto& socket() { return beast::get_lowest_layer(stream_); }
  const ServerLimits& limits() const { return server_.limits(); }

  void begin() {
    if (server_.stopping()) return close_now();
    if constexpr (kTls) {
      // A connection that is only to be told 503 gets no more time than that reply does.
      if (refuse_) {
        header_deadline_ = std::min(header_deadline_, started_ + kShortDeadline);
      }
      arm_until(header_deadline_, true);
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](error_code ec) {
                                self->disarm();
                                if (ec || self->closed_) return self->close_now();
                                self->after_handshake();
                              });
    } else {
      after_handshake();
    }
  }

  void after_handshake() {
    if (refuse_) {
      return refuse(503, kErrorTooManyConnections, "the server has too many connections open",
                    kShortDeadline);
    }
    wait_for_request();
  }

  // Between requests: the next one's first byte must come within idle_timeout. A connection's
  // first request, which has not shown it is a client yet, has only what is left of the header's
  // deadline.
  void wait_for_request() {
    request_.method.clear();
    answering_ = false;
    if (server_.stopping()) return close_now();
    if (buffer_.size() > 0) {  // pipelined
      begin_request();
      return read_header();
    }
    if (first_request_) {
      arm_until(header_deadline_, false);
    } else {
      arm(limits().idle_timeout, false);
    }
    stream_.async_read_some(buffer_.prepare(kReadSize),
                            [self = this->shared_from_this()](error_code ec, std::size_t n) {
                              self->disarm();
                              if (ec || self->closed_) return self->close_now();
                              self->begin_request();
                              self->buffer_.commit(n);
                              self->read_header();
                            });
  }

  // The request's first byte has arrived: its latency counts from here, and a kept-alive
  // connection's later request has header_timeout from here for its whole header.
  void begin_request() {
    started_ = Clock::now();
    if (!first_request_) header_deadline_ = started_ + limits().header_timeout;
  }

  void read_header() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits().header_bytes));
    parser_->body_limit(static_cast<std::uint64_t>(limits().body_bytes));
    // Most requests arrive whole in one read: parse what is here before waiting for more.
    header_size_ = 0;
    error_code ec;
    while (buffer_.size() > 0 && !parser_->is_header_done()) {
      const std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      header_size_ += used;
      if (ec || used == 0) break;
    }
    if (parser_->is_header_done()) return header_done();
    if (ec && ec != http::error::need_more) return read_failed(ec);
    arm_until(header_deadline_, false);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](error_code ec, std::size_t n) {
                              self->disarm();
                              if (ec) return self->read_failed(ec);
                              self->header_size_ += n;
                              self->header_done();
                            });
  }

  void header_done() {
    // From here on, stopping the server waits for this request (its body, its handler and its
    // reply) until the drain is up.
    answering_ = true;
    const auto& request = parser_->get();
    request_.method.assign(request.method_string());
    // The parser's own limit applies to the request line and the fields apart; the limit is on
    // both together.
    if (header_size_ > limits().header_bytes) {
      return refuse(431, kErrorHeadersTooLarge, "the request line and headers are too large");
    }
    if (request.count(http::field::transfer_encoding) > 0) {
      return refuse(411, kErrorLengthRequired, "a request body must have a Content-Length");
    }
    // Two readings of one request are how requests are smuggled past a proxy: a length given
    // twice (or as a list, which the parser would take if its values agree), two credentials, or
    // two hosts are refused rather than reconciled.
    if (request.count(http::field::content_length) > 1 ||
        request[http::field::content_length].find(',') != std::string_view::npos ||
        request.count(http::field::authorization) > 1 || request.count(http::field::host) > 1) {
      return refuse(400, kErrorBadRequest, "a header that may appear once appears twice");
    }
    if (parser_->is_done()) return answer();
    const auto expect = request[http::field::expect];
    if (!expect.empty() && beast::iequals(expect, "100-continue") && buffer_.size() == 0) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      arm(limits().write_timeout, true);
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = this->shared_from_this()](error_code ec, std::size_t) {
                         self->disarm();
                         if (ec || self->closed_) return self->close_now();
                         self->read_body();
                       });
      return;
    }
    read_body();
  }

  void read_body() {
    parser_->eager(true);
    error_code ec;
    while (buffer_.size() > 0 && !parser_->is_done()) {
      const std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec || used == 0) break;
    }
    if (parser_->is_done()) return answer();
    if (ec && ec != http::error::need_more) return read_failed(ec);
    arm(limits().body_timeout, false);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](error_code ec, std::size_t) {
                       self->disarm();
                       if (ec) return self->read_failed(ec);
                       self->answer();
                     });
  }

  void read_failed(error_code ec) {
    if (closed_) return close_now();
    if (timed_out_) {
      return refuse(408, kErrorRequestTimeout, "the request did not arrive in time",
                    kShortDeadline);
    }
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      return refuse(431, kErrorHeadersTooLarge, "the request line and headers are too large");
    }
    if (ec == http::error::body_limit) {
      return refuse(413, kErrorBodyTooLarge, "the request body is too large");
    }
    // The client went away or the socket failed: nobody to answer.
    if (ec.category() != http::make_error_code(http::error::need_more).category() ||
        ec == http::error::end_of_stream || ec == http::error::partial_message) {
      return close_now();
    }
    refuse(400, kErrorBadRequest, "the request is not valid HTTP/1.1");
  }

  void answer() {
    auto& request = parser_->get();
    request_.target.assign(request.target());
    request_.body.swap(request.body());
    request_.authorization.assign(request[http::field::authorization]);
    request_.host.assign(request[http::field::host]);
    join(request_.forwarded_for, request, std::string_view("X-Forwarded-For"));
    join(request_.content_type, request, http::field::content_type);
    version_ = request.version();
    keep_alive_ = request.keep_alive();
    bool failed = false;
    try {
      reply_ = server_.handler()(request_);
    } catch (...) {
      failed = true;
    }
    if (failed || !sendable_status(reply_.status)) {
      reply_ = error_reply(500, kErrorInternal, "the server failed to answer the request");
    }
    request_.body.clear();
    send(keep_alive_ && !server_.stopping(), limits().write_timeout);
  }

  // A header sent more than once is one value, its copies joined with ", " (RFC 9110 5.3).
  template <typename Request, typename Name>
  static void join(std::string& out, const Request& request, Name field) {
    out.clear();
    for (auto [it, end] = request.equal_range(field); it != end; ++it) {
      if (!out.empty()) out += ", ";
      out.append(it->value().data(), it->value().size());
    }
  }

  void refuse(int status, std::string_view code, std::string_view message,
              std::chrono::milliseconds deadline = std::chrono::milliseconds::max()) {
    reply_ = error_reply(status, code, message);
    if (parser_) version_ = parser_->get().version() == 10 ? 10 : 11;
    send(false, std::min(deadline, limits().write_timeout));
  }

  void send(bool keep_alive, std::chrono::milliseconds deadline) {
    answering_ = true;
    keep_alive_ = keep_alive;
    write_head(head_, reply_, keep_alive_, version_);
    const std::array<net::const_buffer, 2> buffers{net::buffer(head_), net::buffer(reply_.body)};
    arm(deadline, true);
    net::async_write(stream_, buffers,
                     [self = this->shared_from_this()](error_code ec, std::size_t) {
                       self->disarm();
                       self->completed();
                       if (ec || self->closed_) return self->close_now();
                       if (!self->keep_alive_) return self->close_gracefully();
                       self->first_request_ = false;
                       self->wait_for_request();
                     });
  }

  void completed() {
    const auto& hook = server_.on_completed();
    if (!hook) return;
    try {
      hook(Completed{request_.method, reply_, Clock::now() - started_});
    } catch (...) {
      // The log line is lost; the connection is not.
    }
  }

  // Ends the connection after its last reply without resetting it: TLS says close_notify; a
  // plain socket stops sending and reads what the client still sends, for a short while.
  void close_gracefully() {
    parser_.reset();
    arm(kShortDeadline, true);
    if constexpr (kTls) {
      stream_.async_shutdown([self = this->shared_from_this()](error_code) { self->close_now(); });
    } else {
      error_code ignored;
      socket().shutdown(net::socket_base::shutdown_send, ignored);
      linger();
    }
  }

  void linger() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(kReadSize),
                            [self = this->shared_from_this()](error_code ec, std::size_t n) {
                              self->lingered_ += n;
                              if (ec || self->closed_ || self->lingered_ > kMaxLingerBytes) {
                                return self->close_now();
                              }
                              self->linger();
                            });
  }

  void close_now() {
    if (closed_) return;
    closed_ = true;
    disarm();
    error_code ignored;
    socket().close(ignored);
  }

  void arm(std::chrono::milliseconds timeout, bool close_on_expiry) {
    arm_until(Clock::now() + timeout, close_on_expiry);
  }
  // A deadline already past expires at once.
  void arm_until(Clock::time_point deadline, bool close_on_expiry) {
    timed_out_ = false;
    close_on_expiry_ = close_on_expiry;
    deadline_.expires_at(deadline);
    deadline_.async_wait([self = this->shared_from_this(), tick = ++tick_](error_code ec) {
      if (ec || tick != self->tick_ || self->closed_) return;
      self->timed_out_ = true;
      error_code ignored;
      if (self->close_on_expiry_) {
        self->socket().close(ignored);
      } else {
        self->socket().cancel(ignored);
      }
    });
  }
  void disarm() {
    ++tick_;
    deadline_.cancel();
  }

  ServerState& server_;
  Stream stream_;
  net::steady_timer deadline_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest request_;
  HttpReply reply_;
  std::string head_;
  const bool refuse_;
  Clock::time_point started_;  // the accept, then each request's first byte
  Clock::time_point header_deadline_;
  std::uint64_t tick_ = 0;
  std::size_t lingered_ = 0;
  std::size_t header_size_ = 0;  // what the parser took for the request line and headers
  unsigned version_ = 11;
  bool first_request_ = true;
  bool keep_alive_ = false;
  // The request's header is complete or a reply is being written: stopping waits for it.
  bool answering_ = false;
  bool closed_ = false;
  bool timed_out_ = false;
  bool close_on_expiry_ = false;
};

}  // namespace veribind::serve::wire
