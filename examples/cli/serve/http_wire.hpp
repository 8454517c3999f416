// What the HTTP transport shares between its listener and its connections (never included outside
// examples/cli/serve/http_*.cpp): the state every connection sees, and the reply's wire form.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "serve/http_server.hpp"

namespace veribind::serve::wire {

// A connection as the server sees it when stopping: both calls are thread-safe (they post to the
// connection's io_context) and may be made after the connection has closed.
class Connection {
 public:
  virtual ~Connection() = default;
  // Closes the connection unless it is answering a request: one whose header has not fully
  // arrived (or that waits for a request, or is in its TLS handshake) is closed at once; one
  // whose header is complete finishes its body, its handler and its reply, which says
  // Connection: close.
  virtual void close_unless_answering() = 0;
  // Closes it now, whatever it is doing (the drain deadline has passed).
  virtual void close() = 0;
};

// The settings and counters that every connection reads. The request path touches only the atomics;
// the mutex is taken when a connection opens or closes, and when stopping.
class ServerState {
 public:
  ServerState(const ServerLimits& limits, Handler handler, CompletionHook on_completed)
      : limits_(limits), handler_(std::move(handler)), on_completed_(std::move(on_completed)) {}
  virtual ~ServerState() = default;
  ServerState(const ServerState&) = delete;
  ServerState& operator=(const ServerState&) = delete;

  [[nodiscard]] const ServerLimits& limits() const noexcept { return limits_; }
  [[nodiscard]] const Handler& handler() const noexcept { return handler_; }
  [[nodiscard]] const CompletionHook& on_completed() const noexcept { return on_completed_; }
  [[nodiscard]] bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }

  // Counted connections (at most limits().max_connections) and the uncounted ones that are only
  // being told 503.
  std::atomic<std::size_t> open{0};
  std::atomic<std::size_t> refusing{0};

  void add(const std::shared_ptr<Connection>& connection);
  void remove(const Connection* connection);
  // Calls f on each open connection, outside the lock: a connection released here may be the
  // last reference, and its destructor takes the lock.
  template <typename F>
  void for_each(F&& f) {
    std::vector<std::shared_ptr<Connection>> open_now;
    {
      std::lock_guard lock(mutex_);
      open_now.reserve(connections_.size());
      for (auto& [key, weak] : connections_) {
        if (auto strong = weak.lock()) open_now.push_back(std::move(strong));
      }
    }
    for (const auto& connection : open_now) f(*connection);
  }
  [[nodiscard]] bool no_connections() {
    std::lock_guard lock(mutex_);
    return connections_.empty();
  }

 protected:
  // Called (from any thread) when the last connection closes while stopping.
  virtual void drained() = 0;
  std::atomic<bool> stopping_{false};

 private:
  const ServerLimits limits_;
  const Handler handler_;
  const CompletionHook on_completed_;
  std::mutex mutex_;
  std::unordered_map<const Connection*, std::weak_ptr<Connection>> connections_;
};

// Writes the status line and headers of `reply` into `out` (cleared first, its capacity kept):
// Date, Content-Type, Content-Length, Cache-Control: no-store, X-Content-Type-Options: nosniff,
// the handler's extra headers that are well-formed and not the transport's own, and Connection
// when it is not the version's default. No Server header.
void write_head(std::string& out, const HttpReply& reply, bool keep_alive, unsigned version);

// The reply for a handler's status that HTTP cannot carry (not 200..599).
[[nodiscard]] bool sendable_status(int status) noexcept;

}  // namespace veribind::serve::wire
