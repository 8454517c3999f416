#include "serve/api_log.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string_view>

namespace veribind::serve {

namespace {

// "2026-01-01T00:00:00.123Z": milliseconds, so lines of one second keep their order. The text of
// the second is kept per thread, so that a request's line costs no gmtime_r (which takes glibc's
// time zone lock).
void append_timestamp(std::string& out, Timestamp now) {
  struct Second {
    std::int64_t seconds = -1;
    char text[24] = {};
    std::size_t size = 0;
  };
  thread_local Second cached;
  const auto ms = now.time_since_epoch().count();
  const std::int64_t seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  if (seconds != cached.seconds) {
    const auto t = static_cast<std::time_t>(seconds);
    std::tm utc{};
    gmtime_r(&t, &utc);
    cached.size = std::strftime(cached.text, sizeof cached.text, "%Y-%m-%dT%H:%M:%S", &utc);
    cached.seconds = seconds;
  }
  out.append(cached.text, cached.size);
  char millis[8];
  const int n =
      std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(ms - seconds * 1000));
  out.append(millis, static_cast<std::size_t>(n));
}

// `text` as a JSON string. Every field of a request line is a fixed name, hex or an HTTP token, so
// escaping is the rare path; a byte outside printable ASCII is written as \u00XX.
void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && c != '"' && c != '\\') {
      out.push_back(c);
      continue;
    }
    char escaped[8];
    const int n = std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
    out.append(escaped, static_cast<std::size_t>(n));
  }
  out.push_back('"');
}

std::string dump(const nlohmann::json& object) {
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string ApiLog::request_line(const Completed& completed) const {
  // Built by hand rather than through nlohmann::json: this runs once per request, and the fields
  // are few and known. The keys stay in the order nlohmann would write them (sorted).
  std::string out;
  out.reserve(192);
  out += "{\"key_id\":";
  append_json_string(out, completed.reply.key_id);
  out += ",\"latency_us\":";
  out += std::to_string(
      std::chrono::duration_cast<std::chrono::microseconds>(completed.latency).count());
  // The method is the client's token: bounded, so a long one cannot bloat the log.
  out += ",\"method\":";
  append_json_string(out, completed.method.substr(0, 16));
  out += ",\"reason\":";
  append_json_string(out, completed.reply.reason);
  out += ",\"route\":";
  append_json_string(out, completed.reply.route);
  out += ",\"status\":";
  out += std::to_string(completed.reply.status);
  out += ",\"ts\":\"";
  append_timestamp(out, clock_->now());
  out += "\"}";
  return out;
}

void ApiLog::request(const Completed& completed) noexcept {
  try {
    std::string text = request_line(completed);
    text.push_back('\n');
    write(text);
  } catch (...) {  // out of memory: the line is lost, the request was answered
  }
}

void ApiLog::line(const std::string& object) noexcept {
  try {
    write(object + '\n');
  } catch (...) {
  }
}

void ApiLog::write(std::string_view text) noexcept {
  try {
    // One write of the whole line: std::cerr is unbuffered, and `<<` twice would be two writes.
    const std::lock_guard<std::mutex> lock(mutex_);
    out_->write(text.data(), static_cast<std::streamsize>(text.size()));
    out_->flush();
  } catch (...) {
  }
}

CompletionHook completion_hook(ApiMetrics& metrics, ApiLog& log) {
  return [&metrics, &log](const Completed& completed) {
    metrics.count_request(completed.reply.route, completed.reply.status, completed.latency);
    log.request(completed);
  };
}

void DeliveryFanOut::on_delivery_event(const DeliveryEvent& event) noexcept {
  counters_->on_delivery_event(event);
  if (event.state != DeliveryState::kAbandoned || event.reason == AbandonReason::kSuperseded) {
    return;
  }
  try {
    // No challenge id, destination or code: which message it was is not the operator's concern
    // here, that messages are being given up is.
    log_->line(dump({{"delivery", "abandoned"},
                     {"channel", channel_name(event.channel)},
                     {"provider", event.provider},
                     {"attempts", event.attempt},
                     {"reason", abandon_reason_name(event.reason)}}));
  } catch (...) {
  }
}

}  // namespace veribind::serve
