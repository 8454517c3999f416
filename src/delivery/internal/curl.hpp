// The one place where veribind sets up a libcurl easy handle: global initialisation, every
// timeout, TLS verification, the protocol allow-list, URL checks, and the mapping of a transfer's
// outcome to an AttemptResult. The providers (smtp_sender.cpp, http_sms_sender.cpp) only add
// what is specific to their protocol.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <string>
#include <string_view>

#include "veribind/delivery.hpp"
#include "veribind/result.hpp"

namespace veribind::internal {

// Calls curl_global_init exactly once per process (it is not thread-safe to race it, and
// curl_easy_init would otherwise call it implicitly from whichever thread comes first).
void ensure_curl();

struct Timeouts {
  std::chrono::milliseconds connect;
  // SMTP: the wait for each server reply (CURLOPT_SERVER_RESPONSE_TIMEOUT). HTTP has no reply
  // timeout in libcurl, so it becomes a stall timeout: the transfer fails when no byte moves for
  // this long (CURLOPT_LOW_SPEED_TIME, whole seconds, rounded up).
  std::chrono::milliseconds response;
  std::chrono::milliseconds total;  // the whole attempt (CURLOPT_TIMEOUT_MS)
};

// Each timeout is positive and at most ten minutes, and neither part exceeds the total.
// kInvalidConfig naming the field otherwise.
Status check_timeouts(const Timeouts& t);

// An absolute URL taken apart by curl's own parser, so that what veribind checks is what curl
// will connect to.
struct ParsedUrl {
  std::string scheme;  // lower case
  std::string host;    // as curl reports it ("[::1]" for IPv6)
  std::string port;    // empty when the URL names none
  std::string path;    // "/" when the URL names none
  bool has_query = false;
  bool loopback = false;  // 127.0.0.0/8, ::1 or "localhost" (curl never resolves it elsewhere)
};

// kInvalidConfig naming `field` when the URL does not parse, has no host, or carries a user name
// or password (secrets are files, never inline). The message never contains the URL.
Result<ParsedUrl> parse_url(std::string_view url, std::string_view field);

[[nodiscard]] bool is_loopback_host(std::string_view host);

// Owns one easy handle; cleaned up on every path out.
class CurlEasy {
 public:
  CurlEasy() : handle_(nullptr) {}
  static CurlEasy make();
  CurlEasy(CurlEasy&& other) noexcept;
  CurlEasy& operator=(CurlEasy&&) = delete;
  CurlEasy(const CurlEasy&) = delete;
  CurlEasy& operator=(const CurlEasy&) = delete;
  ~CurlEasy();
  [[nodiscard]] CURL* get() const noexcept { return handle_; }
  explicit operator bool() const noexcept { return handle_ != nullptr; }

 private:
  explicit CurlEasy(CURL* handle) : handle_(handle) {}
  CURL* handle_;
};

// Owns a curl_slist (recipients, request headers). Entries may hold a destination, so each is
// wiped before it is freed.
class CurlList {
 public:
  CurlList() = default;
  CurlList(const CurlList&) = delete;
  CurlList& operator=(const CurlList&) = delete;
  ~CurlList();
  // False when curl could not allocate the entry.
  [[nodiscard]] bool append(const std::string& entry);
  [[nodiscard]] curl_slist* get() const noexcept { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

// What every veribind transfer sets: the three timeouts, no signals (deliver() runs on worker
// threads), peer and host verification on, the CA file when one is configured, the protocols
// allowed (a comma-separated CURLOPT_PROTOCOLS_STR list), no redirects, and a write function
// that discards the response body instead of printing it. False when curl refused an option.
struct TransportOptions {
  Timeouts timeouts;
  std::string ca_file;              // empty: the system's CA store
  const char* protocols = "https";  // "smtp,smtps", "https", "http"
};
[[nodiscard]] bool apply_transport(CURL* curl, const TransportOptions& options);

// An SMTP transfer's outcome: TLS failures are permanent and never followed by a cleartext try;
// a 4xx reply is temporary and a 5xx reply permanent, whatever error curl wraps it in (curl
// reports a refused DATA as CURLE_WEIRD_SERVER_REPLY, a refused MAIL or RCPT as CURLE_SEND_ERROR,
// a refused AUTH as CURLE_LOGIN_DENIED); connection failures and timeouts are temporary.
[[nodiscard]] AttemptResult classify_smtp(CURLcode code, long reply_code);

// An HTTP transfer's outcome: 2xx sent; 408, 425, 429 and 5xx temporary with `retry_after`;
// other statuses permanent; transport errors as for SMTP.
[[nodiscard]] AttemptResult classify_http(CURLcode code, long status,
                                          std::chrono::milliseconds retry_after);

// The Retry-After of the finished transfer (seconds, or an HTTP-date converted by curl), capped
// at one day so a confused provider cannot park a message forever; 0 when there was none.
[[nodiscard]] std::chrono::milliseconds retry_after_of(CURL* curl);

}  // namespace veribind::internal
