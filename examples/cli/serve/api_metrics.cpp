// Counting with relaxed atomics; rendering reads each counter once (a scrape may see a request
// counted in one family and not yet in another, which Prometheus tolerates).
#include "serve/api_metrics.hpp"

#include <algorithm>
#include <cstdio>

#include "serve/api_routes.hpp"

namespace veribind::serve {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

// Slot 0 is "-"; slot i + 1 is kRoutes[i].
constexpr std::size_t kRouteSlots = kRoutes.size() + 1;

std::size_t route_index(std::string_view route) noexcept {
  const auto it = std::find_if(kRoutes.begin(), kRoutes.end(),
                               [&](const Route& r) { return r.pattern == route; });
  return it == kRoutes.end() ? 0 : static_cast<std::size_t>(it - kRoutes.begin()) + 1;
}

std::string_view route_label(std::size_t slot) noexcept {
  return slot == 0 ? std::string_view("-") : kRoutes[slot - 1].pattern;
}

// A label value in the exposition's escaping (provider names come from the configuration).
std::string label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

std::string seconds(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

}  // namespace

ApiMetrics::ApiMetrics() : routes_(std::make_unique<RouteStats[]>(kRouteSlots)) {}
ApiMetrics::~ApiMetrics() = default;

void ApiMetrics::count_start(const Challenge& challenge) noexcept {
  if (challenge.sent()) {
    starts_sent_.fetch_add(1, kRelaxed);
  } else {
    count_start_refused(challenge.refusal.limit);
  }
}

void ApiMetrics::count_start_refused(Limit limit) noexcept {
  starts_refused_.fetch_add(1, kRelaxed);
  const auto index = static_cast<std::size_t>(limit);
  if (index != 0 && index < refusals_.size()) refusals_[index].fetch_add(1, kRelaxed);
}

void ApiMetrics::count_check(CheckOutcome outcome) noexcept {
  const auto index = static_cast<std::size_t>(outcome);
  if (index < checks_.size()) checks_[index].fetch_add(1, kRelaxed);
}

void ApiMetrics::count_binding(ErrorCode code) noexcept {
  const auto index = static_cast<std::size_t>(code);
  if (index < bindings_.size()) bindings_[index].fetch_add(1, kRelaxed);
}

void ApiMetrics::count_binding_not_verified() noexcept {
  bindings_not_verified_.fetch_add(1, kRelaxed);
}

void ApiMetrics::count_request(std::string_view route, int status,
                               std::chrono::nanoseconds latency) noexcept {
  RouteStats& stats = routes_[route_index(route)];
  const auto status_it = std::find(kStatuses.begin(), kStatuses.end(), status);
  stats.by_status[static_cast<std::size_t>(status_it - kStatuses.begin())].fetch_add(1, kRelaxed);
  const double s = std::chrono::duration<double>(latency).count();
  const auto bucket = std::lower_bound(kBuckets.begin(), kBuckets.end(), s);
  if (bucket != kBuckets.end()) {
    stats.buckets[static_cast<std::size_t>(bucket - kBuckets.begin())].fetch_add(1, kRelaxed);
  }
  stats.count.fetch_add(1, kRelaxed);
  stats.sum_ns.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(latency.count(), 0)),
                         kRelaxed);
}

