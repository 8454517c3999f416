// The request log: one JSON line per answered request, for the transport's CompletionHook.
//
// A line holds the time, the method, the route pattern (never the path: ids are in it), the
// status, the latency, the API key's id and the refusal's reason (a limit's name or an error
// code). Never an identifier, a code or an account id. Lines are written whole under a mutex, so
// concurrent requests never interleave them.
#pragma once

#include <mutex>
#include <ostream>
#include <string>
#include <string_view>

#include "serve/api_metrics.hpp"
#include "serve/http_server.hpp"
#include "veribind/clock.hpp"
#include "veribind/delivery_events.hpp"

namespace veribind::serve {

class ApiLog {
 public:
  // `out` and `clock` are not owned and must outlive the log.
  ApiLog(std::ostream& out, const Clock& clock) : out_(&out), clock_(&clock) {}

  // The line for one request.
  void request(const Completed& completed) noexcept;
  // Any other line (startup, warnings, shutdown): `object` is one JSON object's text.
  void line(const std::string& object) noexcept;

  // The line request() writes, without writing it (tests, and the hook's single format).
  [[nodiscard]] std::string request_line(const Completed& completed) const;

 private:
  void write(std::string_view text) noexcept;  // `text` ends with its newline
  std::mutex mutex_;
  std::ostream* out_;
  const Clock* clock_;
};

// The hook serve passes to the transport: counts the request in `metrics`, then logs it.
[[nodiscard]] CompletionHook completion_hook(ApiMetrics& metrics, ApiLog& log);

// Delivery events to several observers (the outbox takes one): the metrics' DeliveryCounters
// and the log's line for each message given up.
class DeliveryFanOut final : public DeliveryObserver {
 public:
  DeliveryFanOut(DeliveryCounters& counters, ApiLog& log) : counters_(&counters), log_(&log) {}
  void on_delivery_event(const DeliveryEvent& event) noexcept override;

 private:
  DeliveryCounters* counters_;
  ApiLog* log_;
};

}  // namespace veribind::serve