std::string ApiMetrics::render() const {
  std::string out;
  header(out, "veribind_verification_starts_total", "counter",
         "Verifications started, by whether a code was sent or a limit refused it.");
  out += "veribind_verification_starts_total{result=\"sent\"} " +
         std::to_string(starts_sent_.load(kRelaxed)) + "\n";
  out += "veribind_verification_starts_total{result=\"refused\"} " +
         std::to_string(starts_refused_.load(kRelaxed)) + "\n";

  header(out, "veribind_verification_refusals_total", "counter",
         "Verification starts refused, by the limit that refused them.");
  for (std::size_t i = 1; i < refusals_.size(); ++i) {
    out += "veribind_verification_refusals_total{limit=\"" +
           std::string(limit_name(static_cast<Limit>(i))) + "\"} " +
           std::to_string(refusals_[i].load(kRelaxed)) + "\n";
  }

  header(out, "veribind_checks_total", "counter", "Code checks, by outcome.");
  for (std::size_t i = 0; i < checks_.size(); ++i) {
    out += "veribind_checks_total{outcome=\"" +
           std::string(check_outcome_name(static_cast<CheckOutcome>(i))) + "\"} " +
           std::to_string(checks_[i].load(kRelaxed)) + "\n";
  }

  header(out, "veribind_bindings_total", "counter",
         "Account bindings, by result: bound, or the error code that refused them.");
  out += "veribind_bindings_total{result=\"bound\"} " +
         std::to_string(bindings_[0].load(kRelaxed)) + "\n";
  out += "veribind_bindings_total{result=\"invalid_or_expired_code\"} " +
         std::to_string(bindings_not_verified_.load(kRelaxed)) + "\n";
  for (std::size_t i = 1; i < bindings_.size(); ++i) {
    const std::uint64_t n = bindings_[i].load(kRelaxed);
    if (n == 0) continue;
    out += "veribind_bindings_total{result=\"" +
           std::string(error_code_name(static_cast<ErrorCode>(i))) + "\"} " + std::to_string(n) +
           "\n";
  }

  header(out, "veribind_deliveries_total", "counter",
         "Delivery events of the outbox, by state and provider.");
  if (deliveries_ != nullptr) {
    const DeliveryCounters::Snapshot snapshot = deliveries_->snapshot();
    for (const auto& [provider, by_state] : snapshot.by_provider) {
      for (std::size_t s = 0; s < by_state.size(); ++s) {
        out += "veribind_deliveries_total{state=\"" +
               std::string(delivery_state_name(static_cast<DeliveryState>(s))) + "\",provider=\"" +
               label(provider) + "\"} " + std::to_string(by_state[s]) + "\n";
      }
    }
    // Queued events name no provider yet: counted under the empty provider.
    out += "veribind_deliveries_total{state=\"queued\",provider=\"\"} " +
           std::to_string(snapshot.total[static_cast<std::size_t>(DeliveryState::kQueued)]) + "\n";
  }

  header(out, "veribind_http_requests_total", "counter", "HTTP requests, by route and status.");
  for (std::size_t r = 0; r < kRouteSlots; ++r) {
    for (std::size_t s = 0; s < routes_[r].by_status.size(); ++s) {
      const std::uint64_t n = routes_[r].by_status[s].load(kRelaxed);
      if (n == 0) continue;
      const std::string status = s < kStatuses.size() ? std::to_string(kStatuses[s]) : "other";
      out += "veribind_http_requests_total{route=\"" + std::string(route_label(r)) +
             "\",status=\"" + status + "\"} " + std::to_string(n) + "\n";
    }
  }

  header(out, "veribind_http_request_duration_seconds", "histogram",
         "Time from the request's first byte to the reply's last, by route.");
  for (std::size_t r = 0; r < kRouteSlots; ++r) {
    const RouteStats& stats = routes_[r];
    const std::uint64_t count = stats.count.load(kRelaxed);
    if (count == 0) continue;
    const std::string route = "route=\"" + std::string(route_label(r)) + "\"";
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < kBuckets.size(); ++b) {
      cumulative += stats.buckets[b].load(kRelaxed);
      out += "veribind_http_request_duration_seconds_bucket{" + route + ",le=\"" +
             seconds(kBuckets[b]) + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "veribind_http_request_duration_seconds_bucket{" + route + ",le=\"+Inf\"} " +
           std::to_string(std::max(count, cumulative)) + "\n";
    out += "veribind_http_request_duration_seconds_sum{" + route + "} " +
           seconds(static_cast<double>(stats.sum_ns.load(kRelaxed)) / 1e9) + "\n";
    out += "veribind_http_request_duration_seconds_count{" + route + "} " +
           std::to_string(std::max(count, cumulative)) + "\n";
  }

  header(out, "veribind_http_connections_open", "gauge", "HTTP connections open now.");
  out += "veribind_http_connections_open " +
         std::to_string(open_connections_ ? open_connections_() : 0) + "\n";
  return out;
}

}  // namespace veribind::serve
